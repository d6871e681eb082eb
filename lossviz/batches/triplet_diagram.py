"""The triplet diagram (Xuan et al., ECCV 2020, Fig. 1): every valid triplet of a labelled
batch as a point at ``(d(a, p), d(a, n))``, binned without enumerating the triplets, and
the triplets batch-hard and semi-hard mining pick.

The lines ``d(a, n) = d(a, p)`` and ``d(a, n) = d(a, p) + m`` bound the kinds: hard on or
below the first, semi-hard above it up to the second, easy above the second (the core's
:func:`~lossviz.core.triplets.classify` boundaries on ``delta = d(a, n) - d(a, p)``).

The density is exact: for one anchor its positive distances and its negative distances are
independent, so its triplets fill the outer product of its two histograms, and the whole
batch's 2-D histogram is ``Hp^T @ Hn`` with ``Hp``, ``Hn`` the ``(N, bins)`` per-anchor
histograms of positive and negative distances: ``O(N^2)`` work for any number of triplets.
Nothing here depends on the margin: one :class:`TripletDensity` per data set and distance
serves every margin (the kinds' counts at a margin are :func:`kind_counts`, or the same
numbers from :meth:`BatchAnalysis.counts <lossviz.batches.analysis.BatchAnalysis.counts>`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from lossviz.core.losses import label_masks
from lossviz.core.triplets import DeltaIndex, Kind, classify

# At most this many valid triplets: the diagram draws each one as a dot (and keeps them).
DOT_LIMIT = 5_000
DEFAULT_BINS = 60


class Triplets(NamedTuple):
    """Triplets as columns, all ``(K,)`` CPU numpy arrays: rows of the batch and distances."""

    anchor: np.ndarray  # int64
    positive: np.ndarray  # int64
    negative: np.ndarray  # int64
    d_ap: np.ndarray  # float64
    d_an: np.ndarray  # float64


@dataclass(frozen=True)
class TripletDensity:
    """Every valid triplet of a batch on the ``(d(a, p), d(a, n))`` plane.

    ``edges`` ``(bins + 1,)`` float64 from 0 to ``d_max``, the same on both axes; bin ``i``
    holds ``edges[i] <= d < edges[i + 1]``, the last bin also ``d_max`` and anything
    beyond it. ``counts`` ``(bins, bins)`` int64: ``counts[i, j]`` valid triplets with
    ``d(a, p)`` in bin ``i`` and ``d(a, n)`` in bin ``j``; they sum to ``total``, the
    number of valid triplets. ``dots``: every valid triplet in ``(a, p, n)`` order when
    there are at most ``DOT_LIMIT`` of them (else None).

    ``batch_hard``: per anchor in a triplet, the one batch-hard uses (its farthest
    positive, its nearest negative; the first row on ties). ``semi_hard``: per such
    anchor, the triplet the batch-semi-hard loss (TF Addons' rule, the mining page's)
    makes of its farthest positive: the nearest negative strictly farther than that
    positive, else the farthest negative (``semi_hard_fallback`` marks those). The two
    share their anchors and positives, in row order.
    """

    edges: np.ndarray
    counts: np.ndarray
    total: int
    dots: Triplets | None
    batch_hard: Triplets
    semi_hard: Triplets
    semi_hard_fallback: np.ndarray

    @property
    def bins(self) -> int:
        return int(self.counts.shape[0])

    def dot_kinds(self, margin: float) -> np.ndarray:
        """The kind of each dot at ``margin`` (int64 ``Kind`` values; empty without dots)."""
        if self.dots is None:
            return np.zeros(0, dtype=np.int64)
        d_ap, d_an = torch.from_numpy(self.dots.d_ap), torch.from_numpy(self.dots.d_an)
        return classify(d_ap, d_an, margin).numpy()

    def drawing(self, margin: float) -> dict[str, object]:
        """What :func:`lossviz.figures.triplet_diagram.triplet_diagram` draws of this density
        at ``margin``, as its keyword arguments (add ``kind_counts``)."""
        return {
            "edges": self.edges, "counts": self.counts, "margin": margin,
            "batch_hard": self.batch_hard, "semi_hard": self.semi_hard,
            "semi_hard_fallback": self.semi_hard_fallback, "dots": self.dots,
            "dot_kinds": self.dot_kinds(margin) if self.dots is not None else None,
        }  # fmt: skip


def triplet_density(
    distances: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    bins: int = DEFAULT_BINS,
    d_max: float | None = None,
    dot_limit: int = DOT_LIMIT,
) -> TripletDensity:
    """The exact 2-D histogram of ``(d(a, p), d(a, n))`` over every valid triplet, and the picks.

    ``distances`` ``(N, N)``: any distance, computed in float64 (e.g.
    ``BatchAnalysis.dist``); ``labels`` ``(N,)`` ints. Valid triplets: ``a != p`` of one
    label, ``n`` of another. ``d_max``: the histogram's upper edge on both axes (default:
    the largest distance of any valid triplet; 1 when there is none or it is 0).
    ``O(N^2)`` time and memory, whatever the number of triplets.
    """
    dist = torch.as_tensor(distances).to(torch.float64)
    labels = torch.as_tensor(labels).to(dist.device)
    n = labels.shape[0] if labels.dim() == 1 else -1
    if dist.shape != (n, n):
        raise ValueError(f"need distances (N, N) and labels (N,); got {tuple(dist.shape)} "
                         f"and {tuple(labels.shape)}")  # fmt: skip
    lo, hi = dist.aminmax() if dist.numel() else (dist.new_zeros(()), dist.new_zeros(()))
    if not (float(lo) >= 0 and float(hi) < math.inf):  # NaN fails too: aminmax propagates it
        raise ValueError("the distances must be finite and >= 0")
    if not (isinstance(bins, int) and bins >= 1):
        raise ValueError(f"bins must be an int >= 1; got {bins!r}")
    positive, negative = label_masks(labels)
    has_positive, has_negative = positive.any(dim=1), negative.any(dim=1)
    # The pairs of some triplet: an anchor's positives count only if it has a negative, and
    # its negatives only if it has a positive.
    positive &= has_negative[:, None]
    negative &= has_positive[:, None]
    if d_max is None:
        d_max = float(torch.where(positive | negative, dist, 0.0).max()) if n else 0.0
        d_max = d_max if d_max > 0 else 1.0
    if not (math.isfinite(d_max) and d_max > 0):
        raise ValueError(f"d_max must be a finite number > 0; got {d_max!r}")
    edges = torch.linspace(0.0, d_max, bins + 1, dtype=torch.float64, device=dist.device)
    cell = _bin_of(dist, edges)
    per_anchor_pos = dist.new_zeros(n, bins).scatter_add_(1, cell, positive.to(dist.dtype))
    per_anchor_neg = dist.new_zeros(n, bins).scatter_add_(1, cell, negative.to(dist.dtype))
    # Integer-valued float64: every partial sum is an integer below 2^53, so exact.
    counts = (per_anchor_pos.T @ per_anchor_neg).round().to(torch.int64)
    total = int((positive.sum(dim=1) * negative.sum(dim=1)).sum())
    batch_hard, semi_hard, fallback = _picks(dist, positive, negative)
    return TripletDensity(
        edges=edges.cpu().numpy(),
        counts=counts.cpu().numpy(),
        total=total,
        dots=_every_triplet(dist, positive, negative) if total <= dot_limit else None,
        batch_hard=batch_hard,
        semi_hard=semi_hard,
        semi_hard_fallback=fallback,
    )


def kind_counts(
    distances: Tensor | np.ndarray, labels: Tensor | np.ndarray, margin: float
) -> dict[Kind, int]:
    """Exact valid triplets of each kind at ``margin``, by the core's :class:`DeltaIndex`.

    Each anchor's negatives sorted once, then binary searches per (a, p) on
    ``fl(d(a, n) - d(a, p))``: hard ``<= 0``, semi-hard ``<= margin``, easy beyond
    (:func:`~lossviz.core.triplets.classify`'s boundaries, ties and all); the same
    numbers as :meth:`BatchAnalysis.counts <lossviz.batches.analysis.BatchAnalysis.counts>`.
    """
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")
    dist = torch.as_tensor(distances).to(torch.float64)
    return DeltaIndex(dist, torch.as_tensor(labels).to(dist.device)).counts(margin)


def _bin_of(values: Tensor, edges: Tensor) -> Tensor:
    """Each value's bin: ``i`` with ``edges[i] <= v < edges[i + 1]``, values below
    ``edges[0]`` in the first bin, from ``edges[-1]`` on in the last (int64, the values'
    shape). The same as ``searchsorted(edges, v, right=True) - 1`` clamped, 5x faster:
    ``floor`` of the scaled value lands within a bin of it, then steps settle it against
    the edges themselves."""
    bins = edges.numel() - 1
    scale = bins / float(edges[-1] - edges[0])
    cell = ((values - edges[0]) * scale).floor_().clamp_(0, bins - 1).to(torch.int64)
    for _ in range(bins + 1):  # one step almost always settles it (rounding of the scale)
        down = (cell > 0) & (values < edges[cell])
        up = (cell < bins - 1) & (values >= edges[cell + 1])
        if not bool(down.any() or up.any()):
            break
        cell += up.to(torch.int64) - down.to(torch.int64)
    return cell


def _columns(anchor: Tensor, positive: Tensor, negative: Tensor, dist: Tensor) -> Triplets:
    return Triplets(
        anchor.cpu().numpy(),
        positive.cpu().numpy(),
        negative.cpu().numpy(),
        dist[anchor, positive].cpu().numpy(),
        dist[anchor, negative].cpu().numpy(),
    )


def _picks(
    dist: Tensor, positive: Tensor, negative: Tensor
) -> tuple[Triplets, Triplets, np.ndarray]:
    """Batch-hard's and the semi-hard loss's triplet per anchor, and which semi-hard ones
    are fallbacks. ``positive`` / ``negative``: the masks of pairs in some triplet.

    Ties pick rows as the page's anchor view does: the first farthest positive and the
    first nearest negative (``argmax`` / ``argmin``); for the semi-hard rule, which the
    anchor view applies to each anchor's negatives stably sorted (the core's
    :func:`~lossviz.core.losses.semihard_choice`), the first of the nearest negatives
    farther than the positive, else the last of the farthest. ``O(N^2)``: no sort.
    """
    anchors = positive.any(dim=1).nonzero().flatten()
    rows, pos, neg = dist[anchors], positive[anchors], negative[anchors]
    farthest = torch.where(pos, rows, -torch.inf).argmax(dim=1)
    nearest = torch.where(neg, rows, torch.inf).argmin(dim=1)
    d_farthest = rows.gather(1, farthest[:, None])
    beyond = torch.where(neg & (rows > d_farthest), rows, torch.inf)
    fallback = ~torch.isfinite(beyond).any(dim=1)
    last_farthest = rows.shape[1] - 1 - torch.where(neg, rows, -torch.inf).flip(1).argmax(dim=1)
    chosen = torch.where(fallback, last_farthest, beyond.argmin(dim=1))
    return (
        _columns(anchors, farthest, nearest, dist),
        _columns(anchors, farthest, chosen, dist),
        fallback.cpu().numpy(),
    )


def _every_triplet(dist: Tensor, positive: Tensor, negative: Tensor) -> Triplets:
    """Every valid triplet, in ``(a, p, n)`` order (for few triplets: memory grows with them)."""
    a, p = positive.nonzero(as_tuple=True)
    pair, n = negative[a].nonzero(as_tuple=True)
    return _columns(a[pair], p[pair], n, dist)
