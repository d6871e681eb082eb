"""The InfoNCE page (pages/infonce.py) in a real browser, on app.py's server.

What the AppTests (tests/test_infonce_page.py) cannot show: a point dragged with the mouse
or turned with the arrow keys staying on the unit circle while the read-out above the plot
follows it, the drop's JS -> Python -> URL round trip, Descend's animation frames, the bars
laid out beside their points, the batch tab's Plotly charts (the sphere rotated by a drag),
the toggles' content, the plane's downloads, dark and phone layouts. Expected numbers come
from the core (``lossviz.core.circle_reading.read_circle``) on the scene read back from the
page's URL (``InfoNCEScene.parse_query``, with no notes), never from constants.

Screenshots (test-artifacts/screenshots/): ``infonce`` (desktop light, "One hard negative":
the README's picture), ``infonce-dark``, ``infonce-phone``, ``infonce-batch``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from lossviz.core.circle_reading import CircleReading, read_circle
from lossviz.scenes.presets import INFONCE_PRESETS
from lossviz.scenes.scene import InfoNCEScene
from lossviz.teaching.snippets import infonce_snippet
from lossviz.teaching.temperature_conventions import naive_versus_stable
from lossviz.ui.instruments.circle_plane import ON_CIRCLE_BOUNDS
from lossviz.ui.points import DESCENT_STEPS
from lossviz.ui.readouts import small_number
from tests.browser import plane_helpers
from tests.browser.conftest import APP_TIMEOUT_MS, wait_for_app
from tests.browser.plane_helpers import (
    choose_preset,
    click_button,
    close,
    drag_to,
    metric,
    no_exception,
    plane_points,
    record_plane,
    recorded,
    shot,
    to_screen,
)

pytestmark = pytest.mark.browser

OFF_CIRCLE_BOUNDS = (-2.0, 2.0)  # the coordinates' own range (InfoNCEScene's _unit fields)
ON_CIRCLE = 1e-6  # |r - 1| of a point the plane keeps on the circle (Python rounds to 1e-6)
HARD = INFONCE_PRESETS["hard_negative"]
DEFAULT = InfoNCEScene()
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}

Point = tuple[float, float]


# --------------------------------------------------------------------------- helpers


def open_infonce(page: Page, base_url: str, query: str = "") -> None:
    """Open the page and wait for the plane (A, P and k negatives) and its metrics."""
    page.goto(f"{base_url}/infonce{query}")
    wait_for_app(page)
    expect(page.locator(".lv-plane .lv-point").first).to_be_attached(timeout=APP_TIMEOUT_MS)
    expect(metric(page, "loss")).to_be_visible(timeout=APP_TIMEOUT_MS)


def scene_points(scene: InfoNCEScene) -> dict[str, Point]:
    """The points as the plane draws ``scene``'s: on the circle, normalised (where the loss
    sees them, whatever length the link gave)."""
    points = scene.points()
    if scene.normalize:
        points = {
            name: (x / math.hypot(x, y), y / math.hypot(x, y)) for name, (x, y) in points.items()
        }
    return points


def settled(page: Page, timeout_s: float = 20.0) -> InfoNCEScene:
    """The URL's scene once the plane shows exactly its points (Python has answered)."""
    return plane_helpers.settled(page, InfoNCEScene, scene_points, timeout_s)


def reading_of(scene: InfoNCEScene) -> CircleReading:
    return read_circle(scene.points(), scene.tau, scene.normalize)


def expect_metrics(page: Page, scene: InfoNCEScene) -> CircleReading:
    """The page's metrics are the core's reading of ``scene``; returns that reading."""
    reading = reading_of(scene)
    expect(metric(page, "loss")).to_have_text(f"{reading.loss:.3f}")
    bound = "none" if reading.lower_bound is None else small_number(reading.lower_bound)
    expect(metric(page, "lowest")).to_have_text(bound)
    expect(metric(page, "collapsed")).to_have_text(f"{reading.collapsed:.3f}")
    share = 100 * reading.weights[reading.hardest]
    expect(metric(page, f"N{reading.hardest} takes")).to_have_text(f"{share:.0f} %")
    measures = page.get_by_test_id("stMarkdown").filter(has_text="over every pair =")
    expect(measures).to_contain_text(f"= {reading.alignment:.3f} (0 when P sits on A)")
    expect(measures).to_contain_text(f"= {reading.uniformity:.3f} (lower: more evenly spread)")
    return reading


def readout_text(page: Page) -> str:
    return page.locator(".lv-plane .lv-readout").inner_text()


def readout(page: Page) -> dict:
    return json.loads(page.locator(".lv-plane").get_attribute("data-readout"))


def radius(point: Point) -> float:
    return math.hypot(*point)


def angle_deg(point: Point) -> float:
    return math.degrees(math.atan2(point[1], point[0])) % 360


def angle_gap(a: float, b: float) -> float:
    d = abs(a - b) % 360
    return min(d, 360 - d)


def all_on_circle(points: dict[str, Point], tol: float = ON_CIRCLE) -> bool:
    return all(abs(radius(xy) - 1) <= tol for xy in points.values())


def dot_center(page: Page, name: str) -> Point:
    box = page.locator(f'.lv-plane .lv-point[data-name="{name}"] .lv-dot').bounding_box()
    assert box is not None, name
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def bars(page: Page) -> dict[str, tuple[str, float]]:
    """Each weight bar's percentage text and share (``data-share``), by point name."""
    out = {}
    for bar in page.locator(".lv-plane .lv-weight").all():
        text = bar.locator(".lv-weight-text").text_content()
        out[bar.get_attribute("data-name")] = (text, float(bar.get_attribute("data-share")))
    return out


def click_toggle(page: Page, label: str) -> None:
    page.get_by_test_id("stCheckbox").filter(has_text=label).locator("label").first.click()


# The views figure (the batch tab's first chart): Plotly's graph div, found by its traces.
_VIEWS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].find(
    (d) => (d._fullData || []).some((t) => t.name === 'unit sphere' || t.name === 'unit circle'))"""
_VIEWS_CANVAS_JS = f"""() => {{
    const canvas = ({_VIEWS_JS})().querySelector('.gl-container canvas');
    return canvas ? canvas.getBoundingClientRect().toJSON() : null;
}}"""
_EYE_JS = f"""() => {{
    const eye = ({_VIEWS_JS})()._fullLayout.scene.camera.eye;
    return [eye.x, eye.y, eye.z];
}}"""


def sphere_pixels(page: Page) -> float:
    """The share of the middle of the views chart (scrolled into view) that is not the
    page's background: the translucent sphere and the views WebGL drew there."""
    box = page.evaluate(
        f"""() => {{
        const chart = ({_VIEWS_JS})();
        chart.scrollIntoView({{block: 'center', behavior: 'instant'}});
        return chart.getBoundingClientRect().toJSON();
    }}"""
    )
    side = min(box["width"], box["height"]) * 0.4
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    shot_bytes = page.screenshot(clip={"x": left, "y": top, "width": side, "height": side})
    image = Image.open(io.BytesIO(shot_bytes)).convert("RGB")
    background = page.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
    )
    bg = np.array([int(v) for v in re.findall(r"\d+", background)[:3]])
    pixels = np.asarray(image, dtype=np.int16).reshape(-1, 3)
    return float((np.abs(pixels - bg).sum(axis=1) > 24).mean())


def luminance(color: str) -> float:
    """Relative luminance of a computed CSS colour (``rgb()``, or ``color(srgb ...)``)."""
    scale = 255.0 if color.startswith("color(srgb") else 1.0
    channels = [float(v) * scale / 255 for v in re.findall(r"[\d.]+", color)[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])  # fmt: skip


# --------------------------------------------------------------------------- 1. the mouse


def test_dragging_n1_keeps_it_on_the_circle_and_the_drop_updates_the_metrics(page, app_server):
    open_infonce(page, app_server)
    start = settled(page)
    assert start == DEFAULT
    before = expect_metrics(page, start)
    assert before.hardest != 1  # N1 (about 101 degrees) is not the hardest yet
    plane = page.locator(".lv-plane")
    expect(plane).to_have_attribute("data-readout-source", "server")
    at_rest = readout_text(page)
    assert "loss" in at_rest and f"{before.loss:.3f}" in at_rest, at_rest

    page.mouse.move(*dot_center(page, "N1"))
    page.mouse.down()
    # Through a spot inside the circle, one outside it, then close below A: N1 stays on
    # the circle, in the pointer's direction, and the read-out follows every move.
    seen = []
    for target in [(-0.45, 0.5), (-1.4, -0.35), (0.93, -0.28)]:
        page.mouse.move(*to_screen(page, target, ON_CIRCLE_BOUNDS), steps=8)
        point = plane_points(page)["N1"]
        assert abs(radius(point) - 1) < ON_CIRCLE, (target, point)
        assert angle_gap(angle_deg(point), angle_deg(target)) < 1.0, (target, point)
        expect(plane).to_have_attribute("data-readout-source", "live")
        live = readout(page)
        core = read_circle(plane_points(page), start.tau)
        assert math.isclose(live["loss"], core.loss, rel_tol=1e-9), (live, core)
        seen.append(readout_text(page))
        # Python's metrics wait for the drop: nothing is sent during a drag.
        assert plane.get_attribute("data-sent-count") in (None, "0")
        expect(metric(page, "loss")).to_have_text(f"{before.loss:.3f}")
    assert at_rest not in seen and len(set(seen)) == 3, seen
    assert "N1 takes" in seen[-1], seen[-1]  # near A, N1 became the hardest negative
    page.mouse.up()

    expect(plane).to_have_attribute("data-sent-count", "1")
    scene = settled(page)
    dropped = scene.points()["N1"]
    assert abs(radius(dropped) - 1) < ON_CIRCLE and angle_gap(angle_deg(dropped), 343.2) < 1.0
    for name, xy in scene_points(start).items():
        if name != "N1":  # only N1 moved (the others sent back as drawn, to 1e-6)
            assert close(scene_points(scene)[name], xy, 2e-6), (name, page.url)
    after = expect_metrics(page, scene)
    assert after.hardest == 1 and after.loss > before.loss
    expect(plane).to_have_attribute("data-readout-source", "server")
    assert math.isclose(readout(page)["loss"], after.loss, rel_tol=1e-9)
    no_exception(page)


# --------------------------------------------------------------------------- 2. the keyboard


def test_the_arrow_keys_turn_a_point_and_the_pause_sends_it(page, app_server):
    open_infonce(page, app_server)
    start = settled(page)
    before = expect_metrics(page, start)
    plane = page.locator(".lv-plane")
    # When each key went down, in the page's clock (the plane stamps data-last-sent-ms).
    page.evaluate(
        "window.addEventListener('keydown', () => { window.__lvLastKey = performance.now(); },"
        " true)"
    )
    point = page.locator('.lv-plane .lv-point[data-name="N2"]')
    point.focus()
    start_angle = angle_deg(start.points()["N2"])
    for key in ["ArrowRight"] * 4 + ["Shift+ArrowUp"]:  # 4 x 3 + 15 degrees counterclockwise
        page.keyboard.press(key)
    turned = plane_points(page)["N2"]
    assert abs(radius(turned) - 1) < ON_CIRCLE, turned
    assert angle_gap(angle_deg(turned), start_angle + 27) < 1e-6, (turned, start_angle)
    expect(plane).to_have_attribute("data-readout-source", "live")
    assert math.isclose(readout(page)["loss"], read_circle(plane_points(page), start.tau).loss,
                        rel_tol=1e-9)  # fmt: skip

    # One send for the five keys, after the pause, and the metrics follow it.
    expect(plane).to_have_attribute("data-sent-count", "1")
    pause = plane.evaluate("(p) => Number(p.dataset.lastSentMs) - window.__lvLastKey")
    assert pause >= 399, pause  # KEY_SEND_DELAY_MS = 400 after the last key
    scene = settled(page)
    sent = scene.points()["N2"]
    assert abs(radius(sent) - 1) < ON_CIRCLE and angle_gap(angle_deg(sent), start_angle + 27) < 1e-3
    after = expect_metrics(page, scene)
    assert after.loss != before.loss
    page.wait_for_timeout(600)
    expect(plane).to_have_attribute("data-sent-count", "1")  # nothing more was sent
    label = point.get_attribute("aria-label")
    assert f"{round(angle_deg(sent)) % 360} degrees" in label, label
    no_exception(page)


# --------------------------------------------------------------------------- 3. presets


def test_one_hard_negative_gives_n1_most_of_the_weight_beside_its_point(page, app_server):
    open_infonce(page, app_server)
    choose_preset(page, HARD.title)
    lesson = page.get_by_test_id("stAlertContentInfo").filter(has_text=HARD.lesson)
    expect(lesson).to_be_visible()  # the preset's lesson
    scene = settled(page)
    assert scene == HARD.scene, page.url
    reading = expect_metrics(page, scene)
    assert reading.hardest == 1

    shown = bars(page)
    names = ["P", *(f"N{i}" for i in range(1, scene.negatives + 1))]
    assert sorted(shown) == sorted(names)  # the anchor has no bar
    text, share = shown["N1"]
    assert share > 0.8 and int(text.removesuffix(" %")) > 80, shown["N1"]
    for name, weight in zip(names, reading.weights, strict=True):
        assert shown[name] == (f"{round(weight * 100)} %", pytest.approx(weight, rel=1e-9))
    # Each bar sits right after its point's label, and that label beside its point.
    boxes = []
    for name in names:
        bar = page.locator(f'.lv-plane .lv-weight[data-name="{name}"]').bounding_box()
        label = page.locator(f'.lv-plane .lv-labels text[data-key="p:{name}"]').bounding_box()
        assert bar and label, name
        assert abs((bar["y"] + bar["height"] / 2) - (label["y"] + label["height"] / 2)) < 4
        assert -2 <= bar["x"] - (label["x"] + label["width"]) <= 12, (name, bar, label)
        x, y = dot_center(page, name)
        left, right = label["x"], bar["x"] + bar["width"]
        top, bottom = min(label["y"], bar["y"]), max(label["y"] + label["height"],
                                                     bar["y"] + bar["height"])  # fmt: skip
        gap = math.hypot(max(left - x, 0, x - right), max(top - y, 0, y - bottom))
        assert gap < 30, (name, gap)  # px from the dot's centre to its label-and-bar box
        boxes.append((name, {"x": left, "y": top, "width": right - left, "height": bottom - top}))
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            assert not overlap(box_a, box_b), (a, b, box_a, box_b)
    no_exception(page)
    shot(page, "infonce")


# --------------------------------------------------------------------------- 4. step, descend


def test_step_then_descend_animates_on_the_circle_to_a_lower_loss(page, app_server):
    open_infonce(page, app_server)
    choose_preset(page, HARD.title)
    expect(page).to_have_url(re.compile(r"n1x=0\.965926"))
    start = settled(page)
    first = expect_metrics(page, start)

    click_button(page, "Step")
    expect(metric(page, "loss")).not_to_have_text(f"{first.loss:.3f}")
    stepped = settled(page)
    assert all_on_circle(stepped.points()), page.url
    assert all(stepped.points()[n] != xy for n, xy in start.points().items()), page.url
    second = expect_metrics(page, stepped)
    assert second.loss < first.loss

    record_plane(page)
    click_button(page, f"Descend {DESCENT_STEPS}")
    plane = page.locator(".lv-plane")
    expect(plane).to_have_attribute("data-animating", "1", timeout=10_000)
    expect(plane).to_have_attribute("data-animating", "0", timeout=20_000)
    end = settled(page)
    frames = [points for points, animating in recorded(page) if animating == "1"]
    path = [points["N1"] for points in frames]
    assert len(set(path)) >= 5, path  # it went through intermediate positions
    for points in frames:
        assert all_on_circle(points, 1e-5), points  # every frame on the circle
    assert all_on_circle(plane_points(page)) and all_on_circle(end.points())
    final = expect_metrics(page, end)
    assert final.loss < second.loss
    assert float(metric(page, "loss").inner_text()) < float(f"{second.loss:.3f}")
    no_exception(page)


# --------------------------------------------------------------------------- 5. off the circle


def test_off_the_circle_a_point_leaves_it_and_there_is_no_lowest_loss(page, app_server):
    open_infonce(page, app_server)
    expect(page.locator(".lv-plane .lv-unit-circle")).to_be_visible()
    click_toggle(page, "On the circle (normalised)")
    expect(page).to_have_url(re.compile(r"normalize=0"))
    expect(metric(page, "lowest")).to_have_text("none")
    expect(page.locator(".lv-plane .lv-unit-circle")).to_be_hidden()
    start = settled(page)
    assert not start.normalize and start.points() == DEFAULT.points()
    expect_metrics(page, start)

    target = (1.5, 1.2)  # radius 1.92: far off the unit circle
    drag_to(page, "N1", target, bounds=OFF_CIRCLE_BOUNDS)
    scene = settled(page)
    dropped = scene.points()["N1"]
    assert close(dropped, target), page.url  # where the pointer let go (within a pixel)
    assert radius(dropped) > 1.8
    reading = expect_metrics(page, scene)  # raw dot products
    assert reading.lower_bound is None and not reading.on_circle
    expect(metric(page, "lowest")).to_have_text("none")
    expect(page.locator('.lv-plane .lv-ro-item[data-field="bound"] b')).to_have_text(
        "none off the circle"
    )
    expect(page.locator(".lv-plane .lv-unit-circle")).to_be_hidden()
    no_exception(page)


# --------------------------------------------------------------------------- 6. the batch tab


def test_the_batch_tab_draws_four_charts_and_the_sphere_turns(page, app_server):
    open_infonce(page, app_server)
    charts = page.locator(".js-plotly-plot:visible")
    expect(charts).to_have_count(0)  # the batch tab is not the one shown
    page.get_by_role("tab", name="A batch of 2N views").click()
    expect(charts).to_have_count(4, timeout=APP_TIMEOUT_MS)
    expect(metric(page, "batch NT-Xent")).to_be_visible()
    expect(page.locator(".js-plotly-plot:visible .main-svg").first).to_be_visible()
    for i in range(4):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 250, (i, box)
    kinds = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".map((d) => [...new Set((d._fullData || []).map((t) => t.type))].sort().join(','))"
    )
    assert sorted(kinds) == sorted(["scatter3d,surface", "heatmap,scatter", "bar", "scatter"]), (
        kinds
    )
    # The sphere (WebGL) is drawn: the views chart holds a canvas with a size.
    canvas = page.evaluate(_VIEWS_CANVAS_JS)
    assert canvas and canvas["width"] > 300 and canvas["height"] > 300, canvas
    assert sphere_pixels(page) > 0.1, "the sphere is not drawn"

    # A mouse drag across the sphere turns the camera.
    eye_before = page.evaluate(_EYE_JS)
    box = page.evaluate(f"() => ({_VIEWS_JS})().getBoundingClientRect().toJSON()")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 40, steps=12)
    page.mouse.up()
    page.wait_for_function(
        f"(before) => {{ const e = ({_EYE_JS})(); return e.some((v, i) => Math.abs(v - before[i])"
        " > 1e-3); }",
        arg=eye_before,
    )
    eye_after = page.evaluate(_EYE_JS)
    assert eye_after != eye_before
    assert math.isclose(math.dist(eye_after, (0, 0, 0)), math.dist(eye_before, (0, 0, 0)),
                        rel_tol=0.05)  # fmt: skip  # turned round the sphere, not zoomed
    no_exception(page)
    shot(page, "infonce-batch")

    # Embedding dimension 2: the views on the unit circle, a 2-D scatter.
    dims = page.get_by_test_id("stRadio").filter(has_text="Embedding dimension")
    dims.get_by_text("2 (the circle)", exact=True).click()
    expect(page).to_have_url(re.compile(r"dim=2&"))
    wait_for_app(page)
    page.wait_for_function(
        f"() => {{ const d = ({_VIEWS_JS})(); return d && !d._fullLayout.scene"
        " && d._fullData[0].name === 'unit circle'; }"
    )
    types = page.evaluate(f"() => [...new Set(({_VIEWS_JS})()._fullData.map((t) => t.type))]")
    assert types == ["scatter"], types
    assert page.evaluate(_VIEWS_CANVAS_JS) is None  # no WebGL scene any more
    ring = page.evaluate(
        f"""() => {{
        const d = ({_VIEWS_JS})();
        const path = d.querySelector('.scatterlayer .trace path.js-line');
        const b = path.getBoundingClientRect();
        const t = d._fullData[0];
        return {{w: b.width, h: b.height, r: t.x.map((x, i) => Math.hypot(x, t.y[i]))}};
    }}"""
    )
    assert all(math.isclose(r, 1, abs_tol=1e-9) for r in ring["r"])
    assert ring["w"] > 150 and math.isclose(ring["w"], ring["h"], rel_tol=0.05), ring  # round
    expect(charts).to_have_count(4)
    no_exception(page)


def test_the_batch_charts_titles_are_whole(page, app_server):
    """Each chart's title lies inside its chart (Plotly clips what does not)."""
    open_infonce(page, app_server)
    page.get_by_role("tab", name="A batch of 2N views").click()
    expect(page.locator(".js-plotly-plot:visible .gtitle")).to_have_count(4, timeout=APP_TIMEOUT_MS)
    titles = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].filter((d) => d.offsetParent)
            .map((d) => {
                const chart = d.getBoundingClientRect();
                const title = d.querySelector('.gtitle').getBoundingClientRect();
                return [d.querySelector('.gtitle').textContent, chart.left, chart.right,
                        title.left, title.right];
            })"""
    )
    cut = [
        f"{text!r}: title {left:.0f} to {right:.0f} px, chart {lo:.0f} to {hi:.0f} px"
        for text, lo, hi, left, right in titles
        if left < lo - 1 or right > hi + 1
    ]
    assert not cut, "titles cut at their chart's edge:\n" + "\n".join(cut)


# --------------------------------------------------------------------------- 7. toggles, downloads


def test_the_toggles_show_their_content_and_the_plane_downloads(page, app_server):
    open_infonce(page, app_server)
    choose_preset(page, HARD.title)
    expect(page).to_have_url(re.compile(r"n1x=0\.965926"))
    scene = settled(page)
    reading = expect_metrics(page, scene)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stCode")).to_have_count(0)

    click_toggle(page, "Copy as code")
    code = main.get_by_test_id("stCode").filter(has_text="tau =")
    expect(code).to_be_visible()
    positions = [list(xy) for xy in scene.points().values()]
    want = infonce_snippet(positions, scene.tau, scene.normalize)
    got = code.locator("code").inner_text()
    assert [line.rstrip() for line in got.strip().splitlines()] == [
        line.rstrip() for line in want.strip().splitlines()
    ]
    expect(main.get_by_text("This scene's InfoNCE in plain PyTorch")).to_be_visible()

    expect(main.get_by_text("One temperature, three names.")).to_have_count(0)
    click_toggle(page, "Other libraries' τ")
    expect(main.get_by_text("One temperature, three names.")).to_be_visible()
    naive = naive_versus_stable(reading.similarities)
    expect(metric(page, "log-sum-exp form")).to_have_text(f"{naive.stable:.6g}")
    expect(metric(page, "float64")).to_have_text(f"{naive.exact:.6g}")
    expect(metric(page, "exp(s/τ) / Σ exp(s/τ)")).to_have_text(f"{naive.naive:.6g}")
    expect(code).to_be_visible()  # both at once
    no_exception(page)

    names = ["P", *(f"N{i}" for i in range(1, scene.negatives + 1))]
    with page.expect_download() as svg_download:
        page.locator('.lv-plane .lv-tool[data-download="svg"]').click()
    svg = svg_download.value
    assert svg.suggested_filename == "lossviz-infonce.svg"
    text = Path(svg.path()).read_text(encoding="utf-8")
    assert text.startswith("<svg") and 'class="lv-unit-circle"' in text
    assert text.count('class="lv-weight"') == len(names)
    share = round(100 * reading.weights[1])
    assert f"N1 takes {share} %" in text and f"{reading.loss:.3f}" in text
    with page.expect_download() as png_download:
        page.locator('.lv-plane .lv-tool[data-download="png"]').click()
    png = png_download.value
    assert png.suggested_filename == "lossviz-infonce.png"
    data = Path(png.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 500 and height > 500, (width, height)
    assert len(io.BytesIO(data).getvalue()) > 10_000  # a drawing, not a blank image
    no_exception(page)


# --------------------------------------------------------------------------- 8. dark, phone


def _styled(browser: Browser, viewport: dict, theme: str) -> Page:
    context = browser.new_context(viewport=viewport, color_scheme=theme)
    context.set_default_timeout(APP_TIMEOUT_MS)
    return context.new_page()


def test_dark_theme_reads(browser, app_server):
    page = _styled(browser, DESKTOP, "dark")
    try:
        open_infonce(page, app_server)
        choose_preset(page, HARD.title)
        expect(page).to_have_url(re.compile(r"n1x=0\.965926"))
        expect_metrics(page, settled(page))
        bg = page.evaluate(
            "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
        )
        assert luminance(bg) < 0.1, bg

        def style(selector: str, prop: str) -> str:
            return page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}")

        for selector, prop, least in [
            (".lv-plane .lv-label", "fill", 4.5),
            (".lv-plane .lv-weight-text", "fill", 4.5),
            (".lv-plane .lv-unit-circle", "stroke", 3.0),
            (".lv-plane .lv-readout", "color", 4.5),
            ('[data-testid="stMetricValue"]', "color", 4.5),
            (".katex", "color", 4.5),
        ]:
            color = style(selector, prop)
            assert contrast(color, bg) >= least, (selector, color, bg)
        no_exception(page)
        shot(page, "infonce-dark")
    finally:
        page.context.close()


@contextlib.contextmanager
def phone_on_the_hard_negative(browser, app_server) -> Iterator[Page]:
    """A 390-px page, light theme, on the "One hard negative" preset, its metrics settled."""
    page = _styled(browser, PHONE, "light")
    try:
        open_infonce(page, app_server)
        choose_preset(page, HARD.title)
        expect(page).to_have_url(re.compile(r"n1x=0\.965926"))
        expect_metrics(page, settled(page))
        yield page
    finally:
        page.context.close()


def test_a_phone_has_no_sideways_scroll(browser, app_server):
    with phone_on_the_hard_negative(browser, app_server) as page:
        widths = page.evaluate(
            """() => [document.documentElement, document.body,
                ...document.querySelectorAll('[data-testid="stMain"],'
                    + '[data-testid="stAppViewContainer"], [data-testid="stMainBlockContainer"]')]
                .map((e) => [e.tagName + (e.dataset?.testid ? '#' + e.dataset.testid : ''),
                             e.scrollWidth, e.clientWidth])"""
        )
        for name, scroll, client in widths:
            assert scroll <= client + 1, (name, scroll, client)  # nothing wider than the page
        page.mouse.wheel(200, 0)
        assert page.evaluate("window.scrollX") == 0
        plane = page.locator(".lv-plane .lv-svg").bounding_box()
        assert plane and plane["x"] >= 0 and plane["x"] + plane["width"] <= PHONE["width"]
        no_exception(page)
        shot(page, "infonce-phone")


def test_a_phone_shows_every_metric_whole(browser, app_server):
    """At 390 px the metrics' labels and values are not cut short ("N1: 8…")."""
    with phone_on_the_hard_negative(browser, app_server) as page:
        cut = page.evaluate(
            """() => [...document.querySelectorAll(
                    '[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"],'
                    + '[data-testid="stMetricValue"] [data-testid="stMarkdownContainer"]')]
                .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
                .map((e) => `${e.textContent}: ${e.scrollWidth} px in ${e.clientWidth} px`)"""
        )
        assert not cut, "cut short with an ellipsis:\n" + "\n".join(cut)


# --------------------------------------------------------------------------- 9. a bad link


def test_a_bad_link_shows_one_notice_and_the_page_works(page, app_server):
    open_infonce(page, app_server, "?tau=abc&negatives=99")
    warnings = page.get_by_test_id("stAlertContentWarning")
    expect(warnings).to_have_count(1)  # one notice, one line per bad value
    expect(warnings).to_contain_text("This link had 2 bad values")
    items = warnings.locator("li")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="tau")).to_contain_text("'abc' is not a number")
    expect(items.filter(has_text="negatives")).to_contain_text("99")
    scene = settled(page)
    assert scene == DEFAULT, page.url
    assert "tau=abc" not in page.url and "negatives=99" not in page.url
    expect(page.locator(".lv-plane .lv-point")).to_have_count(DEFAULT.negatives + 2)
    before = expect_metrics(page, scene)
    no_exception(page)

    # It works: a drop updates the metrics.
    drag_to(page, "N3", (0.6, 0.8), bounds=ON_CIRCLE_BOUNDS)
    moved = settled(page)
    assert angle_gap(angle_deg(moved.points()["N3"]), angle_deg((0.6, 0.8))) < 1.0
    after = expect_metrics(page, moved)
    assert after.loss != before.loss
    no_exception(page)
