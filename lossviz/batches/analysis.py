"""What a labelled batch holds: every valid triplet counted, swept, binned and explained.

A :class:`BatchAnalysis` is built once per point set and distance (the
expensive part: an ``(N, N)`` float64 distance matrix and each anchor's
negatives sorted, see :class:`~lossviz.core.triplets.DeltaIndex`); every question
the mining page asks at a margin is then a few binary searches, so nothing
is ``O(N^3)`` and uploads of 5,000 rows stay interactive.

Conventions: ``delta = d(a, n) - d(a, p)``; kinds as :func:`~lossviz.core.triplets.classify`
(hard ``delta <= 0``, semi-hard ``0 < delta <= margin``, easy beyond). Valid
triplets: ``a != p``, same label, ``n`` of another label.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lossviz.core.distances import distance_matrix
from lossviz.core.losses import (
    Hardest,
    batch_hard_from_hardest,
    check_finite,
    hardest_pairs,
    label_masks,
    semihard_choice,
)
from lossviz.core.triplets import DeltaIndex, Kind, classify

MINING_DISTANCES = ("euclidean", "manhattan", "cosine")
LOSS_NAMES = {
    "batch_all": "Batch-all",
    "batch_hard": "Batch-hard",
    "batch_hard_fix": "Batch-hard + collapse fix",
    "batch_semihard": "Batch-semi-hard (TF Addons)",
}
# (anchors, positives, negatives) per chunk when enumerating triplets for a table.
_TABLE_CHUNK_ELEMENTS = 1 << 22
# The histogram and the margin sweep count the triplets of at most this many anchors.
PICTURE_ANCHORS = 2_000
# Search values per chunk when counting many thresholds at once (64 MB of float64 + int64).
_SEARCH_CHUNK_ELEMENTS = 1 << 22


def batch_distances(embeddings: Tensor, distance: str) -> Tensor:
    """``(N, N)`` float64 distances with a zero diagonal: euclidean, manhattan or cosine.

    Lp distances are exact (``distance_matrix``, no eps); cosine is
    ``1 - cos`` with norms floored as ``F.normalize`` does (a zero row is at
    distance 1 from everything), clamped to [0, 2].
    """
    x = embeddings.to(torch.float64)
    if distance == "euclidean":
        return distance_matrix(x, 2.0)
    if distance == "manhattan":
        return distance_matrix(x, 1.0)
    if distance == "cosine":
        unit = F.normalize(x, dim=1)
        dist = (1.0 - unit @ unit.T).clamp(0.0, 2.0)
        return dist.fill_diagonal_(0.0)
    raise ValueError(f"distance must be one of {', '.join(MINING_DISTANCES)}; got {distance!r}")


@dataclass(frozen=True)
class SemihardComparison:
    """How many triplets each library's "semi-hard" selects at one margin.

    ``pml``: pytorch-metric-learning's miner, ``0 < delta <= margin``.
    ``facenet``: the FaceNet / Moindrot definition, strict: ``0 < delta < margin``.
    ``tf_addons``: TensorFlow Addons / sentence-transformers pick one negative
    per positive pair, the nearest one farther than the positive (no margin
    bound), else the farthest negative (``tf_fallbacks`` of them);
    ``tf_with_loss`` of those have a positive loss (``delta < margin``).
    """

    pml: int
    facenet: int
    tf_addons: int
    tf_fallbacks: int
    tf_with_loss: int


@dataclass(frozen=True)
class AnchorView:
    """One anchor's triplets at a margin, and what each batch loss does with it.

    Indices are rows of the point set. ``hardest_positive`` / ``hardest_negative``
    are -1 when the anchor has no positive / negative. ``semihard_negatives``:
    negatives that are semi-hard for at least one of the anchor's positives;
    ``semihard_for_hardest``: those semi-hard for the hardest positive (fewer: the picture).
    ``semihard_choices``: per positive ``(p, n, fallback)``, the negative
    TF Addons' semi-hard loss uses (``fallback`` when none is farther than p).
    """

    anchor: int
    positives: tuple[int, ...]
    hardest_positive: int
    hardest_negative: int
    d_hardest_positive: float
    d_hardest_negative: float
    counts: dict[Kind, int]
    semihard_negatives: tuple[int, ...]
    semihard_for_hardest: tuple[int, ...]
    batch_all_active: int
    semihard_choices: tuple[tuple[int, int, bool], ...]

    @property
    def usable(self) -> bool:
        """Whether the anchor is in any triplet (it has a positive and a negative)."""
        return self.hardest_positive >= 0 and self.hardest_negative >= 0


class BatchAnalysis:
    """Counts, sweeps, histograms, batch losses and anchor views of one labelled batch.

    ``embeddings`` (N, D) any float dtype, ``labels`` (N,) int; ``distance``
    one of :data:`MINING_DISTANCES`. All work in float64 on the embeddings'
    device; results are Python numbers or CPU tensors.
    """

    def __init__(self, embeddings: Tensor, labels: Tensor, distance: str = "euclidean"):
        if embeddings.dim() != 2 or labels.shape != (embeddings.shape[0],):
            raise ValueError("need embeddings (N, D) and labels (N,)")
        check_finite("the embeddings", embeddings)
        self.labels = labels.to(embeddings.device)
        self.dist = batch_distances(embeddings, distance)
        check_finite("the distances (the embeddings are too large; scale them down)", self.dist)
        self.positive, self.negative = label_masks(self.labels)
        self.index = DeltaIndex(self.dist, self.labels)
        self._below_for: tuple[float, Tensor] | None = None

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])

    @property
    def total(self) -> int:
        """Number of valid triplets."""
        return self.index.total

    def counts(self, margin: float) -> dict[Kind, int]:
        """Exact valid triplets of each kind (equal to ``count_triplets`` for Lp distances)."""
        _check_margin(margin)
        within = self.index.count_at_most(margin)
        hard = self._hard
        return {Kind.EASY: self.total - within, Kind.SEMI_HARD: within - hard, Kind.HARD: hard}

    # What does not depend on the margin is computed once per analysis: a new margin then
    # costs two binary searches per (a, p) instead of five.

    @functools.cached_property
    def _hard(self) -> int:
        return self.index.count_at_most(0.0)

    @functools.cached_property
    def _hardest(self) -> Hardest:
        return hardest_pairs(self.dist, self.labels)

    @functools.cached_property
    def _negative_prefix_sums(self) -> Tensor:
        """``(N, N + 1)``: per anchor, the sums of its 0, 1, 2, ... nearest negative distances."""
        prefix = torch.cumsum(torch.nan_to_num(self.index.sorted_negatives, posinf=0.0), dim=1)
        return torch.cat([prefix.new_zeros(prefix.shape[0], 1), prefix], dim=1)

    def _below_per_pair(self, margin: float) -> Tensor:
        """Per packed (a, p): negatives with ``delta < margin`` (the last margin's is kept)."""
        cached = self._below_for  # one read: sessions share an analysis (threads)
        if cached is None or cached[0] != margin:
            below = self.index.per_pair_at_most(math.nextafter(margin, -math.inf))
            cached = (margin, below * self.index.is_pair)
            self._below_for = cached
        return cached[1]

    @property
    def anchor_stride(self) -> int:
        """Every how many anchors the pictures count: 1 up to ``PICTURE_ANCHORS`` anchors."""
        return max(1, math.ceil(self.size / PICTURE_ANCHORS))

    def count_at_most_many(self, thresholds: Sequence[float], every: int = 1) -> tuple[Tensor, int]:
        """Per threshold t, the valid triplets with ``d_an <= d_ap + t``, and how many there are.

        Counts the triplets of every ``every``-th anchor (rows 0, every, 2 * every, ...;
        1 = all): returns ``(counts (T,) int64, number of those triplets)``. One
        batched binary search for all thresholds, anchors in chunks; for the
        pictures, so it may differ from :meth:`counts`' exact
        ``fl(d_an - d_ap) <= t`` by rounding on triplets within an ulp of a threshold.
        """
        index = self.index
        d_ap, is_pair = index.d_ap[::every], index.is_pair[::every]
        sorted_rows = index.sorted_negatives[::every].contiguous()  # searchsorted wants it so
        n_negatives = index.n_negatives[::every]
        steps = torch.as_tensor(list(thresholds), dtype=d_ap.dtype, device=d_ap.device)
        n, width = d_ap.shape
        chunk = max(1, _SEARCH_CHUNK_ELEMENTS // max(1, width * steps.numel()))
        totals = torch.zeros(steps.numel(), dtype=torch.int64, device=steps.device)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            values = (d_ap[start:stop, :, None] + steps).reshape(stop - start, -1)
            found = torch.searchsorted(sorted_rows[start:stop], values, right=True)
            found = found.reshape(stop - start, width, -1)
            found = found.minimum(n_negatives[start:stop, None, None])
            totals += (found * is_pair[start:stop, :, None]).sum(dim=(0, 1))
        triplets = int((is_pair.sum(dim=1) * n_negatives).sum())
        return totals.cpu(), triplets

    def shares_over_margins(self, margins: Sequence[float], every: int | None = None) -> Tensor:
        """``(M, 3)`` float64 shares (easy, semi-hard, hard) of valid triplets per margin.

        Over the triplets of every ``every``-th anchor (default
        :attr:`anchor_stride`), by :meth:`count_at_most_many`. Rows sum to 1
        (all zeros when there is no valid triplet).
        """
        for margin in margins:
            _check_margin(margin)
        counts, total = self.count_at_most_many([0.0, *margins], every or self.anchor_stride)
        if not total:
            return torch.zeros(len(margins), 3, dtype=torch.float64)
        counts = counts.to(torch.float64)
        hard, within = counts[0], counts[1:]
        shares = torch.stack([total - within, within - hard, hard.expand_as(within)], dim=1)
        return shares / total

    def delta_range(self) -> tuple[float, float]:
        """Smallest and largest delta over all valid triplets ((0, 0) when there is none)."""
        pairs = self.index.is_pair & (self.index.n_negatives > 0)[:, None]
        if not bool(pairs.any()):
            return 0.0, 0.0
        rows = self.index.sorted_negatives
        nearest = rows[:, :1].expand_as(self.index.d_ap)
        last = (self.index.n_negatives - 1).clamp_min(0)[:, None]
        farthest = rows.gather(1, last).expand_as(self.index.d_ap)
        lo = (nearest - self.index.d_ap)[pairs].min()
        hi = (farthest - self.index.d_ap)[pairs].max()
        return float(lo), float(hi)

    def delta_histogram(self, bins: int = 40, every: int | None = None) -> tuple[Tensor, Tensor]:
        """Histogram of delta: ``(edges (bins+1,), counts (bins,))``.

        Over the triplets of every ``every``-th anchor (default
        :attr:`anchor_stride`; their count is ``counts.sum()``). Bins are
        ``(edges[i], edges[i+1]]``, the first closed on the left, spanning
        every valid triplet's delta.
        """
        lo, hi = self.delta_range()
        if hi <= lo:
            hi = lo + 1.0
        edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
        inner, total = self.count_at_most_many(edges[1:-1].tolist(), every or self.anchor_stride)
        cumulative = torch.cat([torch.zeros(1, dtype=torch.int64), inner, torch.tensor([total])])
        return edges, cumulative.diff()

    def losses(self, margin: float) -> dict[str, float]:
        """The batch's loss under each strategy of :data:`LOSS_NAMES` (float64, no gradient).

        Same values as ``batch_all_triplet_loss``, ``batch_hard_triplet_loss``
        (with and without ``normalize``) and ``batch_semihard_triplet_loss``,
        computed from the sorted negatives in ``O(N^2 log N)`` instead of ``O(N^3)``.
        """
        _check_margin(margin)
        return {
            "batch_all": self._batch_all(margin),
            "batch_hard": float(batch_hard_from_hardest(self._hardest, margin)),
            "batch_hard_fix": float(batch_hard_from_hardest(self._hardest, margin, True)),
            "batch_semihard": self._batch_semihard(margin),
        }

    def _batch_all(self, margin: float) -> float:
        # For (a, p): the c negatives with delta < margin each add margin + d_ap - d_an.
        index = self.index
        active = self._below_per_pair(margin)
        near_sum = self._negative_prefix_sums.gather(1, active)
        total_loss = (active * (margin + index.d_ap) - near_sum)[index.is_pair].sum()
        n_active = int(active.sum())
        return float(total_loss) / n_active if n_active else 0.0

    @functools.cached_property
    def _semihard_choice(self) -> tuple[Tensor, Tensor]:
        """Per packed (a, p): the negative distance TF Addons' rule picks, and whether it is
        the fallback (:func:`~lossviz.core.losses.semihard_choice`, the losses' own rule)."""
        index = self.index
        choice = semihard_choice(index.sorted_negatives, index.n_negatives, index.d_ap)
        return choice.distance, choice.fallback

    def _semihard_pairs(self) -> Tensor:
        """Positive pairs whose anchor has a negative: those that form a triplet."""
        return self.index.is_pair & (self.index.n_negatives > 0)[:, None]

    def _batch_semihard(self, margin: float) -> float:
        pairs = self.index.is_pair  # every positive pair, as batch_semihard_triplet_loss
        if not bool(pairs.any()):
            return 0.0
        chosen, _ = self._semihard_choice
        losses = torch.clamp_min(self.index.d_ap - chosen + margin, 0)[pairs]
        return float(losses.mean())

    def semihard_comparison(self, margin: float) -> SemihardComparison:
        """See :class:`SemihardComparison`."""
        _check_margin(margin)
        index = self.index
        hard = self._hard
        pairs = self._semihard_pairs()
        chosen, fallback = self._semihard_choice
        with_loss = (chosen - index.d_ap < margin) & pairs
        return SemihardComparison(
            pml=index.count_at_most(margin) - hard,
            facenet=max(int(self._below_per_pair(margin).sum()) - hard, 0),
            tf_addons=int(pairs.sum()),
            tf_fallbacks=int((fallback & pairs).sum()),
            tf_with_loss=int(with_loss.sum()),
        )

    def anchor_view(self, anchor: int, margin: float) -> AnchorView:
        """See :class:`AnchorView`; ``anchor`` in ``[0, N)``."""
        _check_margin(margin)
        if not 0 <= anchor < self.size:
            raise ValueError(f"anchor must be in [0, {self.size}); got {anchor}")
        row = self.dist[anchor].cpu()
        positives = self.positive[anchor].nonzero().flatten().cpu()
        negatives = self.negative[anchor].nonzero().flatten().cpu()
        counts = dict.fromkeys(Kind, 0)
        if positives.numel() == 0 or negatives.numel() == 0:
            return AnchorView(
                anchor, tuple(positives.tolist()), -1, -1, math.nan, math.nan, counts, (), (), 0, ()
            )
        d_ap, d_an = row[positives], row[negatives]
        kinds = classify(d_ap[:, None], d_an[None, :], margin)
        for kind in Kind:
            counts[kind] = int((kinds == kind).sum())
        semihard = negatives[(kinds == Kind.SEMI_HARD).any(dim=0)]
        hp, hn = int(d_ap.argmax()), int(d_an.argmin())
        active = int(((d_an[None, :] - d_ap[:, None]) < margin).sum())
        order = d_an.argsort(stable=True)
        count = torch.tensor([negatives.numel()])
        choice = semihard_choice(d_an[order][None], count, d_ap[None])
        picked = negatives[order[choice.position[0]]].tolist()
        choices = tuple(zip(positives.tolist(), picked, choice.fallback[0].tolist(), strict=True))
        return AnchorView(
            anchor=anchor,
            positives=tuple(positives.tolist()),
            hardest_positive=int(positives[hp]),
            hardest_negative=int(negatives[hn]),
            d_hardest_positive=float(d_ap[hp]),
            d_hardest_negative=float(d_an[hn]),
            counts=counts,
            semihard_negatives=tuple(semihard.tolist()),
            semihard_for_hardest=tuple(negatives[kinds[hp] == Kind.SEMI_HARD].tolist()),
            batch_all_active=active,
            semihard_choices=choices,
        )

    def triplet_rows(self, margin: float, limit: int) -> dict[str, Tensor]:
        """The first ``limit`` valid triplets in (a, p, n) order, as CPU columns.

        Columns: ``anchor``, ``positive``, ``negative`` (int64), ``d_ap``,
        ``d_an``, ``delta`` (float64), ``kind`` (int64 ``Kind`` values).
        Enumerates anchor chunks only until ``limit`` rows are found.
        """
        _check_margin(margin)
        n = self.size
        chunk = max(1, _TABLE_CHUNK_ELEMENTS // max(1, n * n))
        found: list[Tensor] = []
        remaining = limit
        for start in range(0, n, chunk):
            if remaining <= 0:
                break
            rows = slice(start, min(n, start + chunk))
            valid = self.positive[rows, :, None] & self.negative[rows, None, :]
            idx = valid.nonzero()[:remaining]
            idx[:, 0] += start
            found.append(idx)
            remaining -= idx.shape[0]
        triplets = torch.cat(found) if found else torch.empty(0, 3, dtype=torch.int64)
        a, p, neg = triplets.unbind(dim=1) if triplets.numel() else (triplets[:, 0],) * 3
        d_ap, d_an = self.dist[a, p], self.dist[a, neg]
        return {
            "anchor": a.cpu(),
            "positive": p.cpu(),
            "negative": neg.cpu(),
            "d_ap": d_ap.cpu(),
            "d_an": d_an.cpu(),
            "delta": (d_an - d_ap).cpu(),
            "kind": classify(d_ap, d_an, margin).cpu(),
        }


def _check_margin(margin: float) -> None:
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")
