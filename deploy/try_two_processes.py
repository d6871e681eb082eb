"""Two lossviz processes behind Debian's nginx, sticky per browser: run it and read the report.

Usage: ``.venv/bin/python -m deploy.try_two_processes [--browsers 6]`` (needs ``nginx``
and ``/usr/bin/chromium``; not part of ``make test``). It starts two app processes on
free ports, nginx in front of them (the ``location`` block of ``deploy/nginx.conf``,
without TLS, on a free port; the upstream picked by a hash of the browser's
``_streamlit_xsrf`` cookie), opens several independent browsers through the proxy, and
checks from nginx's access log that every browser's websocket went to one process and
that both processes served browsers. Everything it started is stopped by pid.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import (
    CHROMIUM_ARGS,
    CHROMIUM_ENV_VAR,
    DEFAULT_CHROMIUM,
    _free_port,
    start_streamlit,
    wait_for_app,
)

NGINX_CONF = """
worker_processes 1;
error_log {tmp}/error.log;
pid {tmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    log_format sticky '$upstream_addr "$cookie__streamlit_xsrf" "$request"';
    access_log {tmp}/access.log sticky;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream lossviz {{
        hash $cookie__streamlit_xsrf consistent;
        server {first};
        server {second};
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 6m;
        location / {{
            proxy_pass http://lossviz;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 3600s;
            proxy_buffering off;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(first: str, second: str):
    """nginx in front of two upstream ``host:port``s; yields (base URL, access log path)."""
    with tempfile.TemporaryDirectory(prefix="lossviz-nginx-") as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, first=first, second=second))
        process = subprocess.Popen(
            ["nginx", "-p", tmp, "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if process.poll() is not None:
                raise RuntimeError(f"nginx did not start: {(Path(tmp) / 'error.log').read_text()}")
            for _ in range(50):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"{base}/_stcore/health", timeout=2)
                    break
                time.sleep(0.2)
            yield base, Path(tmp) / "access.log"
        finally:
            process.terminate()
            process.wait(timeout=10)


def websocket_upstreams(access_log: Path) -> dict[str, set[str]]:
    """Cookie -> the upstreams that served its websocket (``/_stcore/stream``) requests."""
    served: dict[str, set[str]] = collections.defaultdict(set)
    for line in access_log.read_text().splitlines():
        upstream, cookie, request = line.split(" ", 2)
        if "/_stcore/stream" in request and cookie.strip('"'):
            served[cookie.strip('"')].add(upstream)
    return served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--browsers", type=int, default=6)
    args = parser.parse_args()
    with (
        start_streamlit("app.py", "proxy-a") as a,
        start_streamlit("app.py", "proxy-b") as b,
        nginx(a.removeprefix("http://"), b.removeprefix("http://")) as (base, log),
        sync_playwright() as playwright,
    ):
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
        served = websocket_upstreams(log)
    per_process = collections.Counter(next(iter(u)) for u in served.values() if len(u) == 1)
    split = [cookie for cookie, upstreams in served.items() if len(upstreams) > 1]
    print(f"{len(served)} browsers with a cookie; websockets per process: {dict(per_process)}")
    print(f"browsers whose websockets went to more than one process: {len(split)}")
    ok = not split and len(per_process) == 2
    print("sticky and balanced: yes" if ok else "sticky and balanced: NO")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
