"""How the point pages compute a loss: the settings every page's controls produce.

A page's distance is a ``DISTANCES`` name with its ``p`` and ``eps``, or a typed
expression (``distance == "custom"``, parsed safely by :mod:`lossviz.core.expr`).
Scenes without a finite loss raise :class:`~lossviz.core.losses.NonFiniteError`.
The settings build their own distance (:meth:`LossSettings.pair_distance`), once per
process for equal settings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from torch import Tensor

from lossviz.core.distances import DISTANCES
from lossviz.core.expr import parse_distance
from lossviz.core.losses import PairDistance


@dataclass(frozen=True)
class LossSettings:
    """How the playground's loss is computed; ``expr`` is used when distance == "custom"."""

    margin: float
    p: float
    eps: float
    swap: bool
    distance: str
    expr: str

    def pair_distance(self) -> PairDistance:
        """The pair distance these settings select, ``(N, D), (N, D) -> (N,)``: built once
        per process for equal ``distance``, ``p``, ``eps`` and (for "custom") ``expr``, and
        shared (a distance is a pure function). Raises as :func:`make_distance` does
        (errors are not cached)."""
        expr = self.expr if self.distance == "custom" else ""
        return _shared_distance(self.distance, self.p, self.eps, expr)


def make_distance(distance: str, p: float, eps: float, expr: str = "") -> PairDistance:
    """The pair distance a page selected: a ``DISTANCES`` name or "custom" (parsed ``expr``).

    Raises ``ExpressionError`` for a bad custom expression, ``ValueError``
    for an unknown name.
    """
    if distance == "custom":
        return parse_distance(expr)
    if distance not in DISTANCES:
        raise ValueError(f"unknown distance {distance!r}")
    base = DISTANCES[distance]

    def pair_distance(x1: Tensor, x2: Tensor) -> Tensor:
        return base(x1, x2, p=p, eps=eps)

    return pair_distance


@functools.lru_cache(maxsize=256)
def _shared_distance(distance: str, p: float, eps: float, expr: str) -> PairDistance:
    return make_distance(distance, p, eps, expr)
