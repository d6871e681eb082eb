"""The lesson in a real browser, completed as a student would: every task done with the mouse.

Drags go through the plane (press, move, release on its SVG), the p and margin sliders'
thumbs are dragged along their tracks, toggles and Train are clicked. Each step must tick
("Done:") before Next.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from lossviz.core.triplets import Kind
from lossviz.scenes.lesson import BATCH_SCENE, EASY_SHARE_RANGE, STEPS, observe_batch
from lossviz.scenes.scene import MiningScene, PlaygroundScene, SimCLRScene
from lossviz.ui.instruments.circle_plane import ON_CIRCLE_BOUNDS
from tests.browser.conftest import wait_for_app
from tests.browser.plane_helpers import (
    click_button,
    close,
    drag_to,
    metric,
    no_exception,
    plane_points,
    settled,
    shot,
)

pytestmark = pytest.mark.browser

TRAINING_TIMEOUT_MS = 180_000  # a 300-step run on a busy 2-core machine, and its frames


def _done(page: Page) -> None:
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Done:")).to_be_visible(
        timeout=30_000
    )
    no_exception(page)


def _next(page: Page, number: int) -> None:
    click_button(page, "Next")
    expect(page.get_by_role("heading", name=f"{number}. {STEPS[number - 1].title}")).to_be_visible()
    wait_for_app(page)
    expect(page).to_have_url(f"{page.url.split('?')[0]}?step={number}")


def _toggle(page: Page, label: str) -> None:
    page.get_by_test_id("stCheckbox").filter(has_text=label).locator("label").click()
    wait_for_app(page)


def _drag_slider(page: Page, label: str, fraction: float) -> None:
    """Drag the thumb of the slider labelled ``label`` to ``fraction`` (0 to 1) of its track."""
    block = page.get_by_test_id("stSlider").filter(has_text=label)
    # Streamlit's slider (react-aria): a track holding the thumb, which holds a hidden range input.
    track = block.locator('[role="group"] > [data-orientation="horizontal"]').bounding_box()
    thumb = block.locator('div:has(> div > input[type="range"])').bounding_box()
    assert track is not None and thumb is not None
    x = track["x"] + fraction * track["width"]
    page.mouse.move(thumb["x"] + thumb["width"] / 2, thumb["y"] + thumb["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, thumb["y"] + thumb["height"] / 2, steps=10)
    page.mouse.up()
    wait_for_app(page)


def test_the_whole_lesson_with_the_mouse(page: Page, app_server):
    page.goto(f"{app_server}/lesson?step=1")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=f"1. {STEPS[0].title}")).to_be_visible()
    expect(page.get_by_text(f"0 of {len(STEPS)} tasks done")).to_be_visible()
    shot(page, "lesson-step1")

    # 1. N farther than P.
    drag_to(page, "N", (-2.0, -1.5))
    _done(page)
    expect(page.get_by_text(f"1 of {len(STEPS)} tasks done")).to_be_visible()
    _next(page, 2)

    # 2. The loss to exactly zero.
    drag_to(page, "N", (-3.0, 1.0))
    _done(page)
    expect(metric(page, "loss")).to_have_text("0.000")
    _next(page, 3)

    # 3. Into the semi-hard band.
    drag_to(page, "N", (-1.5, 0.0))
    _done(page)
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "semi-hard")
    _next(page, 4)

    # 4. p to infinity without moving a point (the plane is static here).
    expect(page.locator(".lv-plane")).to_have_class("lv-plane lv-static")
    _drag_slider(page, "p (Minkowski)", 1.0)  # the far end: p = ∞
    _done(page)
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "easy")
    _next(page, 5)

    # 5. Swap on (hard), then N away from both.
    _toggle(page, "Swap")
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "hard")
    drag_to(page, "N", (2.5, 2.5))
    _done(page)
    _next(page, 6)

    # 6. A margin at which about half the batch's triplets are easy: click the track.
    spec = MiningScene.field_spec("margin")
    _drag_slider(page, "Margin m", (2.3 - spec.lo) / (spec.hi - spec.lo))
    _done(page)
    margin = float(page.get_by_test_id("stSliderThumbValue").inner_text())
    observation = observe_batch(BATCH_SCENE.replace(margin=margin))
    assert EASY_SHARE_RANGE[0] <= observation.share(Kind.EASY) <= EASY_SHARE_RANGE[1]
    expect(metric(page, "easy")).to_have_text(f"{observation.share(Kind.EASY):.1%}")
    shot(page, "lesson-step6")
    _next(page, 7)

    # 7 and 8. Train, and watch the shared runs to their end.
    for number in (7, 8):
        click_button(page, "Train")
        expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Done:")).to_be_visible(
            timeout=TRAINING_TIMEOUT_MS
        )
        no_exception(page)
        if number == 8:
            shot(page, "lesson-step8")
        _next(page, number + 1)

    # 9. Dissimilar, then apart beyond the margin.
    _toggle(page, "Similar pair (same class)")
    drag_to(page, "X2", (1.5, 0.5))
    _done(page)
    _next(page, 10)

    # 10. N1 dragged away round the circle until P takes more than half.
    drag_to(page, "N1", (0.0, -1.0), bounds=ON_CIRCLE_BOUNDS)
    _done(page)
    shot(page, "lesson-step10")
    _next(page, 11)

    # 11. The temperature up to its far end.
    _drag_slider(page, "Temperature τ", 1.0)
    _done(page)
    _next(page, 12)

    # 12. B's temperature up to 1 (the 12th of the 14 marks), then Train both runs.
    marks = SimCLRScene.field_spec("tau_b").marks
    _drag_slider(page, "B: temperature τ", marks.index(1.0) / (len(marks) - 1))
    expect(page.get_by_test_id("stSliderThumbValue").first).to_have_text("1")
    click_button(page, "Train")
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Done:")).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS
    )
    no_exception(page)
    shot(page, "lesson-step12")
    _next(page, 13)

    # 13. B's shift down to 0, then Train: B uses many directions, A stays collapsed.
    _drag_slider(page, "B: shift up to (pixels)", 0.0)
    click_button(page, "Train")
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Done:")).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS
    )
    no_exception(page)
    expect(page.get_by_text(f"{len(STEPS)} of {len(STEPS)} tasks done")).to_be_visible()
    expect(page.get_by_text("You did every task of the lesson")).to_be_visible()
    # Every step in the list is ticked.
    for index, step in enumerate(STEPS, start=1):
        expect(page.get_by_role("button", name=f"✓ {index}. {step.title}")).to_be_visible()
    shot(page, "lesson-done")


def test_a_teachers_link_to_step_5_and_a_bad_link(page: Page, app_server):
    page.goto(f"{app_server}/lesson?step=5")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=f"5. {STEPS[4].title}")).to_be_visible()
    page.goto(f"{app_server}/lesson?step=banana")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=f"1. {STEPS[0].title}")).to_be_visible()
    expect(page.get_by_text("starting at step 1")).to_be_visible()
    no_exception(page)


def test_open_in_the_full_page_opens_the_steps_scene(page: Page, app_server):
    page.goto(f"{app_server}/lesson?step=3")
    wait_for_app(page)
    drag_to(page, "N", (-1.5, 0.0))
    _done(page)
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0)  # the server has the drop
    dropped = plane_points(page)
    page.get_by_text("Open this in the full page").click()
    expect(page.get_by_role("heading", name="Triplet playground")).to_be_visible()
    scene = settled(page, PlaygroundScene, lambda s: {"N": (s.nx, s.ny), "A": (s.ax, s.ay)})
    assert close((scene.nx, scene.ny), dropped["N"], 1e-9), (scene, dropped)
    assert close((scene.px, scene.py), dropped["P"], 1e-9)
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "semi-hard")
