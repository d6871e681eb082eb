"""Softmax contrastive losses on the hypersphere: InfoNCE, NT-Xent, SupCon and CLIP's loss.

Conventions (z: embeddings, rows; s: cosine similarity of two rows; tau: temperature):

- Embeddings are L2-normalised first (``normalize=True``, the default): a zero row has no
  direction and raises :class:`DegenerateError`; ``normalize=False`` uses raw dot products
  (what an encoder without normalisation would feed the loss).
- Every loss is computed in the log-sum-exp form (``logsumexp(row) - row[positive]``, what
  ``F.cross_entropy`` computes), exact at tau = 0.01 in float32 where the textbook formula
  ``exp(s / tau) / sum(exp(...))`` overflows (:func:`naive_info_nce_loss` keeps that formula
  on purpose, to show it). Values are per anchor; ``reduction`` is "mean" (default), "sum"
  or "none".
- The temperature is checked against :data:`TEMPERATURE` (0.01 to 2, the range the pages
  offer: the softmax's scale is 1 / tau, from 0.5 to 100, CLIP's cap).

The losses, each tested against the library it names (``tests/test_softmax_contrastive.py``):

- :func:`info_nce_loss`: one anchor, one positive, k negatives (van den Oord et al. 2018).
- :func:`nt_xent_loss`: SimCLR's NT-Xent on two views of N examples as lightly computes it
  (``lightly.loss.NTXentLoss`` without a memory bank): 2N anchors, each with the other view
  of its example as the positive and the other 2N - 2 views as negatives.
- :func:`nt_xent_pml`: pytorch-metric-learning's ``NTXentLoss(temperature)`` on embeddings
  and labels: one term per positive pair (a, p), same label, a != p; its denominator holds
  the positive and the anchor's negatives (the other label's rows) only, never the
  anchor's other positives; mean over positive pairs. With labels that give each example's
  two views one label (SimCLR's case) it equals :func:`nt_xent_loss`; with class labels
  the two count different negative sets (lightly's would call a same-class view a negative).
- :func:`supcon_loss`: supervised contrastive, the "out" form (Khosla et al. 2020) as
  pytorch-metric-learning's ``SupConLoss`` computes it: per anchor, minus the mean over its
  positives of ``log(exp(s_ap / tau) / sum over every other row a of exp(s_aa' / tau))``
  (other positives ARE in the denominator); anchors without a positive are skipped, and a
  batch where no anchor has one raises :class:`DegenerateError`.
- :func:`clip_loss`: CLIP's symmetric loss: logits = exp(logit_scale) * S (rows: images,
  columns: texts), the mean of the cross-entropies over rows and over columns, the i-th
  image's positive the i-th text; exp(logit_scale) clamped at 100 as CLIP clamps it.

Measures (Wang and Isola 2020) and bounds:

- :func:`alignment`: mean over positive pairs of ``||z_x - z_y|| ** alpha`` (alpha = 2).
- :func:`uniformity`: ``log mean over pairs i < j of exp(-t ||z_i - z_j||^2)`` (t = 2).
- :func:`info_nce_lower_bound`: ``log(1 + k exp(-2 / tau))``, the least InfoNCE can reach
  with k negatives on the sphere (the positive at s = 1, every negative at s = -1), so the
  loss never reaches 0; :func:`collapsed_info_nce`: ``log(1 + k)``, every point on one spot.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from lossviz.core.ranges import Range

TEMPERATURE = Range(0.01, 2.0)
MAX_LOGIT_SCALE = math.log(100.0)  # CLIP clamps exp(logit_scale) at 100
CLIP_INIT_LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial value
REDUCTIONS = ("mean", "sum", "none")
_ZERO_NORM = 1e-12


class DegenerateError(ValueError):
    """Input the loss cannot be defined on: a zero embedding (no direction), an anchor with
    no positive, a temperature outside its range. The message says which, in words."""


def check_temperature(temperature: float) -> float:
    """``temperature`` as a float if it is in :data:`TEMPERATURE`, else DegenerateError."""
    try:
        TEMPERATURE.check("The temperature", temperature)
    except ValueError as problem:
        raise DegenerateError(str(problem)) from None
    return float(temperature)


def normalized(z: Tensor, what: str = "an embedding") -> Tensor:
    """Rows scaled to length 1 (the last dimension); DegenerateError for a zero row."""
    norms = torch.linalg.vector_norm(z, dim=-1, keepdim=True)
    if not bool(torch.isfinite(z).all()):
        raise DegenerateError(f"{what.capitalize()} is not a finite number (NaN or infinite).")
    if bool((norms <= _ZERO_NORM).any()):
        raise DegenerateError(
            f"{what.capitalize()} is the zero vector: it has no direction, so it has no place "
            "on the sphere (move it away from the origin)."
        )
    return z / norms


def _prepare(z: Tensor, normalize: bool, what: str) -> Tensor:
    return normalized(z, what) if normalize else z


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}; got {reduction!r}")


def similarity_matrix(z: Tensor, normalize: bool = True) -> Tensor:
    """(M, M) cosine similarities of the rows of ``z`` (M, D) (raw dot products if not
    ``normalize``)."""
    z = _prepare(z, normalize, "an embedding")
    return z @ z.T


# --------------------------------------------------------------------------- InfoNCE


def info_nce_logits(
    anchor: Tensor, positive: Tensor, negatives: Tensor, temperature: float, normalize: bool = True
) -> Tensor:
    """(B, 1 + K) logits ``s / tau``: column 0 the positive, then the K negatives.

    ``anchor``, ``positive``: (B, D); ``negatives``: (B, K, D), or (K, D) shared by every
    anchor.
    """
    tau = check_temperature(temperature)
    if negatives.dim() == 2:
        negatives = negatives.unsqueeze(0).expand(anchor.shape[0], -1, -1)
    if anchor.shape != positive.shape or negatives.shape[::2] != anchor.shape:
        raise ValueError(
            f"anchor and positive must be (B, D) and negatives (B, K, D) or (K, D); got "
            f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negatives.shape)}"
        )
    a = _prepare(anchor, normalize, "the anchor")
    p = _prepare(positive, normalize, "the positive")
    n = _prepare(negatives, normalize, "a negative")
    s_ap = (a * p).sum(-1, keepdim=True)
    s_an = torch.einsum("bd,bkd->bk", a, n)
    return torch.cat([s_ap, s_an], dim=1) / tau


def info_nce_loss(
    anchor: Tensor,
    positive: Tensor,
    negatives: Tensor,
    temperature: float,
    normalize: bool = True,
    reduction: str = "mean",
) -> Tensor:
    """``-log softmax(logits)[positive]`` per anchor (see :func:`info_nce_logits`)."""
    logits = info_nce_logits(anchor, positive, negatives, temperature, normalize)
    return _reduce(torch.logsumexp(logits, dim=1) - logits[:, 0], reduction)


def info_nce_weights(
    anchor: Tensor, positive: Tensor, negatives: Tensor, temperature: float, normalize: bool = True
) -> Tensor:
    """(B, 1 + K) softmax weights, the positive's first. A negative's weight is its share of
    the push on the anchor: ``dL/dz_a = (sum_n w_n z_n - (1 - w_p) z_p) / tau`` (before the
    normalisation's Jacobian), so the negatives share ``1 - w_p`` in proportion to ``w_n``."""
    return torch.softmax(info_nce_logits(anchor, positive, negatives, temperature, normalize), 1)


def naive_info_nce_loss(
    anchor: Tensor, positive: Tensor, negatives: Tensor, temperature: float, normalize: bool = True
) -> Tensor:
    """The textbook formula, ``-log(exp(s_ap / tau) / sum exp(s / tau))``, computed as written
    in the inputs' dtype (no subtraction of the largest logit): at tau = 0.01 in float32
    ``exp(100)`` overflows to inf and the loss becomes NaN (inf / inf). For teaching only."""
    logits = info_nce_logits(anchor, positive, negatives, temperature, normalize)
    exps = torch.exp(logits)
    return -torch.log(exps[:, 0] / exps.sum(dim=1))


def info_nce_lower_bound(negatives: int, temperature: float) -> float:
    """``log(1 + k exp(-2 / tau))``: InfoNCE's least value with ``k`` negatives on the sphere."""
    tau = check_temperature(temperature)
    return math.log1p(negatives * math.exp(-2.0 / tau))


def collapsed_info_nce(negatives: int) -> float:
    """``log(1 + k)``: InfoNCE when the anchor, the positive and every negative coincide."""
    return math.log1p(negatives)


# --------------------------------------------------------------------------- batches


def nt_xent_loss(
    view1: Tensor, view2: Tensor, temperature: float, normalize: bool = True, reduction="mean"
) -> Tensor:
    """SimCLR's NT-Xent as lightly computes it: see the module. ``view1``, ``view2``: (N, D),
    row i of each the two views of example i. Per-anchor values in the order
    ``[view1 rows, view2 rows]`` (2N of them)."""
    tau = check_temperature(temperature)
    if view1.shape != view2.shape or view1.dim() != 2 or view1.shape[0] < 2:
        raise ValueError(f"two views must be (N, D) with N >= 2; got {tuple(view1.shape)}, "
                         f"{tuple(view2.shape)}")  # fmt: skip
    n = view1.shape[0]
    z = _prepare(torch.cat([view1, view2]), normalize, "a view")
    logits = (z @ z.T) / tau
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), -math.inf)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return _reduce(F.cross_entropy(logits, targets, reduction="none"), reduction)


def _masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """(M, M) positive (same label, not itself) and negative (other label) masks."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def nt_xent_pml(
    embeddings: Tensor, labels: Tensor, temperature: float, normalize: bool = True,
    reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """pytorch-metric-learning's ``NTXentLoss`` (see the module): one value per positive pair,
    in row-major order of the (anchor, positive) mask."""
    tau = check_temperature(temperature)
    positive, negative = _masks(labels)
    if not bool(positive.any()):
        raise DegenerateError("No two rows share a label: NT-Xent needs a positive pair.")
    logits = similarity_matrix(embeddings, normalize) / tau
    anchors, positives = positive.nonzero(as_tuple=True)
    negatives = logits.masked_fill(~negative, -math.inf)[anchors]  # (P, M)
    pair = logits[anchors, positives].unsqueeze(1)
    values = torch.logsumexp(torch.cat([pair, negatives], dim=1), dim=1) - pair.squeeze(1)
    return _reduce(values, reduction)


def supcon_loss(
    embeddings: Tensor, labels: Tensor, temperature: float, normalize: bool = True,
    reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """Supervised contrastive loss, the "out" form as pytorch-metric-learning computes it
    (see the module): one value per anchor that has a positive, in row order."""
    tau = check_temperature(temperature)
    positive, _ = _masks(labels)
    has_positive = positive.any(dim=1)
    if not bool(has_positive.any()):
        raise DegenerateError("No row has another row of its label: SupCon needs positives.")
    logits = similarity_matrix(embeddings, normalize) / tau
    eye = torch.eye(len(labels), dtype=torch.bool, device=logits.device)
    log_prob = logits - torch.logsumexp(logits.masked_fill(eye, -math.inf), dim=1, keepdim=True)
    per_anchor = -(log_prob * positive).sum(dim=1) / positive.sum(dim=1).clamp(min=1)
    return _reduce(per_anchor[has_positive], reduction)


def clip_loss(images: Tensor, texts: Tensor, logit_scale: float, normalize: bool = True) -> Tensor:
    """CLIP's symmetric loss (see the module): ``(CE(L, i) + CE(L^T, i)) / 2`` with
    ``L = exp(min(logit_scale, ln 100)) * images @ texts^T``; both (N, D)."""
    if images.shape != texts.shape or images.dim() != 2:
        raise ValueError(f"images and texts must both be (N, D); got {tuple(images.shape)}, "
                         f"{tuple(texts.shape)}")  # fmt: skip
    if not math.isfinite(logit_scale):
        raise DegenerateError("The logit scale must be a finite number.")
    scale = math.exp(min(float(logit_scale), MAX_LOGIT_SCALE))
    logits = (
        scale * _prepare(images, normalize, "an image") @ _prepare(texts, normalize, "a text").T
    )
    targets = torch.arange(images.shape[0], device=images.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


# --------------------------------------------------------------------------- measures


def alignment(z1: Tensor, z2: Tensor, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    """Wang and Isola's alignment: mean over positive pairs (rows of ``z1``, ``z2``) of
    ``||z1 - z2|| ** alpha``. 0 when every pair coincides; lower is better."""
    a, b = _prepare(z1, normalize, "an embedding"), _prepare(z2, normalize, "an embedding")
    return torch.linalg.vector_norm(a - b, dim=1).pow(alpha).mean()


def uniformity(z: Tensor, t: float = 2.0, normalize: bool = True) -> Tensor:
    """Wang and Isola's uniformity: ``log mean over pairs i < j of exp(-t ||z_i - z_j||^2)``.
    0 when every point coincides; lower means more evenly spread (needs 2 rows or more)."""
    if z.shape[0] < 2:
        raise ValueError("uniformity needs at least two points")
    z = _prepare(z, normalize, "an embedding")
    squared = torch.pdist(z).pow(2)
    return torch.logsumexp(-t * squared, dim=0) - math.log(squared.numel())


__all__ = [
    "CLIP_INIT_LOGIT_SCALE",
    "MAX_LOGIT_SCALE",
    "TEMPERATURE",
    "DegenerateError",
    "alignment",
    "check_temperature",
    "clip_loss",
    "collapsed_info_nce",
    "info_nce_logits",
    "info_nce_loss",
    "info_nce_lower_bound",
    "info_nce_weights",
    "naive_info_nce_loss",
    "normalized",
    "nt_xent_loss",
    "nt_xent_pml",
    "similarity_matrix",
    "supcon_loss",
    "uniformity",
]
