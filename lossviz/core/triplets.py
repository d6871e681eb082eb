"""Easy / semi-hard / hard: classifying, counting and mining triplets.

A triplet (a, p, n) is valid when ``a != p``, ``label[a] == label[p]`` and
``label[n] != label[a]``. With ``delta = d(a, n) - d(a, p)`` it is HARD when
``delta <= 0``, SEMI_HARD when ``0 < delta <= margin`` and EASY when
``delta > margin``: pytorch-metric-learning's ``TripletMarginMiner``
boundaries (a tie is hard; delta == margin is semi-hard). Counting and mining
compute distances in float64 without eps (``distance_matrix``).
"""

from __future__ import annotations

import enum
import math

import torch
from torch import Tensor

from lossviz.core.distances import distance_matrix
from lossviz.core.losses import label_masks, triplet_margin_loss

# Enough anchors per chunk that mining stays vectorised, few enough that the
# (chunk, N, N) mask stays around 64 MB.
_MINING_CHUNK_ELEMENTS = 1 << 26


class Kind(enum.IntEnum):
    """How hard a triplet is at a margin (values are stable: used in tensors)."""

    EASY = 0
    SEMI_HARD = 1
    HARD = 2

    @property
    def label(self) -> str:
        return {Kind.EASY: "easy", Kind.SEMI_HARD: "semi-hard", Kind.HARD: "hard"}[self]


def classify(d_ap: Tensor | float, d_an: Tensor | float, margin: float) -> Tensor | Kind:
    """Kind of each triplet from its distances; same shape as the (broadcast) inputs.

    Tensors give an int64 tensor of ``Kind`` values; two floats give a ``Kind``.
    ``delta = d_an - d_ap`` is computed in the inputs' precision. A NaN delta
    (a NaN distance, or two infinite ones) has no kind: ``ValueError``.
    """
    if not isinstance(d_ap, Tensor) and not isinstance(d_an, Tensor):
        delta = d_an - d_ap
        if math.isnan(delta):
            raise ValueError(f"no kind for NaN distances (d_ap = {d_ap}, d_an = {d_an})")
        if delta <= 0:
            return Kind.HARD
        return Kind.SEMI_HARD if delta <= margin else Kind.EASY
    delta = torch.as_tensor(d_an) - torch.as_tensor(d_ap)
    if bool(torch.isnan(delta).any()):
        raise ValueError("no kind for NaN distances (a distance is NaN, or two are infinite)")
    kinds = torch.full(delta.shape, int(Kind.EASY), dtype=torch.int64, device=delta.device)
    kinds[delta <= margin] = int(Kind.SEMI_HARD)
    kinds[delta <= 0] = int(Kind.HARD)
    return kinds


def kinds_of_deltas(deltas: Tensor, margin: float) -> Tensor:
    """:func:`classify` of ``delta = d(a, n) - d(a, p)`` values (int64 ``Kind`` values)."""
    return classify(torch.zeros_like(deltas), deltas, margin)


def _check_inputs(embeddings: Tensor, labels: Tensor, margin: float) -> None:
    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must be (N, D); got shape {tuple(embeddings.shape)}")
    if labels.shape != (embeddings.shape[0],):
        raise ValueError(f"labels must be (N,); got {tuple(labels.shape)}")
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin}")
    if not torch.isfinite(embeddings).all():
        raise ValueError("embeddings contain NaN or infinite values")


def _count_below(sorted_rows: Tensor, n_valid: Tensor, d_ap: Tensor, margin: float) -> Tensor:
    """Per (a, p): how many of a's negatives satisfy ``fl(d_an - d_ap) <= margin``.

    ``sorted_rows[a]`` holds a's negative distances ascending in its first
    ``n_valid[a]`` places; ``d_ap`` is ``(N, K)``; returns ``(N, K)`` int64.
    The predicate is monotone in ``d_an`` (floating subtraction is monotone),
    so the count is exact as the definition computes delta. A ``searchsorted``
    on ``d_ap + margin`` lands within an ulp or two of the answer; a few
    single steps fix that, and a binary search settles anything left (ties).
    """
    last = max(sorted_rows.shape[1] - 1, 0)
    limit = n_valid[:, None].expand_as(d_ap)

    def holds(index: Tensor) -> Tensor:
        return (sorted_rows.gather(1, index.clamp(0, last)) - d_ap) <= margin

    count = torch.searchsorted(sorted_rows, d_ap + margin, right=True).minimum(limit)
    for _ in range(4):
        step_up = (count < limit) & holds(count)
        step_down = (count > 0) & ~holds(count - 1)
        if not bool((step_up | step_down).any()):
            return count
        count = count + step_up.long() - step_down.long()
    return _binary_search_count(sorted_rows, limit, d_ap, margin)


def _binary_search_count(sorted_rows: Tensor, limit: Tensor, d_ap: Tensor, margin: float) -> Tensor:
    """The same count as :func:`_count_below` by a vectorised binary search (log2 N rounds)."""
    lo = torch.zeros_like(d_ap, dtype=torch.int64)
    hi = limit.clone()
    last = max(sorted_rows.shape[1] - 1, 0)
    while bool((lo < hi).any()):
        mid = (lo + hi) // 2
        ok = (sorted_rows.gather(1, mid.clamp_max(last)) - d_ap) <= margin
        active = lo < hi
        lo = torch.where(active & ok, mid + 1, lo)
        hi = torch.where(active & ~ok, mid, hi)
    return lo


class DeltaIndex:
    """Every valid triplet's ``delta = d(a,n) - d(a,p)`` of a batch, indexed, not enumerated.

    Built from an ``(N, N)`` distance matrix (float64 for exact counts) and
    ``(N,)`` labels: each anchor's negative distances sorted ascending
    (``sorted_negatives``, padded with inf; ``n_negatives`` real ones) and
    its positive distances packed to the front of a row (``d_ap`` (N, K) with
    ``is_pair`` marking the real ones, K = the most positives of any anchor).
    Counting triplets below a threshold is then a binary search per (a, p):
    ``O(N^2 log N)`` time, ``O(N^2)`` memory.
    """

    def __init__(self, dist: Tensor, labels: Tensor):
        positive, negative = label_masks(labels)
        self.dist = dist
        self.n_negatives = negative.sum(dim=1)
        self.sorted_negatives = torch.where(negative, dist, torch.inf).sort(dim=1).values
        self.d_ap, self.is_pair = _packed_rows(dist, positive)
        self.total = int((positive.sum(dim=1) * self.n_negatives).sum())

    def per_pair_at_most(self, t: float) -> Tensor:
        """(N, K) int64: per packed (a, p), how many negatives have ``fl(d_an - d_ap) <= t``."""
        return _count_below(self.sorted_negatives, self.n_negatives, self.d_ap, t)

    def count_at_most(self, threshold: float) -> int:
        """How many valid triplets have ``fl(d_an - d_ap) <= threshold`` (exact)."""
        return int(self.per_pair_at_most(threshold)[self.is_pair].sum())

    def counts(self, margin: float) -> dict[Kind, int]:
        """Valid triplets of each kind at ``margin`` (the :func:`classify` boundaries)."""
        hard = self.count_at_most(0.0)
        within = self.count_at_most(margin)
        return {Kind.EASY: self.total - within, Kind.SEMI_HARD: within - hard, Kind.HARD: hard}


def count_triplets(
    embeddings: Tensor, labels: Tensor, margin: float, p: float = 2.0
) -> dict[Kind, int]:
    """Exact number of valid triplets of each kind, without enumerating them.

    ``embeddings`` (N, D), ``labels`` (N,). Distances in float64. For each
    anchor its negatives are sorted once; each positive's hard and
    ``delta <= margin`` counts are then binary searches (:class:`DeltaIndex`):
    ``O(N^2 log N)`` time and ``O(N^2)`` memory (2.4e9 triplets at N = 3000
    in about a second).
    """
    _check_inputs(embeddings, labels, margin)
    dist = distance_matrix(embeddings.to(torch.float64), p)
    return DeltaIndex(dist, labels).counts(margin)


def _packed_rows(values: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Move each row's masked entries to its front: ``(N, K)`` values and mask, K = max count.

    Keeps per-anchor work proportional to its positives, not to N.
    """
    counts = mask.sum(dim=1)
    width = int(counts.max()) if counts.numel() else 0
    rows, cols = mask.nonzero(as_tuple=True)
    starts = torch.cumsum(counts, 0) - counts
    slots = torch.arange(rows.numel(), device=rows.device) - starts[rows]
    packed = values.new_zeros(mask.shape[0], width)
    packed[rows, slots] = values[rows, cols]
    packed_mask = torch.zeros(mask.shape[0], width, dtype=torch.bool, device=mask.device)
    packed_mask[rows, slots] = True
    return packed, packed_mask


def mine_triplets(
    embeddings: Tensor,
    labels: Tensor,
    margin: float,
    kind: Kind | None = None,
    p: float = 2.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """Index tensors ``(a, p, n)`` of the valid triplets of one kind, in lexicographic order.

    ``kind=None`` selects every valid triplet with ``delta <= margin`` (semi-hard
    and hard: pytorch-metric-learning's "all"). The same set, in the same
    order, as ``TripletMarginMiner(margin, type_of_triplets=...)`` with an
    un-normalised ``LpDistance(p=p)``. Distances in float64. Enumerates the
    result, so memory grows with the number of triplets returned.
    """
    _check_inputs(embeddings, labels, margin)
    dist = distance_matrix(embeddings.to(torch.float64), p)
    positive, negative = label_masks(labels)
    n = labels.shape[0]
    chunk = max(1, _MINING_CHUNK_ELEMENTS // max(1, n * n))
    found: list[Tensor] = []
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        delta = dist[rows, None, :] - dist[rows, :, None]
        selected = positive[rows, :, None] & negative[rows, None, :]
        if kind == Kind.EASY:
            selected &= delta > margin
        else:
            selected &= delta <= margin
            if kind == Kind.HARD:
                selected &= delta <= 0
            elif kind == Kind.SEMI_HARD:
                selected &= delta > 0
        idx = selected.nonzero()
        idx[:, 0] += start
        found.append(idx)
    triplets = torch.cat(found) if found else torch.empty(0, 3, dtype=torch.int64)
    return triplets[:, 0], triplets[:, 1], triplets[:, 2]


def loss_along_delta(
    margin: float, lo: float = -1.0, hi: float = 3.0, steps: int = 401
) -> tuple[Tensor, Tensor, Tensor]:
    """Triplet loss and kind along ``delta = d(a,n) - d(a,p)`` from ``lo`` to ``hi``.

    Computed by the core's loss on a 1-D triplet with ``a = 0``, ``p = 1``
    and ``n = 1 + delta`` (so ``lo >= -1``), eps 0, in float64. Returns
    ``(deltas, loss, kind)``, each ``(steps,)``.
    """
    if not -1.0 <= lo < hi or steps < 2:
        raise ValueError("need -1 <= lo < hi and steps >= 2")
    deltas = torch.linspace(lo, hi, steps, dtype=torch.float64)
    anchor = torch.zeros(steps, 1, dtype=torch.float64)
    positive = anchor + 1
    negative = positive + deltas[:, None]
    loss = triplet_margin_loss(anchor, positive, negative, margin, eps=0.0, reduction="none")
    d_ap, d_an = (positive - anchor)[:, 0], (negative - anchor).abs()[:, 0]
    return deltas, loss, classify(d_ap, d_an, margin)
