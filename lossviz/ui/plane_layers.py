"""What the loss pages hand the plane: exact regions, the live loss, the server's read-out.

The plane (``lossviz.ui.plane``) draws generic shapes and numbers; this module says
which ones a triplet or a pair needs, in the core's colours and words.
"""

from __future__ import annotations

from collections.abc import Sequence

from lossviz.figures import COLORS, KIND_COLORS
from lossviz.outlines import Ball, TripletOutlines
from lossviz.pairs import PairReading, Term
from lossviz.playground import TripletReading
from lossviz.triplets import Kind
from lossviz.ui.plane import LiveLoss, ShapeLayer, Shapes
from lossviz.ui.readouts import KIND_SYMBOLS

TRIPLET_BADGES = {
    kind.label: (f"{KIND_SYMBOLS[kind]} {kind.label}", KIND_COLORS[kind]) for kind in Kind
}
TERM_COLORS = {Term.PULL: COLORS["anchor"], Term.PUSH: COLORS["negative"], Term.NONE: "#8a8d96"}
PAIR_BADGES = {term.value: (term.label, TERM_COLORS[term]) for term in Term}
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


def triplet_live(margin: float, swap: bool) -> LiveLoss:
    return LiveLoss(kind="triplet", margin=margin, swap=swap, badges=TRIPLET_BADGES)


def pair_live(margin: float, similar: bool) -> LiveLoss:
    return LiveLoss(kind="pair", margin=margin, similar=similar, badges=PAIR_BADGES)


def triplet_reading(reading: TripletReading) -> dict[str, object]:
    """The server's read-out of a triplet, in the names ``mirror.js``'s ``readTriplet`` uses."""
    return {
        "d_ap": reading.d_ap,
        "d_an": reading.d_an,
        "d_pn": reading.d_pn,
        "d_an_used": reading.d_an_used,
        "swap_used": reading.swap_used,
        "loss": reading.loss,
        "kind": reading.kind.label,
    }


def pair_reading(reading: PairReading) -> dict[str, object]:
    """The server's read-out of a pair, in the names ``mirror.js``'s ``readPair`` uses."""
    return {"d": reading.d, "loss": reading.loss, "term": reading.term.value}


__all__ = [
    "PAIR_BADGES",
    "TRIPLET_BADGES",
    "kind_shapes",
    "margin_shapes",
    "pair_live",
    "pair_reading",
    "triplet_live",
    "triplet_reading",
]
