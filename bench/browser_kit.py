"""What the browser benchmarks share: headless Debian chromium on a served Streamlit script,
page-side recorders of a drag on the plane, and the median/p95 summary of latencies.

Used by ``bench.playground_latency``, ``bench.infonce_latency`` and
``bench.collapse_motion``. Chromium is never downloaded (never ``playwright install``):
Debian's ``/usr/bin/chromium`` is used, or ``$LOSSVIZ_CHROMIUM``, launched with the browser
tests' arguments and viewport (``tests/browser/conftest.py``), whose ``start_streamlit``
serves a script as ``make run`` serves ``app.py``.

A drag on the plane is measured in the page's own clock (``performance.now()``), each end
mark the ``requestAnimationFrame`` callback of the first frame that shows the new state,
sampled by a page-side loop (a Python poll would add round trips):

- ``move_recorder_js``: for each ``pointermove`` of a drag the plane has handled, the
  event's time stamp, the positions, the read-out and its source the plane shows (plus the
  fields a bench passes in), stamped ``painted`` by the next frame; ``drag_moves`` installs
  it, holds a point and moves the pointer.
- ``drop_recorder_js``: every frame's ``[time, ...fields passed in, read-out source,
  stale]``, logged when one changes; ``drop`` installs it, drags a point and releases it,
  ``wait_server_readout`` waits for the server's read-out and ``drop_log`` returns the log
  from pointer-up on.
"""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from tests.browser.conftest import (
    APP_TIMEOUT_MS,
    CHROMIUM_ARGS,
    CHROMIUM_ENV_VAR,
    DEFAULT_CHROMIUM,
    VIEWPORT,
    start_streamlit,
    wait_for_app,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

__all__ = [
    "APP_TIMEOUT_MS",
    "MOVE_GAP_MS",
    "browser_page",
    "chromium_path",
    "dot_center",
    "drag_moves",
    "drop",
    "drop_log",
    "drop_recorder_js",
    "headless_chromium",
    "move_recorder_js",
    "p95",
    "press",
    "served_page",
    "start_streamlit",
    "summary",
    "wait_for_app",
    "wait_server_readout",
]

MOVE_GAP_MS = 25  # between pointer moves: a hand moves the mouse at 40-60 Hz

# After the plane's own pointermove handler: what it shows now, stamped by the next frame.
_MOVES_JS = """(plane) => {
    const moves = (window.__lvMoves = []);
    const svg = plane.querySelector(".lv-svg");
    /*helpers*/
    svg.addEventListener("pointermove", (e) => {
        if (!plane.classList.contains("lv-dragging")) return;  // only moves of a drag
        moves.push({t: e.timeStamp, points: JSON.parse(plane.dataset.points),
                    readout: JSON.parse(plane.dataset.readout), /*fields*/
                    source: plane.dataset.readoutSource, painted: null});
    });
    const frame = () => {
        const now = performance.now();
        for (let i = moves.length - 1; i >= 0 && moves[i].painted === null; i--) {
            moves[i].painted = now;
        }
        if (!window.__lvStopMoves) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
}"""

# Every frame: (time, the fields passed in, read-out source, stale), logged when one changes.
_DROP_JS = """(plane) => {
    const log = (window.__lvLog = []);
    window.__lvStop = false;
    /*helpers*/
    const sample = () => {
        const entry = [performance.now(), /*fields*/plane.dataset.readoutSource,
                       plane.classList.contains("lv-stale")];
        const last = log.at(-1);
        if (!last || entry.slice(1).some((v, i) => v !== last[i + 1])) log.push(entry);
        if (!window.__lvStop) requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
}"""

_SERVER_READOUT_JS = """([plane, arg]) => {
    /*helpers*/
    return plane.dataset.readoutSource === "server"
        && !plane.classList.contains("lv-stale")
        && (/*also*/);
}"""


def _fill(template: str, **parts: str) -> str:
    for name, text in parts.items():
        template = template.replace(f"/*{name}*/", text)
    return template


# --------------------------------------------------------------------------- the browser


def chromium_path() -> str:
    """``$LOSSVIZ_CHROMIUM`` if set, else Debian's ``/usr/bin/chromium``."""
    return os.environ.get(CHROMIUM_ENV_VAR, "").strip() or DEFAULT_CHROMIUM


@contextlib.contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Headless chromium (``chromium_path()``, the browser tests' arguments), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def browser_page(browser: Browser, url: str | None = None) -> Iterator[Page]:
    """A page in a fresh context (the tests' 1400 x 900 viewport, ``APP_TIMEOUT_MS`` by
    default), closed on exit; given ``url``, opened there and Streamlit done running."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(APP_TIMEOUT_MS)
        if url is not None:
            page.goto(url)
            wait_for_app(page)
        yield page
    finally:
        context.close()


@contextlib.contextmanager
def served_page(browser: Browser, script: str, log_name: str, path: str = "") -> Iterator[Page]:
    """``script`` served by ``start_streamlit`` (its log ``test-artifacts/<log_name>-*``) and
    a ``browser_page`` on its ``path`` (``/playground``, ``/?mode=...``); both end on exit."""
    with (
        start_streamlit(script, log_name) as base_url,
        browser_page(browser, base_url + path) as page,
    ):
        yield page


# --------------------------------------------------------------------------- the plane


def move_recorder_js(helpers: str = "", fields: str = "") -> str:
    """The page-side recorder of pointer moves (``window.__lvMoves``, stopped by
    ``window.__lvStopMoves``), run as ``plane.evaluate(js)`` on the ``.lv-plane``.

    ``helpers``: JS statements run once (``plane`` in scope); ``fields``: more properties
    of each recorded move, each followed by a comma (``"shares: shares(), "``).
    """
    return _fill(_MOVES_JS, helpers=helpers, fields=fields)


def drop_recorder_js(helpers: str = "", fields: str = "") -> str:
    """The page-side frame log of a drop (``window.__lvLog``, stopped by ``window.__lvStop``),
    run as ``plane.evaluate(js)``: entries ``[time, <fields>, read-out source, stale]``.

    ``helpers``: JS statements run once (``plane`` in scope); ``fields``: values sampled
    every frame, each followed by a comma (``"dan(), "``).
    """
    return _fill(_DROP_JS, helpers=helpers, fields=fields)


def dot_center(plane: Locator, name: str) -> tuple[float, float]:
    """Page pixels of the centre of point ``name``'s dot on the plane."""
    box = plane.locator(f'.lv-point[data-name="{name}"] .lv-dot').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def press(page: Page, plane: Locator, name: str) -> None:
    """Move the mouse onto point ``name`` and hold the button down."""
    page.mouse.move(*dot_center(plane, name))
    page.mouse.down()


def drag_moves(
    page: Page,
    plane: Locator,
    name: str,
    screen_points: Iterable[tuple[float, float]],
    recorder_js: str,
) -> list[dict]:
    """Install ``recorder_js`` (a ``move_recorder_js``), hold ``name`` and move the pointer to
    each of ``screen_points`` (page pixels, taken one at a time), ``MOVE_GAP_MS`` apart, then
    release; every move the recorder recorded."""
    plane.evaluate(recorder_js)
    press(page, plane, name)
    for xy in screen_points:
        page.mouse.move(*xy)
        page.wait_for_timeout(MOVE_GAP_MS)
    page.wait_for_timeout(100)
    page.evaluate("window.__lvStopMoves = true")
    recorded = page.evaluate("window.__lvMoves")
    page.mouse.up()
    return recorded


def drop(
    page: Page, plane: Locator, name: str, target: tuple[float, float], recorder_js: str
) -> float:
    """Install ``recorder_js`` (a ``drop_recorder_js``), drag ``name`` to ``target`` (page
    pixels) and release; the plane's pointer-up time (``data-last-sent-ms``, page clock),
    after checking that the drop was sent."""
    sent_before = int(plane.get_attribute("data-sent-count") or 0)
    plane.evaluate(recorder_js)
    press(page, plane, name)
    page.mouse.move(*target, steps=8)
    page.mouse.up()
    sent = int(plane.get_attribute("data-sent-count") or 0)
    assert sent == sent_before + 1, f"the drop was not sent ({sent_before} -> {sent})"
    return float(plane.get_attribute("data-last-sent-ms"))


def wait_server_readout(
    page: Page, plane: Locator, also: str = "true", arg: object = None, helpers: str = ""
) -> None:
    """Wait (every frame) until the plane's read-out is the server's and not stale, and the JS
    expression ``also`` holds (``plane``, ``arg`` and the ``helpers`` statements in scope)."""
    page.wait_for_function(
        _fill(_SERVER_READOUT_JS, helpers=helpers, also=also),
        arg=[plane.element_handle(), arg],
        polling="raf",
        timeout=APP_TIMEOUT_MS,
    )


def drop_log(page: Page, sent_ms: float) -> list[list]:
    """The drop recorder's log after 50 ms more (then stopped), from ``sent_ms`` on."""
    page.wait_for_timeout(50)
    page.evaluate("window.__lvStop = true")
    return [entry for entry in page.evaluate("window.__lvLog") if entry[0] >= sent_ms]


# --------------------------------------------------------------------------- figures


def p95(values: Iterable[float]) -> float:
    """The 95th percentile, lower value (no interpolation): ``sorted[int(0.95 * (n - 1))]``."""
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def summary(values: list[float]) -> list[str]:
    """Median, p95, min and max of latencies, as table cells (ms, one decimal)."""
    ordered = sorted(values)
    return [f"{v:.1f}" for v in (statistics.median(ordered), p95(ordered), ordered[0], ordered[-1])]
