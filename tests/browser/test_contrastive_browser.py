"""The contrastive page (pages/contrastive.py) in a real browser.

Served by app.py (``app_server``) once the page is registered in
``lossviz.ui.navigation.PAGES``; until then by a tiny wrapper app
(``tests/browser/apps/contrastive_app.py``) on a server of its own. Expected numbers
come from the core (``lossviz.pairs.read_pair``) on the scene read back from the URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from lossviz.pairs import PairReading, Term, read_pair
from lossviz.playground import LossSettings
from lossviz.presets import CONTRASTIVE_PRESETS
from lossviz.scene import ContrastiveScene
from lossviz.ui.navigation import PAGES
from tests.browser.conftest import APP_TIMEOUT_MS, screenshot, start_streamlit, wait_for_app

pytestmark = pytest.mark.browser

BOUNDS = (-4.0, 4.0)
PIXEL = 0.03  # data units
WRAPPER_APP = "tests/browser/apps/contrastive_app.py"


@pytest.fixture(scope="module")
def contrastive_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The page's address: on app.py's server when the page is registered there, else the
    wrapper app's own server (where it is the only, default page, at the root)."""
    if any(str(page.path).endswith("contrastive.py") for page in PAGES):
        yield f"{request.getfixturevalue('app_server')}/contrastive"
        return
    with start_streamlit(WRAPPER_APP, "streamlit-contrastive-app") as base_url:
        yield f"{base_url}/"


# --------------------------------------------------------------------------- helpers


def open_page(page: Page, page_url: str, query: str = "") -> None:
    page.goto(f"{page_url}{query}")
    wait_for_app(page)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(2, timeout=APP_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot")).to_have_count(1, timeout=APP_TIMEOUT_MS)
    expect(metric(page, "loss")).to_be_visible()


def url_scene(page: Page) -> ContrastiveScene:
    scene, notes = ContrastiveScene.parse_query(parse_qs(urlsplit(page.url).query))
    assert not notes, (page.url, notes)
    return scene


def scene_points(scene: ContrastiveScene) -> dict[str, tuple[float, float]]:
    return {"X1": (scene.x1x, scene.x1y), "X2": (scene.x2x, scene.x2y)}


def plane_points(page: Page) -> dict[str, tuple[float, float]]:
    raw = json.loads(page.locator(".lv-plane").get_attribute("data-points"))
    return {name: (x, y) for name, (x, y) in raw.items()}


def close(got, want, tol: float = PIXEL) -> bool:
    return abs(got[0] - want[0]) <= tol and abs(got[1] - want[1]) <= tol


def settled(page: Page, timeout_s: float = 20.0) -> ContrastiveScene:
    """Wait until the plane shows Python's points and the URL holds them; the URL's scene."""
    wait_for_app(page)
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0)
    expect(page.locator(".lv-plane")).not_to_have_attribute("data-animating", "1")
    deadline = time.monotonic() + timeout_s
    while True:
        scene = url_scene(page)
        shown = plane_points(page)
        if all(close(shown[n], xy, 1e-6) for n, xy in scene_points(scene).items()):
            return scene
        assert time.monotonic() < deadline, (page.url, shown)
        page.wait_for_timeout(50)


def reading_of(scene: ContrastiveScene, inverted: bool = False) -> PairReading:
    settings = LossSettings(scene.margin, scene.p, scene.eps, False, scene.distance,
                            scene.expr)  # fmt: skip
    points = [list(xy) for xy in scene_points(scene).values()]
    return read_pair(points, scene.similar, settings, inverted=inverted)


def metric(page: Page, label: str) -> Locator:
    block = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    expect(block).to_have_count(1)
    return block.get_by_test_id("stMetricValue")


def expect_metrics(page: Page, reading: PairReading) -> None:
    expect(metric(page, "d")).to_have_text(f"{reading.d:.3f}")
    expect(metric(page, "loss")).to_have_text(f"{reading.loss:.3f}")
    expect(metric(page, "active term")).to_have_text(reading.term.label)


def to_screen(page: Page, xy: tuple[float, float]) -> tuple[float, float]:
    box = page.locator(".lv-plot-rect").bounding_box()
    assert box is not None
    lo, hi = BOUNDS
    return (
        box["x"] + (xy[0] - lo) / (hi - lo) * box["width"],
        box["y"] + (hi - xy[1]) / (hi - lo) * box["height"],
    )


def drag_to(page: Page, name: str, target: tuple[float, float]) -> None:
    dot = page.locator(f'.lv-plane .lv-point[data-name="{name}"] .lv-dot').bounding_box()
    assert dot is not None
    x0, y0 = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
    x1, y1 = to_screen(page, target)
    sent = page.locator(".lv-plane").get_attribute("data-sent-count") or "0"
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=12)
    page.mouse.up()
    expect(page.locator(".lv-plane")).to_have_attribute("data-sent-count", str(int(sent) + 1))


def click_button(page: Page, name: str) -> None:
    page.get_by_test_id("stButton").get_by_role("button", name=name, exact=True).click()


def click_toggle(page: Page, label: str) -> None:
    page.get_by_test_id("stCheckbox").filter(has_text=label).locator("label").first.click()


def arrow_tips(page: Page) -> list[tuple[float, float, float, float]]:
    """Each drawn arrow's shaft in page pixels (x1, y1, x2, y2), only the visible ones."""
    lines = page.locator(".lv-plane .lv-arrow:visible line")
    return [
        tuple(float(lines.nth(i).get_attribute(a)) for a in ("x1", "y1", "x2", "y2"))
        for i in range(lines.count())
    ]


def shot(page: Page, name: str) -> None:
    page.mouse.move(1, 1)
    expect(page.get_by_test_id("stTooltipContent")).to_have_count(0)
    screenshot(page, name)


def no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --------------------------------------------------------------------------- tests


def test_dragging_x2_updates_d_loss_and_the_url(page, contrastive_server):
    open_page(page, contrastive_server)
    start = settled(page)
    assert start == ContrastiveScene()
    expect_metrics(page, reading_of(start))
    shot(page, "contrastive")

    target = (2.5, -1.5)
    drag_to(page, "X2", target)
    before = reading_of(start)
    expect(metric(page, "d")).not_to_have_text(f"{before.d:.3f}")
    scene = settled(page)
    assert close(scene_points(scene)["X2"], target), page.url
    assert scene_points(scene)["X1"] == scene_points(start)["X1"]
    reading = reading_of(scene)
    assert reading.d > before.d and reading.loss > before.loss
    expect_metrics(page, reading)
    no_exception(page)


def test_the_similar_toggle_changes_the_active_term(page, contrastive_server):
    open_page(page, contrastive_server)
    expect(metric(page, "active term")).to_have_text(Term.PULL.label)
    click_toggle(page, "Similar pair (same class)")
    expect(metric(page, "active term")).to_have_text(Term.NONE.label)  # d = 1.118 > m = 1
    scene = settled(page)
    assert not scene.similar and "similar=0" in page.url
    reading = reading_of(scene)
    assert reading.loss == 0
    expect_metrics(page, reading)

    drag_to(page, "X2", (0.4, 0.3))  # inside the margin: the push term
    expect(metric(page, "active term")).to_have_text(Term.PUSH.label)
    expect_metrics(page, reading_of(settled(page)))
    no_exception(page)


def test_the_inverted_snippet_pulls_a_dissimilar_pair_together(page, contrastive_server):
    preset = CONTRASTIVE_PRESETS["dissimilar_beyond"]
    open_page(page, contrastive_server)
    click_button(page, preset.title)
    expect(page.get_by_test_id("stAlertContentInfo")).to_contain_text(preset.lesson)
    scene = settled(page)
    assert scene == preset.scene
    expect_metrics(page, reading_of(scene))
    assert arrow_tips(page) == []  # loss 0: no arrows

    click_toggle(page, "Use the inverted snippet")
    snippet = reading_of(scene, inverted=True)
    expect(metric(page, "snippet's loss")).to_have_text(f"{snippet.loss:.3f}")
    expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text("inverted snippet")
    expect(page.get_by_text("pulls dissimilar points together")).to_be_visible()
    expect(page.locator(".lv-plane .lv-arrow:visible")).to_have_count(2)
    expect_metrics(page, reading_of(scene))  # the loss itself is unchanged
    # Both arrows point from their point towards the other one (SVG coordinates: each
    # shaft starts at its point, so the other arrow's start is the other point).
    first, second = arrow_tips(page)
    for (x1, y1, x2, y2), other in ((first, second), (second, first)):
        assert (x2 - x1) * (other[0] - x1) + (y2 - y1) * (other[1] - y1) > 0
    no_exception(page)
    shot(page, "contrastive-inverted")

    click_button(page, "Step")
    expect(metric(page, "d")).not_to_have_text(f"{snippet.d:.3f}")
    stepped = settled(page)
    assert reading_of(stepped).d < snippet.d  # pulled together
    no_exception(page)
