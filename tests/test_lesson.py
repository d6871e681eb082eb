"""The lesson's steps: every fact a sentence states is the core's, and every task can be done.

Each test names the sentence it checks. The training steps train the exact configurations
the page trains (``lossviz.ui.collapse_page.configs`` of the step's scene).
"""

from __future__ import annotations

import math
import re
from itertools import product

import pytest
import torch
import torch.nn.functional as F

from lossviz.batches.point_sets import make_blobs
from lossviz.core.distances import DISTANCES
from lossviz.core.pair_reading import Term
from lossviz.core.triplets import Kind
from lossviz.scenes import lesson
from lossviz.scenes.lesson import (
    BATCH_SCENE,
    EASY_SHARE_RANGE,
    STEPS,
    observe_batch,
    observe_circle,
    observe_pair,
    observe_triplet,
    simclr_observation,
    step_number,
    training_observation,
)
from lossviz.scenes.scene import MiningScene, SimCLRScene
from lossviz.scenes.simclr_scenes import configs as simclr_configs
from lossviz.scenes.simclr_scenes import priority_keys as simclr_priority_keys
from lossviz.scenes.simclr_scenes import scene_from_preset as simclr_preset
from lossviz.scenes.training_scenes import configs
from lossviz.training.collapse import collapsed, train
from lossviz.training.contrastive_training import train_pair

BY_SLUG = {step.slug: step for step in STEPS}


def _step(slug: str):
    return BY_SLUG[slug]


def _sentences(text: str) -> int:
    return len(re.findall(r"[.!?:](\s|$)", text.replace("e.g.", "eg")))


# --------------------------------------------------------------------------- the shape


def test_nine_to_thirteen_steps_each_short_with_one_task():
    assert 9 <= len(STEPS) <= 13
    assert len({s.slug for s in STEPS}) == len(STEPS)
    for step in STEPS:
        assert 2 <= _sentences(step.text) <= 5, step.slug  # two or three, colons count too
        assert step.task and step.done_text


def test_every_preset_scene_is_a_valid_link_of_its_page():
    for step in STEPS:
        scene, notes = type(step.scene).parse_query(step.scene.to_query())
        assert notes == [] and scene == step.scene, step.slug


def test_no_task_is_done_at_its_preset():
    """A task the student need not touch anything for would tick itself."""
    for step in STEPS:
        if step.instrument == "triplet":
            observation = observe_triplet(step.scene)
        elif step.instrument == "pair":
            observation = observe_pair(step.scene)
        elif step.instrument == "batch":
            observation = observe_batch(step.scene)
        elif step.instrument == "circle":
            observation = observe_circle(step.scene)
        elif step.instrument == "simclr":
            observation = simclr_observation(False)
        else:
            observation = training_observation(False)
        assert not step.done(observation), step.slug


@pytest.mark.parametrize(
    ("raw", "number", "noticed"),
    [(None, 1, False), ("", 1, False), ("1", 1, False), ("5", 5, False), ("9", 9, False),
     (" 3 ", 3, False), ("0", 1, True), ("14", 1, True), ("-2", 1, True), ("2.5", 1, True),
     ("abc", 1, True), ("<script>", 1, True), ("9" * 500, 1, True), ("٣", 1, True)],
)  # fmt: skip
def test_step_number_reads_a_link_forgivingly(raw, number, noticed):
    got, notice = step_number(raw)
    assert got == number
    assert (notice is not None) == noticed
    if notice:
        assert len(notice) < 200


# --------------------------------------------------------------------------- 1: what it asks


def test_step_1_loss_formula_and_n_closer_than_p_costs_more_than_the_margin():
    scene = _step("asks").scene
    reading = observe_triplet(scene).reading
    assert scene.margin == 1.0  # "the margin m = 1"
    assert reading.d_an < reading.d_ap  # "N is closer to A than P is"
    assert reading.loss > scene.margin  # "so the loss is larger than the margin"
    a, p, n = (torch.tensor([xy], dtype=torch.float64) for xy in lesson.triplet_points(scene))
    expected = F.triplet_margin_loss(a, p, n, margin=scene.margin)
    assert reading.loss == pytest.approx(expected.item(), abs=1e-12)
    assert reading.loss == pytest.approx(max(reading.d_ap - reading.d_an + scene.margin, 0))


def test_step_1_done_once_n_is_farther_than_p_and_the_loss_is_then_below_the_margin():
    step = _step("asks")
    moved = observe_triplet(step.scene.replace(nx=-2.0, ny=-1.5))
    assert step.done(moved)
    assert moved.reading.loss < step.scene.margin  # the done text's claim
    assert not step.done(observe_triplet(step.scene.replace(nx=1.9, ny=1.1)))


# --------------------------------------------------------------------------- 2: the margin


def test_step_2_inside_the_margin_the_loss_and_the_push_are_still_there():
    scene = _step("margin").scene
    reading = observe_triplet(scene).reading
    assert 0 < reading.delta < scene.margin  # "farther, but not by a margin"
    assert reading.loss > 0  # "the loss is still positive"
    assert math.hypot(*reading.gradients[2]) > 0  # "its gradient still pushes N away"
    # Pushes *away*: minus the gradient points from A towards N.
    (ax, ay), _, (nx, ny) = lesson.triplet_points(scene)
    gx, gy = reading.gradients[2]
    assert -gx * (nx - ax) - gy * (ny - ay) > 0


def test_step_2_a_full_margin_farther_the_loss_and_every_gradient_are_exactly_zero():
    step = _step("margin")
    far = observe_triplet(step.scene.replace(nx=-3.0, ny=1.0))
    assert far.reading.delta > step.scene.margin
    assert far.reading.loss == 0.0
    assert all(g == 0.0 for xy in far.reading.gradients for g in xy)
    assert step.done(far)


# --------------------------------------------------------------------------- 3: kinds


def test_step_3_kinds_follow_delta_and_the_preset_is_easy():
    step = _step("kinds")
    assert observe_triplet(step.scene).reading.kind == Kind.EASY  # "This triplet is easy."
    for nx, ny in product([x / 2 for x in range(-7, 8)], repeat=2):
        reading = observe_triplet(step.scene.replace(nx=nx, ny=ny)).reading
        delta, m = reading.delta, step.scene.margin
        expected = Kind.HARD if delta <= 0 else Kind.SEMI_HARD if delta <= m else Kind.EASY
        assert reading.kind == expected
        assert step.done(observe_triplet(step.scene.replace(nx=nx, ny=ny))) == (
            expected == Kind.SEMI_HARD
        )


def test_step_3_regions_are_the_circle_through_p_and_a_band_one_margin_wide():
    """ "red inside the circle through P, orange in the band one margin wide around it" """
    step = _step("kinds")
    scene = step.scene
    r = math.dist((scene.ax, scene.ay), (scene.px, scene.py))
    for angle in range(0, 360, 15):
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        for radius, kind in ((r - 0.05, Kind.HARD), (r + 0.5, Kind.SEMI_HARD),
                             (r + scene.margin + 0.05, Kind.EASY)):  # fmt: skip
            n = scene.replace(nx=scene.ax + radius * c, ny=scene.ay + radius * s)
            assert observe_triplet(n).reading.kind == kind


# --------------------------------------------------------------------------- 4: p-norm


@pytest.mark.parametrize(("p", "shape"), [(1.0, "diamond"), (2.0, "circle"), (math.inf, "square")])
def test_step_4_unit_balls_are_a_diamond_a_circle_and_a_square(p, shape):
    distance = DISTANCES["minkowski"]
    on_ball = {
        "diamond": [(1.0, 0.0), (0.5, 0.5), (0.0, -1.0), (-0.25, 0.75)],
        "circle": [(1.0, 0.0), (math.sqrt(0.5), math.sqrt(0.5)), (0.6, -0.8)],
        "square": [(1.0, 0.0), (1.0, 1.0), (-1.0, 0.3), (0.2, -1.0)],
    }[shape]
    origin = torch.zeros(1, 2, dtype=torch.float64)
    for xy in on_ball:
        d = distance(origin, torch.tensor([xy], dtype=torch.float64), p=p, eps=0.0)
        assert d.item() == pytest.approx(1.0, abs=1e-12)


def test_step_4_the_same_points_are_semi_hard_at_2_hard_at_half_and_easy_for_large_p():
    step = _step("pnorm")
    kind = {p: observe_triplet(step.scene.replace(p=p)).reading.kind for p in (0.5, 2.0, math.inf)}
    assert kind == {0.5: Kind.HARD, 2.0: Kind.SEMI_HARD, math.inf: Kind.EASY}
    assert step.scene.p == 2.0 and not step.draggable and step.controls == ("p",)
    # The done text: "only the largest coordinate counts, and P's is 1".
    reading = observe_triplet(step.scene.replace(p=math.inf)).reading
    assert reading.d_ap == pytest.approx(1.0, abs=1e-5)
    # Some offered p makes it easy: the task can be done with the control offered.
    marks = type(step.scene).field_spec("p").marks
    assert any(step.done(observe_triplet(step.scene.replace(p=p))) for p in marks)


# --------------------------------------------------------------------------- 5: swap


def test_step_5_easy_without_swap_hard_with_it_and_done_only_with_swap_on():
    step = _step("swap")
    plain = observe_triplet(step.scene)
    swapped = observe_triplet(step.scene.replace(swap=True))
    assert plain.reading.kind == Kind.EASY and swapped.reading.kind == Kind.HARD
    assert swapped.reading.swap_used  # "uses the nearer one": d(p, n) here
    assert swapped.reading.d_an_used == pytest.approx(min(plain.reading.d_an, plain.reading.d_pn))
    assert not step.done(plain)
    away = step.scene.replace(swap=True, nx=2.5, ny=2.5)
    assert step.done(observe_triplet(away))


def test_step_5_matches_torchs_swap():
    scene = _step("swap").scene.replace(swap=True)
    a, p, n = (torch.tensor([xy], dtype=torch.float64) for xy in lesson.triplet_points(scene))
    expected = F.triplet_margin_loss(a, p, n, margin=scene.margin, swap=True).item()
    assert observe_triplet(scene).reading.loss == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- 6: a batch


def _plain_count(scene: MiningScene) -> int:
    labels = make_blobs(scene.classes, scene.per_class, scene.spread, scene.seed).labels.tolist()
    n = len(labels)
    return sum(
        1
        for a in range(n)
        for p in range(n)
        if p != a and labels[p] == labels[a]
        for q in range(n)
        if labels[q] != labels[a]
    )


def test_step_6_the_batch_and_its_triplet_count_are_what_the_text_says():
    step = _step("batch")
    text = step.text.replace(",", "")
    observation = observe_batch(BATCH_SCENE)
    assert f"{observation.total}" in text
    assert observation.total == _plain_count(BATCH_SCENE) == 45_600
    assert f"these {BATCH_SCENE.classes * BATCH_SCENE.per_class} points" in text
    assert f"in {BATCH_SCENE.classes} classes" in text


def test_step_6_half_easy_is_reachable_on_the_slider_and_not_at_the_start():
    step = _step("batch")
    spec = MiningScene.field_spec("margin")
    analysis = lesson.lesson_batch(BATCH_SCENE)
    margins = [
        round(spec.lo + i * spec.step, 2) for i in range(int((spec.hi - spec.lo) / spec.step) + 1)
    ]
    shares = {m: observe_batch(BATCH_SCENE.replace(margin=m), analysis).share(Kind.EASY)
              for m in margins[::5]}  # fmt: skip
    assert not EASY_SHARE_RANGE[0] <= shares[round(BATCH_SCENE.margin, 2)] <= EASY_SHARE_RANGE[1]
    good = [m for m, share in shares.items() if EASY_SHARE_RANGE[0] <= share <= EASY_SHARE_RANGE[1]]
    assert good
    assert step.done(observe_batch(BATCH_SCENE.replace(margin=good[0]), analysis))
    # "The margin decides how many of them are easy": fewer as it grows.
    values = [shares[m] for m in sorted(shares)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_step_6_counts_are_a_plain_loops():
    scene = BATCH_SCENE.replace(margin=2.2)
    points = make_blobs(scene.classes, scene.per_class, scene.spread, scene.seed)
    x, labels = points.embeddings.to(torch.float64), points.labels.tolist()
    d = torch.cdist(x, x).tolist()
    counts = dict.fromkeys(Kind, 0)
    n = len(labels)
    for a in range(n):
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            for q in range(n):
                if labels[q] != labels[a]:
                    delta = d[a][q] - d[a][p]
                    kind = (
                        Kind.HARD if delta <= 0 else Kind.SEMI_HARD if delta <= 2.2 else Kind.EASY
                    )
                    counts[kind] += 1
    got = observe_batch(scene).counts
    # float32 embeddings: allow a handful of triplets within rounding of a boundary
    assert sum(abs(got[k] - counts[k]) for k in Kind) <= 4


# --------------------------------------------------------------------------- 7, 8: training


@pytest.fixture(scope="module")
def collapse_runs():
    """The runs steps 7 and 8 train: (first, last) snapshots per run, as the page trains them."""
    runs = {}
    for slug in ("collapse", "fix"):
        results = []
        for config in configs(_step(slug).scene):
            snapshots = list(train(config, device="cpu"))
            results.append((config, snapshots[0], snapshots[-1]))
        runs[slug] = results
    return runs


def test_step_7_batch_hard_collapses_and_its_loss_stops_at_the_margin(collapse_runs):
    ((config, first, last),) = collapse_runs["collapse"]
    step = _step("collapse")
    assert config.loss == "batch_hard" and f"m = {config.margin:g}" in step.text
    assert collapsed(first, last)  # "they all sit on one point"
    assert last.loss == pytest.approx(config.margin, abs=lesson.LOSS_AT_MARGIN_TOLERANCE)
    assert step.done(training_observation(True, [first], [last]))
    assert not step.done(training_observation(False))


def test_step_8_the_fix_spreads_the_classes_where_batch_hard_collapses(collapse_runs):
    (classic, fix) = collapse_runs["fix"]
    assert classic[0].loss == "batch_hard" and fix[0].loss == "batch_hard_fix"
    assert classic[0].replace(loss="batch_hard_fix") == fix[0]  # "same encoder, seed, batches"
    assert torch.equal(classic[1].embeddings, fix[1].embeddings)  # same start
    assert collapsed(classic[1], classic[2])  # "the left run collapses"
    assert not collapsed(fix[1], fix[2])
    assert fix[2].spread > fix[1].spread  # "spread the classes apart"


# --------------------------------------------------------------------------- 9: contrastive


def test_step_9_label_1_pulls_by_d_squared_and_label_0_pushes_by_m_minus_d_squared():
    step = _step("contrastive")
    similar = observe_pair(step.scene).reading
    assert step.scene.similar and similar.term == Term.PULL
    assert similar.loss == pytest.approx(similar.d**2, rel=1e-9)  # "pulled together by d²"
    apart = observe_pair(step.scene.replace(similar=False)).reading
    assert apart.d < step.scene.margin and apart.term == Term.PUSH
    assert apart.loss == pytest.approx((step.scene.margin - apart.d) ** 2, rel=1e-9)
    assert not step.done(observe_pair(step.scene.replace(similar=False)))


def test_step_9_a_dissimilar_pair_beyond_the_margin_costs_nothing_and_is_done():
    step = _step("contrastive")
    far = step.scene.replace(similar=False, x2x=1.5, x2y=0.5)
    reading = observe_pair(far).reading
    assert reading.d >= step.scene.margin and reading.loss == 0.0 and reading.term == Term.NONE
    assert step.done(observe_pair(far))
    assert not step.done(observe_pair(far.replace(similar=True)))  # similar: still pulled


def test_step_10_n1_closer_than_p_takes_most_and_its_share_is_the_push_on_a():
    step = _step("infonce")
    scene = step.scene
    reading = observe_circle(scene).reading
    a, p, n1 = (
        torch.tensor(scene.points()[name], dtype=torch.float64) for name in ("A", "P", "N1")
    )
    assert float(a @ n1) > float(a @ p)  # "N1 sits closer to A than P does"
    assert reading.hardest == 1 and reading.weights[1] > 0.5  # "N1 takes most of it"
    # "a negative's share is also its share of the push on the anchor": the raw gradient on
    # A is (sum_i w_i n_i - (1 - w_p) p) / tau (before the circle's projection).
    points = torch.tensor(list(scene.points().values()), dtype=torch.float64)
    weights = torch.tensor(reading.weights, dtype=torch.float64)
    raw = (weights[1:, None] * points[2:]).sum(0) - (1 - weights[0]) * points[1]
    raw = raw / scene.tau
    tangent = raw - (raw @ points[0]) * points[0]
    # (the preset's points are unit vectors to 6 decimals: hence 1e-5)
    assert tangent.tolist() == pytest.approx(list(reading.gradients["A"]), rel=1e-5, abs=1e-9)


def test_step_10_done_once_n1_is_dragged_away():
    step = _step("infonce")
    away = step.scene.replace(n1x=0.0, n1y=-1.0)
    assert step.done(observe_circle(away))
    closer = step.scene.replace(px=math.cos(0.1), py=math.sin(0.1))  # or P towards A
    assert step.done(observe_circle(closer))


def test_step_11_at_tau_002_n1_takes_almost_all_and_far_negatives_get_no_gradient():
    step = _step("temperature")
    reading = observe_circle(step.scene).reading
    assert step.scene.tau == 0.02 and reading.weights[1] > 0.9
    for far in ("N3", "N4"):
        assert math.hypot(*reading.gradients[far]) < 1e-9
    assert "tau" in step.controls


def test_step_11_raising_tau_spreads_the_weight_and_is_done():
    step = _step("temperature")
    reachable = [t for t in (0.05, 0.1, 0.15, 0.2, 0.5, 1.0, 2.0)
                 if step.done(observe_circle(step.scene.replace(tau=t)))]  # fmt: skip
    assert reachable and reachable == sorted(reachable) and 2.0 in reachable
    assert not step.done(observe_circle(step.scene.replace(tau=0.05)))


# --------------------------------------------------------------------------- 12, 13: SimCLR


def _trained_last(scene: SimCLRScene):
    run_a, run_b = train_pair(*simclr_configs(scene), device="cpu")
    return simclr_observation(True, (run_a.last, run_b.last))


def test_steps_12_and_13_start_from_the_pages_presets_with_b_made_equal_to_a():
    temperature, dimensional = _step("simclr_temperature"), _step("dimensional_collapse")
    assert temperature.scene == SimCLRScene().replace(tau_b=SimCLRScene().tau_a)
    assert dimensional.scene == simclr_preset("dimensional", SimCLRScene()).replace(shift_b=3)
    assert temperature.controls == ("tau_b",) and dimensional.controls == ("shift_b",)
    for step in (temperature, dimensional):
        assert tuple(simclr_configs(step.scene)) in simclr_priority_keys()  # trained at start


@pytest.mark.slow
def test_step_12_is_not_done_with_equal_runs_and_is_done_at_the_pages_large_tau():
    step = _step("simclr_temperature")
    assert not step.done(_trained_last(step.scene))  # A and B are the same run
    assert step.done(_trained_last(step.scene.replace(tau_b=1.0)))  # the page's preset


@pytest.mark.slow
def test_step_13_both_shifted_runs_collapse_and_unshifted_b_uses_eight_directions():
    step = _step("dimensional_collapse")
    start = _trained_last(step.scene)
    assert all(s.effective_rank < 3 for s in start.last)  # "both end on about two directions"
    assert not step.done(start)
    assert step.done(_trained_last(step.scene.replace(shift_b=0)))
