"""One triplet in the plane: its distances, loss, kind, gradients, regions and descent.

Conventions: a triplet is three 2-D points in the order anchor, positive,
negative, given as a ``(3, 2)`` tensor or nested sequence. Work is done in
float64 on ``default_device()``; results come back as Python floats or CPU
tensors. Grids are :mod:`lossviz.core.grid`'s (first row at the top); a cell whose
kind a typed distance leaves undefined (NaN) holds ``grid.UNDEFINED``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lossviz.core.descent import gradient_descent
from lossviz.core.device import default_device
from lossviz.core.grid import UNDEFINED, grid_points
from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import NonFiniteError, triplet_distances, triplet_margin_loss
from lossviz.core.triplets import Kind, classify

ANCHOR, POSITIVE, NEGATIVE = 0, 1, 2
POINT_NAMES = ("A", "P", "N")


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
    on). Raises ``NonFiniteError`` when the loss or a gradient is not finite.
    """
    distance = settings.pair_distance()
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
        raise NonFiniteError(
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
    distance = settings.pair_distance()
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
        defined = ~torch.isnan(d_an - d_ap)
        kind = torch.full_like(loss, UNDEFINED, dtype=torch.int64)
        kind[defined] = classify(d_ap[defined], d_an[defined], settings.margin)
    shape = (resolution, resolution)
    return loss.reshape(shape).cpu(), kind.reshape(shape).cpu()


def descend(
    points: Tensor | Sequence[Sequence[float]],
    settings: LossSettings,
    lr: float,
    steps: int,
    bounds: tuple[float, float],
) -> Tensor:
    """Gradient descent on all three points of a triplet: ``(steps + 1, 3, 2)``, CPU."""
    distance = settings.pair_distance()

    def loss_of(x: Tensor) -> Tensor:
        return triplet_margin_loss(
            x[0:1], x[1:2], x[2:3], settings.margin, swap=settings.swap, distance_function=distance
        )

    return gradient_descent(_points_tensor(points), loss_of, lr, steps, bounds)
