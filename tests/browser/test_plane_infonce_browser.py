"""The draggable plane with InfoNCE on the unit circle, in a real browser.

On tests/browser/apps/plane_app.py's ``?mode=infonce``: a point dragged with the mouse or
turned with the arrow keys stays on the unit circle, the live read-out (mirror.js's
``readInfoNCE``) changes during the move and agrees with the core, the weights' bars show
percentages summing to about 100 % and set the arrows' widths, a point without a direction
reads "undefined" (never NaN), and the plane looks right in light and dark (screenshots in
``test-artifacts/screenshots/plane-infonce-*.png``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from lossviz.core.circle_reading import read_circle
from tests.browser.apps.plane_app import INFONCE_BOUNDS, infonce_defaults
from tests.browser.conftest import VIEWPORT, screenshot, start_streamlit, wait_for_app

pytestmark = pytest.mark.browser

APP = "tests/browser/apps/plane_app.py"
TAU = 0.2
NEGATIVES = 4
ON_CIRCLE = 1e-6  # |r - 1| of a point the plane keeps on the circle
DEFAULTS = infonce_defaults(NEGATIVES)


@pytest.fixture(scope="module")
def infonce_server() -> Iterator[str]:
    with start_streamlit(APP, "streamlit-plane-infonce") as base_url:
        yield base_url


# --------------------------------------------------------------------------- helpers


def open_app(page: Page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}/?mode=infonce&k={NEGATIVES}&tau={TAU}{query}")
    wait_for_app(page)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(NEGATIVES + 2)
    expect(page.locator(".lv-plane")).to_have_attribute("data-readout-source", "server")


def shown(page: Page) -> dict[str, tuple[float, float]]:
    raw = json.loads(page.locator(".lv-plane").get_attribute("data-points"))
    return {name: (x, y) for name, (x, y) in raw.items()}


def readout(page: Page) -> dict:
    return json.loads(page.locator(".lv-plane").get_attribute("data-readout"))


def readout_text(page: Page) -> str:
    return page.locator(".lv-readout").inner_text()


def to_screen(page: Page, xy: tuple[float, float]) -> tuple[float, float]:
    box = page.locator(".lv-plot-rect").bounding_box()
    assert box is not None
    lo, hi = INFONCE_BOUNDS
    return (
        box["x"] + (xy[0] - lo) / (hi - lo) * box["width"],
        box["y"] + (hi - xy[1]) / (hi - lo) * box["height"],
    )


def dot_center(page: Page, name: str) -> tuple[float, float]:
    box = page.locator(f'.lv-point[data-name="{name}"] .lv-dot').bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def radius(point: tuple[float, float]) -> float:
    return math.hypot(*point)


def angle_deg(point: tuple[float, float]) -> float:
    return math.degrees(math.atan2(point[1], point[0])) % 360


def angle_gap(a: float, b: float) -> float:
    d = abs(a - b) % 360
    return min(d, 360 - d)


def bars(page: Page) -> dict[str, tuple[str, float | None]]:
    """Each bar's text and share (``data-share``), by point name."""
    out = {}
    for bar in page.locator(".lv-weight").all():
        share = bar.get_attribute("data-share")
        text = bar.locator(".lv-weight-text").text_content()
        out[bar.get_attribute("data-name")] = (text, float(share) if share else None)
    return out


def percent_sum(page: Page) -> int:
    texts = [text for text, _ in bars(page).values()]
    assert all(re.fullmatch(r"\d{1,3} %", t) for t in texts), texts
    return sum(int(t.split()[0]) for t in texts)


def assert_reading_matches_the_core(live: dict, points: dict, on_circle: bool = True) -> None:
    core = read_circle(points, TAU, on_circle=on_circle)
    assert math.isclose(live["loss"], core.loss, rel_tol=1e-9), (live, core)
    assert math.isclose(live["share"], core.weights[core.hardest], rel_tol=1e-9)
    assert live["hardest"] == f"N{core.hardest}"
    assert math.isclose(live["alignment"], core.alignment, rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(live["uniformity"], core.uniformity, rel_tol=1e-9, abs_tol=1e-14)


def no_nan_anywhere(page: Page) -> None:
    assert "NaN" not in page.locator(".lv-plane").inner_html()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def changes_text(page: Page, count: int) -> None:
    expect(page.get_by_text(re.compile(rf"^changes: {count} "))).to_be_visible()
    wait_for_app(page)
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0)


# --------------------------------------------------------------------------- tests


def test_a_mouse_drag_keeps_the_negative_on_the_circle_and_the_readout_live(page, infonce_server):
    open_app(page, infonce_server)
    at_rest_text = readout_text(page)
    at_rest_bars = bars(page)
    assert re.search(r"hardest\s*N\d+ takes \d+ %", at_rest_text), at_rest_text
    x0, y0 = dot_center(page, "N1")
    page.mouse.move(x0, y0)
    page.mouse.down()
    # Through a spot inside the circle, then outside it: the point stays on the circle,
    # in the pointer's direction, and the read-out follows (the mirror's).
    seen_texts = set()
    for target in [(-0.4, 0.5), (-0.8, -0.2), (-1.6, -0.55)]:
        page.mouse.move(*to_screen(page, target), steps=6)
        point = shown(page)["N1"]
        assert abs(radius(point) - 1) < ON_CIRCLE, point
        assert angle_gap(angle_deg(point), angle_deg(target)) < 0.5, (point, target)
        expect(page.locator(".lv-plane")).to_have_attribute("data-readout-source", "live")
        assert_reading_matches_the_core(readout(page), shown(page))
        seen_texts.add(readout_text(page))
        assert 98 <= percent_sum(page) <= 102
        assert math.isclose(sum(share for _, share in bars(page).values()), 1, rel_tol=1e-9)
    assert at_rest_text not in seen_texts and len(seen_texts) == 3, seen_texts
    assert bars(page)["N1"] != at_rest_bars["N1"]  # the bars follow the drag
    assert "lower bound" in readout_text(page) and "preview" in readout_text(page)
    page.mouse.up()
    changes_text(page, 1)
    # Python's points (rounded to 1e-6 on the way) are still on the circle; its reading
    # is the read-out again.
    point = shown(page)["N1"]
    assert abs(radius(point) - 1) < ON_CIRCLE and angle_gap(angle_deg(point), 199) < 1, point
    expect(page.locator(".lv-plane")).to_have_attribute("data-readout-source", "server")
    server = readout(page)
    assert_reading_matches_the_core(server, shown(page))
    assert math.isclose(server["bound"], math.log1p(NEGATIVES * math.exp(-2 / TAU)))
    no_nan_anywhere(page)
    screenshot(page, "plane-infonce-after-drag")


def test_the_arrow_keys_turn_a_point_along_the_circle(page, infonce_server):
    open_app(page, infonce_server)
    point = page.locator('.lv-point[data-name="N2"]')
    point.focus()
    before = readout_text(page)
    start = angle_deg(DEFAULTS["N2"])
    for _ in range(5):
        page.keyboard.press("ArrowRight")  # counterclockwise, 3 degrees each
    moved = shown(page)["N2"]
    assert abs(radius(moved) - 1) < ON_CIRCLE
    assert angle_gap(angle_deg(moved), start + 15) < 1e-6, moved
    assert readout_text(page) != before
    assert_reading_matches_the_core(readout(page), shown(page))
    label = point.get_attribute("aria-label")
    assert label.startswith("negative N2 at (") and "175 degrees" in label, label
    assert "move it along the circle" in label and "arrow keys" in label
    page.keyboard.press("Shift+ArrowDown")  # clockwise, 15 degrees
    page.keyboard.press("ArrowLeft")  # clockwise, 3 degrees
    moved = shown(page)["N2"]
    assert angle_gap(angle_deg(moved), start - 3) < 1e-6 and abs(radius(moved) - 1) < ON_CIRCLE
    changes_text(page, 1)  # one send, after the pause
    settled = shown(page)["N2"]
    assert abs(radius(settled) - 1) < ON_CIRCLE and angle_gap(angle_deg(settled), 157) < 1e-3
    assert_reading_matches_the_core(readout(page), shown(page))
    no_nan_anywhere(page)


def test_the_bars_show_the_weights_and_set_the_arrows_widths(page, infonce_server):
    open_app(page, infonce_server)
    core = read_circle(DEFAULTS, TAU)
    shown_bars = bars(page)
    names = ["P", *(f"N{i}" for i in range(1, NEGATIVES + 1))]
    assert sorted(shown_bars) == sorted(names)  # the anchor has no weight
    for name, weight in zip(names, core.weights, strict=True):
        text, share = shown_bars[name]
        assert text == f"{round(weight * 100)} %" and math.isclose(share, weight, rel_tol=1e-12)
        fill = page.locator(f'.lv-weight[data-name="{name}"] .lv-weight-fill')
        assert math.isclose(float(fill.get_attribute("width")), 34 * weight, abs_tol=0.01)
    assert 98 <= percent_sum(page) <= 102
    # Each visible arrow is 1.5 px (weight 0) to 7 px (weight 1) wide.
    widths = {}
    for arrow in page.locator(".lv-arrow:visible").all():
        name = arrow.get_attribute("data-name")
        width = arrow.get_attribute("data-width")
        if name != "A":
            widths[name] = float(width)
            stroke = arrow.locator("line").evaluate("l => getComputedStyle(l).strokeWidth")
            assert math.isclose(float(stroke.removesuffix("px")), float(width), abs_tol=0.01)
    assert widths, "no weighted arrow is drawn"
    for name, width in widths.items():
        weight = core.weights[names.index(name)]
        assert math.isclose(width, 1.5 + 5.5 * weight, abs_tol=0.01), (name, width, weight)
    # The hardest negative's share in the read-out, in words.
    hardest = f"N{core.hardest}"
    share = round(core.weights[core.hardest] * 100)
    expect(page.locator('.lv-ro-item[data-field="hardest"] b')).to_have_text(
        f"{hardest} takes {share} %"
    )
    # The download holds the circle and the bars.
    with page.expect_download() as download:
        page.locator('.lv-tool[data-download="svg"]').click()
    svg = Path(download.value.path()).read_text(encoding="utf-8")
    assert 'class="lv-unit-circle"' in svg and svg.count('class="lv-weight"') == len(names)
    assert f"{hardest} takes {share} %" in svg
    with page.expect_download() as download:
        page.locator('.lv-tool[data-download="png"]').click()
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_point_without_a_direction_reads_undefined_never_nan(page, infonce_server):
    # Cosines of points the plane does not keep on the circle: A walks to the origin.
    open_app(page, infonce_server, "&circle=0&normalize=1")
    page.locator('.lv-point[data-name="A"]').focus()
    for key in ["Shift+ArrowLeft", "Shift+ArrowLeft", *["ArrowLeft"] * 5]:
        page.keyboard.press(key)  # 0.4, 0.4, then 5 x 0.04: from x = 1 to x = 0
    assert radius(shown(page)["A"]) < 1e-12
    expect(page.locator('.lv-ro-item[data-field="loss"] b')).to_have_text("undefined")
    expect(page.locator('.lv-ro-item[data-field="hardest"] b')).to_have_text("undefined")
    assert {text for text, _ in bars(page).values()} == {"—"}
    no_nan_anywhere(page)
    changes_text(page, 1)  # the server cannot read it either (DegenerateError)
    expect(page.locator(".lv-plane")).to_have_attribute("data-readout-source", "server")
    expect(page.locator('.lv-ro-item[data-field="loss"] b')).to_have_text("undefined")
    assert readout(page)["loss"] is None
    no_nan_anywhere(page)


def test_off_the_circle_the_origin_is_a_point_like_any_other(page, infonce_server):
    open_app(page, infonce_server, "&circle=0")
    expect(page.locator(".lv-unit-circle")).to_be_hidden()
    page.locator('.lv-point[data-name="A"]').focus()
    for key in ["Shift+ArrowLeft", "Shift+ArrowLeft", *["ArrowLeft"] * 5]:
        page.keyboard.press(key)
    live = readout(page)
    assert math.isfinite(live["loss"]) and live["bound"] is None
    assert_reading_matches_the_core(live, shown(page), on_circle=False)
    expect(page.locator('.lv-ro-item[data-field="bound"] b')).to_have_text("none off the circle")
    no_nan_anywhere(page)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_it_looks_right_in_light_and_dark(browser, infonce_server, theme):
    context = browser.new_context(viewport=VIEWPORT, color_scheme=theme)
    try:
        page = context.new_page()
        open_app(page, infonce_server)
        plane = page.locator(".lv-plane")
        colours = plane.evaluate(
            """(root) => {
                // "rgb(r, g, b)", or "color(srgb r g b)" (0 to 1) for a color-mix()
                    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3)
                        .map((v) => Number(v) * (c.startsWith("color(") ? 255 : 1));
                const get = (sel, prop) => rgb(getComputedStyle(root.querySelector(sel))[prop]);
                const probe = document.createElement("div");
                probe.style.background = "var(--st-background-color, #ffffff)";
                root.append(probe);
                const background = rgb(getComputedStyle(probe).backgroundColor);
                probe.remove();
                return {
                    background,
                    circle: get(".lv-unit-circle", "stroke"),
                    barText: get(".lv-weight-text", "fill"),
                    track: get(".lv-weight-track", "fill"),
                    label: get(".lv-label", "fill"),
                };
            }"""
        )

        def luminance(c):
            return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255

        bg = luminance(colours["background"])
        assert (bg < 0.2) if theme == "dark" else (bg > 0.8), colours
        for part in ("circle", "barText", "label"):
            assert abs(luminance(colours[part]) - bg) > 0.35, (part, colours)
        assert 0.03 < abs(luminance(colours["track"]) - bg) < 0.3, colours  # a faint track
        circle = page.locator(".lv-unit-circle").bounding_box()
        plot = page.locator(".lv-plot-rect").bounding_box()
        assert math.isclose(circle["width"], plot["width"] / 2, abs_tol=2)  # r = 1 of span 4
        no_nan_anywhere(page)
        page.mouse.move(1, 1)
        screenshot(page, f"plane-infonce-{theme}")
    finally:
        context.close()
