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

:func:`dot_velocities` says where a gradient step on the batch's loss sends each dot: both of
its distances move, not only along ``(-1, +1)`` (both can shrink: the batch contracts, the
road to the collapse Xuan et al. show under batch-hard).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from lossviz.batches.analysis import MINING_DISTANCES, batch_distances
from lossviz.core.losses import label_masks
from lossviz.core.triplets import DeltaIndex, Kind, classify

# At most this many valid triplets: the diagram draws each one as a dot (and keeps them).
DOT_LIMIT = 5_000
DEFAULT_BINS = 60
# The batch losses whose gradient step :func:`dot_velocities` follows.
STEP_LOSSES = ("batch_all", "batch_hard")
# F.normalize's floor on a norm: ``batch_distances``' cosine divides by at least this.
_NORMALIZE_EPS = 1e-12
# (pairs x rows) per chunk when finding batch-all's active triplets.
_ACTIVE_CHUNK_ELEMENTS = 1 << 22


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


def loss_gradient(
    embeddings: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    margin: float,
    distance: str = "euclidean",
    loss: str = "batch_all",
) -> Tensor:
    """``∇_X L``, ``(N, D)`` float64 CPU: the gradient of the batch's loss at ``X``.

    ``embeddings`` ``X`` ``(N, D)``, ``labels`` ``(N,)``; ``distance`` one of
    :data:`~lossviz.batches.analysis.MINING_DISTANCES`, computed by the page's own
    :func:`~lossviz.batches.analysis.batch_distances`. ``loss``:

    - ``"batch_all"``: the mean of ``d(a,p) - d(a,n) + m`` over the valid triplets with a
      positive loss (``δ = d(a,n) - d(a,p) < m``), the mining page's batch-all
      (``BatchAnalysis.losses``; PML's ``TripletMarginLoss`` with ``AvgNonZeroReducer``);
    - ``"batch_hard"``: per anchor in a triplet, ``relu(d(a,hp) - d(a,hn) + m)`` with
      ``hp`` its farthest positive and ``hn`` its nearest negative, the mean over those
      anchors (``batch_hard_from_distances``).

    Both losses are ``<W, D(X)> + const`` with ``D`` the distance matrix and ``W`` fixed
    by which triplets are active, so the gradient is autograd's ``∇_X <W, D(X)>`` through
    ``batch_distances`` (``O(N^2 D)`` memory). Where the loss is not differentiable a
    one-sided choice is made: a triplet or anchor at exactly zero loss counts as inactive
    (as the mean's count does), and batch-hard's ties take the first row, the triplet the
    diagram marks (torch's ``amax`` would split the gradient among the tied rows: another
    subgradient). The distances' own kinks are torch's: see :func:`dot_velocities`.
    """
    x = torch.as_tensor(embeddings).detach().to(device="cpu", dtype=torch.float64)
    labels = torch.as_tensor(labels).to("cpu")
    _check_step(x, labels, margin, distance, loss)
    x.requires_grad_(True)
    dist = batch_distances(x, distance)
    weights = _loss_weights(dist.detach(), labels, float(margin), loss)
    (gradient,) = torch.autograd.grad((weights * dist).sum(), x)
    return gradient


def dot_velocities(
    embeddings: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    triplets: Triplets,
    margin: float,
    distance: str = "euclidean",
    loss: str = "batch_all",
) -> np.ndarray:
    """How fast each triplet's dot moves on the diagram when the whole batch takes one
    gradient-descent step on its loss: ``(K, 2)`` float64, ``(d/dt d(a,p), d/dt d(a,n))``.

    ``embeddings`` ``X`` ``(N, D)`` (any float dtype; computed in float64), ``labels``
    ``(N,)``; ``triplets``: ``K`` triplets of rows (e.g. ``TripletDensity.dots``; only
    ``anchor``, ``positive``, ``negative`` are read); ``margin``, ``distance`` and ``loss``
    as :func:`loss_gradient`. Every embedding moves at once, ``X(t) = X - t ∇_X L`` (plain
    gradient descent, learning rate ``t``); row ``k`` is the derivative at ``t = 0`` of the
    triplet's two distances, ``∇_X d(a,p) · (-∇_X L)`` and ``∇_X d(a,n) · (-∇_X L)``: per unit
    learning rate, so a small step ``t`` moves the dot by about ``t`` times it. A triplet
    with no loss of its own still moves when its points are in other active triplets;
    ``(-1, +1)`` is the direction its own loss alone would push it.

    Exact (no finite difference): ``∇_X L`` by autograd (:func:`loss_gradient`), each
    distance's gradient in closed form, equal to autograd's through ``batch_distances``.
    Where a distance has no gradient torch's choice is kept: euclidean between two
    coincident rows (``d = 0``) has gradient 0 (``torch.cdist``'s, ``distance_matrix``'s
    convention); manhattan takes ``sign(0) = 0`` for equal coordinates (a subgradient);
    cosine is smooth except at a zero row, where ``F.normalize``'s norm floor (1e-12)
    gives torch's (huge) gradient, and where ``1 - cos`` is clamped to [0, 2] by rounding
    the gradient is 0.
    """
    x = torch.as_tensor(embeddings).detach().to(device="cpu", dtype=torch.float64)
    gradient = loss_gradient(x, labels, margin, distance, loss)
    anchor, positive, negative = (
        torch.as_tensor(np.asarray(rows, dtype=np.int64)) for rows in triplets[:3]
    )
    n = x.shape[0]
    for rows in (anchor, positive, negative):
        if rows.numel() and not (int(rows.min()) >= 0 and int(rows.max()) < n):
            raise ValueError(f"triplet rows must be in [0, {n})")
    step = -gradient
    velocity = [_pair_velocity(x, step, anchor, other, distance) for other in (positive, negative)]
    return torch.stack(velocity, dim=1).numpy()


def _check_step(x: Tensor, labels: Tensor, margin: float, distance: str, loss: str) -> None:
    if x.dim() != 2 or labels.shape != (x.shape[0],):
        raise ValueError(f"need embeddings (N, D) and labels (N,); got {tuple(x.shape)} and "
                         f"{tuple(labels.shape)}")  # fmt: skip
    if not bool(torch.isfinite(x).all()):
        raise ValueError("the embeddings must be finite")
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")
    if distance not in MINING_DISTANCES:
        raise ValueError(f"distance must be one of {', '.join(MINING_DISTANCES)}; "
                         f"got {distance!r}")  # fmt: skip
    if loss not in STEP_LOSSES:
        raise ValueError(f"loss must be one of {', '.join(STEP_LOSSES)}; got {loss!r}")


def _loss_weights(dist: Tensor, labels: Tensor, margin: float, loss: str) -> Tensor:
    """``W`` ``(N, N)`` with ``L = <W, D> + const`` near ``D`` (``∂L/∂D``, active set held)."""
    positive, negative = label_masks(labels)
    positive &= negative.any(dim=1)[:, None]  # pairs of some triplet
    weights = torch.zeros_like(dist)
    if loss == "batch_hard":
        anchors = positive.any(dim=1).nonzero().flatten()
        if not anchors.numel():
            return weights
        rows = dist[anchors]
        farthest = torch.where(positive[anchors], rows, -torch.inf).argmax(dim=1)
        nearest = torch.where(negative[anchors], rows, torch.inf).argmin(dim=1)
        gap = rows.gather(1, farthest[:, None]) - rows.gather(1, nearest[:, None])
        active = (gap.flatten() + margin > 0).to(dist.dtype) / anchors.numel()
        weights[anchors, farthest] += active
        weights[anchors, nearest] -= active
        return weights
    # batch-all: (a, p) weighs its active negatives' count, (a, n) minus its active positives'.
    a, p = positive.nonzero(as_tuple=True)
    n = dist.shape[0]
    chunk = max(1, _ACTIVE_CHUNK_ELEMENTS // max(1, n))
    n_active = 0
    for start in range(0, a.numel(), chunk):
        ca, cp = a[start : start + chunk], p[start : start + chunk]
        rows = dist[ca]
        # fl(d(a,n) - d(a,p)) < m: BatchAnalysis' rule for a positive loss.
        active = negative[ca] & ((rows - dist[ca, cp][:, None]) < margin)
        per_pair = active.sum(dim=1)
        weights.index_put_((ca, cp), per_pair.to(dist.dtype), accumulate=True)
        weights.index_add_(0, ca, -active.to(dist.dtype))
        n_active += int(per_pair.sum())
    return weights / n_active if n_active else weights


def _pair_velocity(x: Tensor, step: Tensor, i: Tensor, j: Tensor, distance: str) -> Tensor:
    """``d/dt d(x_i + t s_i, x_j + t s_j)`` at 0 for the rows ``i``, ``j`` ``(K,)``: each
    distance's gradient (as :func:`batch_distances`' autograd gives it) dotted with ``step``."""
    xi, xj, si, sj = x[i], x[j], step[i], step[j]
    if distance == "cosine":
        ni, nj = (v.norm(dim=1, keepdim=True) for v in (xi, xj))
        ui, uj = xi / ni.clamp_min(_NORMALIZE_EPS), xj / nj.clamp_min(_NORMALIZE_EPS)
        cos = (ui * uj).sum(dim=1, keepdim=True)
        # d = 1 - ui.uj: d/dx_i = -(uj - cos ui) / |x_i| (only -uj / floor below the floor).
        gi = -torch.where(ni > _NORMALIZE_EPS, uj - cos * ui, uj) / ni.clamp_min(_NORMALIZE_EPS)
        gj = -torch.where(nj > _NORMALIZE_EPS, ui - cos * uj, ui) / nj.clamp_min(_NORMALIZE_EPS)
        inside = ((1.0 - cos) >= 0) & ((1.0 - cos) <= 2)  # clamp's gradient: 0 beyond
        rate = ((gi * si).sum(dim=1) + (gj * sj).sum(dim=1)) * inside.flatten()
        return torch.where(i == j, 0.0, rate)
    diff = xi - xj
    if distance == "manhattan":
        direction = diff.sign()
    else:
        length = diff.norm(dim=1, keepdim=True)
        direction = torch.where(length > 0, diff / length.clamp_min(torch.finfo(x.dtype).tiny), 0)
    return (direction * (si - sj)).sum(dim=1)
