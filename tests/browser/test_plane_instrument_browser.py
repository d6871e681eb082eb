"""The plane as an instrument, in chromium: the live read-out while dragging, exact outlines,
labels that never collide, and the SVG / PNG downloads.

Every expected number comes from the torch core on the positions the plane reports
(``data-points``) or on the scene in the URL, never from constants.
"""

from __future__ import annotations

import io
import json
import math
import struct
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import NonFiniteError
from lossviz.core.triplet_reading import read_triplet
from lossviz.scenes.presets import PLAYGROUND_PRESETS
from lossviz.scenes.scene import PlaygroundScene
from lossviz.ui.instruments.triplet_plane import reading_json as triplet_reading
from tests.browser.conftest import APP_TIMEOUT_MS, screenshot, wait_for_app
from tests.browser.plane_helpers import no_exception, plane_points, to_screen

pytestmark = pytest.mark.browser

REL = 1e-6
DISTANCE_VARIANTS = {
    "euclidean": {"distance": "euclidean"},
    "manhattan": {"distance": "manhattan"},
    "chebyshev": {"distance": "chebyshev"},
    "p=0.5": {"distance": "minkowski", "p": 0.5},
    "p=3": {"distance": "minkowski", "p": 3.0},
    "cosine": {"distance": "cosine"},
    "squared": {"distance": "squared_euclidean"},
    "eps=0": {"distance": "euclidean", "eps": 0.0},
}
# Label layouts that are hard to get right: collinear, nearly coincident, one spot, corners.
HARD_LABEL_SCENES = {
    "collinear": PlaygroundScene(ax=0, ay=0, px=1, py=0, nx=2, ny=0),
    "nearly-coincident": PlaygroundScene(ax=0, ay=0, px=0.02, py=0, nx=0.03, ny=0.02),
    "one-spot": PlaygroundScene(ax=1, ay=1, px=1, py=1, nx=1, ny=1),
    "corner": PlaygroundScene(ax=3.9, ay=3.9, px=4, py=3.7, nx=3.7, ny=4, swap=True),
    "edge-vertical": PlaygroundScene(ax=-4, ay=0, px=-4, py=0.3, nx=-4, ny=-0.3),
}


def link(scene: PlaygroundScene) -> str:
    return "/playground?" + urlencode(scene.to_query())


def settings_of(scene: PlaygroundScene) -> LossSettings:
    return LossSettings(scene.margin, scene.p, scene.eps, scene.swap, scene.distance, scene.expr)


def url_scene(page: Page) -> PlaygroundScene:
    from urllib.parse import parse_qs, urlsplit

    scene, notes = PlaygroundScene.parse_query(parse_qs(urlsplit(page.url).query))
    assert not notes, notes
    return scene


def open_scene(page: Page, base_url: str, scene: PlaygroundScene) -> None:
    page.goto(f"{base_url}{link(scene)}")
    wait_for_app(page)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(3, timeout=APP_TIMEOUT_MS)
    at_rest(page)


def at_rest(page: Page) -> None:
    """The plane shows Python's points and numbers (no drag, no pending send)."""
    wait_for_app(page)
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0)
    expect(page.locator(".lv-plane")).to_have_attribute("data-readout-source", "server")


def readout(page: Page) -> tuple[str, dict | None]:
    plane = page.locator(".lv-plane")
    return plane.get_attribute("data-readout-source"), json.loads(
        plane.get_attribute("data-readout")
    )


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=REL, abs_tol=1e-12)


def assert_matches_core(live: dict, points: dict, settings: LossSettings) -> None:
    """The mirror's numbers against the core on the same positions (the kind too, unless
    within 1e-6 of a border)."""
    core = read_triplet([list(points[n]) for n in "APN"], settings)
    for field in ("d_ap", "d_an", "d_pn", "d_an_used", "loss"):
        assert close(live[field], getattr(core, field)), (field, live, core, points)
    delta = core.d_an_used - core.d_ap
    tol = REL * max(1.0, core.d_ap, core.d_an_used)
    if abs(delta) > tol and abs(delta - settings.margin) > tol:
        assert live["kind"] == core.kind.label, (live, core)


# --------------------------------------------------------------------------- labels


_LABEL_BOXES_JS = """(plane) => {
    const svg = plane.querySelector('.lv-svg');
    const origin = svg.getBoundingClientRect();
    const rect = plane.querySelector('.lv-plot-rect').getBBox();
    const labels = [...plane.querySelectorAll('.lv-labels text')]
        .filter((t) => t.textContent && t.getAttribute('display') !== 'none')
        .map((t) => {
            const b = t.getBBox();
            return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height};
        });
    const points = [...plane.querySelectorAll('.lv-point')].map((p) => {
        const b = p.querySelector('.lv-dot').getBoundingClientRect();
        return [b.x + b.width / 2 - origin.x, b.y + b.height / 2 - origin.y];
    });
    return {labels, points, plot: {x: rect.x, y: rect.y, w: rect.width, h: rect.height}};
}"""


def assert_labels_clear(page: Page, where: str) -> None:
    """No two label boxes intersect, none covers a point's dot, all inside the plot."""
    found = page.locator(".lv-plane").evaluate(_LABEL_BOXES_JS)
    labels, plot = found["labels"], found["plot"]
    assert len(labels) >= 3, found
    for i, a in enumerate(labels):
        assert plot["x"] - 0.5 <= a["x"] and a["x"] + a["w"] <= plot["x"] + plot["w"] + 0.5, (
            where,
            a,
        )
        assert plot["y"] - 0.5 <= a["y"] and a["y"] + a["h"] <= plot["y"] + plot["h"] + 0.5, (
            where,
            a,
        )
        for b in labels[i + 1 :]:
            overlap_w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            overlap_h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            assert overlap_w <= 0.5 or overlap_h <= 0.5, (where, a, b)
        for px, py in found["points"]:
            nx = min(max(px, a["x"]), a["x"] + a["w"])
            ny = min(max(py, a["y"]), a["y"] + a["h"])
            assert math.hypot(px - nx, py - ny) >= 8.0, (where, a, (px, py))


# --------------------------------------------------------------------------- the tests


def _drag_cases():
    for name, preset in PLAYGROUND_PRESETS.items():
        yield f"preset-{name}", preset.scene
    for variant, fields in DISTANCE_VARIANTS.items():
        for preset in ("semi_hard", "swap"):
            scene = PLAYGROUND_PRESETS[preset].scene
            yield f"{preset}-{variant}", scene.replace(**fields)


@pytest.mark.parametrize("name,scene", list(_drag_cases()), ids=[c[0] for c in _drag_cases()])
def test_the_read_out_follows_the_drag_and_the_drop_brings_the_cores(page, app_server, name, scene):
    open_scene(page, app_server, scene)
    settings = settings_of(scene)
    # At rest: the server's reading, exactly.
    source, shown = readout(page)
    core = read_triplet([list(p) for p in plane_points(page).values()], settings)
    assert source == "server" and shown == json.loads(json.dumps(triplet_reading(core)))
    assert_labels_clear(page, f"{name} at rest")
    # Mid-drag, at three spots: the mirror's numbers for exactly the positions shown.
    dot = page.locator('.lv-plane .lv-point[data-name="N"] .lv-dot').bounding_box()
    page.mouse.move(dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2)
    page.mouse.down()
    for target in ((-1.2, 2.1), (0.4, -0.3), (2.6, 1.7)):
        page.mouse.move(*to_screen(page, target), steps=4)
        source, live = readout(page)
        assert source == "live", (name, source)
        assert_matches_core(live, plane_points(page), settings)
        badge = page.locator(".lv-plane .lv-ro-badge")
        assert badge.get_attribute("data-label") == live["kind"]
        assert page.locator(".lv-plane .lv-ro-note").inner_text() == "preview"
        assert_labels_clear(page, f"{name} dragging to {target}")
    last_live = live
    page.mouse.up()
    # The drop: the server's numbers replace the preview and agree with it.
    at_rest(page)
    source, final = readout(page)
    dropped = url_scene(page)
    core = read_triplet([[dropped.ax, dropped.ay], [dropped.px, dropped.py],
                         [dropped.nx, dropped.ny]], settings)  # fmt: skip
    assert final == json.loads(json.dumps(triplet_reading(core)))
    for field in ("d_ap", "d_an", "loss"):  # the send rounds positions to 1e-6
        assert math.isclose(final[field], last_live[field], rel_tol=1e-4, abs_tol=1e-5)
    no_exception(page)


def test_a_typed_distance_says_its_numbers_come_at_the_drop(page, app_server):
    scene = PlaygroundScene(distance="custom", expr="sum(abs(a - b))")
    open_scene(page, app_server, scene)
    dot = page.locator('.lv-plane .lv-point[data-name="N"] .lv-dot').bounding_box()
    page.mouse.move(dot["x"] + 5, dot["y"] + 5)
    page.mouse.down()
    page.mouse.move(*to_screen(page, (-2.0, -2.0)), steps=5)
    assert readout(page) == ("pending", None)
    expect(page.locator(".lv-plane .lv-ro-note")).to_have_text("numbers at the drop")
    page.mouse.up()
    at_rest(page)
    _, shown = readout(page)
    dropped = url_scene(page)
    core = read_triplet([[dropped.ax, dropped.ay], [dropped.px, dropped.py],
                         [dropped.nx, dropped.ny]], settings_of(dropped))  # fmt: skip
    assert shown == json.loads(json.dumps(triplet_reading(core)))
    # The cell grid (no known geometry), no outlines.
    assert page.locator(".lv-plane .lv-regions").is_visible()
    assert page.locator(".lv-plane .lv-shape").count() == 0


@pytest.mark.parametrize("name", list(HARD_LABEL_SCENES))
def test_labels_never_collide_in_hard_layouts(page, app_server, name):
    scene = HARD_LABEL_SCENES[name]
    try:
        read_triplet([[scene.ax, scene.ay], [scene.px, scene.py], [scene.nx, scene.ny]],
                     settings_of(scene))  # fmt: skip
    except NonFiniteError:  # pragma: no cover - every scene here is finite
        pytest.fail(name)
    open_scene(page, app_server, scene)
    assert_labels_clear(page, name)
    page.locator(".lv-plane").screenshot(path=str(screenshot_dir() / f"labels-{name}.png"))


_KINDS_BY_FILL_JS = """([plane, samples]) => {
    const paths = [...plane.querySelectorAll('.lv-shape')];
    const at = (role, x, y) => paths.some((p) => p.dataset.role === role
        && p.isPointInFill(new DOMPoint(x, y)));
    return samples.map(([x, y]) =>
        at('hard', x, y) ? 'hard' : at('semi', x, y) ? 'semi-hard' : 'easy');
}"""


@pytest.mark.parametrize(
    "variant", ["euclidean", "manhattan", "chebyshev", "p=0.5", "p=3", "cosine", "squared"]
)
def test_the_drawn_outlines_are_the_cores_borders(page, app_server, variant):
    """Sample the plot: the path that contains each spot gives the core's kind of N there
    (except within 1.5 px of a border). With swap, so both balls are drawn."""
    scene = PLAYGROUND_PRESETS["swap"].scene.replace(**DISTANCE_VARIANTS[variant])
    open_scene(page, app_server, scene)
    box = page.locator(".lv-plot-rect").evaluate(
        "(r) => { const b = r.getBBox(); "
        "return {x: b.x, y: b.y, width: b.width, height: b.height}; }"
    )
    settings = settings_of(scene)
    grid = [(box["x"] + box["width"] * (i + 0.5) / 24, box["y"] + box["height"] * (j + 0.5) / 24)
            for i in range(24) for j in range(24)]  # fmt: skip
    drawn = page.locator(".lv-plane").evaluate(
        "(plane, samples) => (" + _KINDS_BY_FILL_JS + ")([plane, samples])", grid
    )
    per_px = 8.0 / box["width"]
    a, p = (scene.ax, scene.ay), (scene.px, scene.py)
    mismatches = 0
    for (x, y), kind in zip(grid, drawn, strict=True):
        n = (-4 + (x - box["x"]) * per_px, 4 - (y - box["y"]) * per_px)
        core = read_triplet([list(a), list(p), list(n)], settings)
        # How far (in pixels) the spot is from a border: move it 1.5 px each way.
        kinds = set()
        for dx, dy in ((1.5, 0), (-1.5, 0), (0, 1.5), (0, -1.5)):
            shifted = (n[0] + dx * per_px, n[1] + dy * per_px)
            kinds.add(read_triplet([list(a), list(p), list(shifted)], settings).kind.label)
        if len(kinds) == 1 and kind != core.kind.label:
            mismatches += 1
    assert mismatches == 0, (variant, mismatches)


def test_regions_follow_a_dragged_anchor(page, app_server):
    open_scene(page, app_server, PlaygroundScene())
    plane = page.locator(".lv-plane")
    semi = page.locator('.lv-plane .lv-shape[data-role="semi"]')
    before = semi.get_attribute("d")
    assert plane.get_attribute("data-shapes-source") == "server"
    dot = page.locator('.lv-plane .lv-point[data-name="A"] .lv-dot').bounding_box()
    page.mouse.move(dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2)
    page.mouse.down()
    page.mouse.move(*to_screen(page, (-1.5, -1.0)), steps=5)
    assert plane.get_attribute("data-shapes-source") == "mirror"
    assert semi.get_attribute("d") != before
    page.mouse.up()
    at_rest(page)
    assert plane.get_attribute("data-shapes-source") == "server"


def test_downloads_are_what_is_on_screen(page, app_server):
    open_scene(page, app_server, PLAYGROUND_PRESETS["swap"].scene)
    with page.expect_download() as svg_download:
        page.locator('.lv-plane .lv-tool[data-download="svg"]').click()
    svg = svg_download.value
    assert svg.suggested_filename == "lossviz-triplet.svg"
    text = svg.path().read_text(encoding="utf-8")
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    paths = root.iter(f"{ns}path")
    roles = [p.get("data-role") for p in paths]
    assert roles.count("semi") == 2 and roles.count("hard") == 2 and "base" in roles  # swap
    texts = [t.text for t in root.iter(f"{ns}text") if t.text]
    assert {"A anchor", "P positive", "N negative"} <= set(texts)
    _, shown = readout(page)
    assert any(f"{shown['loss']:.3f}" in t and "loss" in t for t in texts)  # the read-out
    assert "fill:" in text and "<style" not in text  # styles inlined, no page CSS needed
    with page.expect_download() as png_download:
        page.locator('.lv-plane .lv-tool[data-download="png"]').click()
    png = png_download.value
    assert png.suggested_filename == "lossviz-triplet.png"
    data = png.path().read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    side = float(root.get("width"))
    assert (width, height) == (round(2 * side), round(2 * float(root.get("height"))))
    assert len(io.BytesIO(data).getvalue()) > 10_000  # regions and points, not a blank image


def test_screenshots_at_one_and_two_times(browser, app_server):
    """The plane at 1x and 2x (device pixels): smooth outlines; saved for a look."""
    for scale in (1, 2):
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      device_scale_factor=scale)  # fmt: skip
        page = context.new_page()
        try:
            for name in ("swap", "cosine"):
                open_scene(page, app_server, PLAYGROUND_PRESETS[name].scene)
                path = screenshot_dir() / f"plane-{name}-{scale}x.png"
                page.locator(".lv-plane").screenshot(path=str(path))
                assert path.stat().st_size > 10_000
            open_scene(page, app_server, PLAYGROUND_PRESETS["semi_hard"].scene.replace(
                distance="minkowski", p=0.5))  # fmt: skip
            page.locator(".lv-plane").screenshot(
                path=str(screenshot_dir() / f"plane-p05-{scale}x.png")
            )
        finally:
            context.close()


def screenshot_dir():
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


__all__ = ["screenshot"]
