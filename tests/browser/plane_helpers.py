"""Helpers for browser tests of pages with the draggable plane (lossviz/ui/plane.js)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import screenshot, wait_for_app

BOUNDS = (-4.0, 4.0)
PIXEL = 0.03  # data units: one screen pixel is 8 / 411 = 0.019 at 1400 px wide

Point = tuple[float, float]


def plane_points(page: Page) -> dict[str, Point]:
    """The positions the plane shows now (its ``data-points``), in data units."""
    raw = json.loads(page.locator(".lv-plane").get_attribute("data-points"))
    return {name: (x, y) for name, (x, y) in raw.items()}


def close(got: Point, want: Point, tol: float = PIXEL) -> bool:
    return abs(got[0] - want[0]) <= tol and abs(got[1] - want[1]) <= tol


def url_scene(page: Page, scene_cls):
    """The scene the page's address describes (the app rewrites it after every rerun)."""
    scene, notes = scene_cls.parse_query(parse_qs(urlsplit(page.url).query))
    assert not notes, (page.url, notes)
    return scene


def settled(
    page: Page, scene_cls, points_of: Callable[[object], dict[str, Point]], timeout_s: float = 20.0
):
    """Wait until the plane shows Python's points (acknowledged) and the URL holds them too.

    Returns the scene of the URL. The plane drops ``lv-stale`` when Python's data for the
    last send has arrived; the URL is written by the same rerun.
    """
    wait_for_app(page)
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0)
    expect(page.locator(".lv-plane")).not_to_have_attribute("data-animating", "1")
    deadline = time.monotonic() + timeout_s
    while True:
        scene = url_scene(page, scene_cls)
        shown = plane_points(page)
        if all(close(shown[n], xy, 1e-6) for n, xy in points_of(scene).items()):
            return scene
        assert time.monotonic() < deadline, (page.url, shown)
        page.wait_for_timeout(50)


def metric(page: Page, label: str) -> Locator:
    """The value of the ``st.metric`` labelled exactly ``label``."""
    block = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    expect(block).to_have_count(1)
    return block.get_by_test_id("stMetricValue")


def to_screen(page: Page, xy: Point, bounds: tuple[float, float] = BOUNDS) -> Point:
    """Data units -> page pixels, as plane.js's toPx (the plot rect spans ``bounds``)."""
    box = page.locator(".lv-plot-rect").bounding_box()
    assert box is not None
    lo, hi = bounds
    return (
        box["x"] + (xy[0] - lo) / (hi - lo) * box["width"],
        box["y"] + (hi - xy[1]) / (hi - lo) * box["height"],
    )


def drag_to(page: Page, name: str, target: Point, bounds: tuple[float, float] = BOUNDS) -> None:
    """Press on the point's dot, move in steps to ``target`` (data units of a plane spanning
    ``bounds``), release."""
    dot = page.locator(f'.lv-plane .lv-point[data-name="{name}"] .lv-dot').bounding_box()
    assert dot is not None
    x0, y0 = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
    x1, y1 = to_screen(page, target, bounds)
    sent = page.locator(".lv-plane").get_attribute("data-sent-count") or "0"
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=12)
    page.mouse.up()
    expect(page.locator(".lv-plane")).to_have_attribute("data-sent-count", str(int(sent) + 1))


def click_button(page: Page, name: str) -> None:
    """Click the app's button named exactly ``name`` (not Plotly's "Reset axes" & co.)."""
    page.get_by_test_id("stButton").get_by_role("button", name=name, exact=True).click()


def choose_preset(page: Page, title: str) -> None:
    """Click the preset pill showing exactly ``title`` (or "Reset", after its icon)."""
    label = page.get_by_text(title, exact=True)  # inside the pill (not its icon's name)
    page.get_by_test_id("stButtonGroup").locator("button").filter(has=label).click()


def shot(page: Page, name: str) -> None:
    """conftest's full-page screenshot, without the hover tooltip of the button just clicked."""
    page.mouse.move(1, 1)
    expect(page.get_by_test_id("stTooltipContent")).to_have_count(0)
    screenshot(page, name)


def no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


# Every animation frame's plane state, sampled in the page (a Python poll misses frames).
_RECORD_JS = """(plane) => {
    const log = (window.__lvPlaneLog = []);
    const sample = () => {
        const entry = [plane.dataset.points, plane.dataset.animating ?? ""];
        const last = log.at(-1);
        if (!last || last[0] !== entry[0] || last[1] !== entry[1]) log.push(entry);
        if (log.length < 4000) requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
}"""


def record_plane(page: Page) -> None:
    """Start logging the plane's distinct (points, data-animating) states, every frame."""
    page.locator(".lv-plane").evaluate(_RECORD_JS)


def recorded(page: Page) -> list[tuple[dict[str, Point], str]]:
    """The distinct (points, data-animating) states seen since ``record_plane``."""
    return [
        ({name: tuple(xy) for name, xy in json.loads(points).items()}, animating)
        for points, animating in page.evaluate("window.__lvPlaneLog")
    ]
