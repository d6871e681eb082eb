"""A batch of 2N views (:mod:`~lossviz.batches.contrastive_views`) read by the softmax
contrastive losses at one temperature.

Conventions (M = 2N views, rows ordered view 1 of every example, then view 2):

- ``similarity[i, j]``: the cosine of views i and j; ``positive[i, j]``: j is i's positive,
  the other view of its example (``partner[i] = (i + N) mod 2N``).
- ``weights[i]``: NT-Xent's softmax over row i's logits ``s / tau`` with the diagonal left
  out (a view is never its own candidate): each row sums to 1, ``weights[i, i] = 0``;
  ``per_anchor[i] = -log weights[i, partner[i]]``, NT-Xent's term for anchor i.
- The losses, each as the library it names computes it (the core's transcriptions,
  :mod:`lossviz.core.softmax_contrastive`):

  - ``nt_xent``: lightly's ``NTXentLoss`` on (view 1, view 2): per anchor, every other
    view but the positive is a negative (2N - 2 of them);
  - ``nt_xent_pml_instance``: pytorch-metric-learning's ``NTXentLoss`` with instance labels
    (the example index): the same negatives, the same value as lightly's;
  - ``nt_xent_pml_class``: PML's ``NTXentLoss`` with the class labels: a view of the
    anchor's class is then another positive (one term per positive pair), never a
    negative: the negatives are the other classes' views only, so the value differs as
    soon as a class holds two examples;
  - ``supcon``: PML's ``SupConLoss`` with the class labels;
  - ``clip``: CLIP's symmetric loss with view 1 as the images and view 2 as the texts,
    ``logit_scale = ln(1 / tau)`` (clamped at ln 100 as CLIP does; never reached for tau
    >= 0.01);
  - ``alignment`` (of the two views of each example) and ``uniformity`` (of the 2N views).

- ``lower_bound``: ``log(1 + (2N - 2) exp(-2 / tau))``, below which no anchor's NT-Xent can
  go (positive at s = 1, every negative at s = -1; not reachable by a whole batch at once,
  its negatives cannot all be antipodal); ``collapsed``: ``log(2N - 1)``, every view on one
  spot.

Computed in float64 on the core's default device
(:func:`~lossviz.core.device.default_device`), returned as CPU tensors and Python floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lossviz.batches.contrastive_views import ViewBatch
from lossviz.core.device import default_device
from lossviz.core.softmax_contrastive import (
    TEMPERATURE,
    alignment,
    check_temperature,
    clip_loss,
    collapsed_info_nce,
    info_nce_lower_bound,
    nt_xent_loss,
    nt_xent_pml,
    similarity_matrix,
    supcon_loss,
    uniformity,
)


@dataclass(frozen=True, eq=False)
class BatchReading:
    """A :class:`~lossviz.batches.contrastive_views.ViewBatch` read at one temperature
    (see the module). Tensors are on the CPU; M = 2N."""

    temperature: float
    logit_scale: float  # ln(1 / tau): CLIP's parameter for this temperature
    similarity: Tensor  # (M, M) float64 cosines
    positive: Tensor  # (M, M) bool: j is the other view of i's example
    partner: Tensor  # (M,) int64: the row of each row's positive
    weights: Tensor  # (M, M) float64: each row's softmax without the diagonal (0 there)
    per_anchor: Tensor  # (M,) float64: NT-Xent per anchor, -log weights[i, partner[i]]
    nt_xent: float  # lightly's NTXentLoss
    nt_xent_pml_instance: float  # PML's NTXentLoss, labels = example index (= lightly's)
    nt_xent_pml_class: float  # PML's NTXentLoss, labels = classes
    supcon: float  # PML's SupConLoss, labels = classes
    clip: float  # CLIP's symmetric loss, view 1 = images, view 2 = texts
    alignment: float
    uniformity: float
    lower_bound: float  # log(1 + (M - 2) exp(-2 / tau))
    collapsed: float  # log(M - 1)
    negatives: int  # lightly's (and PML instance labels') negatives per anchor: M - 2
    class_negatives: Tensor  # (M,) int64: PML's negatives per anchor with class labels
    class_positives: Tensor  # (M,) int64: PML's positives per anchor with class labels
    difference: str  # one sentence: lightly's negatives against PML's with class labels

    @property
    def views(self) -> int:
        return self.similarity.shape[0]


@dataclass(frozen=True)
class TemperatureSweep:
    """The batch's NT-Xent (lightly's) at each temperature, with its lower bound."""

    temperatures: tuple[float, ...]  # ascending
    losses: tuple[float, ...]
    lower_bounds: tuple[float, ...]  # log(1 + (M - 2) exp(-2 / tau))
    collapsed: float  # log(M - 1), whatever the temperature


def _pml_nt_xent(logits: Tensor, labels: Tensor) -> Tensor:
    """PML's NT-Xent from the (M, M) logits in O(M^2): for a positive pair (a, p) its term is
    ``log(exp(l_ap) + sum over a's negatives exp(l_an)) - l_ap``, and the negatives' sum
    depends on the anchor only. (The core's :func:`nt_xent_pml` gathers a row per positive
    pair instead: 65,000 rows of 512 for 4 classes of 64 examples.) Mean over pairs; 0
    when no anchor has a negative, as PML returns."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=logits.device)
    negatives = torch.logsumexp(logits.masked_fill(same, -math.inf), dim=1, keepdim=True)
    terms = torch.logaddexp(logits, negatives) - logits
    return terms[same & ~eye].mean()


def _count(values: Tensor) -> str:
    low, high = int(values.min()), int(values.max())
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def _difference(
    negatives: int, class_negatives: Tensor, class_positives: Tensor, lightly: float, pml: float
) -> str:
    if int(class_positives.max()) == 1:  # every class holds one example: the same negatives
        return (
            f"Every class here holds one example, so lightly and PML with class labels use "
            f"the same {negatives:,} negatives per anchor and agree ({lightly:.4f})."
        )
    return (
        f"lightly counts every view but the anchor and its positive as a negative "
        f"({negatives:,} per anchor), PML with class labels only the other classes' views "
        f"({_count(class_negatives)} per anchor, a view of the anchor's class being one more "
        f"positive), so their NT-Xent differs: {lightly:.4f} against {pml:.4f}."
    )


def read_batch(batch: ViewBatch, temperature: float) -> BatchReading:
    """Every number of the module's list for ``batch`` at ``temperature`` (0.01 to 2)."""
    tau = check_temperature(temperature)
    device = default_device()
    z = batch.views.to(device=device, dtype=torch.float64)
    examples = batch.example.to(device)
    classes = batch.classes.to(device)
    n, m = batch.n_examples, z.shape[0]
    eye = torch.eye(m, dtype=torch.bool, device=device)
    partner = batch.partner.to(device)

    similarity = similarity_matrix(z)
    log_weights = torch.log_softmax((similarity / tau).masked_fill(eye, -math.inf), dim=1)
    rows = torch.arange(m, device=device)
    positive = torch.zeros(m, m, dtype=torch.bool, device=device)
    positive[rows, partner] = True

    per_anchor = nt_xent_loss(z[:n], z[n:], tau, reduction="none")
    same_class = classes[:, None] == classes[None, :]
    class_positives = (same_class & ~eye).sum(dim=1)
    class_negatives = m - 1 - class_positives
    nt_xent = per_anchor.mean().item()
    pml_class = _pml_nt_xent(similarity / tau, classes).item()
    return BatchReading(
        temperature=tau,
        logit_scale=math.log(1.0 / tau),
        similarity=similarity.cpu(),
        positive=positive.cpu(),
        partner=partner.cpu(),
        weights=log_weights.exp().cpu(),
        per_anchor=per_anchor.cpu(),
        nt_xent=nt_xent,
        nt_xent_pml_instance=nt_xent_pml(z, examples, tau).item(),
        nt_xent_pml_class=pml_class,
        supcon=supcon_loss(z, classes, tau).item(),
        clip=clip_loss(z[:n], z[n:], math.log(1.0 / tau)).item(),
        alignment=alignment(z[:n], z[n:]).item(),
        uniformity=uniformity(z).item(),
        lower_bound=info_nce_lower_bound(m - 2, tau),
        collapsed=collapsed_info_nce(m - 2),
        negatives=m - 2,
        class_negatives=class_negatives.cpu(),
        class_positives=class_positives.cpu(),
        difference=_difference(m - 2, class_negatives, class_positives, nt_xent, pml_class),
    )


def default_temperatures(count: int = 25) -> tuple[float, ...]:
    """``count`` temperatures evenly spaced in log from :data:`TEMPERATURE`'s low to high."""
    lo, hi = math.log(TEMPERATURE.lo), math.log(TEMPERATURE.hi)
    values = [math.exp(lo + (hi - lo) * k / (count - 1)) for k in range(count)]
    values[0], values[-1] = TEMPERATURE.lo, TEMPERATURE.hi  # exactly the ends
    return tuple(values)


def temperature_sweep(
    batch: ViewBatch, temperatures: Sequence[float] | None = None
) -> TemperatureSweep:
    """lightly's NT-Xent of ``batch`` at each of ``temperatures`` (ascending; default
    :func:`default_temperatures`), the cosines computed once."""
    taus = tuple(default_temperatures() if temperatures is None else temperatures)
    taus = tuple(check_temperature(t) for t in taus)
    if not taus or any(b <= a for a, b in zip(taus, taus[1:], strict=False)):
        raise ValueError("temperatures must be a non-empty ascending sequence")
    device = default_device()
    z = batch.views.to(device=device, dtype=torch.float64)
    m = z.shape[0]
    similarity = similarity_matrix(z)
    off_diagonal = similarity.masked_fill(torch.eye(m, dtype=torch.bool, device=device), -math.inf)
    positives = similarity[torch.arange(m, device=device), batch.partner.to(device)]
    losses = [
        (torch.logsumexp(off_diagonal / tau, dim=1) - positives / tau).mean().item() for tau in taus
    ]
    return TemperatureSweep(
        temperatures=taus,
        losses=tuple(losses),
        lower_bounds=tuple(info_nce_lower_bound(m - 2, tau) for tau in taus),
        collapsed=collapsed_info_nce(m - 2),
    )


__all__ = [
    "BatchReading",
    "TemperatureSweep",
    "default_temperatures",
    "read_batch",
    "temperature_sweep",
]
