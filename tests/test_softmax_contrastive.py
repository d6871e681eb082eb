"""Softmax contrastive losses against pytorch-metric-learning, a transcription of lightly's
NT-Xent, ``F.cross_entropy``, plain loops and the closed forms; degenerate input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml_losses

from lossviz.core.softmax_contrastive import (
    CLIP_INIT_LOGIT_SCALE,
    DegenerateError,
    alignment,
    clip_loss,
    collapsed_info_nce,
    info_nce_loss,
    info_nce_lower_bound,
    info_nce_weights,
    naive_info_nce_loss,
    nt_xent_loss,
    nt_xent_pml,
    similarity_matrix,
    supcon_loss,
    uniformity,
)

TEMPERATURES = (0.01, 0.07, 0.5, 2.0)


def unit(z: torch.Tensor) -> torch.Tensor:
    return z / z.norm(dim=-1, keepdim=True)


def lightly_nt_xent(out0: torch.Tensor, out1: torch.Tensor, temperature: float) -> torch.Tensor:
    """lightly.loss.NTXentLoss.forward without a memory bank, one process (transcribed from
    lightly-ai/lightly, lightly/loss/ntx_ent_loss.py)."""
    batch_size, _ = out0.shape
    out0, out1 = F.normalize(out0, dim=1), F.normalize(out1, dim=1)
    diag_mask = torch.eye(batch_size, dtype=torch.bool)
    logits_00 = torch.einsum("nc,mc->nm", out0, out0) / temperature
    logits_01 = torch.einsum("nc,mc->nm", out0, out1) / temperature
    logits_10 = torch.einsum("nc,mc->nm", out1, out0) / temperature
    logits_11 = torch.einsum("nc,mc->nm", out1, out1) / temperature
    logits_00 = logits_00[~diag_mask].view(batch_size, -1)
    logits_11 = logits_11[~diag_mask].view(batch_size, -1)
    logits = torch.cat(
        [torch.cat([logits_01, logits_00], dim=1), torch.cat([logits_10, logits_11], dim=1)]
    )
    labels = torch.arange(batch_size).repeat(2)
    return torch.nn.CrossEntropyLoss(reduction="mean")(logits, labels)


def loop_info_nce(a, p, negatives, tau) -> float:
    """The textbook formula in float64, one anchor, with plain Python loops."""
    cos = lambda x, y: float(x @ y / (x.norm() * y.norm()))  # noqa: E731
    top = math.exp(cos(a, p) / tau)
    bottom = top + sum(math.exp(cos(a, n) / tau) for n in negatives)
    return -math.log(top / bottom)


# --------------------------------------------------------------------------- InfoNCE


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_info_nce_is_the_textbook_formula_and_cross_entropy(tau):
    g = torch.Generator().manual_seed(1)
    a, p, n = (
        torch.randn(s, generator=g, dtype=torch.float64) for s in ((4, 3), (4, 3), (4, 5, 3))
    )
    ours = info_nce_loss(a, p, n, tau, reduction="none")
    loops = [loop_info_nce(a[i], p[i], n[i], tau) for i in range(4)]
    assert ours.tolist() == pytest.approx(loops, rel=1e-10)
    logits = torch.cat([(unit(a) * unit(p)).sum(1, keepdim=True),
                        torch.einsum("bd,bkd->bk", unit(a), unit(n))], 1) / tau  # fmt: skip
    reference = F.cross_entropy(logits, torch.zeros(4, dtype=torch.long), reduction="none")
    torch.testing.assert_close(ours, reference)


def test_shared_negatives_and_weights():
    g = torch.Generator().manual_seed(2)
    a, p, n = (torch.randn(s, generator=g, dtype=torch.float64) for s in ((3, 2), (3, 2), (6, 2)))
    shared = info_nce_loss(a, p, n, 0.1, reduction="none")
    each = info_nce_loss(a, p, n.expand(3, 6, 2), 0.1, reduction="none")
    torch.testing.assert_close(shared, each)
    w = info_nce_weights(a, p, n, 0.1)
    assert w.shape == (3, 7) and torch.allclose(w.sum(1), torch.ones(3, dtype=torch.float64))
    # The loss is -log of the positive's weight.
    torch.testing.assert_close(shared, -torch.log(w[:, 0]))


def test_the_weights_are_the_negatives_shares_of_the_anchors_gradient():
    """dL/dz_a = (sum_n w_n z_n - (1 - w_p) z_p) / tau on unnormalised (raw dot) input."""
    g = torch.Generator().manual_seed(3)
    a = torch.randn(1, 4, generator=g, dtype=torch.float64, requires_grad=True)
    p, n = (torch.randn(s, generator=g, dtype=torch.float64) for s in ((1, 4), (1, 5, 4)))
    tau = 0.3
    info_nce_loss(a, p, n, tau, normalize=False).backward()
    w = info_nce_weights(a.detach(), p, n, tau, normalize=False)[0]
    expected = ((w[1:, None] * n[0]).sum(0) - (1 - w[0]) * p[0]) / tau
    torch.testing.assert_close(a.grad[0], expected)


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("k", [1, 4, 16])
def test_the_bounds(k, tau):
    """The least value (positive at s = 1, negatives at s = -1) and the collapsed value."""
    a = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    best = info_nce_loss(a, a, -a.expand(k, 2), tau)
    assert best.item() == pytest.approx(info_nce_lower_bound(k, tau), rel=1e-9)
    assert info_nce_lower_bound(k, tau) > 0  # never 0 (sentence-transformers #3179)
    assert info_nce_loss(a, a, a.expand(k, 2), tau).item() == pytest.approx(
        collapsed_info_nce(k), rel=1e-12
    )


def test_the_naive_formula_overflows_where_the_stable_one_does_not():
    a = torch.tensor([[1.0, 0.0]])
    p = torch.tensor([[0.999, 0.0447]])
    n = torch.tensor([[0.98, 0.2], [-1.0, 0.0]])
    naive = naive_info_nce_loss(a, p, n, 0.01)
    assert torch.isnan(naive).all()  # exp(99.9) / exp(100) in float32: inf / inf
    stable = info_nce_loss(a, p, n, 0.01)
    assert torch.isfinite(stable)
    exact = info_nce_loss(a.double(), p.double(), n.double(), 0.01)
    assert stable.item() == pytest.approx(exact.item(), rel=1e-4)
    assert torch.isfinite(naive_info_nce_loss(a, p, n, 0.5)).all()  # fine at tau = 0.5


# --------------------------------------------------------------------------- batches


def two_views(n: int = 8, d: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, d, generator=g, dtype=torch.float64)
    noise = lambda: 0.3 * torch.randn(n, d, generator=g, dtype=torch.float64)  # noqa: E731
    return base + noise(), base + noise()


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_nt_xent_equals_lightly(tau):
    v1, v2 = two_views()
    assert nt_xent_loss(v1, v2, tau).item() == pytest.approx(
        lightly_nt_xent(v1, v2, tau).item(), rel=1e-10
    )


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_nt_xent_pml_equals_pytorch_metric_learning_values_and_gradients(tau):
    g = torch.Generator().manual_seed(4)
    z = torch.randn(12, 4, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])
    ours = nt_xent_pml(z, labels, tau)
    (grad_ours,) = torch.autograd.grad(ours, z)
    theirs = pml_losses.NTXentLoss(temperature=tau)(z, labels)
    (grad_theirs,) = torch.autograd.grad(theirs, z)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-9)
    torch.testing.assert_close(grad_ours, grad_theirs, rtol=1e-7, atol=1e-9)


def test_nt_xent_pml_and_lightly_agree_on_simclr_labels_and_differ_on_classes():
    """PML #622 / lightly #1187: the same batch, two negative sets."""
    v1, v2 = two_views(n=6)
    z = torch.cat([v1, v2])
    simclr = torch.arange(6).repeat(2)
    assert nt_xent_pml(z, simclr, 0.2).item() == pytest.approx(
        nt_xent_loss(v1, v2, 0.2).item(), rel=1e-10
    )
    classes = torch.tensor([0, 0, 1, 1, 2, 2]).repeat(2)  # two examples per class
    assert nt_xent_pml(z, classes, 0.2).item() != pytest.approx(nt_xent_loss(v1, v2, 0.2).item())


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_supcon_equals_pytorch_metric_learning_values_and_gradients(tau):
    g = torch.Generator().manual_seed(5)
    z = torch.randn(10, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 3, 4])  # 4 has no positive: skipped
    ours = supcon_loss(z, labels, tau)
    (grad_ours,) = torch.autograd.grad(ours, z)
    theirs = pml_losses.SupConLoss(temperature=tau)(z, labels)
    (grad_theirs,) = torch.autograd.grad(theirs, z)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-9)
    torch.testing.assert_close(grad_ours, grad_theirs, rtol=1e-7, atol=1e-9)
    assert supcon_loss(z.detach(), labels, tau, reduction="none").shape == (9,)


def test_supcon_by_a_plain_loop():
    g = torch.Generator().manual_seed(6)
    z = unit(torch.randn(6, 2, generator=g, dtype=torch.float64))
    labels = [0, 0, 0, 1, 1, 2]
    tau = 0.5
    values = []
    for i in range(6):
        positives = [j for j in range(6) if j != i and labels[j] == labels[i]]
        if not positives:
            continue
        others = sum(math.exp(float(z[i] @ z[j]) / tau) for j in range(6) if j != i)
        values.append(-sum(math.log(math.exp(float(z[i] @ z[p]) / tau) / others)
                           for p in positives) / len(positives))  # fmt: skip
    ours = supcon_loss(z, torch.tensor(labels), tau, reduction="none")
    assert ours.tolist() == pytest.approx(values, rel=1e-10)


def test_clip_is_symmetric_cross_entropy_with_a_clamped_scale():
    g = torch.Generator().manual_seed(7)
    images, texts = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    logits = math.exp(CLIP_INIT_LOGIT_SCALE) * unit(images) @ unit(texts).T
    labels = torch.arange(5)
    expected = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    torch.testing.assert_close(clip_loss(images, texts, CLIP_INIT_LOGIT_SCALE), expected)
    assert clip_loss(images, texts, 10.0).item() == pytest.approx(
        clip_loss(images, texts, math.log(100)).item()
    )  # exp(10) > 100: clamped
    # scale = 1 / tau: CLIP's loss is the mean of two InfoNCE losses over the other column.
    tau = 0.1
    rows = info_nce_loss(images, texts, torch.stack([texts[[j for j in range(5) if j != i]]
                                                      for i in range(5)]), tau)  # fmt: skip
    cols = info_nce_loss(texts, images, torch.stack([images[[j for j in range(5) if j != i]]
                                                      for i in range(5)]), tau)  # fmt: skip
    assert clip_loss(images, texts, math.log(1 / tau)).item() == pytest.approx(
        ((rows + cols) / 2).item(), rel=1e-5
    )


# --------------------------------------------------------------------------- measures


def test_alignment_and_uniformity_by_hand():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    z2 = torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    assert alignment(z1, z2).item() == pytest.approx((2.0 + 0.0) / 2)  # |(1,-1)|^2 = 2
    square = torch.tensor([[1.0, 0], [0, 1.0], [-1.0, 0], [0, -1.0]], dtype=torch.float64)
    # pairs: 4 at distance^2 2, 2 at distance^2 4
    expected = math.log((4 * math.exp(-4) + 2 * math.exp(-8)) / 6)
    assert uniformity(square).item() == pytest.approx(expected, rel=1e-12)
    assert uniformity(square[:1].expand(4, 2)).item() == pytest.approx(0.0)  # one point


def test_evenly_spaced_points_are_the_most_uniform_on_the_circle():
    angles = torch.linspace(0, 2 * math.pi, 9, dtype=torch.float64)[:-1]
    even = torch.stack([angles.cos(), angles.sin()], 1)
    g = torch.Generator().manual_seed(8)
    for _ in range(20):
        other = torch.rand(8, generator=g, dtype=torch.float64) * 2 * math.pi
        uneven = torch.stack([other.cos(), other.sin()], 1)
        assert uniformity(even).item() <= uniformity(uneven).item() + 1e-12


def test_similarity_matrix_is_cosine():
    z = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]], dtype=torch.float64)
    s = similarity_matrix(z)
    assert s[0, 1].item() == pytest.approx(0.0) and s[0, 2].item() == pytest.approx(2**-0.5)
    assert similarity_matrix(z, normalize=False)[0, 2].item() == 2.0


# --------------------------------------------------------------------------- degenerate


@pytest.mark.parametrize("tau", [0.0, -0.1, 0.009, 2.01, math.nan, math.inf])
def test_a_temperature_outside_its_range_says_so(tau):
    a = torch.ones(1, 2)
    with pytest.raises(DegenerateError, match="temperature"):
        info_nce_loss(a, a, a, tau)


def test_a_zero_vector_has_no_direction():
    zero, a = torch.zeros(1, 2), torch.ones(1, 2)
    with pytest.raises(DegenerateError, match="zero vector"):
        info_nce_loss(zero, a, a, 0.1)
    with pytest.raises(DegenerateError, match="zero vector"):
        nt_xent_loss(torch.zeros(2, 2), torch.ones(2, 2), 0.1)
    assert torch.isfinite(info_nce_loss(zero, a, a, 0.1, normalize=False))  # raw dots: fine


def test_no_positive_is_a_clear_message_never_nan():
    z = torch.randn(4, 2)
    with pytest.raises(DegenerateError, match="positive"):
        supcon_loss(z, torch.arange(4), 0.1)
    with pytest.raises(DegenerateError, match="positive"):
        nt_xent_pml(z, torch.arange(4), 0.1)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="negatives"):
        info_nce_loss(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, 4, 2), 0.1)
    with pytest.raises(ValueError, match="N >= 2"):
        nt_xent_loss(torch.ones(1, 3), torch.ones(1, 3), 0.1)
    with pytest.raises(ValueError, match="reduction"):
        info_nce_loss(torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 2), 0.1, reduction="x")
