"""One triplet in the plane: its distances, loss, kind, gradients, regions and descent.

Conventions: a triplet is three 2-D points in the order anchor, positive,
negative, given as a ``(3, 2)`` tensor or nested sequence. Work is done in
float64 on ``default_device()``; results come back as Python floats or CPU
tensors. Grids cover the square ``[lo, hi]^2`` at cell centres, row-major,
with the FIRST ROW AT THE TOP (y = hi), as an image is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lossviz.device import default_device
from lossviz.distances import DISTANCES
from lossviz.expr import parse_distance
from lossviz.losses import PairDistance, triplet_distances, triplet_margin_loss
from lossviz.triplets import Kind, classify

ANCHOR, POSITIVE, NEGATIVE = 0, 1, 2
POINT_NAMES = ("A", "P", "N")


class PlaygroundError(ValueError):
    """The current scene has no finite loss (e.g. a typed distance gives NaN here)."""


@dataclass(frozen=True)
class LossSettings:
    """How the playground's loss is computed; ``expr`` is used when distance == "custom"."""

    margin: float
    p: float
    eps: float
    swap: bool
    distance: str
    expr: str


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


def _points_tensor(points: Tensor | Sequence[Sequence[float]]) -> Tensor:
    tensor = torch.as_tensor(points, dtype=torch.float64, device=default_device())
    if tensor.shape != (3, 2):
        raise ValueError(
            f"a triplet is (3, 2): anchor, positive, negative; got {tuple(tensor.shape)}"
        )
    return tensor


@dataclass(frozen=True)
class TripletReading:
    """Everything the page shows about one triplet; gradients are dL/dpoint, (3, 2)."""

    d_ap: float
    d_an: float
    d_pn: float
    d_an_used: float  # d(a, n), or min(d(a, n), d(p, n)) with swap
    swap_used: bool  # swap is on and d(p, n) < d(a, n)
    loss: float
    kind: Kind
    gradients: tuple[tuple[float, float], ...]

    @property
    def delta(self) -> float:
        return self.d_an_used - self.d_ap


def read_triplet(
    points: Tensor | Sequence[Sequence[float]], settings: LossSettings
) -> TripletReading:
    """Distances, loss, kind and autograd gradients of one triplet.

    The kind uses the same d(a, n) as the loss (the swapped one when swap is
    on). Raises ``PlaygroundError`` when the loss or a gradient is not finite.
    """
    distance = make_distance(settings.distance, settings.p, settings.eps, settings.expr)
    x = _points_tensor(points).clone().requires_grad_()
    a, p, n = x[ANCHOR : ANCHOR + 1], x[POSITIVE : POSITIVE + 1], x[NEGATIVE : NEGATIVE + 1]
    loss = triplet_margin_loss(
        a, p, n, margin=settings.margin, swap=settings.swap, distance_function=distance
    )
    (grad,) = torch.autograd.grad(loss, x)
    with torch.no_grad():
        d_ap, d_an = (d.item() for d in triplet_distances(a, p, n, distance_function=distance))
        d_pn = distance(p, n).item()
    d_an_used = min(d_an, d_pn) if settings.swap else d_an
    values = [loss.item(), d_ap, d_an, d_pn, *grad.flatten().tolist()]
    if not all(math.isfinite(v) for v in values):
        raise PlaygroundError(
            "The loss is not a finite number for these points "
            f"(d(a,p) = {d_ap:g}, d(a,n) = {d_an:g}): try another distance or move the points."
        )
    return TripletReading(
        d_ap=d_ap,
        d_an=d_an,
        d_pn=d_pn,
        d_an_used=d_an_used,
        swap_used=settings.swap and d_pn < d_an,
        loss=loss.item(),
        kind=classify(d_ap, d_an_used, settings.margin),
        gradients=tuple((gx, gy) for gx, gy in grad.tolist()),
    )


def grid_points(bounds: tuple[float, float], resolution: int) -> Tensor:
    """``(resolution**2, 2)`` cell centres of the square, first row at the top (y = hi)."""
    lo, hi = bounds
    step = (hi - lo) / resolution
    centres = lo + step * (torch.arange(resolution, dtype=torch.float64) + 0.5)
    ys, xs = torch.meshgrid(centres.flip(0), centres, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def negative_landscape(
    anchor: Sequence[float],
    positive: Sequence[float],
    settings: LossSettings,
    bounds: tuple[float, float],
    resolution: int,
) -> tuple[Tensor, Tensor]:
    """The loss and the kind for every position N could take, A and P fixed.

    Returns ``(loss, kind)``, each ``(resolution, resolution)`` on the CPU
    (first row at the top); computed by the same loss and ``classify`` as
    :func:`read_triplet`, so a p-norm shows the p-balls of radius d(a, p)
    and d(a, p) + margin around A, and swap adds the region around P.
    Cells where a typed distance is not finite have a NaN loss.
    """
    distance = make_distance(settings.distance, settings.p, settings.eps, settings.expr)
    x = torch.as_tensor([anchor, positive], dtype=torch.float64, device=default_device())
    candidates = grid_points(bounds, resolution).to(x.device)
    count = candidates.shape[0]
    anchors = x[ANCHOR].expand(count, 2)
    positives = x[POSITIVE].expand(count, 2)
    with torch.no_grad():
        d_ap, d_an = triplet_distances(
            anchors, positives, candidates, swap=settings.swap, distance_function=distance
        )
        loss = torch.clamp_min(settings.margin + d_ap - d_an, 0)
        kind = classify(d_ap, d_an, settings.margin)
    shape = (resolution, resolution)
    return loss.reshape(shape).cpu(), kind.reshape(shape).cpu()


def kind_cells(kind: Tensor) -> str:
    """A kind grid as text, one digit (the ``Kind`` value) per cell, row-major."""
    codes = (kind.to(torch.uint8) + ord("0")).flatten().cpu()
    return codes.numpy().tobytes().decode("ascii")


def gradient_descent(
    start: Tensor, loss_of: Callable[[Tensor], Tensor], lr: float, steps: int,
    bounds: tuple[float, float],
) -> Tensor:  # fmt: skip
    """Plain gradient descent on points: ``(steps + 1, *start.shape)`` positions, CPU.

    Row 0 is ``start``; each step is ``x - lr * dL/dx``, clamped to ``bounds``.
    If the loss or a gradient stops being finite, the path ends at the last
    finite position (repeated to keep the shape).
    """
    if not (lr > 0 and math.isfinite(lr)) or steps < 0:
        raise ValueError("need a finite learning rate > 0 and steps >= 0")
    x = start.detach().clone()
    frames = [x.clone()]
    for _ in range(steps):
        x.requires_grad_()
        loss = loss_of(x)
        (grad,) = torch.autograd.grad(loss, x)
        if not (torch.isfinite(loss) and torch.isfinite(grad).all()):
            break
        x = (x.detach() - lr * grad).clamp(*bounds)
        frames.append(x.clone())
    frames += [frames[-1]] * (steps + 1 - len(frames))
    return torch.stack(frames).cpu()


def descend(
    points: Tensor | Sequence[Sequence[float]],
    settings: LossSettings,
    lr: float,
    steps: int,
    bounds: tuple[float, float],
) -> Tensor:
    """Gradient descent on all three points of a triplet: ``(steps + 1, 3, 2)``, CPU."""
    distance = make_distance(settings.distance, settings.p, settings.eps, settings.expr)

    def loss_of(x: Tensor) -> Tensor:
        return triplet_margin_loss(
            x[0:1], x[1:2], x[2:3], settings.margin, swap=settings.swap, distance_function=distance
        )

    return gradient_descent(_points_tensor(points), loss_of, lr, steps, bounds)


def arrow_scale(gradients: Sequence[Sequence[float]], span: float) -> float:
    """A factor that draws ``-gradient * factor`` visibly: the longest arrow at most 15% of span.

    1 when the gradients are already short enough (so arrows are true
    gradients whenever possible); smaller otherwise. 1 for zero gradients.
    """
    longest = max((math.hypot(gx, gy) for gx, gy in gradients), default=0.0)
    limit = 0.15 * span
    return 1.0 if longest <= limit else limit / longest
