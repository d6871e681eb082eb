"""How smoothly the collapse run moves in a browser: the player against Plotly frames.

``python -m bench.collapse_motion [--repeats 3]``: headless Debian chromium (1400 x 900) on
a server started as ``make run`` starts one. Three measurements, each repeated:

- *Plotly frames, replay*: the figure the page used to draw (one Plotly frame per recorded
  step, 40 ms each, built once; ``bench/apps/plotly_replay.py``): frames Plotly painted per
  second (its ``plotly_animatingframe`` events) while its Replay button played.
- *player, replay*: the page's player with the same finished run: animation frames in
  which the points moved (seen as its scrubber moving), per second, while Play played.
- *player, live*: the real page, a fresh ``autostart`` link (the server trains meanwhile):
  the same, from the first frame to the end of the run.

Results: ``bench/results/collapse_motion-cpu.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from bench.browser_kit import browser_page, headless_chromium, p95, start_streamlit, wait_for_app
from bench.common import markdown_table
from tests.browser.player_helpers import (
    Shown,
    ended,
    now_ms,
    player,
    record_scrubber_moves,
    scrubber_moves,
    wait_shown,
)

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "collapse_motion-cpu.md"
TIMEOUT_S = 120.0

_PLOTLY_JS = """() => new Promise((resolve) => {
    const gd = document.querySelector('.js-plotly-plot');
    const times = [];
    gd.on('plotly_animatingframe', () => times.push(performance.now()));
    gd.on('plotly_animated', () => resolve(times));
    [...gd.querySelectorAll('.updatemenu-button')]
        .find((b) => b.textContent.includes('Replay'))
        .dispatchEvent(new MouseEvent('click', {bubbles: true}));
})"""


def rate(times: list[float]) -> dict:
    seconds = (times[-1] - times[0]) / 1000 if len(times) > 1 else 0.0
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return {
        "fps": (len(times) - 1) / seconds if seconds else 0.0,
        "gap_ms": statistics.median(gaps) if gaps else float("nan"),
        "p95_gap_ms": p95(gaps) if gaps else float("nan"),
        "seconds": seconds,
    }


def wait_player(page: Page, condition: Callable[[Shown], bool], what: str) -> None:
    try:
        wait_shown(page, condition, what, TIMEOUT_S)
    except AssertionError as error:
        raise TimeoutError(what) from error


def plotly_replay(page: Page, base: str) -> dict:
    page.goto(f"{base}/?view=plotly")
    wait_for_app(page)
    page.locator(".js-plotly-plot .updatemenu-button").first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    return rate(page.evaluate(_PLOTLY_JS))


def player_replay(page: Page, base: str) -> dict:
    page.goto(f"{base}/?view=player")
    wait_for_app(page)
    wait_player(page, lambda s: s.finished, "the finished run")
    page.wait_for_timeout(300)
    record_scrubber_moves(page)
    start = now_ms(page)
    player(page).get_by_role("button", name="Play", exact=True).click()
    wait_player(page, lambda s: not s.playing and s.frame > 0, "the end of the replay")
    return rate(scrubber_moves(page, start, now_ms(page)))


def player_live(page: Page, base: str) -> dict:
    page.goto(f"{base}/collapse?autostart=1&seed={random.randrange(10_000, 2**31)}")
    wait_player(page, lambda s: s.status != "", "the player")
    record_scrubber_moves(page)
    wait_player(page, lambda s: s.playing and s.frames > 0, "playing")
    start = now_ms(page)
    wait_player(page, ended, "the end of the run")
    return rate(scrubber_moves(page, start, now_ms(page)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"plotly": [], "replay": [], "live": []}
    with (
        start_streamlit("bench/apps/motion.py", "motion") as motion,
        start_streamlit("app.py", "motion-app") as app,
        headless_chromium() as browser,
    ):
        for repeat in range(args.repeats):
            for name, measure, base in (("plotly", plotly_replay, motion),
                                        ("replay", player_replay, motion),
                                        ("live", player_live, app)):  # fmt: skip
                with browser_page(browser) as page:
                    runs[name].append(measure(page, base))
                print(f"[{repeat + 1}/{args.repeats}] {name}: {runs[name][-1]}", file=sys.stderr)
    titles = {
        "plotly": "Plotly frames (the page before), replay",
        "replay": "player, replay",
        "live": "player, live (the server training)",
    }
    rows = []
    for name, results in runs.items():
        rows.append([
            titles[name],
            ", ".join(f"{r['fps']:.1f}" for r in results),
            f"{statistics.median(r['fps'] for r in results):.1f}",
            f"{statistics.median(r['gap_ms'] for r in results):.1f}",
            f"{statistics.median(r['p95_gap_ms'] for r in results):.1f}",
        ])  # fmt: skip
    text = "\n".join([
        f"Collapse motion in headless chromium, {args.repeats} repeats, load average "
        f"{os.getloadavg()[0]:.1f}: frames per second that moved the points (target >= 20).",
        "",
        markdown_table(["view", "fps (each repeat)", "median fps", "median gap ms",
                        "p95 gap ms"], rows),
    ])  # fmt: skip
    RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
