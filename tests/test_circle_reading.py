"""An anchor, a positive and k negatives read by InfoNCE: the core's numbers, by hand and by
finite differences along the circle."""

from __future__ import annotations

import math

import pytest

from lossviz.core.circle_reading import (
    MAX_NEGATIVES,
    descend_circle,
    on_circle_at,
    point_names,
    read_circle,
)
from lossviz.core.softmax_contrastive import DegenerateError


def scene(anchor: float, positive: float, *negatives: float) -> dict:
    names = point_names(len(negatives))
    angles = (anchor, positive, *negatives)
    return {name: on_circle_at(angle) for name, angle in zip(names, angles, strict=True)}


def by_hand(points: dict, tau: float) -> tuple[float, list[float]]:
    """InfoNCE and the weights from the angles, with plain math."""
    angle = {name: math.atan2(y, x) for name, (x, y) in points.items()}
    sims = [math.cos(angle[name] - angle["A"]) for name in points if name != "A"]
    exps = [math.exp(s / tau) for s in sims]
    return -math.log(exps[0] / sum(exps)), [e / sum(exps) for e in exps]


@pytest.mark.parametrize("tau", [0.05, 0.2, 1.0])
def test_the_loss_and_weights_by_hand(tau):
    points = scene(0.0, 0.4, 1.0, 2.5, -0.7)
    reading = read_circle(points, tau)
    loss, weights = by_hand(points, tau)
    assert reading.loss == pytest.approx(loss, rel=1e-12)
    assert list(reading.weights) == pytest.approx(weights, rel=1e-10)
    assert sum(reading.weights) == pytest.approx(1.0)
    assert reading.hardest == 3  # N3 at -0.7 rad is the nearest negative to A
    assert reading.lower_bound < reading.loss < reading.collapsed + 1


def test_the_gradient_is_the_derivative_along_the_circle():
    points = scene(0.1, 0.9, 1.6, 2.4)
    reading = read_circle(points, 0.3)
    h = 1e-6
    for name in points:
        x, y = points[name]
        angle = math.atan2(y, x)
        moved = lambda d: {**points, name: on_circle_at(angle + d)}  # noqa: E731,B023
        derivative = (read_circle(moved(h), 0.3).loss - read_circle(moved(-h), 0.3).loss) / (2 * h)
        gx, gy = reading.gradients[name]
        tangent = (-math.sin(angle), math.cos(angle))
        assert gx * tangent[0] + gy * tangent[1] == pytest.approx(derivative, rel=1e-6, abs=1e-9)
        assert gx * math.cos(angle) + gy * math.sin(angle) == pytest.approx(0.0, abs=1e-12)


def test_off_the_circle_the_loss_uses_raw_dot_products():
    points = {"A": (2.0, 0.0), "P": (1.0, 1.0), "N1": (0.0, 3.0)}
    reading = read_circle(points, 1.0, on_circle=False)
    s_ap, s_an = 2.0, 0.0
    expected = -math.log(math.exp(s_ap) / (math.exp(s_ap) + math.exp(s_an)))
    assert reading.loss == pytest.approx(expected)
    assert reading.similarities == (s_ap, s_an)
    # Stretching A changes the raw loss, not the cosine one.
    stretched = {**points, "A": (4.0, 0.0)}
    assert read_circle(stretched, 1.0, on_circle=False).loss != pytest.approx(reading.loss)
    assert read_circle(stretched, 1.0).loss == pytest.approx(read_circle(points, 1.0).loss)


def test_alignment_and_uniformity_of_the_points():
    together = scene(0.5, 0.5, 0.5)
    reading = read_circle(together, 0.5)
    assert reading.alignment == pytest.approx(0.0) and reading.uniformity == pytest.approx(0.0)
    assert reading.loss == pytest.approx(reading.collapsed)  # log(1 + k)
    apart = read_circle(scene(0.0, math.pi, math.pi / 2), 0.5)
    assert apart.alignment == pytest.approx(4.0)  # opposite points: |(2, 0)|^2


def test_descent_lowers_the_loss_and_stays_on_the_circle():
    path = descend_circle(scene(0.0, 1.5, 0.3, -0.4), 0.2, lr=0.05, steps=30)
    assert len(path) == 31
    first, last = read_circle(path[0], 0.2).loss, read_circle(path[-1], 0.2).loss
    assert last < first
    for frame in path:
        for x, y in frame.values():
            assert math.hypot(x, y) == pytest.approx(1.0)


def test_degenerate_points_and_counts():
    with pytest.raises(DegenerateError, match="A is at the centre"):
        read_circle({"A": (0.0, 0.0), "P": (1.0, 0.0), "N1": (0.0, 1.0)}, 0.1)
    with pytest.raises(DegenerateError, match="finite"):
        read_circle({"A": (math.nan, 0.0), "P": (1.0, 0.0), "N1": (0.0, 1.0)}, 0.1)
    with pytest.raises(DegenerateError, match="temperature"):
        read_circle(scene(0, 1, 2), 0.0)
    with pytest.raises(ValueError, match="negatives"):
        point_names(MAX_NEGATIVES + 1)
    assert point_names(2) == ("A", "P", "N1", "N2")


def test_a_point_at_the_centre_is_named_on_the_circle_and_fine_off_it():
    points = {"A": (1.0, 0.0), "P": (0.0, 1.0), "N1": (0.0, 0.0)}
    with pytest.raises(DegenerateError, match="N1 is at the centre"):
        read_circle(points, 0.1)
    with pytest.raises(DegenerateError, match="N1 is at the centre"):
        descend_circle(points, 0.1, 0.1, 3)
    off = read_circle(points, 0.1, on_circle=False)  # a raw dot product of 0: a number
    assert off.similarities == (0.0, 0.0) and math.isfinite(off.loss)
