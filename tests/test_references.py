"""Check a reference (lossviz/teaching/references.py): the tutorial's NumPy triplet loss and the
inverted contrastive snippet, pinned against torch and the core."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lossviz.core.loss_settings import LossSettings
from lossviz.core.pair_reading import read_pair
from lossviz.core.triplet_reading import read_triplet
from lossviz.teaching import references
from lossviz.teaching.references import (
    DISSIMILAR_REASON,
    INF_DISTANCE_REASON,
    INF_LOSS_REASON,
    INVERTED_SNIPPET,
    NO_SWAP_MESSAGE,
    NOT_LP_MESSAGE,
    SIMILAR_REASON,
    TUTORIAL,
    agrees,
    compare_pair_readings,
    contrastive_reference_check,
    lp_order,
    triplet_reference_check,
    tutorial_lp_distance,
    tutorial_triplet_loss,
)

TRIPLET = [[0.0, 0.0], [1.0, 0.5], [1.5, -1.0]]


def settings(distance="euclidean", p=2.0, eps=1e-6, swap=False, margin=1.0, expr="norm(a - b)"):
    return LossSettings(margin, p, eps, swap, distance, expr)


def random_pairs(count: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-4, 4, 2), rng.uniform(-4, 4, 2)) for _ in range(count)]


def torch_distance(x: np.ndarray, y: np.ndarray, p: float, eps: float) -> float:
    tx, ty = (torch.tensor(v[None, :], dtype=torch.float64) for v in (x, y))
    return F.pairwise_distance(tx, ty, p=p, eps=eps).item()


@pytest.mark.parametrize(("x", "y"), random_pairs(8))
@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_tutorial_distance_is_one_at_p_infinity_where_torch_takes_the_max(x, y, eps):
    assert tutorial_lp_distance(x, y, math.inf, eps) == 1.0
    largest = float(np.max(np.abs(x - y + eps)))
    assert torch_distance(x, y, math.inf, eps) == pytest.approx(largest, rel=1e-12)
    assert largest != pytest.approx(1.0)


@pytest.mark.parametrize(
    ("x", "y"), [(np.zeros(2), np.zeros(2)), (np.array([0.5, 0.0]), np.array([-0.5, 0.0]))]
)
def test_tutorial_distance_at_p_infinity_covers_inf_and_zero_sums(x, y):
    # sums 0 (below 1) and inf (above 1): 0**0 and inf**0 are both 1
    assert tutorial_lp_distance(x, y, math.inf, eps=0.0) == 1.0


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_tutorial_distance_matches_torch_for_finite_p(p, eps):
    for x, y in random_pairs(10, seed=int(p * 10)):
        want = torch_distance(x, y, p, eps)
        assert tutorial_lp_distance(x, y, p, eps) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_tutorial_triplet_loss_matches_torch_for_finite_p(p):
    rng = np.random.default_rng(7)
    for _ in range(10):
        a, pos, neg = rng.uniform(-2, 2, (3, 2))
        t = [torch.tensor(v[None, :], dtype=torch.float64) for v in (a, pos, neg)]
        want = F.triplet_margin_loss(*t, margin=1.5, p=p, eps=1e-6).item()
        got = tutorial_triplet_loss(a, pos, neg, margin=1.5, p=p, eps=1e-6)
        assert got == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_tutorial_triplet_loss_is_the_margin_at_p_infinity():
    for a, pos in random_pairs(5, seed=3):
        assert tutorial_triplet_loss(a, pos, -pos, margin=0.7, p=math.inf, eps=1e-6) == 0.7


def test_agrees_uses_a_relative_tolerance_with_an_absolute_floor():
    assert agrees(1.0, 1.0 + 5e-7) and not agrees(1.0, 1.0 + 5e-6)
    assert agrees(0.0, 5e-10) and not agrees(0.0, 5e-9)


@pytest.mark.parametrize(
    ("distance", "p", "want"),
    [
        ("euclidean", 3.0, 2.0),
        ("manhattan", 3.0, 1.0),
        ("chebyshev", 3.0, math.inf),
        ("minkowski", 0.5, 0.5),
        ("cosine", 3.0, None),
        ("squared_euclidean", 3.0, None),
        ("custom", 3.0, None),
    ],
)
def test_lp_order(distance, p, want):
    assert lp_order(settings(distance, p=p)) == want


@pytest.mark.parametrize(
    ("distance", "p"), [("euclidean", 2.0), ("manhattan", 2.0), ("minkowski", 3.0)]
)
def test_triplet_check_agrees_for_finite_p(distance, p):
    check = triplet_reference_check(TRIPLET, settings(distance, p=p))
    reading = read_triplet(TRIPLET, settings(distance, p=p))
    assert check.reference == TUTORIAL and check.applicable and check.agree
    assert check.message == ""
    assert [row.name for row in check.rows] == ["d(a, p)", "d(a, n)", "loss"]
    assert [row.core for row in check.rows] == [reading.d_ap, reading.d_an, reading.loss]
    assert all(row.agree and row.reason == "" for row in check.rows)


@pytest.mark.parametrize(("distance", "p"), [("chebyshev", 2.0), ("minkowski", math.inf)])
def test_triplet_check_disagrees_at_p_infinity(distance, p):
    check = triplet_reference_check(TRIPLET, settings(distance, p=p, margin=0.8))
    d_ap, d_an, loss = check.rows
    assert check.applicable and not check.agree
    assert (d_ap.reference, d_an.reference, loss.reference) == (1.0, 1.0, 0.8)
    assert d_ap.core == pytest.approx(1.0 - 1e-6) and d_an.core == pytest.approx(1.5 - 1e-6)
    assert not d_an.agree and d_an.reason == INF_DISTANCE_REASON
    assert not loss.agree and loss.reason == INF_LOSS_REASON
    assert loss.core == pytest.approx(0.8 + d_ap.core - d_an.core)


def test_triplet_check_with_swap_compares_only_the_distances():
    swapped = [[-2.0, 0.0], [0.0, 0.0], [0.5, 0.5]]
    check = triplet_reference_check(swapped, settings("euclidean", swap=True))
    assert check.applicable and check.agree and check.message == NO_SWAP_MESSAGE
    assert [row.name for row in check.rows] == ["d(a, p)", "d(a, n)", "d(p, n)"]
    assert check.rows[2].core == pytest.approx(math.hypot(0.5 - 1e-6, 0.5 - 1e-6))  # p - n + eps


def test_triplet_check_with_swap_at_p_infinity_explains_the_distances():
    check = triplet_reference_check(TRIPLET, settings("chebyshev", swap=True))
    assert [row.reason for row in check.rows] == [INF_DISTANCE_REASON] * 3
    assert check.message == NO_SWAP_MESSAGE


@pytest.mark.parametrize("distance", ["cosine", "squared_euclidean", "custom"])
def test_triplet_check_is_not_applicable_without_a_p_norm(distance):
    check = triplet_reference_check(TRIPLET, settings(distance))
    assert not check.applicable and check.rows == () and check.message == NOT_LP_MESSAGE
    assert "p-norms" in check.message


def test_triplet_check_takes_a_tensor_and_checks_the_shape():
    check = triplet_reference_check(torch.tensor(TRIPLET), settings())
    assert check.agree
    with pytest.raises(ValueError):
        triplet_reference_check(TRIPLET[:2], settings())


@pytest.mark.parametrize("similar", [True, False])
def test_contrastive_check_disagrees_inside_the_margin(similar):
    pair = [[0.0, 0.0], [0.3, 0.1]]  # d ~ 0.32 < m = 1, away from m / 2
    check = contrastive_reference_check(pair, similar, settings())
    d, loss = check.rows
    assert check.reference == INVERTED_SNIPPET and check.applicable and not check.agree
    assert d.name == "d" and d.agree and d.reason == "" and d.core == d.reference
    assert loss.name == "loss" and not loss.agree
    pull, push = d.core**2, (1.0 - d.core) ** 2
    assert loss.core == pytest.approx(pull if similar else push)
    assert loss.reference == pytest.approx(push if similar else pull)
    assert loss.reason == (SIMILAR_REASON if similar else DISSIMILAR_REASON)


def test_contrastive_check_dissimilar_beyond_the_margin_is_pulled_by_the_snippet():
    check = contrastive_reference_check([[-1.5, 0.0], [1.0, 0.5]], False, settings())
    d, loss = check.rows
    assert loss.core == 0.0 and loss.reference == pytest.approx(d.core**2)
    assert loss.reason == DISSIMILAR_REASON


@pytest.mark.parametrize("similar", [True, False])
def test_contrastive_check_agrees_where_pull_and_push_coincide(similar):
    # d = m / 2 exactly (eps = 0): d**2 == (m - d)**2 == 0.25
    check = contrastive_reference_check([[0.0, 0.0], [0.5, 0.0]], similar, settings(eps=0.0))
    assert check.agree
    assert [(row.core, row.reference) for row in check.rows] == [(0.5, 0.5), (0.25, 0.25)]


def test_the_checks_use_the_readings_the_page_hands_them(monkeypatch):
    reading = read_triplet(TRIPLET, settings())
    core = read_pair(TRIPLET[:2], False, settings())
    snippet = read_pair(TRIPLET[:2], False, settings(), inverted=True)

    def read_again(*args, **kwargs):
        raise AssertionError("the page's reading was read again")

    monkeypatch.setattr(references, "read_triplet", read_again)
    monkeypatch.setattr(references, "read_pair", read_again)
    check = triplet_reference_check(TRIPLET, settings(), reading)
    assert [row.core for row in check.rows] == [reading.d_ap, reading.d_an, reading.loss]
    pair_check = compare_pair_readings(core, snippet)
    assert [row.core for row in pair_check.rows] == [core.d, core.loss]
    assert [row.reference for row in pair_check.rows] == [snippet.d, snippet.loss]
    monkeypatch.undo()
    assert pair_check == contrastive_reference_check(TRIPLET[:2], False, settings())
    with pytest.raises(ValueError, match="same label"):
        compare_pair_readings(core, read_pair(TRIPLET[:2], True, settings(), inverted=True))
    with pytest.raises(ValueError, match="snippet"):
        compare_pair_readings(core, core)


def test_contrastive_check_works_for_every_distance():
    for distance in ("manhattan", "cosine", "squared_euclidean", "custom"):
        check = contrastive_reference_check([[0.2, 0.1], [0.3, 0.4]], True, settings(distance))
        assert check.rows[0].agree and not check.rows[1].agree


def test_the_printed_tutorial_is_the_one_compared():
    """TUTORIAL_CODE (what the page shows) computes what tutorial_* compute, p = inf too."""
    namespace: dict = {}
    exec(compile(references.TUTORIAL_CODE, "<tutorial>", "exec"), namespace)  # our own text
    rng = np.random.default_rng(3)
    for p in (0.5, 1.0, 2.0, 3.0, math.inf):
        a, pos, neg = rng.normal(size=(3, 2))
        with np.errstate(all="ignore"):
            shown = namespace["triplet_loss"](a, pos, neg, 0.7, p, 1e-6)
            distance = namespace["distance"](a, pos, p, 1e-6)
        assert shown == references.tutorial_triplet_loss(a, pos, neg, 0.7, p, 1e-6)
        assert distance == references.tutorial_lp_distance(a, pos, p, 1e-6)
    assert namespace["distance"](np.zeros(2), np.array([3.0, -4.0]), math.inf) == 1.0
