"""The draggable plane (lossviz/ui/components/plane.py) in a real browser, on
tests/browser/apps/plane_app.py.

The JS -> Python path (pointer drag, arrow keys, the animation) can only be checked here:
AppTest cannot interact with a Custom Components v2 element.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.apps.plane_app import ANIMATION_TARGET, BOUNDS, DEFAULTS, FRAMES
from tests.browser.conftest import (
    ARTIFACTS,
    SCREENSHOTS,
    screenshot,
    start_streamlit,
    wait_for_app,
)

pytestmark = pytest.mark.browser

APP = "tests/browser/apps/plane_app.py"
TOLERANCE = 0.03  # data units: one screen pixel is 8 / 468 = 0.017
TIMINGS: dict[str, list[float]] = {}


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="module")
def plane_server() -> Iterator[str]:
    """``streamlit run`` the plane test app on a free port (conftest's ``start_streamlit``)."""
    try:
        with start_streamlit(APP, "streamlit-plane-app") as base_url:
            yield base_url
    finally:
        if TIMINGS:
            (ARTIFACTS / "plane-timings.json").write_text(json.dumps(TIMINGS, indent=2))


# --------------------------------------------------------------------------- helpers


def open_app(page: Page, base_url: str) -> None:
    page.goto(base_url)
    wait_for_app(page)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(3)


def points_text(points: dict[str, tuple[float, float]]) -> str:
    return "points: " + " ".join(f"{n}=({x:.2f}, {y:.2f})" for n, (x, y) in points.items())


def app_points(page: Page) -> dict[str, tuple[float, float]]:
    """The app-state points the page prints (`points: A=(x, y) ...`)."""
    text = page.get_by_text(re.compile(r"^points: ")).inner_text()
    return {
        name: (float(x), float(y))
        for name, x, y in re.findall(r"(\w+)=\((-?[\d.]+), (-?[\d.]+)\)", text)
    }


def plane_points(page: Page) -> dict[str, list[float]]:
    return json.loads(page.locator(".lv-plane").get_attribute("data-points"))


def dot_center(page: Page, name: str) -> tuple[float, float]:
    box = page.locator(f'.lv-point[data-name="{name}"] .lv-dot').bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def screen_to_data(page: Page, px: float, py: float) -> tuple[float, float]:
    box = page.locator(".lv-plot-rect").bounding_box()
    assert box is not None
    lo, hi = BOUNDS
    return (
        lo + (px - box["x"]) / box["width"] * (hi - lo),
        hi - (py - box["y"]) / box["height"] * (hi - lo),
    )


def assert_close(got, want, tol: float = TOLERANCE) -> None:
    assert abs(got[0] - want[0]) <= tol and abs(got[1] - want[1]) <= tol, (got, want)


def sent_count(page: Page) -> int:
    return int(page.locator(".lv-plane").get_attribute("data-sent-count") or 0)


def drag(page: Page, name: str, dx: float, dy: float) -> tuple[float, float]:
    """Drag a point by (dx, dy) screen pixels; returns where it should land (data units)."""
    x, y = dot_center(page, name)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=12)
    target = screen_to_data(page, x + dx, y + dy)
    page.mouse.up()
    return target


def wait_until_text(page: Page, expected: str) -> float:
    """Wait for the app's points text; returns ms from the last send to the text showing it."""
    handle = page.wait_for_function(
        """(expected) => {
            const hit = [...document.querySelectorAll('[data-testid="stText"]')]
                .some((e) => e.textContent.includes(expected));
            return hit && performance.now();
        }""",
        arg=expected,
        polling="raf",
    )
    shown = handle.json_value()
    sent = float(page.locator(".lv-plane").get_attribute("data-last-sent-ms"))
    return shown - sent


def slide_unrelated(page: Page, presses: int = 1) -> None:
    thumb = page.get_by_test_id("stSlider").filter(has_text="unrelated").get_by_role("slider")
    before = int(thumb.input_value())
    thumb.focus()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_text(f"unrelated: {before + presses}")).to_be_visible()
    wait_for_app(page)


def no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --------------------------------------------------------------------------- tests


def test_first_render_draws_everything(page, plane_server):
    open_app(page, plane_server)
    plane = page.locator(".lv-plane")
    assert {k: tuple(v) for k, v in plane_points(page).items()} == DEFAULTS
    expect(page.get_by_text(points_text(DEFAULTS))).to_be_visible()
    # Square plane, width = min(container, 520 px); regions canvas = 100 x 100 cells.
    box = page.locator(".lv-plot-rect").bounding_box()
    assert abs(box["width"] - box["height"]) < 0.5 and box["width"] > 300
    assert page.locator(".lv-regions").evaluate("c => [c.width, c.height]") == [100, 100]
    # The regions are aligned: the first row (top, y = hi) is the y > 0 colour.
    top, bottom = page.locator(".lv-regions").evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, 100, 100).data;
                  return [[d[0], d[1], d[2]], [d[99 * 400], d[99 * 400 + 1], d[99 * 400 + 2]]]; }"""
    )
    assert top == [0x00, 0x9E, 0x73] and bottom == [0xE6, 0x9F, 0x00]
    # Labels, distance labels, arrows (A sits at the origin: its arrow has no length).
    expect(plane.locator(".lv-label")).to_have_text(["A anchor", "P positive", "N negative"])
    expect(plane.locator(".lv-dist")).to_have_text(["d(A,P) = 1.41", "d(A,N) = 1.58"])
    expect(plane.locator(".lv-arrow:visible")).to_have_count(2)
    expect(plane.locator('.lv-point[data-name="A"]')).to_have_attribute(
        "aria-label", "anchor A at (0.00, 0.00)"
    )
    expect(plane.locator(".lv-caption")).to_have_text(
        "Drag a point, or click it and use the arrow keys"
    )
    no_exception(page)
    screenshot(page, "plane-initial")


def test_drag_updates_the_app_state(page, plane_server):
    open_app(page, plane_server)
    target = drag(page, "N", 120, -60)
    latency_ms = wait_until_text(page, "changes: 1 ")  # written in the same rerun as points
    wait_for_app(page)
    assert_close(app_points(page)["N"], target)
    assert_close(plane_points(page)["N"], target)
    assert sent_count(page) == 1  # one value, on pointer-up; none during the drag
    # Python acknowledged the send: its arrows (for the new points) are shown again.
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0)
    expect(page.locator(".lv-arrow:visible")).to_have_count(2)
    expect(page.get_by_text(re.compile(r"^changes: 1 "))).to_be_visible()
    # The live preview's length label follows the point.
    d_an = (target[0] ** 2 + target[1] ** 2) ** 0.5
    label = page.locator(".lv-dist").nth(1).text_content()
    assert abs(float(label.split("= ")[1]) - d_an) < 0.02, label
    TIMINGS.setdefault("pointer_up_to_text_ms", []).append(round(latency_ms, 1))
    no_exception(page)
    screenshot(page, "plane-after-drag")


def test_reset_is_not_undone_by_an_unrelated_rerun(page, plane_server):
    open_app(page, plane_server)
    target = drag(page, "A", -90, 70)
    expect(page.get_by_text(re.compile(r"^changes: 1 "))).to_be_visible()
    assert_close(app_points(page)["A"], target)

    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_text(points_text(DEFAULTS))).to_be_visible()
    wait_for_app(page)
    slide_unrelated(page)  # the pitfall: the browser's old value must not come back
    page.wait_for_timeout(300)
    expect(page.get_by_text(points_text(DEFAULTS))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^changes: 1 "))).to_be_visible()
    assert_close(plane_points(page)["A"], DEFAULTS["A"], 1e-9)
    x, y = dot_center(page, "A")
    assert_close(screen_to_data(page, x, y), DEFAULTS["A"])
    assert sent_count(page) == 1  # adopting Python's reset sent nothing back
    no_exception(page)
    screenshot(page, "plane-after-reset")


def test_arrow_keys_move_the_point_and_send_once(page, plane_server):
    open_app(page, plane_server)
    page.locator('.lv-point[data-name="P"]').focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    step = 0.01 * (BOUNDS[1] - BOUNDS[0])
    moved = (DEFAULTS["P"][0] + 5 * step, DEFAULTS["P"][1])
    # The live preview moves at once, before anything is sent.
    assert_close(plane_points(page)["P"], moved, 1e-6)
    expect(page.locator('.lv-point[data-name="P"]')).to_have_attribute(
        "aria-label", f"positive P at ({moved[0]:.2f}, {moved[1]:.2f})"
    )
    expect(page.get_by_text(points_text(dict(DEFAULTS, P=moved)))).to_be_visible()
    page.keyboard.press("Shift+ArrowUp")
    moved = (moved[0], moved[1] + 0.1 * (BOUNDS[1] - BOUNDS[0]))
    expect(page.get_by_text(points_text(dict(DEFAULTS, P=moved)))).to_be_visible()
    assert sent_count(page) == 2  # debounced: one send per pause, not one per key
    no_exception(page)
    screenshot(page, "plane-after-keys")


def test_animation_plays_once_and_ends_at_the_last_frame(page, plane_server):
    open_app(page, plane_server)
    page.get_by_role("button", name="Reset").click()  # the server's state is per session
    page.get_by_role("button", name="Animate").click()
    plane = page.locator(".lv-plane")
    expect(plane).to_have_attribute("data-animating", "1", timeout=10_000)
    samples = []
    shots = 0
    while plane.get_attribute("data-animating") == "1":
        samples.append(tuple(plane_points(page)["N"]))
        if shots < 2 and len(samples) in (2, 7):
            # Viewport only: conftest's screenshot() resizes and waits 300 ms.
            page.screenshot(path=str(SCREENSHOTS / f"plane-animation-{shots}.png"))
            shots += 1
        page.wait_for_timeout(40)
    assert len(set(samples)) >= 3, samples  # it moved through intermediate positions
    xs = [s[0] for s in samples]
    assert xs == sorted(xs)  # N moves right, monotonically
    assert_close(plane_points(page)["N"], ANIMATION_TARGET, 1e-9)
    expect(page.get_by_text(points_text(dict(DEFAULTS, N=ANIMATION_TARGET)))).to_be_visible()
    # Arrows are back after the end (A's, at the origin, has no length).
    expect(plane.locator(".lv-arrow:visible")).to_have_count(2)
    assert sent_count(page) == 0  # an animation sends nothing
    screenshot(page, "plane-after-animation")
    # An unrelated rerun does not replay it.
    slide_unrelated(page)
    page.wait_for_timeout(FRAMES * 30 // 2)
    expect(plane).to_have_attribute("data-animating", "0")
    assert_close(plane_points(page)["N"], ANIMATION_TARGET, 1e-9)
    no_exception(page)


def test_pointer_up_to_text_latency(page, plane_server):
    """Five drags of P; the median from the send to the app's text showing it is recorded."""
    open_app(page, plane_server)
    for i in range(1, 6):
        drag(page, "P", 25 if i % 2 else -25, 10)
        TIMINGS.setdefault("pointer_up_to_text_ms", []).append(
            round(wait_until_text(page, f"changes: {i} "), 1)
        )
        wait_for_app(page)
    assert sent_count(page) == 5
    no_exception(page)


def test_touch_drag_and_a_narrow_screen(browser, plane_server):
    context = browser.new_context(viewport={"width": 380, "height": 800}, has_touch=True)
    try:
        page = context.new_page()
        open_app(page, plane_server)
        box = page.locator(".lv-plot-rect").bounding_box()
        assert abs(box["width"] - box["height"]) < 0.5 and box["width"] < 330  # square, fits
        x, y = dot_center(page, "N")
        cdp = context.new_cdp_session(page)
        touch = [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": touch})
        for k in range(1, 9):
            touch = [{"x": x + 5 * k, "y": y + 5 * k}]
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": touch})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        target = screen_to_data(page, x + 40, y + 40)
        expect(page.get_by_text(re.compile(r"^changes: 1 "))).to_be_visible()
        assert_close(app_points(page)["N"], target)
        no_exception(page)
        screenshot(page, "plane-narrow-touch")
    finally:
        context.close()
