"""The plane's regions as exact shapes, from the geometry of each built-in distance.

Where N is hard, semi-hard or easy depends only on its distances to A (and to P, with
swap), so each region is a union of *balls* ``{n : d(c, n) <= r}``:

- Lp distances (torch's ``||c - n + eps||_p``): the superellipse ``|x|^p + |y|^p <= r^p``
  around ``c + eps`` (a circle for p = 2, a diamond for p = 1, a square for p = inf,
  a four-pointed star for p < 1);
- the squared Euclidean distance: a circle of radius ``sqrt(r)`` around ``c + eps``;
- the cosine distance ``1 - cos``: a wedge from the origin, the directions within
  ``arccos(1 - r)`` of ``c``'s. With ``c`` at the origin every N is at distance 1
  (norms are clamped), so the ball is the whole plane when ``r >= 1``, else empty.

A typed distance has no known geometry: the functions return None and the pages keep
the cell grid. The browser draws the balls (``lossviz/ui/plane.js`` samples each
outline at the screen's resolution, so a circle stays a circle at any zoom) and
recomputes them while a point is dragged with its mirror of these rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossviz.core.distances import COSINE_NORM_FLOOR
from lossviz.core.loss_settings import LossSettings

BUILT_IN = ("euclidean", "manhattan", "chebyshev", "minkowski", "cosine", "squared_euclidean")
_ORDER = {"euclidean": 2.0, "manhattan": 1.0, "chebyshev": math.inf, "squared_euclidean": 2.0}


@dataclass(frozen=True)
class Ball:
    """``{n : d(center, n) <= radius}``; for ``"lp"`` the centre is already shifted by eps
    and the radius is in the norm's units (the squared distance's root)."""

    kind: str  # "lp" or "cosine"
    center: tuple[float, float]
    radius: float
    p: float = 2.0  # "lp" only

    def distance(self, points: np.ndarray) -> np.ndarray:
        """This ball's distance from its centre to each of ``points`` (K, 2) -> (K,)."""
        x = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self.kind == "cosine":
            c = np.asarray(self.center, dtype=np.float64)
            norms = np.maximum(np.hypot(x[:, 0], x[:, 1]), COSINE_NORM_FLOOR)
            return 1.0 - (x @ c) / (max(math.hypot(*c), COSINE_NORM_FLOOR) * norms)
        diff = np.abs(np.asarray(self.center, dtype=np.float64) - x)
        if math.isinf(self.p):
            return diff.max(axis=1)
        return (diff**self.p).sum(axis=1) ** (1.0 / self.p)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each of ``points`` (K, 2) is in the ball (its border included)."""
        return self.distance(points) <= self.radius

    def to_json(self) -> dict[str, Any]:
        """What the browser draws (JSON has no Infinity: p = inf is the string "inf")."""
        ball = {"kind": self.kind, "c": list(self.center), "r": self.radius}
        if self.kind == "lp":
            ball["p"] = "inf" if math.isinf(self.p) else self.p
        return ball


@dataclass(frozen=True)
class TripletOutlines:
    """``semi``: where N is semi-hard or hard (``d(a, n) <= d(a, p) + m``, the negative
    distance swapped when swap is on); ``hard``: where N is hard (``<= d(a, p)``).
    Each a union of balls; easy is everything outside ``semi``."""

    semi: tuple[Ball, ...]
    hard: tuple[Ball, ...]

    def kinds(self, points: np.ndarray) -> np.ndarray:
        """The ``Kind`` value (0 easy, 1 semi-hard, 2 hard) of N at each of ``points``."""
        semi = np.any([b.contains(points) for b in self.semi], axis=0)
        hard = np.any([b.contains(points) for b in self.hard], axis=0)
        return np.where(hard, 2, np.where(semi, 1, 0))


def balls(settings: LossSettings, centers: Sequence[Sequence[float]], radius: float):
    """The balls of ``radius`` (in the distance's units) around ``centers``, or None for a
    typed distance."""
    name = settings.distance
    if name not in BUILT_IN:
        return None
    if name == "cosine":
        return tuple(Ball("cosine", (float(c[0]), float(c[1])), float(radius)) for c in centers)
    p = settings.p if name == "minkowski" else _ORDER[name]
    if name == "squared_euclidean":
        radius = math.sqrt(max(radius, 0.0))
    eps = settings.eps  # torch adds eps to c - n: the ball sits around c + eps
    return tuple(
        Ball("lp", (float(c[0]) + eps, float(c[1]) + eps), float(radius), float(p)) for c in centers
    )


def triplet_outlines(
    anchor: Sequence[float], positive: Sequence[float], d_ap: float, settings: LossSettings
) -> TripletOutlines | None:
    """The regions of N for A and P where they are; ``d_ap`` is the core's d(a, p).

    With swap the negative distance is ``min(d(a, n), d(p, n))``: each region is the
    union of a ball around A and one around P. None for a typed distance.
    """
    centers = [anchor, positive] if settings.swap else [anchor]
    semi = balls(settings, centers, d_ap + settings.margin)
    hard = balls(settings, centers, d_ap)
    return None if semi is None or hard is None else TripletOutlines(semi=semi, hard=hard)


def margin_outline(x1: Sequence[float], settings: LossSettings) -> tuple[Ball, ...] | None:
    """Where a dissimilar X2 is inside the margin of X1 (``d(x1, x2) < m``; drawn with its
    border). None for a typed distance."""
    return balls(settings, [x1], settings.margin)


__all__ = ["BUILT_IN", "Ball", "TripletOutlines", "balls", "margin_outline", "triplet_outlines"]
