"""Metric-learning losses: triplet (single and batch-mined) and contrastive.

Conventions: embeddings are rows; a batch of triplets is three ``(B, D)``
tensors (or ``(D,)`` for one triplet); batch losses take ``(N, D)``
embeddings and ``(N,)`` integer labels. Per-element values are computed
first and reduced only when asked (``reduction`` in ``none``/``mean``/``sum``).
Distances are exact (see ``distances.py``); the batch losses use no eps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from lossviz.distances import TORCH_EPS, distance_matrix, lp_distance

REDUCTIONS = ("none", "mean", "sum")
# Floor for the collapse fix's denominator: at exact collapse every hardest
# negative is 0 and Quaterion's division is 0/0; the numerator is 0 there too.
NORMALIZE_FLOOR = 1e-12

PairDistance = Callable[[Tensor, Tensor], Tensor]


def _check_margin(margin: float) -> None:
    if not math.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0; got {margin}")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}; got {reduction!r}")


def _check_same_shape(**tensors: Tensor) -> None:
    first, *others = tensors.values()
    if all(t.shape == first.shape for t in others) and first.dim() and first.numel():
        return  # the common case, kept cheap: this runs on every training step
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"inputs must have the same shape; got {listed}")
    raise ValueError(f"inputs must hold at least one point with one coordinate; got {shapes}")


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = TORCH_EPS,
    swap: bool = False,
    reduction: str = "mean",
    distance_function: PairDistance | None = None,
) -> Tensor:
    """``relu(d(a, p) - d(a, n) + margin)`` per triplet.

    Equals ``F.triplet_margin_loss`` (and ``F.triplet_margin_with_distance_loss``
    when ``distance_function`` is given; then ``p`` and ``eps`` are unused) for
    margin > 0, and also accepts margin == 0. With ``swap`` (Balntas et al.
    2016), ``d(a, n)`` is replaced by ``min(d(a, n), d(p, n))``.

    Shapes: three ``(B, D)`` (or ``(D,)``) tensors; returns ``(B,)`` for
    ``reduction="none"``, else a scalar.
    """
    _check_margin(margin)
    _check_reduction(reduction)
    _check_same_shape(anchor=anchor, positive=positive, negative=negative)
    d_ap, d_an = triplet_distances(anchor, positive, negative, p, eps, swap, distance_function)
    # (margin + d_ap) - d_an in torch's order, in place: fewer Python-level ops per step.
    return _reduce(torch.add(d_ap, margin).sub_(d_an).clamp_min_(0), reduction)


def triplet_distances(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    p: float = 2.0,
    eps: float = TORCH_EPS,
    swap: bool = False,
    distance_function: PairDistance | None = None,
) -> tuple[Tensor, Tensor]:
    """``(d(a, p), d(a, n))`` as the triplet loss uses them (swap applied to d(a, n))."""
    if distance_function is None:

        def distance_function(x1: Tensor, x2: Tensor) -> Tensor:
            return lp_distance(x1, x2, p, eps)

    d_ap = distance_function(anchor, positive)
    d_an = distance_function(anchor, negative)
    if swap:
        d_an = torch.minimum(d_an, distance_function(positive, negative))
    return d_ap, d_an


def contrastive_loss(
    x1: Tensor,
    x2: Tensor,
    similar: Tensor | bool,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = TORCH_EPS,
    reduction: str = "mean",
    distance_function: PairDistance | None = None,
) -> Tensor:
    """``similar * d**2 + (1 - similar) * relu(margin - d)**2`` per pair (Hadsell et al. 2006).

    ``similar`` is 1 / True for a same-class pair (pulled together) and
    0 / False for a different-class pair (pushed out to the margin); a bool,
    or a ``(B,)`` tensor. Shapes: ``x1``, ``x2`` are ``(B, D)`` or ``(D,)``.

    Beware of conventions: a widely copied PyTorch snippet documents
    "label 1 = similar" but implements ``(1 - label) * d**2 + label *
    relu(margin - d)**2``, i.e. treats label 0 as similar. Feeding it
    "1 = similar" labels pulls dissimilar points together and pushes similar
    ones apart. This function follows its documentation: 1 means similar.
    """
    _check_margin(margin)
    _check_reduction(reduction)
    _check_same_shape(x1=x1, x2=x2)
    d = distance_function(x1, x2) if distance_function else lp_distance(x1, x2, p, eps)
    similar = torch.as_tensor(similar, device=d.device).to(d.dtype)
    values = similar * d.square() + (1 - similar) * torch.clamp_min(margin - d, 0).square()
    return _reduce(values, reduction)


def _check_batch(embeddings: Tensor, labels: Tensor) -> None:
    if embeddings.dim() != 2 or embeddings.shape[0] == 0:
        raise ValueError(f"embeddings must be (N, D) with N >= 1; got {tuple(embeddings.shape)}")
    if labels.shape != (embeddings.shape[0],):
        raise ValueError(
            f"labels must be (N,) = ({embeddings.shape[0]},); got {tuple(labels.shape)}"
        )


def label_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """``(positive, negative)`` boolean ``(N, N)`` masks.

    ``positive[i, j]``: same label and ``i != j``; ``negative[i, j]``: different label.
    """
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def batch_all_triplet_loss(
    embeddings: Tensor, labels: Tensor, margin: float, p: float = 2.0
) -> Tensor:
    """Mean of the positive ``relu(d(a,p) - d(a,n) + margin)`` over all valid triplets.

    Valid: ``a != p``, ``label[a] == label[p] != label[n]``. Triplets with zero
    loss are not counted in the mean (Hermans et al. 2017, "batch all");
    returns 0 (with a gradient path) when no triplet has a positive loss.
    Memory is ``O(N^3)``: meant for training batches, not whole data sets.
    """
    _check_margin(margin)
    _check_batch(embeddings, labels)
    dist = distance_matrix(embeddings, p)
    positive, negative = label_masks(labels)
    valid = positive[:, :, None] & negative[:, None, :]
    losses = torch.clamp_min(dist[:, :, None] - dist[:, None, :] + margin, 0) * valid
    n_positive = (losses > 0).sum()
    return losses.sum() / n_positive.clamp_min(1)


def hardest_pairs(dist: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per anchor: hardest positive distance, hardest negative distance, and a validity mask.

    ``dist`` is ``(N, N)``; returns three ``(N,)`` tensors: the largest
    same-label distance, the smallest other-label distance, and whether the
    anchor has both (values of invalid anchors are meaningless).
    """
    positive, negative = label_masks(labels)
    hardest_positive = torch.where(positive, dist, torch.zeros_like(dist)).amax(dim=1)
    far = torch.full_like(dist, torch.inf)
    hardest_negative = torch.where(negative, dist, far).amin(dim=1)
    valid = positive.any(dim=1) & negative.any(dim=1)
    return hardest_positive, torch.where(valid, hardest_negative, 0.0), valid


def batch_hard_triplet_loss(
    embeddings: Tensor,
    labels: Tensor,
    margin: float,
    p: float = 2.0,
    normalize: bool = False,
) -> Tensor:
    """Batch-hard triplet loss (Hermans et al. 2017); mean over anchors with both kinds.

    Per anchor: ``relu(hp - hn + margin)`` with ``hp`` the hardest (farthest)
    positive and ``hn`` the hardest (nearest) negative.

    ``normalize=True`` is the collapse fix (as in Quaterion):
    ``relu((hp - hn) / mean(hn) + margin)``, which makes the loss
    scale-invariant, so shrinking every embedding to one point no longer pays.
    The mean is floored at 1e-12 so an exactly collapsed batch gives
    ``margin`` (finite), not 0/0. Returns 0 when no anchor is valid.
    """
    _check_margin(margin)
    _check_batch(embeddings, labels)
    return batch_hard_from_distances(distance_matrix(embeddings, p), labels, margin, normalize)


def batch_hard_from_distances(
    dist: Tensor, labels: Tensor, margin: float, normalize: bool = False
) -> Tensor:
    """:func:`batch_hard_triplet_loss` from an ``(N, N)`` distance matrix (any distance)."""
    return batch_hard_from_hardest(*hardest_pairs(dist, labels), margin, normalize)


def batch_hard_from_hardest(
    hp: Tensor, hn: Tensor, valid: Tensor, margin: float, normalize: bool = False
) -> Tensor:
    """:func:`batch_hard_triplet_loss` from :func:`hardest_pairs`' three ``(N,)`` tensors."""
    gap = hp - hn
    if normalize:
        mean_hn = hn[valid].mean() if valid.any() else hn.sum()
        gap = gap / mean_hn.clamp_min(NORMALIZE_FLOOR)
    losses = torch.clamp_min(gap + margin, 0) * valid
    return losses.sum() / valid.sum().clamp_min(1)


def semihard_negative_distances(dist: Tensor, labels: Tensor) -> Tensor:
    """For every pair (a, p): the distance to the negative TensorFlow Addons picks.

    The nearest negative farther from ``a`` than ``p`` is; if there is none,
    the farthest negative. Returns ``(N, N)`` indexed ``[a, p]``; rows of
    anchors without negatives hold 0.
    """
    _, negative = label_masks(labels)
    d_ap = dist[:, :, None]
    d_an = dist[:, None, :]
    outside = negative[:, None, :] & (d_an > d_ap)
    nearest_outside = torch.where(outside, d_an, torch.inf).amin(dim=2)
    farthest = torch.where(negative, dist, -torch.inf).amax(dim=1, keepdim=True)
    chosen = torch.where(outside.any(dim=2), nearest_outside, farthest.expand_as(dist))
    return torch.where(negative.any(dim=1, keepdim=True), chosen, 0.0)


def batch_semihard_triplet_loss(
    embeddings: Tensor, labels: Tensor, margin: float, p: float = 2.0
) -> Tensor:
    """Semi-hard triplet loss with TensorFlow Addons semantics (FaceNet, Schroff et al. 2015).

    For every positive pair (a, p): ``relu(d(a,p) - d(a,n*) + margin)`` with
    ``n*`` from :func:`semihard_negative_distances`; mean over positive pairs
    (0 when there is none). Memory ``O(N^3)``.
    """
    _check_margin(margin)
    _check_batch(embeddings, labels)
    dist = distance_matrix(embeddings, p)
    positive, negative = label_masks(labels)
    chosen = semihard_negative_distances(dist, labels)
    pairs = positive & negative.any(dim=1, keepdim=True)
    losses = torch.clamp_min(dist - chosen + margin, 0) * pairs
    return losses.sum() / pairs.sum().clamp_min(1)
