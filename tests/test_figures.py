"""Figures carry the data they are given, in the app's colours."""

from __future__ import annotations

from lossviz.figures import COLORS, kinds_along_delta
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
