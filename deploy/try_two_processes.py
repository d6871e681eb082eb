"""Two lossviz processes behind Debian's nginx, sticky per browser: run it and read the report.

Usage: ``.venv/bin/python -m deploy.try_two_processes [--browsers 6]`` (needs ``nginx``
and ``/usr/bin/chromium``; not part of ``make test``). It starts what ``make serve
WORKERS=2`` starts (``deploy.serve.cluster``: two app processes, nginx in front of
them pinning each browser to one with a worker cookie given round robin),
opens several independent browsers through the proxy (each loads the page, then reloads
it), and checks from nginx's access log that every page load's websocket went to one
process, that every reload went where the browser's worker cookie pinned it, and that
both processes served browsers. Everything it started is stopped by pid.
"""

from __future__ import annotations

import argparse
import collections
import os
import time

from playwright.sync_api import expect, sync_playwright

from deploy.serve import cluster, websocket_upstreams
from tests.browser.conftest import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    CHROMIUM_ENV_VAR,
    DEFAULT_CHROMIUM,
    wait_for_app,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--browsers", type=int, default=6)
    args = parser.parse_args()
    with (
        cluster(2, log_dir=ARTIFACTS / "two-processes") as served,
        sync_playwright() as playwright,
    ):
        base, log = served.url, served.access_log
        chromium = os.environ.get(CHROMIUM_ENV_VAR, DEFAULT_CHROMIUM)
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for _ in range(args.browsers):
            context = browser.new_context()  # its own cookies: a different student
            page = context.new_page()
            page.goto(f"{base}/playground")
            wait_for_app(page)
            page.reload()  # the second load carries the cookie the first one set
            wait_for_app(page)
            expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=30_000)
            context.close()
        browser.close()
        time.sleep(1)
        pages = websocket_upstreams(log)
        pinned = websocket_upstreams(log, by="worker")
    per_process = collections.Counter(next(iter(u)) for u in pages.values() if len(u) == 1)
    split = [key for key, upstreams in pages.items() if len(upstreams) > 1]
    print(f"{len(pages)} page loads; websockets per process: {dict(per_process)}")
    print(f"page loads whose websockets went to more than one process: {len(split)}")
    # A reload carries the worker cookie the first load set: each value, one process.
    print(f"worker cookie -> processes: { {k: sorted(v) for k, v in pinned.items()} }")
    ok = (not split and len(per_process) == 2 and len(pinned) == 2
          and all(len(v) == 1 for v in pinned.values()))  # fmt: skip
    print("sticky and balanced: yes" if ok else "sticky and balanced: NO")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
