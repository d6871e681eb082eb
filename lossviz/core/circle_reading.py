"""One anchor, one positive and k negatives in the plane, read by InfoNCE.

Conventions: points are 2-D, named ``A`` (the anchor), ``P`` (the positive) and ``N1`` ...
``Nk`` (k from 1 to :data:`MAX_NEGATIVES`). ``on_circle=True`` (the default) puts them on
the unit circle: each is given by its position, which is normalised (a point at the origin
has no direction: :class:`~lossviz.core.softmax_contrastive.DegenerateError`), and the
similarity is the cosine; its gradient is the loss's derivative along the circle (the
tangent component of the gradient, the direction a point dragged on the circle would take).
``on_circle=False`` uses raw dot products of the positions as they are (no normalisation):
what an encoder without normalisation feeds the loss; then the gradient is the plain one.
Work is done in float64; results come back as Python floats.

The reading holds what the page shows: the loss (``-log`` of the positive's softmax weight,
computed in the log-sum-exp form), the least InfoNCE can reach with k negatives at this
temperature and its value when everything sits on one point, each candidate's weight (the
positive's first: a negative's weight is its share of the push on the anchor), each point's
gradient, and Wang and Isola's alignment (of A and P) and uniformity (of every point).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from lossviz.core.softmax_contrastive import (
    DegenerateError,
    alignment,
    check_temperature,
    collapsed_info_nce,
    info_nce_loss,
    info_nce_lower_bound,
    info_nce_weights,
    uniformity,
)

MAX_NEGATIVES = 16
Point = tuple[float, float]


def point_names(negatives: int) -> tuple[str, ...]:
    """``("A", "P", "N1", ..., "Nk")``."""
    if not 1 <= negatives <= MAX_NEGATIVES:
        raise ValueError(f"between 1 and {MAX_NEGATIVES} negatives; got {negatives}")
    return ("A", "P", *(f"N{i}" for i in range(1, negatives + 1)))


def on_circle_at(angle: float) -> Point:
    """The point of the unit circle at ``angle`` (radians, counterclockwise from +x)."""
    return math.cos(angle), math.sin(angle)


@dataclass(frozen=True)
class CircleReading:
    """InfoNCE read on one anchor, its positive and k negatives (see the module)."""

    loss: float
    lower_bound: float | None  # log(1 + k exp(-2 / tau)): the least on the circle; None off it
    collapsed: float  # log(1 + k): every point on one spot
    weights: tuple[float, ...]  # softmax weights: the positive, then N1 ... Nk
    similarities: tuple[float, ...]  # s(A, P), then s(A, N1) ... (cosines or raw dots)
    gradients: dict[str, Point] = field(hash=False)  # dL/d(point), along the circle if on it
    alignment: float  # ||A - P||^2 (of the normalised points when on_circle)
    uniformity: float  # log mean exp(-2 ||x - y||^2) over every pair of points
    on_circle: bool

    @property
    def hardest(self) -> int:
        """The negative (1-based) with the largest weight: the one that takes the most push."""
        weights = self.weights[1:]
        return 1 + max(range(len(weights)), key=weights.__getitem__)


def _tensor(points: Mapping[str, Point], names: Sequence[str], on_circle: bool) -> Tensor:
    rows = []
    for name in names:
        x, y = points[name]
        if not (math.isfinite(x) and math.isfinite(y)):
            raise DegenerateError(f"{name} is not at a finite position.")
        if on_circle and x == 0.0 and y == 0.0:
            raise DegenerateError(
                f"{name} is at the centre: it has no direction, so it has no place on the circle."
            )
        rows.append((float(x), float(y)))
    return torch.tensor(rows, dtype=torch.float64)


def read_circle(
    points: Mapping[str, Point], temperature: float, on_circle: bool = True
) -> CircleReading:
    """The reading of ``points`` (``A``, ``P``, ``N1`` ... as :func:`point_names` gives for
    the number of ``N`` points present) at ``temperature`` (0.01 to 2)."""
    tau = check_temperature(temperature)
    negatives = sum(1 for name in points if name.startswith("N"))
    names = point_names(negatives)
    z = _tensor(points, names, on_circle).requires_grad_()
    anchor, positive, others = z[:1], z[1:2], z[2:]
    loss = info_nce_loss(anchor, positive, others, tau, normalize=on_circle)
    if not torch.isfinite(loss):
        raise DegenerateError("The loss is not a finite number for these points.")
    (grad,) = torch.autograd.grad(loss, z)
    with torch.no_grad():
        weights = info_nce_weights(anchor, positive, others, tau, normalize=on_circle)[0]
        unit = z / z.norm(dim=1, keepdim=True) if on_circle else z
        similarities = unit[0] @ unit[1:].T
        if on_circle:  # only the tangent part moves a point along the circle
            grad = grad - (grad * unit).sum(1, keepdim=True) * unit
        align = alignment(z[:1], z[1:2], normalize=on_circle).item()
        spread = uniformity(z, normalize=on_circle).item()
    return CircleReading(
        loss=loss.item(),
        lower_bound=info_nce_lower_bound(negatives, tau) if on_circle else None,
        collapsed=collapsed_info_nce(negatives),
        weights=tuple(weights.tolist()),
        similarities=tuple(similarities.tolist()),
        gradients={name: (gx, gy) for name, (gx, gy) in zip(names, grad.tolist(), strict=True)},
        alignment=align,
        uniformity=spread,
        on_circle=on_circle,
    )


def descend_circle(
    points: Mapping[str, Point],
    temperature: float,
    lr: float,
    steps: int,
    on_circle: bool = True,
    bounds: tuple[float, float] = (-2.0, 2.0),
) -> list[dict[str, Point]]:
    """Gradient descent on every point: ``steps + 1`` frames (the first is ``points``).

    On the circle each step moves a point along the circle (the tangent gradient), then
    back onto it; off it, plain steps clamped to ``bounds``. The path ends early (its last
    frame repeated) if the loss stops being finite.
    """
    if not (lr > 0 and math.isfinite(lr)) or steps < 0:
        raise ValueError("need a finite learning rate > 0 and steps >= 0")
    tau = check_temperature(temperature)
    negatives = sum(1 for name in points if name.startswith("N"))
    names = point_names(negatives)
    z = _tensor(points, names, on_circle)
    if on_circle:
        z = z / z.norm(dim=1, keepdim=True)
    frames = [z.clone()]
    for _ in range(steps):
        z.requires_grad_()
        loss = info_nce_loss(z[:1], z[1:2], z[2:], tau, normalize=on_circle)
        (grad,) = torch.autograd.grad(loss, z)
        if not (torch.isfinite(loss) and torch.isfinite(grad).all()):
            break
        with torch.no_grad():
            z = z - lr * grad
            z = z / z.norm(dim=1, keepdim=True) if on_circle else z.clamp(*bounds)
        frames.append(z.detach().clone())
    frames += [frames[-1]] * (steps + 1 - len(frames))
    return [
        {name: (float(x), float(y)) for name, (x, y) in zip(names, frame.tolist(), strict=True)}
        for frame in frames
    ]


__all__ = [
    "MAX_NEGATIVES",
    "CircleReading",
    "descend_circle",
    "on_circle_at",
    "point_names",
    "read_circle",
]
