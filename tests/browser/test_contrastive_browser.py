"""The contrastive page (pages/contrastive.py) in a real browser.

Served by app.py (``app_server``) once the page is registered in
``lossviz.ui.navigation.PAGES``; until then by a tiny wrapper app
(``tests/browser/apps/contrastive_app.py``) on a server of its own. Expected numbers
come from the core (``lossviz.core.pair_reading.read_pair``) on the scene read back from the URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from lossviz.core.loss_settings import LossSettings
from lossviz.core.pair_reading import PairReading, Term, read_pair
from lossviz.scenes.presets import CONTRASTIVE_PRESETS
from lossviz.scenes.scene import ContrastiveScene
from lossviz.ui.navigation import PAGES
from tests.browser import plane_helpers
from tests.browser.conftest import APP_TIMEOUT_MS, start_streamlit, wait_for_app
from tests.browser.plane_helpers import (
    choose_preset,
    click_button,
    close,
    drag_to,
    metric,
    no_exception,
    shot,
)

pytestmark = pytest.mark.browser

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


def scene_points(scene: ContrastiveScene) -> dict[str, tuple[float, float]]:
    return {"X1": (scene.x1x, scene.x1y), "X2": (scene.x2x, scene.x2y)}


def url_scene(page: Page) -> ContrastiveScene:
    return plane_helpers.url_scene(page, ContrastiveScene)


def settled(page: Page, timeout_s: float = 20.0) -> ContrastiveScene:
    return plane_helpers.settled(page, ContrastiveScene, scene_points, timeout_s)


def reading_of(scene: ContrastiveScene, inverted: bool = False) -> PairReading:
    settings = LossSettings(scene.margin, scene.p, scene.eps, False, scene.distance,
                            scene.expr)  # fmt: skip
    points = [list(xy) for xy in scene_points(scene).values()]
    return read_pair(points, scene.similar, settings, inverted=inverted)


def expect_metrics(page: Page, reading: PairReading) -> None:
    expect(metric(page, "d")).to_have_text(f"{reading.d:.3f}")
    expect(metric(page, "loss")).to_have_text(f"{reading.loss:.3f}")
    expect(metric(page, "active term")).to_have_text(reading.term.label)


def click_toggle(page: Page, label: str) -> None:
    page.get_by_test_id("stCheckbox").filter(has_text=label).locator("label").first.click()


def arrow_tips(page: Page) -> list[tuple[float, float, float, float]]:
    """Each drawn arrow's shaft in page pixels (x1, y1, x2, y2), only the visible ones."""
    lines = page.locator(".lv-plane .lv-arrow:visible line")
    return [
        tuple(float(lines.nth(i).get_attribute(a)) for a in ("x1", "y1", "x2", "y2"))
        for i in range(lines.count())
    ]


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
    choose_preset(page, preset.title)
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
