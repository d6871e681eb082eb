"""The exact region shapes (lossviz.core.outlines) against the core's kinds and distances."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from lossviz.core.grid import grid_points
from lossviz.core.loss_settings import LossSettings, make_distance
from lossviz.core.outlines import BUILT_IN, Ball, margin_outline, triplet_outlines
from lossviz.core.pair_reading import margin_cells
from lossviz.core.triplet_reading import negative_landscape, read_triplet

BOUNDS = (-4.0, 4.0)
RESOLUTION = 120


def _settings(distance: str, p: float = 2.0, margin: float = 1.0, swap: bool = False, eps=1e-6):
    return LossSettings(margin, p, eps, swap, distance, "")


CASES = [
    _settings("euclidean"),
    _settings("euclidean", swap=True, margin=0.4),
    _settings("manhattan", margin=0.7),
    _settings("chebyshev", swap=True),
    _settings("minkowski", p=0.5, margin=1.5),
    _settings("minkowski", p=1.5, swap=True),
    _settings("minkowski", p=7.0, margin=0.3),
    _settings("minkowski", p=math.inf),
    _settings("cosine", margin=0.2),
    _settings("cosine", margin=1.2, swap=True),
    _settings("squared_euclidean", margin=2.0),
    _settings("euclidean", eps=0.3),  # a large eps moves the balls visibly
]


def _near_border(anchor, positive, settings, points: torch.Tensor) -> np.ndarray:
    """Cells within 1e-9 (relative) of a border, where rounding may decide the kind."""
    distance = make_distance(settings.distance, settings.p, settings.eps)
    a = torch.tensor([anchor], dtype=torch.float64).expand(len(points), 2)
    p = torch.tensor([positive], dtype=torch.float64).expand(len(points), 2)
    d_ap = distance(a, p)
    d_an = distance(a, points)
    if settings.swap:
        d_an = torch.minimum(d_an, distance(p, points))
    delta = (d_an - d_ap).numpy()
    scale = 1e-9 * (1 + np.abs(d_ap.numpy()) + settings.margin)
    return (np.abs(delta) < scale) | (np.abs(delta - settings.margin) < scale)


@pytest.mark.parametrize("settings", CASES, ids=lambda s: f"{s.distance}-p{s.p}-swap{s.swap}")
def test_outlines_give_the_cores_kinds(settings):
    rng = random.Random(hash((settings.distance, settings.p, settings.swap)) % 1000)
    points = grid_points(BOUNDS, RESOLUTION)
    for _ in range(4):
        anchor = (rng.uniform(-3, 3), rng.uniform(-3, 3))
        positive = (rng.uniform(-3, 3), rng.uniform(-3, 3))
        reading = read_triplet([anchor, positive, (0.5, 0.5)], settings)
        shapes = triplet_outlines(anchor, positive, reading.d_ap, settings)
        _, kind = negative_landscape(anchor, positive, settings, BOUNDS, RESOLUTION)
        got = shapes.kinds(points.numpy())
        differ = (got != kind.flatten().numpy()) & ~_near_border(anchor, positive, settings, points)
        assert not differ.any(), (anchor, positive, points[differ.nonzero()[0][:5]])
        # Every kind the grid shows, the shapes show too (not an empty test).
        assert set(np.unique(got)) == set(np.unique(kind.numpy()))


def test_the_p_ball_is_the_textbook_shape():
    """Hand-worked: A = (0, 0), P = (1, 0), m = 1, no eps: hard within 1, semi within 2."""
    shapes = triplet_outlines((0, 0), (1, 0), 1.0, _settings("euclidean", eps=0.0))
    (semi,), (hard,) = shapes.semi, shapes.hard
    assert (semi.center, semi.radius, semi.p) == ((0.0, 0.0), 2.0, 2.0)
    assert (hard.center, hard.radius) == ((0.0, 0.0), 1.0)
    assert shapes.kinds(np.array([[0.5, 0.5], [1.5, 0.0], [1.5, 1.5], [0, -2.1]])).tolist() == [
        2,
        1,
        0,
        0,
    ]
    # p = 1: a diamond, (1, 1) is at distance 2: on the semi border; p = inf: a square.
    diamond = triplet_outlines((0, 0), (1, 0), 1.0, _settings("manhattan", eps=0.0))
    assert diamond.semi[0].distance(np.array([[1.0, 1.0]])).item() == 2.0
    square = triplet_outlines((0, 0), (1, 0), 1.0, _settings("chebyshev", eps=0.0))
    assert square.kinds(np.array([[1.9, 1.9], [2.1, 0.0]])).tolist() == [1, 0]


def test_eps_shifts_the_centre_and_squared_takes_the_root():
    shapes = triplet_outlines((1, 2), (1, 3), 4.0, _settings("squared_euclidean", eps=0.25))
    assert shapes.semi[0].center == (1.25, 2.25)
    assert shapes.semi[0].radius == pytest.approx(math.sqrt(5.0))
    assert shapes.hard[0].radius == pytest.approx(2.0)


def test_swap_adds_a_ball_around_p():
    shapes = triplet_outlines((0, 0), (2, 0), 2.0, _settings("euclidean", swap=True, eps=0))
    assert [b.center for b in shapes.semi] == [(0.0, 0.0), (2.0, 0.0)]
    assert shapes.kinds(np.array([[3.5, 0.0]])).tolist() == [2]  # near P: hard with swap


def test_cosine_is_a_wedge_and_the_origin_centre_is_all_or_nothing():
    shapes = triplet_outlines((1, 0), (0, 1), 1.0, _settings("cosine", margin=0.5))
    (hard,) = shapes.hard  # 1 - cos <= 1: within 90 degrees of A's direction
    assert hard.contains(np.array([[0.1, 5.0], [-0.1, 5.0]])).tolist() == [True, False]
    (origin,) = margin_outline((0.0, 0.0), _settings("cosine", margin=1.5))
    assert origin.contains(np.array([[3.0, -2.0], [0.0, 0.0]])).all()
    (origin,) = margin_outline((0.0, 0.0), _settings("cosine", margin=0.5))
    assert not origin.contains(np.array([[3.0, -2.0], [0.0, 0.0]])).any()


@pytest.mark.parametrize("distance", BUILT_IN)
def test_margin_outline_is_the_contrastive_shading(distance):
    settings = _settings(distance, p=3.0, margin=1.3)
    x1 = (0.7, -0.4)
    (ball,) = margin_outline(x1, settings)
    cells = margin_cells(x1, settings, BOUNDS, RESOLUTION)
    inside = np.frombuffer(cells.encode(), dtype=np.uint8) == ord("1")
    points = grid_points(BOUNDS, RESOLUTION)
    distance_fn = make_distance(settings.distance, settings.p, settings.eps)
    d = distance_fn(torch.tensor([x1], dtype=torch.float64).expand(len(points), 2), points)
    away = (d - settings.margin).abs().numpy() > 1e-9
    assert (ball.contains(points.numpy()) == inside)[away].all()


def test_a_typed_distance_has_no_shapes():
    typed = LossSettings(1.0, 2.0, 1e-6, False, "custom", "sum(abs(a - b))")
    assert triplet_outlines((0, 0), (1, 0), 1.0, typed) is None
    assert margin_outline((0, 0), typed) is None


def test_balls_travel_as_json():
    assert Ball("lp", (1.0, 2.0), 3.0, math.inf).to_json() == {
        "kind": "lp",
        "c": [1.0, 2.0],
        "r": 3.0,
        "p": "inf",
    }
    assert "p" not in Ball("cosine", (1.0, 0.0), 0.5).to_json()
