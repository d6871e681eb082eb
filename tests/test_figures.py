"""Figures carry the data they are given, in the app's colours."""

from __future__ import annotations

import numpy as np

from lossviz.figures import COLORS, kinds_along_delta, loss_landscape
from lossviz.triplets import Kind


def test_colour_table_covers_every_role():
    assert set(COLORS) >= {"easy", "semi-hard", "hard", "anchor", "positive", "negative"}
    assert all(kind.label in COLORS for kind in Kind)


def test_kinds_along_delta_draws_the_curve_and_the_bands():
    fig = kinds_along_delta([-1.0, 0.0, 1.0, 2.0], [2.0, 1.0, 0.0, 0.0], margin=1.0)
    (curve,) = fig.data
    assert list(curve.x) == [-1.0, 0.0, 1.0, 2.0] and list(curve.y) == [2.0, 1.0, 0.0, 0.0]
    bands = [(s.x0, s.x1, s.fillcolor) for s in fig.layout.shapes if s.type == "rect"]
    assert bands == [
        (-1.0, 0.0, COLORS["hard"]),
        (0.0, 1.0, COLORS["semi-hard"]),
        (1.0, 2.0, COLORS["easy"]),
    ]


def test_loss_landscape_puts_the_first_row_at_the_top():
    grid = np.array([[3.0, 2.0], [1.0, 0.0]])
    coarse = np.array([[2.0]])
    fig = loss_landscape(grid, coarse, (-1.0, 1.0), {"A": (0.0, 0.0), "N": (0.5, -0.5)})
    heatmap, contour, markers = fig.data
    assert list(heatmap.x) == [-0.5, 0.5] and list(heatmap.y) == [0.5, -0.5]
    assert np.array_equal(np.asarray(heatmap.z), grid) and heatmap.zmin == 0.0
    assert list(contour.x) == [0.0] and np.array_equal(np.asarray(contour.z), coarse)
    assert list(markers.text) == ["A", "N"]
    assert list(markers.marker.color) == [COLORS["anchor"], COLORS["negative"]]
