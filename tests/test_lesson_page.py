"""The lesson page headless: each step from a link, its numbers the core's, each task done
with the step's control (drags as the plane's callback stores them), ticks, Next and Back."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.core.triplets import Kind
from lossviz.scenes.lesson import (
    BATCH_SCENE,
    STEPS,
    observe_batch,
    observe_circle,
    observe_pair,
    observe_triplet,
)
from tests.apptest_helpers import component_data, metric_values, ok, open_page, widget

PAGE = "../pages/lesson.py"
BY_SLUG = {step.slug: step for step in STEPS}
NUMBER = {step.slug: index for index, step in enumerate(STEPS, start=1)}


def open_step(slug: str) -> AppTest:
    return open_page(PAGE, {"step": str(NUMBER[slug])})


def scene_key(slug: str) -> str:
    return f"lesson.{slug}.scene"


def move(at: AppTest, slug: str, **fields) -> AppTest:
    """What a drop on the plane does: the step's scene takes the new positions."""
    at.session_state[scene_key(slug)] = at.session_state[scene_key(slug)].replace(**fields)
    return ok(at.run())


def heading(at: AppTest) -> str:
    return at.subheader[0].value


def task_done(at: AppTest) -> bool:
    return any(s.value.startswith("**Done:**") for s in at.success)


def progress_texts(at: AppTest) -> list[str]:
    return [bar.proto.text for bar in at.get("progress")]


def progress_text(at: AppTest) -> str:
    return progress_texts(at)[0]


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.slug)
def test_each_step_opens_from_its_link_with_its_task(step):
    at = open_step(step.slug)
    assert heading(at) == f"{NUMBER[step.slug]}. {step.title}"
    assert any(step.task in info.value for info in at.info)
    assert not task_done(at)
    assert not at.warning


@pytest.mark.parametrize("raw", ["0", "14", "abc", "<b>x</b>", "1" * 300, "-1", "3.0"])
def test_a_malformed_step_opens_step_1_with_a_notice(raw):
    at = open_page(PAGE, {"step": raw})
    assert heading(at).startswith("1. ")
    assert len(at.warning) == 1 and "starting at step 1" in at.warning[0].value
    assert at.query_params["step"] == "1"


def test_triplet_steps_show_the_cores_numbers():
    for slug in ("asks", "margin", "kinds", "pnorm", "swap"):
        at = open_step(slug)
        reading = observe_triplet(BY_SLUG[slug].scene).reading
        shown = metric_values(at)
        assert shown["d(a, p)"] == f"{reading.d_ap:.3f}"
        assert shown["d(a, n)"] == f"{reading.d_an:.3f}"
        assert shown["loss"] == f"{reading.loss:.3f}"
        (data,) = component_data(at, "plane")
        assert data["static"] == (not BY_SLUG[slug].draggable)


def test_step_1_done_by_a_drag_and_the_tick_stays_after_moving_back():
    at = open_step("asks")
    at = move(at, "asks", nx=-2.0, ny=-1.5)
    assert task_done(at)
    assert f"1 of {len(STEPS)} tasks done" in progress_text(at)
    at = move(at, "asks", nx=0.5, ny=-0.5)  # back where it started: still ticked
    assert task_done(at)
    assert at.button(key="lesson.next").proto.type == "primary"


def test_step_2_loss_zero_by_a_drag():
    at = move(open_step("margin"), "margin", nx=-3.0, ny=1.0)
    assert metric_values(at)["loss"] == "0.000" and task_done(at)


def test_step_3_semi_hard_by_a_drag():
    at = move(open_step("kinds"), "kinds", nx=-1.5, ny=0.0)
    assert task_done(at)
    assert any('data-kind="semi-hard"' in m.value for m in at.markdown)


def test_step_4_p_control_makes_it_easy():
    at = open_step("pnorm")
    at = ok(widget(at, "p (Minkowski)").set_value(math.inf).run())
    assert task_done(at)
    reading = observe_triplet(BY_SLUG["pnorm"].scene.replace(p=math.inf)).reading
    assert metric_values(at)["d(a, p)"] == f"{reading.d_ap:.3f}"


def test_step_5_swap_then_a_drag():
    at = open_step("swap")
    at = ok(widget(at, "Swap").set_value(True).run())
    assert not task_done(at)  # hard with swap
    shown = metric_values(at)
    swapped = observe_triplet(BY_SLUG["swap"].scene.replace(swap=True)).reading
    assert shown["min(d(a,n), d(p,n))"] == f"{swapped.d_an_used:.3f}"
    at = move(at, "swap", nx=2.5, ny=2.5)
    assert task_done(at)


def test_step_6_margin_slider_counts_are_the_cores():
    at = open_step("batch")
    shown = metric_values(at)
    observation = observe_batch(BATCH_SCENE)
    assert shown["triplets"] == f"{observation.total:,}"
    assert shown["easy"] == f"{observation.share(Kind.EASY):.1%}"
    assert f"{observation.counts[Kind.EASY]:,} easy" in progress_texts(at)[1]
    at = ok(widget(at, "Margin m").set_value(2.2).run())
    observation = observe_batch(BATCH_SCENE.replace(margin=2.2))
    assert metric_values(at)["easy"] == f"{observation.share(Kind.EASY):.1%}"
    assert metric_values(at)["hard"] == f"{observation.share(Kind.HARD):.1%}"
    assert f"{observation.counts[Kind.SEMI_HARD]:,} semi-hard" in progress_texts(at)[1]
    assert task_done(at)
    (data,) = component_data(at, "plane")
    assert len(data["points"]) == BATCH_SCENE.classes * BATCH_SCENE.per_class


def test_step_7_train_runs_the_shared_run_and_ticks():
    at = open_step("collapse")
    assert not task_done(at)
    at.button(key="lesson.collapse.train").click()
    at = ok(at.run(timeout=300))
    assert task_done(at)


def test_step_9_similar_off_then_apart():
    at = open_step("contrastive")
    at = ok(widget(at, "Similar pair (same class)").set_value(False).run())
    reading = observe_pair(BY_SLUG["contrastive"].scene.replace(similar=False)).reading
    assert metric_values(at)["loss"] == f"{reading.loss:.3f}" and not task_done(at)
    at = move(at, "contrastive", x2x=1.5, x2y=0.5)
    assert task_done(at)


def test_next_back_and_the_step_list_move_through_the_lesson():
    at = open_step("asks")
    at.button(key="lesson.next").click()
    at = ok(at.run())
    assert heading(at).startswith("2. ") and at.query_params["step"] == "2"
    at.button(key="lesson.back").click()
    at = ok(at.run())
    assert heading(at).startswith("1. ")
    assert at.button(key="lesson.back").disabled
    last = len(STEPS)
    at.button(key=f"lesson.goto.{last}").click()
    at = ok(at.run())
    assert heading(at).startswith(f"{last}. ") and at.button(key="lesson.next").disabled


def test_open_in_the_full_page_carries_the_steps_scene():
    at = move(open_step("kinds"), "kinds", nx=-1.5, ny=0.0)
    scene = at.session_state[scene_key("kinds")]
    links = [m.value for m in at.markdown if "Open this in the full page" in m.value]
    assert links == [f"[Open this in the full page](/playground?{urlencode(scene.to_query())})"]


def test_start_over_puts_the_preset_back():
    at = move(open_step("kinds"), "kinds", nx=-1.5, ny=0.0)
    at.button(key="lesson.restart").click()
    at = ok(at.run())
    assert at.session_state[scene_key("kinds")] == BY_SLUG["kinds"].scene
    assert task_done(at)  # the tick stays


def test_step_10_shows_the_circle_and_is_done_by_dragging_n1_away():
    at = open_step("infonce")
    scene = at.session_state[scene_key("infonce")]
    reading = observe_circle(scene).reading
    shown = metric_values(at)
    assert shown["loss"] == f"{reading.loss:.3f}"
    assert shown["N1 takes"] == f"{100 * reading.weights[1]:.0f} %"
    data = component_data(at, "lossviz.plane")[0]
    assert data["circle"] is True and set(data["points"]) == {"A", "P", "N1", "N2", "N3", "N4"}
    assert not task_done(at)
    at = move(at, "infonce", n1x=0.0, n1y=-1.0)
    assert task_done(at)


def test_step_11_is_done_by_turning_tau_up():
    at = open_step("temperature")
    assert not task_done(at)
    at = ok(widget(at, "Temperature τ").set_value(0.5).run())
    assert at.session_state[scene_key("temperature")].tau == 0.5
    assert task_done(at)
