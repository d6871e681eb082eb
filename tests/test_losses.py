"""Losses against torch's built-ins, pytorch-metric-learning, plain loops and fixed values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.reducers import MeanReducer

from lossviz.core.distances import cosine_distance, distance_matrix, lp_distance
from lossviz.core.expr import parse_distance
from lossviz.core.losses import (
    NonFiniteError,
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    batch_semihard_triplet_loss,
    contrastive_loss,
    triplet_margin_loss,
)
from lossviz.core.triplets import Kind, classify
from tests.conftest import DEVICES

# ---------------------------------------------------------------- triplet loss

MARGINS = [0.1, 0.5, 1.0, 2.0]
EPS_VALUES = [0.0, 1e-6, 1e-3]
REDUCTIONS = ["none", "mean", "sum"]
BATCH_SIZES = [1, 7, 64]


def _triplets(batch: int, dim: int, dtype, device, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, dim, generator=gen, dtype=dtype).to(device) for _ in range(3)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0, math.inf])
def test_triplet_loss_equals_torch_over_grid(device, dtype, swap, p):
    rtol = 1e-6 if dtype == torch.float32 else 1e-12
    for batch, dim in itertools.product(BATCH_SIZES, [2, 16]):
        a, pos, n = _triplets(batch, dim, dtype, device, seed=batch * dim)
        for margin, eps, reduction in itertools.product(MARGINS, EPS_VALUES, REDUCTIONS):
            kwargs = dict(margin=margin, p=p, eps=eps, swap=swap, reduction=reduction)
            ours = triplet_margin_loss(a, pos, n, **kwargs)
            ref = F.triplet_margin_loss(a, pos, n, **kwargs)
            assert ours.device == a.device
            torch.testing.assert_close(ours, ref, rtol=rtol, atol=1e-7 * rtol, msg=str(kwargs))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_loss_with_distance_function_equals_torch(device, dtype, swap):
    rtol = 1e-6 if dtype == torch.float32 else 1e-12
    functions = {
        "cosine": cosine_distance,
        "l1": lambda x, y: lp_distance(x, y, p=1.0),
        "typed chebyshev": parse_distance("max(abs(a - b))"),
    }
    a, pos, n = _triplets(50, 8, dtype, device, seed=5)
    for (name, fn), margin, reduction in itertools.product(functions.items(), MARGINS, REDUCTIONS):
        kwargs = dict(margin=margin, swap=swap, reduction=reduction)
        ours = triplet_margin_loss(a, pos, n, distance_function=fn, **kwargs)
        ref = F.triplet_margin_with_distance_loss(a, pos, n, distance_function=fn, **kwargs)
        torch.testing.assert_close(ours, ref, rtol=rtol, atol=1e-7 * rtol, msg=f"{name} {kwargs}")


def test_triplet_loss_unbatched_points():
    a, pos, n = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 3.0])
    torch.testing.assert_close(triplet_margin_loss(a, pos, n), F.triplet_margin_loss(a, pos, n))


# Fixed values measured with torch 2.13's F.triplet_margin_loss.
ORACLE_A = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
ORACLE_P = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
ORACLE_N = torch.tensor([[0.0, 3.0], [1.0, 1.0]])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 0.79289347),
        ({"p": 1.0}, 0.50000101),
        ({"p": math.inf}, 1.0),
        ({"eps": 0.0}, 0.79289323),
    ],
)
def test_triplet_loss_fixed_values(kwargs, expected):
    loss = triplet_margin_loss(ORACLE_A, ORACLE_P, ORACLE_N, **kwargs)
    assert loss.item() == pytest.approx(expected, abs=1e-7)


def test_triplet_loss_fixed_values_per_element():
    loss = triplet_margin_loss(ORACLE_A, ORACLE_P, ORACLE_N, margin=0.5, reduction="none")
    torch.testing.assert_close(loss, torch.tensor([0.0, 1.0857869]))


def test_swap_changes_the_answer():
    a, pos, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[1.5, 0.0]])
    assert triplet_margin_loss(a, pos, n, margin=1.0, eps=0.0).item() == pytest.approx(0.5)
    swapped = triplet_margin_loss(a, pos, n, margin=1.0, eps=0.0, swap=True)
    assert swapped.item() == pytest.approx(1.5)


def test_margin_zero_is_accepted():
    a, pos, n = _triplets(10, 3, torch.float64, "cpu")
    expected = torch.clamp_min(F.pairwise_distance(a, pos) - F.pairwise_distance(a, n), 0).mean()
    torch.testing.assert_close(triplet_margin_loss(a, pos, n, margin=0.0), expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"margin": -0.1}, "margin must be"),
        ({"margin": math.nan}, "margin must be"),
        ({"margin": math.inf}, "margin must be"),
        ({"reduction": "avg"}, "reduction must be one of"),
    ],
)
def test_triplet_loss_rejects_bad_arguments(kwargs, message):
    a, pos, n = _triplets(4, 2, torch.float32, "cpu")
    with pytest.raises(ValueError, match=message):
        triplet_margin_loss(a, pos, n, **kwargs)


def test_triplet_loss_rejects_mismatched_shapes():
    a, pos, _ = _triplets(4, 2, torch.float32, "cpu")
    with pytest.raises(ValueError, match="same shape.*negative \\(4, 3\\)"):
        triplet_margin_loss(a, pos, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="at least one point"):
        triplet_margin_loss(*(torch.zeros(0, 2) for _ in range(3)))


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_loss_gradcheck(p, swap):
    a, pos, n = (t.requires_grad_() for t in _triplets(6, 3, torch.float64, "cpu", seed=11))

    def loss(*xs):
        return triplet_margin_loss(*xs, margin=1.0, p=p, swap=swap, reduction="none")

    assert torch.autograd.gradcheck(loss, (a, pos, n))


@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_triplet_loss_gradcheck_with_anchor_on_positive(eps):
    a = torch.tensor([[0.3, -0.2], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    pos = a.detach().clone().requires_grad_()
    n = torch.tensor([[0.5, 0.4], [1.2, 0.9]], dtype=torch.float64, requires_grad=True)

    def loss(*xs):
        return triplet_margin_loss(*xs, margin=1.0, eps=eps, reduction="none")

    # The finite-difference step must be far below eps to see the smooth part.
    assert torch.autograd.gradcheck(loss, (a, pos, n), eps=1e-10, atol=1e-4)
    value = triplet_margin_loss(a, pos, n, eps=eps)
    value.backward()
    assert all(torch.isfinite(t.grad).all() for t in (a, pos, n))


def test_contrastive_and_batch_losses_gradcheck():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(10, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    for fn in (batch_all_triplet_loss, batch_semihard_triplet_loss):
        assert torch.autograd.gradcheck(lambda e, fn=fn: fn(e, y, margin=0.5), (x,))
    for normalize in (False, True):
        assert torch.autograd.gradcheck(
            lambda e, nm=normalize: batch_hard_triplet_loss(e, y, 0.5, normalize=nm), (x,)
        )
    x2 = torch.randn(10, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    similar = torch.tensor([1, 0] * 5)
    assert torch.autograd.gradcheck(
        lambda u, v: contrastive_loss(u, v, similar, margin=2.0, reduction="none"), (x, x2)
    )


# ---------------------------------------------------------------- contrastive


def test_contrastive_loss_equals_plain_formula():
    gen = torch.Generator().manual_seed(6)
    x1 = torch.randn(40, 4, generator=gen, dtype=torch.float64)
    x2 = torch.randn(40, 4, generator=gen, dtype=torch.float64)
    similar = torch.randint(0, 2, (40,), generator=gen)
    for margin, p in itertools.product([0.5, 2.0, 4.0], [1.0, 2.0]):
        ours = contrastive_loss(x1, x2, similar, margin=margin, p=p, reduction="none")
        for i in range(40):
            d = F.pairwise_distance(x1[i], x2[i], p=p).item()
            expected = d**2 if similar[i] else max(margin - d, 0.0) ** 2
            assert ours[i].item() == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_contrastive_label_convention():
    near, far = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.3, 0.4]])
    # Similar pair: pulled together, loss d^2.
    assert contrastive_loss(near, far, True, eps=0.0).item() == pytest.approx(0.25)
    # Dissimilar pair inside the margin: pushed out, loss (m - d)^2.
    assert contrastive_loss(near, far, False, margin=1.0, eps=0.0).item() == pytest.approx(0.25)
    assert contrastive_loss(near, far, torch.tensor([0]), margin=0.5, eps=0.0).item() == 0.0


def test_contrastive_rejects_bad_arguments():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="margin"):
        contrastive_loss(x, x, True, margin=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        contrastive_loss(x, torch.zeros(3, 3), True)


# ---------------------------------------------------------------- batch losses

# The cross-library case from the issue: 1-D points, Euclidean, margin 0.5.
CROSS_X = torch.tensor([0, 1, 0.5, 1.0, 1.25, 1.5, 2.0], dtype=torch.float64)[:, None]
CROSS_Y = torch.tensor([0, 0, 1, 1, 1, 1, 1])


def test_cross_library_case():
    assert batch_all_triplet_loss(CROSS_X, CROSS_Y, 0.5).item() == pytest.approx(0.8203125)
    assert batch_hard_triplet_loss(CROSS_X, CROSS_Y, 0.5).item() == pytest.approx(1.2142857)
    assert batch_semihard_triplet_loss(CROSS_X, CROSS_Y, 0.5).item() == pytest.approx(0.25)
    fixed = batch_hard_triplet_loss(CROSS_X, CROSS_Y, 0.5, normalize=True)
    assert fixed.item() == pytest.approx(2.3181818)


def _valid_triplets(labels):
    n = len(labels)
    for a, p, neg in itertools.product(range(n), repeat=3):
        if a != p and labels[a] == labels[p] and labels[neg] != labels[a]:
            yield a, p, neg


def _oracle_batch_all(x, labels, margin, p):
    losses = [
        max(
            lp_distance(x[a], x[q], p, eps=0).item()
            - lp_distance(x[a], x[n], p, eps=0).item()
            + margin,
            0.0,
        )
        for a, q, n in _valid_triplets(labels)
    ]
    positive = [v for v in losses if v > 0]
    return sum(positive) / len(positive) if positive else 0.0


def _distances(x, p):
    n = len(x)
    return [[lp_distance(x[i], x[j], p, eps=0).item() for j in range(n)] for i in range(n)]


def _oracle_batch_hard(x, labels, margin, p, normalize):
    """A plain loop: classic batch-hard over anchors with both; the fix over every anchor,
    hp = 0 without a positive, hn = the row's largest distance without a negative."""
    n, d = len(labels), _distances(x, p)
    rows = []
    for a in range(n):
        pos = [d[a][j] for j in range(n) if j != a and labels[j] == labels[a]]
        neg = [d[a][j] for j in range(n) if labels[j] != labels[a]]
        if normalize:
            rows.append((max(pos, default=0.0), min(neg) if neg else max(d[a])))
        elif pos and neg:
            rows.append((max(pos), min(neg)))
    if not rows:
        return 0.0
    scale = max(sum(hn for _, hn in rows) / len(rows), 1e-12) if normalize else 1.0
    return sum(max((hp - hn) / scale + margin, 0.0) for hp, hn in rows) / len(rows)


def _oracle_semihard(x, labels, margin, p, squared=False):
    """A plain loop, TF Addons' semantics: every positive pair; an anchor without a negative
    counts its chosen negative distance as 0."""
    n, d = len(labels), _distances(x, p)
    if squared:
        d = [[v * v for v in row] for row in d]
    losses = []
    for a in range(n):
        neg = [d[a][j] for j in range(n) if labels[j] != labels[a]]
        for q in range(n):
            if q == a or labels[q] != labels[a]:
                continue
            outside = [v for v in neg if v > d[a][q]]
            chosen = min(outside) if outside else max(neg, default=0.0)
            losses.append(max(d[a][q] - chosen + margin, 0.0))
    return sum(losses) / len(losses) if losses else 0.0


def _quaterion_batch_hard(dists: torch.Tensor, groups: torch.Tensor, margin: float):
    """Quaterion's ``TripletLoss(mining="hard").forward``, transcribed (its masks inlined)."""
    same = groups[:, None] == groups[None, :]
    anchor_positive_mask = (same & ~torch.eye(len(groups), dtype=torch.bool)).float()
    anchor_negative_mask = (~same).float()
    anchor_positive_dists = anchor_positive_mask * dists
    hardest_positive_dists = anchor_positive_dists.max(dim=1)[0]
    anchor_negative_dists = dists + dists.max(dim=1, keepdim=True)[0] * (1.0 - anchor_negative_mask)
    hardest_negative_dists = anchor_negative_dists.min(dim=1)[0]
    triplet_loss = F.relu(
        (hardest_positive_dists - hardest_negative_dists) / hardest_negative_dists.mean() + margin
    )
    return triplet_loss.mean()


def _tf_masked_maximum(data, mask):
    axis_minimums = data.min(axis=1, keepdims=True)
    return ((data - axis_minimums) * mask).max(axis=1, keepdims=True) + axis_minimums


def _tf_masked_minimum(data, mask):
    axis_maximums = data.max(axis=1, keepdims=True)
    return ((data - axis_maximums) * mask).min(axis=1, keepdims=True) + axis_maximums


def _tf_addons_semihard(pdist_matrix: np.ndarray, labels: np.ndarray, margin: float) -> float:
    """TF Addons' ``triplet_semihard_loss`` after its distance matrix, transcribed to NumPy."""
    labels = labels.reshape(-1, 1)
    adjacency = labels == labels.T
    adjacency_not = ~adjacency
    batch_size = labels.size
    pdist_matrix_tile = np.tile(pdist_matrix, (batch_size, 1))
    mask = np.tile(adjacency_not, (batch_size, 1)) & (
        pdist_matrix_tile > pdist_matrix.T.reshape(-1, 1)
    )
    mask_final = (
        (mask.astype(np.float64).sum(axis=1, keepdims=True) > 0.0).reshape(batch_size, batch_size).T
    )
    adjacency_not = adjacency_not.astype(np.float64)
    mask = mask.astype(np.float64)
    negatives_outside = (
        _tf_masked_minimum(pdist_matrix_tile, mask).reshape(batch_size, batch_size).T
    )
    negatives_inside = np.tile(_tf_masked_maximum(pdist_matrix, adjacency_not), (1, batch_size))
    semi_hard_negatives = np.where(mask_final, negatives_outside, negatives_inside)
    loss_mat = margin + pdist_matrix - semi_hard_negatives
    mask_positives = adjacency.astype(np.float64) - np.eye(batch_size)
    num_positives = mask_positives.sum()
    return float(np.maximum(loss_mat * mask_positives, 0.0).sum() / num_positives)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
def test_batch_losses_equal_plain_loops(seed, p):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 3, (12,), generator=gen).tolist()
    y = torch.tensor(labels)
    for margin in (0.2, 1.0):
        assert batch_all_triplet_loss(x, y, margin, p).item() == pytest.approx(
            _oracle_batch_all(x, labels, margin, p), rel=1e-12
        )
        assert batch_semihard_triplet_loss(x, y, margin, p).item() == pytest.approx(
            _oracle_semihard(x, labels, margin, p), rel=1e-12
        )
        assert batch_semihard_triplet_loss(x, y, margin, p, squared=True).item() == pytest.approx(
            _oracle_semihard(x, labels, margin, p, squared=True), rel=1e-12
        )
        for normalize in (False, True):
            assert batch_hard_triplet_loss(x, y, margin, p, normalize).item() == pytest.approx(
                _oracle_batch_hard(x, labels, margin, p, normalize), rel=1e-12
            )


@pytest.mark.parametrize("seed", range(3))
def test_batch_all_and_batch_hard_equal_pytorch_metric_learning(seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (32,), generator=gen)
    distance = LpDistance(normalize_embeddings=False)
    # batch all: every triplet, mean over the non-zero losses (PML's default reducer).
    pml_all = pml_losses.TripletMarginLoss(margin=0.3, distance=distance)
    torch.testing.assert_close(batch_all_triplet_loss(x, y, 0.3), pml_all(x, y))
    # batch hard: BatchHardMiner's triplets, plain mean.
    miner = pml_miners.BatchHardMiner(distance=distance)
    pml_hard = pml_losses.TripletMarginLoss(margin=0.3, distance=distance, reducer=MeanReducer())
    torch.testing.assert_close(batch_hard_triplet_loss(x, y, 0.3), pml_hard(x, y, miner(x, y)))


def test_collapse_fix_is_finite_at_full_collapse():
    x = torch.zeros(8, 2, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    for normalize in (False, True):
        loss = batch_hard_triplet_loss(x, y, margin=0.2, normalize=normalize)
        assert loss.item() == pytest.approx(0.2)
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(grad).all()


def test_collapse_fix_is_scale_invariant():
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(16, 2, generator=gen, dtype=torch.float64)
    y = torch.arange(16) % 4
    fixed = batch_hard_triplet_loss(x, y, 0.2, normalize=True)
    torch.testing.assert_close(batch_hard_triplet_loss(1e-3 * x, y, 0.2, normalize=True), fixed)
    # The classic loss falls towards the margin as the embeddings shrink.
    assert batch_hard_triplet_loss(1e-6 * x, y, 0.2).item() == pytest.approx(0.2, abs=1e-5)


def test_one_class_batches_as_each_library_defines_them():
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    one_class = torch.zeros(5, dtype=torch.int64)
    # No triplet: batch-all and classic batch-hard are 0 (with a gradient path).
    for fn in (batch_all_triplet_loss, batch_hard_triplet_loss):
        loss = fn(x, one_class, 0.5)
        assert loss.item() == 0.0
        loss.backward()
    # Quaterion's fix: hp = hn = each row's largest distance, so the loss is the margin.
    fixed = batch_hard_triplet_loss(x, one_class, 0.5, normalize=True)
    dist = distance_matrix(x.detach(), 2.0)
    assert fixed.item() == pytest.approx(_quaterion_batch_hard(dist, one_class, 0.5).item())
    assert fixed.item() == pytest.approx(0.5)
    # TF Addons' semi-hard: no negative, the chosen distance is 0: mean(margin + d_ap).
    semi = batch_semihard_triplet_loss(x, one_class, 0.5)
    off_diagonal = dist[~torch.eye(5, dtype=torch.bool)]
    assert semi.item() == pytest.approx((0.5 + off_diagonal).mean().item())
    assert semi.item() == pytest.approx(_tf_addons_semihard(dist.numpy(), one_class.numpy(), 0.5))


def test_where_we_differ_from_the_libraries_on_purpose():
    # No positive pair at all: TF Addons divides 0 by 0 (NaN); ours is 0.
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    distinct = torch.tensor([0, 1, 2])
    assert batch_semihard_triplet_loss(x, distinct, 0.5).item() == 0.0
    with np.errstate(invalid="ignore"):
        assert math.isnan(
            _tf_addons_semihard(distance_matrix(x, 2.0).numpy(), distinct.numpy(), 0.5)
        )
    # Exact collapse: Quaterion's fix is 0/0; ours is the margin (a floor of 1e-12 on mean(hn)).
    collapsed = torch.zeros(4, 2, dtype=torch.float64)
    pairs = torch.tensor([0, 0, 1, 1])
    assert math.isnan(_quaterion_batch_hard(distance_matrix(collapsed, 2.0), pairs, 0.2).item())
    assert batch_hard_triplet_loss(collapsed, pairs, 0.2, normalize=True).item() == pytest.approx(
        0.2
    )


@pytest.mark.parametrize("seed", range(6))
def test_the_fix_is_quaterions_forward_also_with_single_point_classes(seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(9, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 3, 3])  # class 2 has one point: no positive
    for margin in (0.2, 1.0):
        ours = batch_hard_triplet_loss(x, y, margin, normalize=True).item()
        theirs = _quaterion_batch_hard(distance_matrix(x, 2.0), y, margin).item()
        assert ours == pytest.approx(theirs, rel=1e-12)
        # Averaging only over the anchors in a triplet (the former definition) differs.
        assert ours != pytest.approx(_valid_only_fix(x, y, margin))


def _valid_only_fix(x, y, margin):
    d = distance_matrix(x, 2.0)
    rows = []
    for a in range(len(y)):
        pos = d[a][(y == y[a]) & (torch.arange(len(y)) != a)]
        neg = d[a][y != y[a]]
        if len(pos) and len(neg):
            rows.append((pos.max().item(), neg.min().item()))
    scale = sum(hn for _, hn in rows) / len(rows)
    return sum(max((hp - hn) / scale + margin, 0.0) for hp, hn in rows) / len(rows)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("squared", [False, True], ids=["euclidean", "tf-default-squared"])
def test_semihard_is_tf_addons_forward(seed, squared):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (12,), generator=gen)
    y[0] = 7  # a single-point class: an anchor without a positive
    pdist = distance_matrix(x, 2.0)
    if squared:
        pdist = pdist.square()
    for margin in (0.2, 1.0):
        ours = batch_semihard_triplet_loss(x, y, margin, squared=squared).item()
        assert ours == pytest.approx(
            _tf_addons_semihard(pdist.numpy(), y.numpy(), margin), rel=1e-12
        )
    if squared:  # TF Addons' default distance is the squared one: a different number
        assert ours != pytest.approx(batch_semihard_triplet_loss(x, y, 1.0).item())


def test_non_finite_batches_raise_a_clear_error():
    y = torch.tensor([0, 0, 1, 1])
    nan = torch.tensor([[0.0, 0.0], [1.0, math.nan], [2.0, 0.0], [3.0, 0.0]])
    huge = torch.tensor(
        [[0.0, 0.0], [3e38, 0.0], [-3e38, 0.0], [1.0, 1.0]]
    )  # finite, but d overflows
    for fn in (batch_all_triplet_loss, batch_hard_triplet_loss, batch_semihard_triplet_loss):
        with pytest.raises(NonFiniteError, match="the embeddings contain NaN"):
            fn(nan, y, 0.5)
        with pytest.raises(NonFiniteError, match="the distances overflow torch.float32"):
            fn(huge, y, 0.5)
    with pytest.raises(NonFiniteError, match="infinite"):
        batch_hard_triplet_loss(torch.tensor([[math.inf, 0.0]] * 4), y, 0.5, normalize=True)


def test_classify_refuses_nan():
    assert classify(0.0, math.inf, 1.0) == Kind.EASY  # infinity is far, not undefined
    with pytest.raises(ValueError, match="NaN"):
        classify(0.0, math.nan, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        classify(torch.tensor([0.0, math.inf]), torch.tensor([1.0, math.inf]), 1.0)


def test_batch_losses_reject_bad_input():
    with pytest.raises(ValueError, match="labels must be"):
        batch_hard_triplet_loss(torch.zeros(4, 2), torch.zeros(3, dtype=torch.int64), 0.5)
    with pytest.raises(ValueError, match="embeddings must be"):
        batch_all_triplet_loss(torch.zeros(4), torch.zeros(4, dtype=torch.int64), 0.5)
    with pytest.raises(ValueError, match="margin"):
        batch_semihard_triplet_loss(torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64), -1)


@pytest.mark.parametrize("device", DEVICES)
def test_batch_losses_keep_the_device(device):
    x = CROSS_X.to(device)
    y = CROSS_Y.to(device)
    for fn in (batch_all_triplet_loss, batch_hard_triplet_loss, batch_semihard_triplet_loss):
        assert fn(x, y, 0.5).device == x.device
    assert batch_all_triplet_loss(x, y, 0.5).item() == pytest.approx(0.8203125)
