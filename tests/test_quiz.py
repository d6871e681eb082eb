"""The quiz core: rounds are deterministic, balanced and right; explanations; summaries."""

from __future__ import annotations

from collections import Counter

import pytest

from lossviz.core.triplet_reading import read_triplet
from lossviz.core.triplets import Kind, classify
from lossviz.teaching.quiz_rounds import (
    BOUNDS,
    QUIZ_DISTANCES,
    Question,
    QuizError,
    explain,
    make_round,
    margin_ruler,
    question_pairs,
    quiz_settings,
    summarize,
)

E, S, H = Kind.EASY, Kind.SEMI_HARD, Kind.HARD


def coords(questions: list[Question]) -> list[tuple]:
    return [q.points for q in questions]


def test_same_seed_same_round_and_different_seeds_differ():
    first = make_round(7, "normal", "euclidean", False, 1.0)
    again = make_round(7, "normal", "euclidean", False, 1.0)
    assert first == again
    assert coords(make_round(8, "normal", "euclidean", False, 1.0)) != coords(first)
    assert coords(make_round(7, "boundary", "euclidean", False, 1.0)) != coords(first)


def test_a_round_does_not_touch_the_global_rng():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_round(1)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("difficulty", ["normal", "boundary"])
@pytest.mark.parametrize("distance", QUIZ_DISTANCES)
@pytest.mark.parametrize("swap", [False, True])
def test_stored_kind_is_classify_of_the_cores_distances(difficulty, distance, swap):
    margin = 0.3 if distance == "cosine" else 1.0
    questions = make_round(3, difficulty, distance, swap, margin)
    assert len(questions) == 10
    for i, q in enumerate(questions):
        assert q.index == i
        assert q.settings == quiz_settings(distance, swap, margin)
        for x, y in q.points:
            assert BOUNDS[0] <= x <= BOUNDS[1] and BOUNDS[0] <= y <= BOUNDS[1]
        reading = read_triplet([list(p) for p in q.points], q.settings)
        assert (q.d_ap, q.d_an, q.d_pn, q.d_an_used) == pytest.approx(
            (reading.d_ap, reading.d_an, reading.d_pn, reading.d_an_used), abs=1e-9
        )
        assert q.kind == classify(q.d_ap, q.d_an_used, margin) == reading.kind
        expected_used = min(q.d_an, q.d_pn) if swap else q.d_an
        assert q.d_an_used == pytest.approx(expected_used)
        assert q.swap_used == (swap and q.d_pn < q.d_an)


@pytest.mark.parametrize("seed", [0, 1, 2, 99, 2**31 - 1])
@pytest.mark.parametrize("difficulty", ["normal", "boundary"])
def test_kinds_are_balanced_and_shuffled(seed, difficulty):
    kinds = [q.kind for q in make_round(seed, difficulty)]
    counts = Counter(kinds)
    assert set(counts) == {E, S, H}
    assert all(3 <= c <= 4 for c in counts.values()), counts
    assert sum(counts.values()) == 10


def test_kind_orders_differ_between_seeds():
    orders = {tuple(q.kind for q in make_round(seed)) for seed in range(6)}
    assert len(orders) > 1


@pytest.mark.parametrize("distance", QUIZ_DISTANCES)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("margin", [0.05, 0.5, 1.0])
def test_boundary_deltas_are_near_but_not_on_a_boundary(distance, swap, margin):
    for q in make_round(11, "boundary", distance, swap, margin):
        delta = q.delta
        assert abs(delta) <= 0.1 * margin or abs(delta - margin) <= 0.1 * margin, delta
        assert delta != 0 and delta != margin


def test_normal_deltas_stay_clear_of_the_boundaries():
    for q in make_round(5, "normal", "euclidean", False, 1.0):
        assert abs(q.delta) >= 0.15 and abs(q.delta - 1.0) >= 0.15


def test_swap_uses_the_positive_negative_distance_somewhere():
    used = [q.swap_used for seed in range(5) for q in make_round(seed, "normal", "euclidean", True)]
    assert any(used)


def test_an_impossible_kind_is_replaced_not_raised():
    # Cosine distance is at most 2: no triplet is easy at margin 3.
    kinds = {q.kind for q in make_round(0, "normal", "cosine", False, 3.0)}
    assert E not in kinds and kinds


@pytest.mark.parametrize(
    "args",
    [
        dict(difficulty="hardest"),
        dict(distance="minkowskiish"),
        dict(margin=0.0),
        dict(margin=float("nan")),
        dict(length=0),
    ],
)
def test_bad_settings_raise_a_quiz_error(args):
    with pytest.raises(QuizError):
        make_round(0, **args)


def test_explain_mentions_the_numbers_and_the_kind():
    for q in make_round(4, "normal", "euclidean", False, 1.0):
        text = explain(q)
        assert f"{q.delta:.3g}" in text
        assert q.kind.label in text
        assert text.endswith(".")
        if q.kind == S:
            assert "between 0 and the margin 1" in text
        if q.kind == E:
            assert "more than the margin 1" in text
        if q.kind == H:
            assert "at most 0" in text


def test_explain_with_swap_names_the_distance_used():
    q = next(q for q in make_round(1, "normal", "euclidean", True) if q.swap_used)
    text = explain(q)
    assert "min(d(a,n), d(p,n))" in text and f"{q.d_an_used:.3g}" in text


def test_explain_example_from_the_brief():
    q = make_round(0)[0]
    fake = Question(q.index, q.points, q.settings, S, 1.0, 1.42, 2.0, 1.42, False)
    assert explain(fake) == (
        "d(a,n) − d(a,p) = 0.42, between 0 and the margin 1: the negative is farther than "
        "the positive but inside the margin, so it is semi-hard."
    )


def test_summarize_counts_score_streaks_and_confusion():
    pairs = [(E, E), (S, S), (H, S), (H, H), (E, E), (S, S), (S, H), (E, S), (H, H), (S, S)]
    result = summarize(pairs)
    assert result.total == 10
    assert result.score == 7
    assert result.best_streak == 3  # (H,H), (E,E), (S,S)
    assert result.streak == 2
    assert result.confusion == ((2, 1, 0), (0, 3, 1), (0, 1, 2))
    assert result.count(H, S) == 1
    assert sum(map(sum, result.confusion)) == 10


def test_summarize_empty_and_question_pairs():
    empty = summarize([])
    assert (empty.total, empty.score, empty.best_streak, empty.streak) == (0, 0, 0, 0)
    questions = make_round(2)
    answers = [int(q.kind) for q in questions[:4]]
    pairs = question_pairs(questions, answers)
    assert pairs == [(q.kind, q.kind) for q in questions[:4]]
    assert summarize(pairs).score == 4


@pytest.mark.parametrize("margin", [0.05, 1.0, 5.0])
def test_margin_ruler_is_horizontal_inside_and_away_from_the_points(margin):
    for q in make_round(6, "normal", "euclidean", False, margin):
        (x0, y0), (x1, y1) = margin_ruler(q.points, margin)
        assert y0 == y1 and x1 - x0 == pytest.approx(margin)
        assert all(BOUNDS[0] <= v <= BOUNDS[1] for v in (x0, x1, y0))
    (x0, y0), (x1, _) = margin_ruler([(-3.5, -3.5), (-3.0, -3.5), (-3.5, -3.0)], 1.0)
    assert x0 > 0 or y0 > 0  # not the crowded bottom-left corner
    (x0, _), (x1, _) = margin_ruler([(0.0, 0.0)] * 3, 20.0)
    assert BOUNDS[0] <= x0 < x1 <= BOUNDS[1]
