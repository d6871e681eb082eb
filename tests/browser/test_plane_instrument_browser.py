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

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import NonFiniteError
from lossviz.core.outlines import TripletOutlines, triplet_outlines
from lossviz.core.triplet_reading import read_triplet
from lossviz.scenes.presets import PLAYGROUND_PRESETS
from lossviz.scenes.scene import PlaygroundScene
from lossviz.ui.instruments.triplet_plane import reading_json as triplet_reading
from tests.browser.conftest import APP_TIMEOUT_MS, screenshot, wait_for_app
from tests.browser.plane_helpers import BOUNDS, no_exception, plane_points, to_screen

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


# The plane's plot on the screen, in CSS px of the viewport, scrolled to the middle first.
_PLOT_ON_SCREEN_JS = """(plane) => {
    plane.scrollIntoView({block: 'center', behavior: 'instant'});
    const svg = plane.querySelector('.lv-svg').getBoundingClientRect();
    const b = plane.querySelector('.lv-plot-rect').getBBox();
    return {x: svg.x + b.x, y: svg.y + b.y, size: b.width};
}"""
EDGE_TOLERANCE_PX = 0.5  # device pixels between the drawn and the exact border
WINDOW = 4  # device pixels each side of a border that are looked at


class PlotImage:
    """A screenshot of the plot, and data units <-> its device pixels.

    The plot rect spans ``BOUNDS``; where the page puts it comes from the DOM, to within
    the sub-pixel snapping of its layer (up to half a CSS pixel), which is then measured on
    the image from the plane's own grid lines: a border is placed against the grid, as a
    student reads it.
    """

    def __init__(self, page: Page, scale: int):
        plot = page.locator(".lv-plane").evaluate(_PLOT_ON_SCREEN_JS)
        header = page.get_by_test_id("stHeader").bounding_box()
        assert header is None or plot["y"] > header["y"] + header["height"], (plot, header)
        self.x0, self.y0 = math.floor(plot["x"]) - 2, math.floor(plot["y"]) - 2
        side = math.ceil(plot["size"]) + 4
        png = page.screenshot(clip={"x": self.x0, "y": self.y0, "width": side, "height": side},
                              animations="disabled")  # fmt: skip
        self.pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)
        assert self.pixels.shape[:2] == (side * scale, side * scale)
        self.plot, self.scale = plot, scale
        self.per_unit = plot["size"] / (BOUNDS[1] - BOUNDS[0])  # CSS px per data unit
        self.shift = np.zeros(2)
        self.shift = np.array([self._grid_shift(0), self._grid_shift(1)])

    def to_px(self, xy: np.ndarray) -> np.ndarray:
        """Data points (K, 2) -> device pixel coordinates (K, 2) as (column, row), continuous."""
        css_x = self.plot["x"] + (xy[:, 0] - BOUNDS[0]) * self.per_unit
        css_y = self.plot["y"] + (BOUNDS[1] - xy[:, 1]) * self.per_unit
        return np.stack([css_x - self.x0, css_y - self.y0], axis=1) * self.scale + self.shift

    def to_data(self, px: np.ndarray) -> np.ndarray:
        css = (px - self.shift) / self.scale + [self.x0, self.y0]
        x = BOUNDS[0] + (css[:, 0] - self.plot["x"]) / self.per_unit
        y = BOUNDS[1] - (css[:, 1] - self.plot["y"]) / self.per_unit
        return np.stack([x, y], axis=1)

    def _grid_shift(self, axis: int) -> float:
        """How far the inner grid lines across ``axis`` (0: the vertical ones, at columns)
        are drawn from where the DOM puts them: the median over many short profiles across
        them, each where the same colour lies on both sides, of the centre of the line."""
        lines = self.pixels if axis == 0 else self.pixels.transpose(1, 0, 2)
        values = np.arange(BOUNDS[0] + 1, BOUNDS[1])
        where = self.to_px(np.repeat(values[:, None].astype(float), 2, axis=1))
        centres, along = where[:, axis], where[:, 1 - axis]
        found = []
        for at in range(int(along.min()), int(along.max()), 2):
            if np.abs(along - (at + 0.5)).min() < 3 * self.scale:
                continue  # a grid line across this one
            for centre in centres:
                start = math.floor(centre) - 5
                profile = lines[at, start : start + 11]
                ends = np.r_[profile[:3], profile[-3:]]
                if np.ptp(ends, axis=0).max() > 3:
                    continue  # not one colour each side: a border, a point, a label
                weight = np.abs(profile[3:8] - ends.mean(axis=0)).sum(axis=1)
                if weight.max() > 6:
                    found.append(start + 3 + (weight * (np.arange(5) + 0.5)).sum() / weight.sum()
                                 - centre)  # fmt: skip
        assert len(found) >= 50, (axis, len(found))
        assert np.percentile(found, 75) - np.percentile(found, 25) < 0.25, (axis, found)
        return float(np.median(found))


def borders_on_line(outlines: TripletOutlines, image: PlotImage, axis: int, at: float):
    """Where the core's kind of N changes along one row (axis 0: ``at`` is a row coordinate,
    the line runs along columns) or one column (axis 1) of device pixels: [(s, before,
    after)] with ``s`` the exact pixel coordinate along the line (bisected)."""
    inner = image.to_px(np.array([BOUNDS, BOUNDS]).T)  # the plot's corners in pixels
    lo, hi = sorted(inner[:, axis])

    def points(s: np.ndarray) -> np.ndarray:
        px = np.empty((len(s), 2))
        px[:, axis], px[:, 1 - axis] = s, at
        return image.to_data(px)

    s = np.linspace(lo + 2, hi - 2, 4 * int(hi - lo))
    kinds = outlines.kinds(points(s))
    change = np.nonzero(np.diff(kinds))[0]
    a, b = s[change], s[change + 1]
    for _ in range(40):
        mid = (a + b) / 2
        same = outlines.kinds(points(mid)) == kinds[change]
        a, b = np.where(same, mid, a), np.where(same, b, mid)
    return [(float(t), int(kinds[i]), int(kinds[i + 1])) for t, i in zip(b, change, strict=True)]


def nearest(borders: list, s: float, kinds: tuple[int, int]) -> float | None:
    """The border between the same two kinds nearest to ``s`` on a line, if any."""
    same = [t for t, *between in borders if tuple(between) == kinds]
    return min(same, key=lambda t: abs(t - s)) if same else None


def kind_colours(outlines: TripletOutlines, image: PlotImage) -> dict[int, np.ndarray]:
    """Each kind's colour on the screen: the median of the pixels whose kind is sure."""
    rows, cols = np.mgrid[4 : image.pixels.shape[0] - 4 : 3, 4 : image.pixels.shape[1] - 4 : 3]
    centres = np.stack([cols.ravel(), rows.ravel()], axis=1) + 0.5
    nudge = 3.0 * np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])
    kinds = np.stack([outlines.kinds(image.to_data(centres + d)) for d in nudge])
    sure = (kinds == kinds[0]).all(axis=0)
    colours = image.pixels[rows.ravel(), cols.ravel()]
    return {k: np.median(colours[sure & (kinds[0] == k)], axis=0) for k in np.unique(kinds[0])}


def measure_border(line: np.ndarray, s: float, before: np.ndarray, after: np.ndarray):
    """Where a straight border between the colours ``before`` and ``after`` crosses this line
    of pixels near ``s``, from how much of each pixel it covers (``None`` where something
    else is drawn there: a point, a label, a line)."""
    start = math.floor(s) - WINDOW
    window = line[start : start + 2 * WINDOW + 1]
    step = after - before
    share = np.clip((window - before) @ step / (step @ step), 0.0, 1.0)
    off_line = np.linalg.norm(window - before - share[:, None] * step, axis=1)
    sides = np.r_[share[: WINDOW - 1], 1 - share[WINDOW + 2 :]]
    if off_line.max() > 10 or sides.max() > 0.05:
        return None
    return start + float((1 - share).sum())


def check_outlines(page: Page, scene: PlaygroundScene, scale: int) -> dict:
    """The borders between the kinds' colours on the screen against the core's outlines.

    Along every third row and column of device pixels, each place where the core's kind of
    N changes and the border crosses the line at 45 degrees or steeper, away from the grid
    and from another border: the drawn border (from the pixels' shares of the two colours)
    is within ``EDGE_TOLERANCE_PX``; where something else is drawn over it, it is skipped,
    but most are not.
    """
    settings = settings_of(scene)
    a, p = [scene.ax, scene.ay], [scene.px, scene.py]
    d_ap = read_triplet([a, p, [scene.nx, scene.ny]], settings).d_ap
    outlines = triplet_outlines(a, p, d_ap, settings)
    assert outlines is not None
    image = PlotImage(page, scale)
    colours = kind_colours(outlines, image)
    assert len(colours) == 3, colours
    contrast = min(np.abs(colours[i] - colours[j]).max() for i, j in ((0, 1), (1, 2), (0, 2)))
    assert contrast > 20, colours
    grid = image.to_px(np.repeat(np.arange(BOUNDS[0], BOUNDS[1] + 1)[:, None], 2, axis=1))
    errors, skipped = [], 0
    for axis in (0, 1):
        lines = image.pixels if axis == 0 else image.pixels.transpose(1, 0, 2)
        for at in np.arange(0.5, lines.shape[0], 3):
            if np.abs(grid[:, 1 - axis] - at).min() < 2 * scale:
                continue  # a grid line runs along this line
            borders = borders_on_line(outlines, image, axis, at)
            nearby = [borders_on_line(outlines, image, axis, at + d) for d in (-0.5, 0.5)]
            for s, before, after in borders:
                crowded = min((abs(t - s) for t, *_ in borders if t != s), default=math.inf)
                if crowded < 3 * WINDOW or np.abs(grid[:, axis] - s).min() < 2 * scale + WINDOW:
                    continue  # a corner, another border or a grid line in the window
                ends = [nearest(near, s, (before, after)) for near in nearby]
                if None in ends or abs(ends[1] - ends[0]) > 1:
                    continue  # a border this shallow spreads over many pixels of the line
                got = measure_border(lines[int(at)], s, colours[before], colours[after])
                if got is None:
                    skipped += 1
                else:
                    errors.append(got - s)
    errors = np.abs(np.array(errors))
    return {"checked": len(errors), "skipped": skipped, "worst": float(errors.max(initial=0))}


@pytest.mark.parametrize("scale", [1, 2])
def test_the_drawn_borders_are_the_cores_outlines_at_one_and_two_times(browser, app_server, scale):
    """Pixels, at 1x and 2x device scale: along rows and columns of the screenshot, the
    colour changes from one kind's to the next within a pixel of the border the core
    computes (lossviz.core.outlines), for circles (swap), wedges (cosine) and a star with
    cusps (p = 0.5); the shots are saved for a look."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  device_scale_factor=scale)  # fmt: skip
    page = context.new_page()
    scenes = {
        "swap": PLAYGROUND_PRESETS["swap"].scene,
        "cosine": PLAYGROUND_PRESETS["cosine"].scene,
        "p05": PLAYGROUND_PRESETS["semi_hard"].scene.replace(distance="minkowski", p=0.5),
    }
    try:
        for name, scene in scenes.items():
            open_scene(page, app_server, scene)
            page.locator(".lv-plane").screenshot(
                path=str(screenshot_dir() / f"plane-{name}-{scale}x.png")
            )
            found = check_outlines(page, scene, scale)
            assert found["checked"] >= 100 * scale, (name, found)
            assert found["skipped"] <= found["checked"] / 2, (name, found)  # hidden: a third
            assert found["worst"] <= EDGE_TOLERANCE_PX, (name, found)
    finally:
        context.close()


def screenshot_dir():
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


__all__ = ["screenshot"]
