"""A batch of 2N views read by the softmax contrastive losses: the similarity matrix, the
positive mask, each row's softmax, NT-Xent per anchor by a plain loop, lightly's NT-Xent
beside pytorch-metric-learning's with instance and with class labels, SupCon and CLIP against
the libraries and ``F.cross_entropy``, the measures, the sweep over temperatures."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml_losses

from lossviz.batches.contrastive_batch import (
    default_temperatures,
    read_batch,
    temperature_sweep,
)
from lossviz.batches.contrastive_views import make_views
from lossviz.core.device import DEVICE_ENV_VAR
from lossviz.core.softmax_contrastive import DegenerateError, nt_xent_pml
from tests.conftest import DEVICES

TEMPERATURES = (0.01, 0.07, 0.5, 2.0)


def loop_nt_xent(views: torch.Tensor, tau: float) -> list[float]:
    """NT-Xent per anchor as SimCLR writes it, with plain Python loops over unit rows:
    ``-log(exp(s_ip / tau) / sum over k != i of exp(s_ik / tau))``, p = the other view."""
    rows = [[float(x) for x in row] for row in views]
    m = len(rows)
    n = m // 2

    def cos(a, b):
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    values = []
    for i in range(m):
        p = (i + n) % m
        # Shift by the largest logit (1 / tau at most) to stay finite at tau = 0.01.
        shift = 1.0 / tau
        top = math.exp(cos(rows[i], rows[p]) / tau - shift)
        bottom = sum(math.exp(cos(rows[i], rows[k]) / tau - shift) for k in range(m) if k != i)
        values.append(-math.log(top / bottom))
    return values


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("source", ["blobs", "digits"])
def test_per_anchor_nt_xent_is_the_plain_loop(source, tau):
    batch = make_views(source, 6, 3, 0.4, seed=2)
    reading = read_batch(batch, tau)
    assert reading.per_anchor.tolist() == pytest.approx(loop_nt_xent(batch.views, tau), rel=1e-9)
    assert reading.nt_xent == pytest.approx(reading.per_anchor.mean().item(), rel=1e-12)


def test_shapes_mask_and_the_rows_softmax():
    batch = make_views("digits", 5, 2, 0.3, seed=4)
    reading = read_batch(batch, 0.2)
    m = 10
    for tensor in (reading.similarity, reading.positive, reading.weights):
        assert tensor.shape == (m, m) and tensor.device.type == "cpu"
    assert reading.views == m and reading.negatives == m - 2
    assert reading.similarity.dtype == torch.float64 and reading.positive.dtype == torch.bool
    # The positive mask: one per row, the other view of the same example, symmetric.
    assert reading.positive.sum(dim=1).tolist() == [1] * m
    assert torch.equal(reading.positive, reading.positive.T)
    assert not reading.positive.diagonal().any()
    i, j = reading.positive.nonzero(as_tuple=True)
    assert torch.equal(batch.example[i], batch.example[j]) and torch.equal(j, reading.partner)
    assert reading.partner.tolist() == [5, 6, 7, 8, 9, 0, 1, 2, 3, 4]
    # Cosines by hand.
    expected = [[float(a @ b) for b in batch.views] for a in batch.views]
    assert reading.similarity.flatten().tolist() == pytest.approx(sum(expected, []), abs=1e-12)
    # Each row's softmax leaves the anchor out and sums to 1.
    torch.testing.assert_close(reading.weights.sum(dim=1), torch.ones(m, dtype=torch.float64))
    assert reading.weights.diagonal().tolist() == [0.0] * m
    for row in range(m):
        exps = [math.exp(expected[row][k] / 0.2) if k != row else 0.0 for k in range(m)]
        assert reading.weights[row].tolist() == pytest.approx([e / sum(exps) for e in exps])
    # The loss per anchor is -log of its positive's weight.
    positive_weight = reading.weights[torch.arange(m), reading.partner]
    torch.testing.assert_close(reading.per_anchor, -torch.log(positive_weight))


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize(("source", "dim"), [("blobs", 2), ("blobs", 3), ("digits", 3)])
def test_lightly_equals_pml_with_instance_labels_and_differs_with_class_labels(source, dim, tau):
    batch = make_views(source, 24, dim, 0.3, seed=7)
    reading = read_batch(batch, tau)
    assert reading.nt_xent_pml_instance == pytest.approx(reading.nt_xent, rel=1e-10)
    assert reading.nt_xent_pml_class != pytest.approx(reading.nt_xent, rel=1e-3)
    # The negatives per anchor: lightly 2N - 2; PML with classes, the other classes' views.
    sizes = torch.bincount(batch.classes)  # views per class
    assert reading.negatives == 46
    assert torch.equal(reading.class_negatives, 48 - sizes[batch.classes])
    assert torch.equal(reading.class_positives, sizes[batch.classes] - 1)
    low, high = int(reading.class_negatives.min()), int(reading.class_negatives.max())
    assert low < 46
    assert "46 per anchor" in reading.difference
    assert (f"{low} per anchor" if low == high else f"{low} to {high} per anchor") in (
        reading.difference
    )
    assert f"{reading.nt_xent:.4f}" in reading.difference
    assert f"{reading.nt_xent_pml_class:.4f}" in reading.difference


def test_one_example_per_class_makes_the_two_agree_and_says_so():
    batch = make_views("blobs", 2, 3, 0.2, seed=0)  # two examples, two classes
    reading = read_batch(batch, 0.3)
    assert reading.nt_xent_pml_class == pytest.approx(reading.nt_xent, rel=1e-10)
    assert reading.class_negatives.tolist() == [2] * 4
    assert "agree" in reading.difference and "2 negatives" in reading.difference


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("source", ["blobs", "digits"])
def test_the_losses_are_pytorch_metric_learnings(source, tau):
    batch = make_views(source, 40, 3, 0.5, seed=9)
    reading = read_batch(batch, tau)
    ntxent = pml_losses.NTXentLoss(temperature=tau)
    assert reading.nt_xent == pytest.approx(ntxent(batch.views, batch.example).item(), rel=1e-9)
    assert reading.nt_xent_pml_class == pytest.approx(
        ntxent(batch.views, batch.classes).item(), rel=1e-9
    )
    supcon = pml_losses.SupConLoss(temperature=tau)(batch.views, batch.classes).item()
    assert reading.supcon == pytest.approx(supcon, rel=1e-9)
    # The O(M^2) form of PML's class-label NT-Xent is the core's transcription.
    core = nt_xent_pml(batch.views, batch.classes, tau).item()
    assert reading.nt_xent_pml_class == pytest.approx(core, rel=1e-10)


def test_a_batch_of_one_class_has_no_negatives_and_pml_returns_zero():
    # The first seed whose two digits share a label.
    seed = next(
        s for s in range(200) if len(set(make_views("digits", 2, 2, 0, s).classes.tolist())) == 1
    )
    batch = make_views("digits", 2, 2, 0.1, seed)
    reading = read_batch(batch, 0.1)
    assert reading.class_negatives.tolist() == [0] * 4
    assert reading.nt_xent_pml_class == 0.0
    pml = pml_losses.NTXentLoss(temperature=0.1)(batch.views, batch.classes).item()
    assert pml == 0.0
    assert "0 per anchor" in reading.difference


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_clip_is_the_symmetric_cross_entropy_with_scale_one_over_tau(tau):
    batch = make_views("digits", 12, 3, 0.3, seed=1)
    reading = read_batch(batch, tau)
    logits = batch.view1 @ batch.view2.T / tau
    targets = torch.arange(12)
    expected = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
    assert reading.clip == pytest.approx(expected.item(), rel=1e-10)
    assert reading.logit_scale == pytest.approx(math.log(1 / tau))
    assert math.exp(reading.logit_scale) <= 100 + 1e-9  # never above CLIP's clamp


def test_alignment_uniformity_and_the_bounds_by_hand():
    batch = make_views("blobs", 8, 2, 0.4, seed=3)
    reading = read_batch(batch, 0.1)
    gaps = [float((a - b).norm() ** 2) for a, b in zip(batch.view1, batch.view2, strict=True)]
    assert reading.alignment == pytest.approx(sum(gaps) / 8, rel=1e-12)
    v = batch.views
    pairs = [float((v[i] - v[j]).norm() ** 2) for i in range(16) for j in range(i + 1, 16)]
    expected = math.log(sum(math.exp(-2 * d) for d in pairs) / len(pairs))
    assert reading.uniformity == pytest.approx(expected, rel=1e-10)
    assert reading.lower_bound == pytest.approx(math.log(1 + 14 * math.exp(-2 / 0.1)))
    assert reading.collapsed == pytest.approx(math.log(15))
    assert float(reading.per_anchor.min()) >= reading.lower_bound


def test_collapsed_views_give_log_of_the_candidates():
    batch = make_views("blobs", 3, 2, 0.0, seed=0)
    same = dataclasses.replace(batch, views=batch.views[:1].expand(6, 2).clone())
    reading = read_batch(same, 0.5)
    assert reading.nt_xent == pytest.approx(math.log(5), rel=1e-12) == reading.collapsed


@pytest.mark.parametrize("tau", [0.0, 0.009, 2.5, math.nan])
def test_a_temperature_outside_its_range_is_refused(tau):
    with pytest.raises(DegenerateError, match="temperature"):
        read_batch(make_views("blobs", 4, 2, 0.1, 0), tau)


def test_the_temperature_sweep_is_read_batchs_nt_xent():
    batch = make_views("digits", 20, 3, 0.3, seed=5)
    taus = (0.01, 0.05, 0.3, 1.0, 2.0)
    sweep = temperature_sweep(batch, taus)
    assert sweep.temperatures == taus
    for tau, loss, bound in zip(taus, sweep.losses, sweep.lower_bounds, strict=True):
        reading = read_batch(batch, tau)
        assert loss == pytest.approx(reading.nt_xent, rel=1e-10)
        assert bound == pytest.approx(reading.lower_bound, rel=1e-12) and bound <= loss
    assert sweep.collapsed == pytest.approx(math.log(39))
    default = temperature_sweep(batch)
    assert default.temperatures == default_temperatures()
    assert default.temperatures[0] == 0.01 and default.temperatures[-1] == 2.0
    assert list(default.temperatures) == sorted(default.temperatures)
    with pytest.raises(ValueError, match="ascending"):
        temperature_sweep(batch, (0.5, 0.1))
    with pytest.raises(DegenerateError):
        temperature_sweep(batch, (0.001, 0.1))


@pytest.mark.parametrize("device", DEVICES)
def test_the_default_device_computes_and_cpu_tensors_come_back(device, monkeypatch):
    batch = make_views("digits", 64, 3, 0.2, seed=6)
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    on_cpu = read_batch(batch, 0.07)
    monkeypatch.setenv(DEVICE_ENV_VAR, device)
    there = read_batch(batch, 0.07)
    for name in ("similarity", "weights", "per_anchor", "positive", "class_negatives"):
        tensor = getattr(there, name)
        assert tensor.device.type == "cpu"
        torch.testing.assert_close(tensor, getattr(on_cpu, name), rtol=1e-9, atol=1e-12)
    for name in ("nt_xent", "nt_xent_pml_class", "supcon", "clip", "uniformity"):
        assert getattr(there, name) == pytest.approx(getattr(on_cpu, name), rel=1e-9)
