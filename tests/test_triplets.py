"""Classification, exact counting and mining against pytorch-metric-learning and loops."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.miners import TripletMarginMiner

from lossviz.core.triplets import Kind, classify, count_triplets, loss_along_delta, mine_triplets
from tests.conftest import DEVICES

PML_TYPES = {None: "all", Kind.EASY: "easy", Kind.SEMI_HARD: "semihard", Kind.HARD: "hard"}


def test_classify_boundaries_with_dyadic_values():
    # delta = d_an - d_ap: <= 0 hard (a tie is hard), (0, m] semi-hard, > m easy.
    margin = 0.5
    cases = [
        (1.0, 0.75, Kind.HARD),
        (1.0, 1.0, Kind.HARD),
        (1.0, 1.0 + 2**-20, Kind.SEMI_HARD),
        (1.0, 1.25, Kind.SEMI_HARD),
        (1.0, 1.5, Kind.SEMI_HARD),
        (1.0, 1.5 + 2**-20, Kind.EASY),
        (1.0, 3.0, Kind.EASY),
    ]
    for d_ap, d_an, expected in cases:
        assert classify(d_ap, d_an, margin) is expected, (d_ap, d_an)
    d_ap = torch.tensor([c[0] for c in cases], dtype=torch.float32)
    d_an = torch.tensor([c[1] for c in cases], dtype=torch.float32)
    assert classify(d_ap, d_an, margin).tolist() == [int(c[2]) for c in cases]


def test_classify_at_margin_zero_has_no_semi_hard():
    assert classify(1.0, 1.0, 0.0) is Kind.HARD
    assert classify(1.0, 1.25, 0.0) is Kind.EASY


def test_kind_labels():
    assert [k.label for k in Kind] == ["easy", "semi-hard", "hard"]


def _loop_counts(x, labels, margin, p):
    dist = torch.cdist(x, x, p=p, compute_mode="donot_use_mm_for_euclid_dist")
    counts = dict.fromkeys(Kind, 0)
    n = len(labels)
    for a, q, neg in itertools.product(range(n), repeat=3):
        if a != q and labels[a] == labels[q] and labels[neg] != labels[a]:
            counts[classify(dist[a, q].item(), dist[a, neg].item(), margin)] += 1
    return counts


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
def test_count_triplets_equals_plain_loop(seed, p):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(14, 3, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 3, (14,), generator=gen)
    for margin in (0.0, 0.3, 1.0):
        assert count_triplets(x, labels, margin, p) == _loop_counts(x, labels.tolist(), margin, p)


def test_count_triplets_hand_made_boundaries():
    # 1-D points on a dyadic grid so every delta is exact.
    x = torch.tensor([[0.0], [0.5], [1.0], [1.5], [1.0]])
    labels = torch.tensor([0, 0, 1, 1, 1])
    counts = count_triplets(x, labels, margin=0.5)
    assert counts == _loop_counts(x.double(), labels.tolist(), 0.5, 2.0)
    # Anchor 0, positive 1 (d = 0.5): negatives at 1.0, 1.5, 1.0 give delta 0.5, 1.0, 0.5.
    ours = mine_triplets(x, labels, 0.5, Kind.SEMI_HARD)
    found = set(zip(*(t.tolist() for t in ours), strict=True))
    assert (0, 1, 2) in found and (0, 1, 4) in found and (0, 1, 3) not in found


def test_count_triplets_totals_and_edge_cases():
    x = torch.randn(20, 4, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0] * 5 + [1] * 15)
    counts = count_triplets(x, labels, 1.0)
    assert sum(counts.values()) == 5 * 4 * 15 + 15 * 14 * 5
    assert count_triplets(x, torch.zeros(20, dtype=torch.int64), 1.0) == dict.fromkeys(Kind, 0)
    single = count_triplets(x[:1], labels[:1], 1.0)
    assert single == dict.fromkeys(Kind, 0)


def test_count_triplets_rejects_bad_input():
    labels = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="NaN or infinite"):
        count_triplets(torch.tensor([[0.0], [math.nan]]), labels, 1.0)
    with pytest.raises(ValueError, match="margin"):
        count_triplets(torch.zeros(2, 1), labels, -1.0)
    with pytest.raises(ValueError, match="labels"):
        count_triplets(torch.zeros(2, 1), torch.tensor([0]), 1.0)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("margin", [0.1, 0.5, 2.0])
def test_mining_equals_pytorch_metric_learning(seed, p, margin):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(60, 6, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 5, (60,), generator=gen)
    counts = count_triplets(x, labels, margin, p)
    distance = LpDistance(p=p, normalize_embeddings=False)
    for kind, name in PML_TYPES.items():
        reference = TripletMarginMiner(margin=margin, type_of_triplets=name, distance=distance)
        expected = reference(x, labels)
        ours = mine_triplets(x, labels, margin, kind, p)
        for got, want in zip(ours, expected, strict=True):
            assert torch.equal(got, want), name
        expected_count = (
            counts[Kind.SEMI_HARD] + counts[Kind.HARD] if kind is None else counts[kind]
        )
        assert len(ours[0]) == expected_count


@pytest.mark.parametrize("device", DEVICES)
def test_counting_and_mining_keep_the_device(device):
    x = torch.randn(30, 3, generator=torch.Generator().manual_seed(2)).to(device)
    labels = (torch.arange(30) % 3).to(device)
    cpu_counts = count_triplets(x.cpu(), labels.cpu(), 0.5)
    assert count_triplets(x, labels, 0.5) == cpu_counts
    a, _, _ = mine_triplets(x, labels, 0.5, Kind.HARD)
    assert a.device == x.device
    assert len(a) == cpu_counts[Kind.HARD]


def test_loss_along_delta():
    deltas, loss, kinds = loss_along_delta(0.5, lo=-1.0, hi=1.0, steps=9)
    assert deltas.tolist() == [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]
    assert loss.tolist() == [1.5, 1.25, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0]
    assert [Kind(k).label for k in kinds.tolist()] == (
        ["hard"] * 5 + ["semi-hard"] * 2 + ["easy"] * 2
    )
    with pytest.raises(ValueError):
        loss_along_delta(0.5, lo=-2.0)


def test_margin_count_follows_the_floating_point_definition():
    from lossviz.core.triplets import _binary_search_count, _count_below

    # fl(0.1 + 0.2) = 0.30000000000000004, yet fl(0.30000000000000004 - 0.1) > 0.2:
    # a negative there is easy by the definition although d_an <= d_ap + margin.
    boundary = 0.1 + 0.2
    for copies in (1, 3, 12):  # many ties force the binary-search fallback
        row = [0.05, 0.2] + [boundary] * copies + [0.5, 0.7]
        sorted_rows = torch.tensor([row + [math.inf]], dtype=torch.float64)
        limit = torch.tensor([len(row)])
        d_ap = torch.tensor([[0.1, 0.0, 0.4]], dtype=torch.float64)
        fast = _count_below(sorted_rows, limit, d_ap, 0.2)
        exact = _binary_search_count(sorted_rows, limit.expand(1, 3), d_ap, 0.2)
        loop = [sum(1 for v in row if (v - d) <= 0.2) for d in d_ap[0].tolist()]
        assert fast.tolist() == exact.tolist() == [loop]
    assert loop[0] == 2  # the copies of 0.30000000000000004 are not within the margin


@pytest.mark.parametrize("seed", range(5))
def test_margin_count_fast_path_equals_binary_search(seed):
    from lossviz.core.triplets import _binary_search_count, _count_below

    gen = torch.Generator().manual_seed(seed)
    # A coarse grid gives many exact ties and deltas equal to the margin.
    rows = (torch.randint(0, 16, (20, 40), generator=gen).double() / 8).sort(dim=1).values
    limit = torch.randint(0, 41, (20,), generator=gen)
    rows[torch.arange(40)[None, :] >= limit[:, None]] = math.inf
    d_ap = torch.randint(0, 16, (20, 7), generator=gen).double() / 8
    for margin in (0.0, 0.25, 0.5, 0.1):
        fast = _count_below(rows, limit, d_ap, margin)
        exact = _binary_search_count(rows, limit[:, None].expand(20, 7), d_ap, margin)
        assert torch.equal(fast, exact)
