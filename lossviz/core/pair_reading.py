"""One pair in the plane for the contrastive loss: distance, loss, active term, gradients.

Conventions: a pair is two 2-D points ``x1``, ``x2`` given as a ``(2, 2)`` tensor or
nested sequence; ``similar`` is True for a same-class pair (label 1 = similar, as in
Hadsell et al. 2006 and :func:`lossviz.core.losses.contrastive_loss`). The loss settings are
:class:`~lossviz.core.loss_settings.LossSettings` (its ``swap`` is ignored).
Work is done in float64 on ``default_device()``; results come back as Python floats or
CPU tensors.

The "inverted snippet" is a widely copied implementation whose docstring says
"label 1 = similar" but whose formula is ``(1 - label) * d**2 + label *
relu(margin - d)**2``: fed labels with 1 = similar, it pulls dissimilar pairs together
and pushes similar pairs apart. :func:`inverted_snippet_loss` implements it so the page
can show what it does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import torch
from torch import Tensor

from lossviz.core.descent import gradient_descent
from lossviz.core.device import default_device
from lossviz.core.grid import grid_points
from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import NonFiniteError, PairDistance, contrastive_loss

POINT_NAMES = ("X1", "X2")


class Term(Enum):
    """Which term of the contrastive loss is at work for a pair."""

    PULL = "pull"  # similar: d**2 pulls the points together
    PUSH = "push"  # dissimilar, d < margin: (m - d)**2 pushes them apart
    NONE = "none"  # dissimilar, d >= margin: loss 0, no gradient

    @property
    def label(self) -> str:
        return {"pull": "pull: d²", "push": "push: (m − d)²", "none": "none: loss 0"}[self.value]


def active_term(d: float, margin: float, similar: bool) -> Term:
    """PULL for a similar pair; PUSH for a dissimilar one inside the margin; NONE beyond."""
    if similar:
        return Term.PULL
    return Term.PUSH if d < margin else Term.NONE


def inverted_snippet_loss(
    x1: Tensor,
    x2: Tensor,
    label: Tensor | bool,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    reduction: str = "mean",
    distance_function: PairDistance | None = None,
) -> Tensor:
    """The snippet's ``(1 - label) * d**2 + label * relu(margin - d)**2`` per pair.

    Its docstring says label 1 = similar, but the formula treats label 0 as similar:
    this equals ``contrastive_loss(x1, x2, 1 - label, ...)``.
    """
    label = torch.as_tensor(label, dtype=x1.dtype, device=x1.device)
    return contrastive_loss(
        x1, x2, 1 - label, margin, p, eps, reduction=reduction, distance_function=distance_function
    )


def _pair_tensor(points: Tensor | Sequence[Sequence[float]]) -> Tensor:
    tensor = torch.as_tensor(points, dtype=torch.float64, device=default_device())
    if tensor.shape != (2, 2):
        raise ValueError(f"a pair is (2, 2): x1, x2; got {tuple(tensor.shape)}")
    return tensor


def _loss(x: Tensor, similar: bool, settings: LossSettings, inverted: bool) -> Tensor:
    distance = settings.pair_distance()
    x1, x2 = x[0:1], x[1:2]
    if inverted:
        return inverted_snippet_loss(
            x1, x2, similar, margin=settings.margin, distance_function=distance
        )
    return contrastive_loss(x1, x2, similar, margin=settings.margin, distance_function=distance)


@dataclass(frozen=True)
class PairReading:
    """Everything the page shows about one pair; gradients are dL/dpoint for X1, X2."""

    d: float
    loss: float
    term: Term  # the term at work in the loss read (the snippet's, when inverted)
    similar: bool
    inverted: bool  # read with the inverted snippet (label = similar) instead
    gradients: tuple[tuple[float, float], ...]


def read_pair(
    points: Tensor | Sequence[Sequence[float]],
    similar: bool,
    settings: LossSettings,
    inverted: bool = False,
) -> PairReading:
    """Distance, contrastive loss, active term and autograd gradients of one pair.

    ``inverted=True`` reads the inverted snippet fed ``label = similar`` instead (its
    term is the one of the swapped label). Raises ``NonFiniteError`` when the loss or
    a gradient is not finite.
    """
    distance = settings.pair_distance()
    x = _pair_tensor(points).clone().requires_grad_()
    loss = _loss(x, similar, settings, inverted)
    (grad,) = torch.autograd.grad(loss, x)
    with torch.no_grad():
        d = distance(x[0:1], x[1:2]).item()
    values = [loss.item(), d, *grad.flatten().tolist()]
    if not all(math.isfinite(v) for v in values):
        raise NonFiniteError(
            f"The loss is not a finite number for these points (d = {d:g}): "
            "try another distance or move the points."
        )
    return PairReading(
        d=d,
        loss=loss.item(),
        term=active_term(d, settings.margin, similar != inverted),
        similar=bool(similar),
        inverted=bool(inverted),
        gradients=tuple((gx, gy) for gx, gy in grad.tolist()),
    )


def descend_pair(
    points: Tensor | Sequence[Sequence[float]],
    similar: bool,
    settings: LossSettings,
    lr: float,
    steps: int,
    bounds: tuple[float, float],
    inverted: bool = False,
) -> Tensor:
    """Gradient descent on both points: ``(steps + 1, 2, 2)`` positions, CPU.

    ``inverted`` descends the inverted snippet's loss; see ``gradient_descent``.
    """
    return gradient_descent(
        _pair_tensor(points),
        lambda x: _loss(x, similar, settings, inverted),
        lr,
        steps,
        bounds,
    )


def loss_along_distance(
    margin: float, hi: float | None = None, steps: int = 401
) -> tuple[Tensor, Tensor, Tensor]:
    """The contrastive loss against the distance d in ``[0, hi]``, for both labels.

    Computed by :func:`contrastive_loss` on a 1-D pair ``x1 = 0``, ``x2 = d`` with eps
    0, in float64. ``hi`` defaults to ``2 * margin``. Returns ``(d, similar_loss,
    dissimilar_loss)``, each ``(steps,)``: ``d**2`` and ``relu(margin - d)**2``.
    """
    hi = 2.0 * margin if hi is None else hi
    if not (hi > 0 and math.isfinite(hi)) or steps < 2:
        raise ValueError("need a finite hi > 0 and steps >= 2")
    d = torch.linspace(0.0, hi, steps, dtype=torch.float64)
    x1 = torch.zeros(steps, 1, dtype=torch.float64)
    x2 = d[:, None]
    similar = contrastive_loss(x1, x2, True, margin, eps=0.0, reduction="none")
    dissimilar = contrastive_loss(x1, x2, False, margin, eps=0.0, reduction="none")
    return d, similar, dissimilar


def margin_cells(
    x1: Sequence[float], settings: LossSettings, bounds: tuple[float, float], resolution: int
) -> str:
    """For every spot X2 could take, X1 fixed: "1" inside the margin (d < m), else "0".

    Row-major text, ``resolution**2`` characters, first row at the top (y = hi), as
    the plane's ``Regions`` want. Spots where a typed distance is not finite are "0".
    """
    distance = settings.pair_distance()
    x = torch.as_tensor([x1], dtype=torch.float64, device=default_device())
    candidates = grid_points(bounds, resolution).to(x.device)
    with torch.no_grad():
        d = distance(x.expand(candidates.shape[0], 2), candidates)
        inside = (d < settings.margin).to(torch.uint8) + ord("0")
    return inside.cpu().numpy().tobytes().decode("ascii")
