"""Regions in the core's colours: the kinds of a triplet and a pair's margin, as shapes.

The plane (:mod:`lossviz.ui.components.plane`) draws generic shapes; this module says
which ones the kinds (easy, semi-hard, hard) and a margin need, for the instruments
(:mod:`lossviz.ui.instruments`) and the quiz's questions.
"""

from __future__ import annotations

from collections.abc import Sequence

from lossviz.core.outlines import Ball, TripletOutlines
from lossviz.core.triplets import Kind
from lossviz.figures import COLORS, KIND_COLORS
from lossviz.ui.components.plane import ShapeLayer, Shapes

MARGIN_FILL = COLORS["semi-hard"]


def kind_shapes(outlines: TripletOutlines, opacity: float = 0.35) -> Shapes:
    """Easy everywhere, semi-hard inside the outer balls, hard inside the inner ones."""
    return Shapes(
        base=KIND_COLORS[Kind.EASY],
        opacity=opacity,
        layers=(
            ShapeLayer(KIND_COLORS[Kind.SEMI_HARD], outlines.semi, role="semi"),
            ShapeLayer(KIND_COLORS[Kind.HARD], outlines.hard, role="hard"),
        ),
    )


def margin_shapes(balls: Sequence[Ball], opacity: float = 0.3) -> Shapes:
    """The margin around X1 shaded (where a dissimilar X2 is pushed), the rest clear."""
    return Shapes(layers=(ShapeLayer(MARGIN_FILL, tuple(balls), role="margin"),), opacity=opacity)


__all__ = ["MARGIN_FILL", "kind_shapes", "margin_shapes"]
