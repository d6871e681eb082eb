"""The Triplet playground page (pages/playground.py) in a real browser, on app.py's server.

What AppTest cannot do: drag a point of the plane with the mouse, and see the JS -> Python
-> URL round trip. Expected numbers come from the core
(``lossviz.core.triplet_reading.read_triplet``) on the scene the page ended up with (read
back from its URL), never from constants.
"""

from __future__ import annotations

import math
import re

import pytest
from playwright.sync_api import Page, expect

from lossviz.core.loss_settings import LossSettings
from lossviz.core.triplet_reading import TripletReading, read_triplet
from lossviz.scenes.scene import PlaygroundScene
from lossviz.ui.points import DESCENT_STEPS
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
)

pytestmark = pytest.mark.browser

EASY_LINK = "/playground?ax=0&ay=0&px=1&py=0&nx=-2.5&ny=1.5"
DEFAULT = PlaygroundScene()
DEFAULT_POINTS = {"A": (DEFAULT.ax, DEFAULT.ay), "P": (DEFAULT.px, DEFAULT.py),
                  "N": (DEFAULT.nx, DEFAULT.ny)}  # fmt: skip


# --------------------------------------------------------------------------- helpers


def open_playground(page: Page, base_url: str, link: str = "/playground") -> None:
    """Open a link and wait for the plane, the metrics and the loss heatmap to be drawn."""
    page.goto(f"{base_url}{link}")
    wait_for_app(page)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(3, timeout=APP_TIMEOUT_MS)
    expect(page.get_by_test_id("stMetric")).to_have_count(4, timeout=APP_TIMEOUT_MS)
    expect(page.locator(".lv-heatmap canvas")).to_have_count(1, timeout=APP_TIMEOUT_MS)
    expect(page.get_by_test_id("kind-badge")).to_be_visible()


def scene_points(scene: PlaygroundScene) -> dict[str, tuple[float, float]]:
    return {"A": (scene.ax, scene.ay), "P": (scene.px, scene.py), "N": (scene.nx, scene.ny)}


def url_scene(page: Page) -> PlaygroundScene:
    return plane_helpers.url_scene(page, PlaygroundScene)


def settled(page: Page, timeout_s: float = 20.0) -> PlaygroundScene:
    return plane_helpers.settled(page, PlaygroundScene, scene_points, timeout_s)


def reading_of(scene: PlaygroundScene) -> TripletReading:
    settings = LossSettings(scene.margin, scene.p, scene.eps, scene.swap, scene.distance,
                            scene.expr)  # fmt: skip
    return read_triplet([list(xy) for xy in scene_points(scene).values()], settings)


def metric_value(page: Page, label: str) -> float:
    return float(metric(page, label).inner_text())


def expect_metrics(page: Page, reading: TripletReading) -> None:
    for label, value in (("d(a, p)", reading.d_ap), ("d(a, n)", reading.d_an),
                         ("d(p, n)", reading.d_pn), ("loss", reading.loss)):  # fmt: skip
        expect(metric(page, label)).to_have_text(f"{value:.3f}")
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", reading.kind.label)


# --------------------------------------------------------------------------- tests


def test_dragging_n_from_easy_to_hard_updates_metrics_badge_and_url(page, app_server):
    open_playground(page, app_server, EASY_LINK)
    start = settled(page)
    assert scene_points(start) == {"A": (0.0, 0.0), "P": (1.0, 0.0), "N": (-2.5, 1.5)}
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "easy")
    expect_metrics(page, reading_of(start))
    shot(page, "playground-easy")

    target = (0.3, 0.2)
    drag_to(page, "N", target)
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "hard")
    scene = settled(page)
    # The URL holds the dropped spot (within a pixel), and only N moved.
    assert close(scene_points(scene)["N"], target), page.url
    assert scene_points(scene)["A"] == (0.0, 0.0) and scene_points(scene)["P"] == (1.0, 0.0)
    assert f"nx={scene.nx!r}" in page.url and f"ny={scene.ny!r}" in page.url
    reading = reading_of(scene)
    assert reading.kind.label == "hard"
    expect(metric(page, "d(a, n)")).to_have_text(f"{reading.d_an:.3f}")
    expect_metrics(page, reading)
    assert metric_value(page, "d(a, n)") < 0.5  # it was 2.915 (easy)
    no_exception(page)
    shot(page, "playground-after-drag")


def test_reset_after_a_drag_survives_the_next_slider_move(page, app_server):
    open_playground(page, app_server)
    assert scene_points(settled(page)) == DEFAULT_POINTS
    dragged = (-2.0, -2.5)
    drag_to(page, "N", dragged)
    assert close(scene_points(settled(page))["N"], dragged)

    choose_preset(page, "Reset")
    expect(page).to_have_url(re.compile(rf"nx={DEFAULT.nx!r}&ny={DEFAULT.ny!r}"))
    assert scene_points(settled(page)) == DEFAULT_POINTS

    # An unrelated rerun: the browser must not re-send its dragged N.
    thumb = page.get_by_test_id("stSlider").filter(has_text="Margin m").get_by_role("slider")
    thumb.focus()
    page.keyboard.press("ArrowRight")
    new_margin = round(DEFAULT.margin + 0.05, 2)
    expect(page).to_have_url(re.compile(rf"margin={new_margin!r}&"))
    wait_for_app(page)
    page.wait_for_timeout(500)  # room for a stale value to come back, if it would
    scene = settled(page)
    assert scene.margin == new_margin
    assert scene_points(scene) == DEFAULT_POINTS, page.url
    assert plane_points(page) == DEFAULT_POINTS
    assert not close(plane_points(page)["N"], dragged, 0.5)
    expect_metrics(page, reading_of(scene))
    no_exception(page)


def test_step_moves_the_points_along_the_arrows(page, app_server):
    open_playground(page, app_server)
    choose_preset(page, "Semi-hard")
    # The default scene is semi-hard too: wait for the preset's own N in the address.
    expect(page).to_have_url(re.compile(r"nx=-1\.5"))
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "semi-hard")
    before = settled(page)
    reading = reading_of(before)
    assert reading.kind.label == "semi-hard" and reading.loss > 0
    expect_metrics(page, reading)
    points_before = plane_points(page)

    click_button(page, "Step")
    expect(metric(page, "d(a, n)")).not_to_have_text(f"{reading.d_an:.3f}")
    after = settled(page)
    points_after = plane_points(page)
    assert all(points_after[n] != points_before[n] for n in ("A", "P", "N")), points_after
    stepped = reading_of(after)
    # Along -grad: N is pushed away from A, P pulled towards it, the loss goes down.
    assert stepped.d_an > reading.d_an and stepped.d_ap < reading.d_ap
    assert stepped.loss < reading.loss
    grad_n = reading.gradients[2]
    moved_n = [points_after["N"][i] - points_before["N"][i] for i in (0, 1)]
    assert moved_n[0] * -grad_n[0] + moved_n[1] * -grad_n[1] > 0  # same way as N's arrow
    expect_metrics(page, stepped)

    no_exception(page)


def test_descend_animates_and_ends_with_a_lower_loss(page, app_server):
    # From Hard: with lr = 0.1 the Semi-hard preset is already easy after one Step.
    open_playground(page, app_server)
    choose_preset(page, "Hard")
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "hard")
    start = reading_of(settled(page))
    expect_metrics(page, start)

    record_plane(page)
    click_button(page, f"Descend {DESCENT_STEPS}")
    plane = page.locator(".lv-plane")
    expect(plane).to_have_attribute("data-animating", "1", timeout=10_000)
    expect(plane).to_have_attribute("data-animating", "0", timeout=10_000)
    end = settled(page)
    final = reading_of(end)
    frames = [points for points, animating in recorded(page) if animating == "1"]
    n_path = [points["N"] for points in frames]
    assert len(set(n_path)) >= 3, n_path  # it went through intermediate positions
    assert close(plane_points(page)["N"], scene_points(end)["N"], 1e-9)
    assert final.loss < start.loss
    assert metric_value(page, "loss") < float(f"{start.loss:.3f}")
    expect_metrics(page, final)
    no_exception(page)


def test_a_rejected_custom_expression_shows_the_error_and_keeps_working(page, app_server):
    open_playground(page, app_server)
    page.get_by_test_id("stSelectbox").filter(has_text="Distance").click()
    page.get_by_role("option", name="Custom expression…").click()
    box = page.get_by_test_id("stTextInput").filter(has_text="d(a, b) =").locator("input")
    expect(box).to_be_visible()
    good = box.input_value()
    assert good == DEFAULT.expr
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"distance=custom"))
    good_reading = reading_of(settled(page))
    expect_metrics(page, good_reading)

    box.fill("__import__('os')")
    box.press("Enter")
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("Still using the last good distance")
    expect(error).to_contain_text(good)
    wait_for_app(page)
    # The page still works: metrics from the last good distance, the plane, the badge.
    expect_metrics(page, good_reading)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(3)
    no_exception(page)

    # ... and a drag still reruns it (with the last good distance).
    drag_to(page, "N", (-2.0, 2.0))
    scene = settled(page)
    assert scene.expr == "__import__('os')"
    moved = reading_of(scene.replace(expr=good))
    expect(metric(page, "d(a, n)")).to_have_text(f"{moved.d_an:.3f}")
    expect(error).to_contain_text(good)
    no_exception(page)


def test_a_malformed_link_warns_and_opens_the_default_scene(page, app_server):
    open_playground(page, app_server, "/playground?margin=abc&ax=1e308")
    warnings = page.get_by_test_id("stAlertContentWarning")
    expect(warnings).to_have_count(1)  # one notice, one line per bad value
    expect(warnings).to_contain_text("This link had 2 bad values")
    items = warnings.locator("li")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="margin")).to_contain_text("'abc' is not a number")
    expect(items.filter(has_text="ax:")).to_contain_text("outside [-4.0, 4.0]")
    scene = settled(page)
    assert scene == DEFAULT, page.url
    assert plane_points(page) == DEFAULT_POINTS
    assert "margin=abc" not in page.url and "1e308" not in page.url
    expect_metrics(page, reading_of(scene))
    no_exception(page)


@pytest.mark.parametrize(
    ("button", "name", "kind"),
    [("Swap changes the answer", "playground-swap", "hard"),
     ("Cosine ignores length", "playground-cosine", "hard")],
)  # fmt: skip
def test_presets_show_their_lesson(page, app_server, button, name, kind):
    open_playground(page, app_server)
    choose_preset(page, button)
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", kind)
    scene = settled(page)
    reading = reading_of(scene)
    assert reading.kind.label == kind
    expect_metrics(page, reading)
    expect(page.get_by_test_id("stAlertContentInfo")).to_be_visible()  # the lesson
    if scene.swap:
        expect(page.get_by_text("Swap is on")).to_be_visible()
        assert reading.swap_used and math.isclose(reading.d_an_used, reading.d_pn)
    else:
        assert scene.distance == "cosine"
    no_exception(page)
    shot(page, name)


def test_check_a_reference_catches_the_tutorial_at_chebyshev(page, app_server):
    """The reference toggle in a browser: at p = 2 the tutorial agrees; at Chebyshev it differs
    on d(a, p), d(a, n) and the loss, each row marked, and the core's numbers are the page's."""
    page.goto(f"{app_server}/playground")
    wait_for_app(page)
    page.get_by_test_id("stCheckbox").filter(has_text="Check a reference").locator("label").click()
    wait_for_app(page)
    panel = page.get_by_test_id("stMain")
    expect(panel.get_by_text("Now choose Chebyshev")).to_be_visible()
    page.goto(f"{app_server}/playground?distance=chebyshev")
    wait_for_app(page)
    page.get_by_test_id("stCheckbox").filter(has_text="Check a reference").locator("label").click()
    wait_for_app(page)
    expect(panel.get_by_text("The NumPy triplet loss of many tutorials")).to_be_visible()
    expect(panel.get_by_text("✗ differs").first).to_be_visible()
    reading = read_triplet(
        [list(xy) for xy in DEFAULT_POINTS.values()],
        LossSettings(DEFAULT.margin, DEFAULT.p, DEFAULT.eps, False, "chebyshev", ""),
    )
    expect(panel.locator("tr", has_text="loss").first).to_contain_text(f"{reading.loss:.6g}")
    no_exception(page)
    shot(page, "playground-reference")
