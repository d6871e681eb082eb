"""The playground's numbers against torch, hand-worked geometry and plain loops."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lossviz.core.descent import arrow_scale
from lossviz.core.expr import ExpressionError
from lossviz.core.grid import grid_points, kind_cells
from lossviz.core.loss_settings import LossSettings, make_distance
from lossviz.core.losses import NonFiniteError
from lossviz.core.triplet_reading import descend, negative_landscape, read_triplet
from lossviz.core.triplets import Kind, classify

EUCLID0 = LossSettings(margin=1.0, p=2.0, eps=0.0, swap=False, distance="euclidean", expr="")


def settings(**changes) -> LossSettings:
    return LossSettings(**{**EUCLID0.__dict__, **changes})


def test_reading_equals_torch_and_hand_worked_gradients():
    points = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.5]]
    reading = read_triplet(points, settings(eps=1e-6))
    a, p, n = (torch.tensor([pt]) for pt in points)
    assert reading.loss == pytest.approx(F.triplet_margin_loss(a, p, n).item(), rel=1e-6)
    exact = read_triplet(points, EUCLID0)
    assert (exact.d_ap, exact.d_an, exact.loss) == pytest.approx((1.0, 1.5, 0.5))
    assert exact.kind is Kind.SEMI_HARD and exact.delta == pytest.approx(0.5)
    # dL/dP = (P - A)/|P - A|, dL/dN = -(N - A)/|N - A|, dL/dA = -(dL/dP + dL/dN).
    flat = [g for pair in exact.gradients for g in pair]
    assert flat == pytest.approx([-1.0, 1.0, 1.0, 0.0, 0.0, -1.0])


def test_swap_uses_the_positive_negative_distance():
    points = [[0.0, 0.0], [1.0, 0.0], [1.5, 0.0]]
    plain = read_triplet(points, EUCLID0)
    swapped = read_triplet(points, settings(swap=True))
    assert (plain.loss, plain.kind, plain.swap_used) == (0.5, Kind.SEMI_HARD, False)
    assert (swapped.loss, swapped.kind, swapped.swap_used) == (1.5, Kind.HARD, True)
    assert swapped.d_an_used == swapped.d_pn == 0.5


def test_every_builtin_and_a_custom_distance_read_finite_values():
    points = [[0.5, 0.5], [1.0, -0.5], [-1.0, 2.0]]
    for name in ("euclidean", "manhattan", "chebyshev", "minkowski", "cosine", "squared_euclidean"):
        reading = read_triplet(points, settings(distance=name, p=3.0))
        assert math.isfinite(reading.loss)
    typed = read_triplet(points, settings(distance="custom", expr="sqrt(sum((a - b) ** 2))"))
    assert typed.loss == pytest.approx(read_triplet(points, EUCLID0).loss, rel=1e-12)


def test_a_distance_that_is_not_finite_here_is_reported():
    with pytest.raises(NonFiniteError, match="not a finite number"):
        read_triplet(
            [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
            settings(distance="custom", expr="norm(a - b) / norm(a)"),
        )


def test_make_distance_rejects_unknown_and_bad_input():
    with pytest.raises(ValueError, match="unknown distance"):
        make_distance("hamming", 2.0, 0.0)
    with pytest.raises(ExpressionError):
        make_distance("custom", 2.0, 0.0, "__import__('os')")


def test_settings_build_their_distance_once_per_process_for_equal_settings():
    x1, x2 = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    built = settings(distance="minkowski", p=3.0).pair_distance()
    assert built is settings(distance="minkowski", p=3.0, margin=2.0, swap=True).pair_distance()
    assert built is not settings(distance="minkowski", p=4.0).pair_distance()
    want = make_distance("minkowski", 3.0, 0.0)(x1, x2)
    assert torch.equal(built(x1, x2), want)
    expr = "sqrt(sum((a - b) ** 2))"
    typed = settings(distance="custom", expr=expr).pair_distance()
    assert typed is settings(distance="custom", expr=expr, margin=0.5).pair_distance()
    assert typed(x1, x2).item() == pytest.approx(5.0)
    # The expression only counts for "custom": a named distance ignores a leftover one.
    assert settings(expr="a").pair_distance() is EUCLID0.pair_distance()
    for _ in range(2):  # errors are raised every time, never cached
        with pytest.raises(ValueError, match="unknown distance"):
            settings(distance="hamming").pair_distance()
        with pytest.raises(ExpressionError):
            settings(distance="custom", expr="__import__('os')").pair_distance()


def test_grid_points_start_at_the_top_left():
    cells = grid_points((-4.0, 4.0), 4)
    assert cells[0].tolist() == [-3.0, 3.0]
    assert cells[3].tolist() == [3.0, 3.0]
    assert cells[-1].tolist() == [3.0, -3.0]


def test_euclidean_regions_are_balls_around_the_anchor():
    # A at the origin, d(a, p) = 1, margin 1: hard inside r = 1, semi-hard to r = 2, easy beyond.
    points = [[0.0, 0.0], [1.0, 0.0], [3.0, 3.0]]
    loss, kind = negative_landscape(points[0], points[1], EUCLID0, (-4.0, 4.0), 80)
    radius = grid_points((-4.0, 4.0), 80).norm(dim=1).reshape(80, 80)
    clear = ((radius - 1).abs() > 0.06) & ((radius - 2).abs() > 0.06)
    expected = torch.where(radius < 1, 2, torch.where(radius < 2, 1, 0))
    assert torch.equal(kind[clear], expected[clear])
    torch.testing.assert_close(loss, torch.clamp_min(2 - radius, 0), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["manhattan", "chebyshev", "cosine", "custom"])
@pytest.mark.parametrize("swap", [False, True])
def test_landscape_equals_reading_each_cell(name, swap):
    chosen = settings(distance=name, swap=swap, eps=1e-6, expr="max(abs(a - b)) + norm(a - b)")
    points = [[0.3, -0.2], [1.2, 0.9], [0.0, 0.0]]
    loss, kind = negative_landscape(points[0], points[1], chosen, (-2.0, 2.0), 9)
    for index, (x, y) in enumerate(grid_points((-2.0, 2.0), 9).tolist()):
        reading = read_triplet([points[0], points[1], [x, y]], chosen)
        row, col = divmod(index, 9)
        assert loss[row, col].item() == pytest.approx(reading.loss, abs=1e-12)
        assert kind[row, col].item() == reading.kind


def test_swap_adds_a_region_around_the_positive():
    points = [[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]]
    _, plain = negative_landscape(points[0], points[1], EUCLID0, (-4.0, 4.0), 8)
    _, swapped = negative_landscape(points[0], points[1], settings(swap=True), (-4.0, 4.0), 8)
    # The cell centred at (2.5, 0.5) is 2.55 from A but 0.71 from P.
    row, col = 3, 6
    assert plain[row, col].item() == Kind.SEMI_HARD
    assert swapped[row, col].item() == Kind.HARD
    assert classify(2.0, math.hypot(2.5, 0.5), 1.0) is Kind.SEMI_HARD


def test_kind_cells_is_one_digit_per_cell():
    kind = torch.tensor([[0, 1], [2, 0]])
    assert kind_cells(kind) == "0120"


def test_descend_moves_a_hard_triplet_to_zero_loss():
    points = [[0.0, 0.0], [2.0, 0.0], [0.5, 0.5]]
    path = descend(points, EUCLID0, lr=0.1, steps=50, bounds=(-4.0, 4.0))
    assert path.shape == (51, 3, 2)
    assert path[0].tolist() == points
    assert read_triplet(path[0], EUCLID0).loss > 1.5
    assert read_triplet(path[-1], EUCLID0).loss == pytest.approx(0.0, abs=0.1)
    # One step is exactly x - lr * grad.
    grad = torch.tensor(read_triplet(points, EUCLID0).gradients, dtype=torch.float64)
    torch.testing.assert_close(path[1], torch.tensor(points, dtype=torch.float64) - 0.1 * grad)


def test_descend_stays_in_bounds_and_stops_when_not_finite():
    path = descend([[0.0, 0.0], [3.9, 0.0], [0.1, 0.0]], EUCLID0, 5.0, 5, (-4.0, 4.0))
    assert path.abs().max() <= 4.0
    typed = settings(distance="custom", expr="norm(a - b) / norm(a)")
    stuck = descend([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], typed, 0.1, 3, (-4.0, 4.0))
    assert torch.equal(stuck[0], stuck[-1])
    with pytest.raises(ValueError):
        descend([[0.0, 0.0]] * 3, EUCLID0, 0.0, 3, (-4.0, 4.0))


def test_arrow_scale():
    assert arrow_scale([(0.3, 0.4), (0.0, 0.0)], span=8.0) == 1.0
    assert arrow_scale([(6.0, 8.0)], span=8.0) == pytest.approx(0.12)
    assert arrow_scale([(0.0, 0.0)], span=8.0) == 1.0
