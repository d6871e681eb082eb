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
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from lossviz.core.distances import TORCH_EPS, distance_matrix, lp_distance

REDUCTIONS = ("none", "mean", "sum")
# Floor for the collapse fix's denominator: at exact collapse every hardest
# negative is 0 and Quaterion's division is 0/0; the numerator is 0 there too.
NORMALIZE_FLOOR = 1e-12

PairDistance = Callable[[Tensor, Tensor], Tensor]


class NonFiniteError(ValueError):
    """Embeddings or distances that are not finite numbers (NaN, or too large for the dtype).

    The batch losses raise it instead of returning a NaN loss: a training loop
    that sees it knows the run diverged; a page says so in words.
    """


def check_finite(what: str, values: Tensor) -> None:
    """Raise :class:`NonFiniteError` naming ``what`` if ``values`` hold a NaN or an infinity."""
    if not bool(torch.isfinite(values).all()):
        kind = "NaN" if bool(torch.isnan(values).any()) else "infinite values"
        raise NonFiniteError(f"{what} contain {kind}")


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
    check_finite("the embeddings", embeddings)


def _batch_distances(embeddings: Tensor, p: float) -> Tensor:
    """The exact distance matrix of a checked batch; :class:`NonFiniteError` if it overflows."""
    dist = distance_matrix(embeddings, p)
    if not bool(torch.isfinite(dist).all()):
        largest = float(embeddings.detach().abs().max())
        raise NonFiniteError(
            f"the distances overflow {embeddings.dtype} (largest coordinate {largest:.3g}): "
            "the embeddings are too large; scale them down"
        )
    return dist


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
    dist = _batch_distances(embeddings, p)
    positive, negative = label_masks(labels)
    valid = positive[:, :, None] & negative[:, None, :]
    losses = torch.clamp_min(dist[:, :, None] - dist[:, None, :] + margin, 0) * valid
    n_positive = (losses > 0).sum()
    return losses.sum() / n_positive.clamp_min(1)


@dataclass(frozen=True)
class Hardest:
    """Per anchor of a batch, its hardest positive and negative distances, all ``(N,)``.

    ``positive``: the largest same-label distance (0 for an anchor without a
    positive); ``negative``: the smallest other-label distance (for an anchor
    without a negative, its largest distance to anything, as Quaterion's
    masking gives); ``has_positive`` / ``has_negative``: whether it has them.
    """

    positive: Tensor
    negative: Tensor
    has_positive: Tensor
    has_negative: Tensor

    @property
    def valid(self) -> Tensor:
        """Anchors that are in at least one triplet."""
        return self.has_positive & self.has_negative


def hardest_pairs(dist: Tensor, labels: Tensor) -> Hardest:
    """:class:`Hardest` from an ``(N, N)`` distance matrix (any distance) and ``(N,)`` labels."""
    positive, negative = label_masks(labels)
    hardest_positive = torch.where(positive, dist, torch.zeros_like(dist)).amax(dim=1)
    nearest_negative = torch.where(negative, dist, torch.inf).amin(dim=1)
    has_negative = negative.any(dim=1)
    fallback = dist.amax(dim=1)
    hardest_negative = torch.where(has_negative, nearest_negative, fallback)
    return Hardest(hardest_positive, hardest_negative, positive.any(dim=1), has_negative)


def batch_hard_triplet_loss(
    embeddings: Tensor,
    labels: Tensor,
    margin: float,
    p: float = 2.0,
    normalize: bool = False,
) -> Tensor:
    """Batch-hard triplet loss (Hermans et al. 2017), or with ``normalize`` Quaterion's fix.

    Per anchor ``hp``, the hardest (farthest) positive distance, and ``hn``, the
    hardest (nearest) negative distance (:class:`Hardest`).

    ``normalize=False``: ``relu(hp - hn + margin)``, the mean over anchors that
    have a positive and a negative (pytorch-metric-learning's ``BatchHardMiner``
    with a mean reducer); 0 when there is none.

    ``normalize=True``: the collapse fix exactly as Quaterion's ``TripletLoss``
    (mining "hard") computes it: ``relu((hp - hn) / mean(hn) + margin)``, the
    mean over *every* anchor, with ``hp = 0`` for an anchor without a positive
    and ``hn`` its largest distance for one without a negative (Quaterion's
    masking); ``mean(hn)`` is over every anchor too. The one difference: the
    mean is floored at 1e-12, so an exactly collapsed batch gives ``margin``
    where Quaterion's division is 0/0 (NaN). The loss is scale-invariant, so
    shrinking every embedding to one point no longer pays.

    Raises :class:`NonFiniteError` for embeddings or distances that are not finite.
    """
    _check_margin(margin)
    _check_batch(embeddings, labels)
    return batch_hard_from_distances(_batch_distances(embeddings, p), labels, margin, normalize)


def batch_hard_from_distances(
    dist: Tensor, labels: Tensor, margin: float, normalize: bool = False
) -> Tensor:
    """:func:`batch_hard_triplet_loss` from an ``(N, N)`` distance matrix (any distance)."""
    return batch_hard_from_hardest(hardest_pairs(dist, labels), margin, normalize)


def batch_hard_from_hardest(hardest: Hardest, margin: float, normalize: bool = False) -> Tensor:
    """:func:`batch_hard_triplet_loss` from :func:`hardest_pairs`."""
    gap = hardest.positive - hardest.negative
    if normalize:
        scale = hardest.negative.mean().clamp_min(NORMALIZE_FLOOR)
        return torch.clamp_min(gap / scale + margin, 0).mean()
    valid = hardest.valid
    losses = torch.clamp_min(gap + margin, 0) * valid
    return losses.sum() / valid.sum().clamp_min(1)


class SemihardChoice(NamedTuple):
    """:func:`semihard_choice`'s answer, each ``(N, K)``."""

    distance: Tensor  # the chosen negative's distance to the anchor
    fallback: Tensor  # no negative is farther than the positive: the farthest was taken
    position: Tensor  # the chosen negative's column in ``sorted_negatives``


def semihard_choice(sorted_negatives: Tensor, n_negatives: Tensor, d_ap: Tensor) -> SemihardChoice:
    """The negative distance FaceNet's semi-hard rule picks for each (anchor, positive) pair.

    As TensorFlow Addons' ``triplet_semihard_loss`` does: the nearest negative
    farther from the anchor than the positive is (strictly); if there is none,
    the farthest negative ("fallback"); if the anchor has no negative at all,
    0 (TF Addons' masked maximum over nothing).

    ``sorted_negatives`` ``(N, M)``: each anchor's negative distances, ascending,
    padded with inf; ``n_negatives`` ``(N,)``: how many are real; ``d_ap``
    ``(N, K)``: anchor-positive distances (any packing of the positives).
    Differentiable in the distances (sorting and gathering keep the gradient).
    """
    first_farther = torch.searchsorted(sorted_negatives.contiguous(), d_ap.contiguous(), right=True)
    count = n_negatives[:, None].expand_as(first_farther)
    fallback = first_farther >= count
    position = torch.where(fallback, count - 1, first_farther).clamp_min(0)
    chosen = sorted_negatives.gather(1, position)
    return SemihardChoice(
        torch.where(count > 0, chosen, torch.zeros_like(chosen)), fallback, position
    )


def batch_semihard_triplet_loss(
    embeddings: Tensor, labels: Tensor, margin: float, p: float = 2.0, squared: bool = False
) -> Tensor:
    """Semi-hard triplet loss as TensorFlow Addons computes it (FaceNet, Schroff et al. 2015).

    For every positive pair (a, p), ``a != p``: ``relu(d(a,p) - d(a,n*) + margin)``
    with ``d(a,n*)`` from :func:`semihard_choice` (0 for an anchor without a
    negative, so such a pair costs ``margin + d(a,p)``, as in TF Addons); the
    mean over every positive pair. Where it differs from
    ``tfa.losses.triplet_semihard_loss``: the distance is the p-norm (Euclidean
    by default) where TF Addons' default ("L_2") is the *squared* Euclidean
    distance (``squared=True`` gives that); and a batch without any positive
    pair gives 0 where TF Addons divides 0 by 0 (NaN). ``O(N^2 log N)`` time.

    Raises :class:`NonFiniteError` for embeddings or distances that are not finite.
    """
    _check_margin(margin)
    _check_batch(embeddings, labels)
    dist = _batch_distances(embeddings, p)
    if squared:
        dist = dist.square()
    positive, negative = label_masks(labels)
    sorted_negatives = torch.where(negative, dist, torch.inf).sort(dim=1).values
    chosen = semihard_choice(sorted_negatives, negative.sum(dim=1), dist).distance
    losses = torch.clamp_min(dist - chosen + margin, 0) * positive
    return losses.sum() / positive.sum().clamp_min(1)
