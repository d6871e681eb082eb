"""BatchAnalysis against plain loops, the core's batch losses and count_triplets."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from lossviz.batches.analysis import (
    MINING_DISTANCES,
    BatchAnalysis,
    batch_distances,
)
from lossviz.batches.export import counts_csv, triplets_csv
from lossviz.core.losses import (
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    batch_semihard_triplet_loss,
)
from lossviz.core.triplets import Kind, classify, count_triplets
from tests.conftest import DEVICES

P_OF = {"euclidean": 2.0, "manhattan": 1.0}


def batch(seed: int, n: int = 18, dims: int = 3, classes: int = 3, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dims, generator=gen, dtype=dtype)
    return x, torch.randint(0, classes, (n,), generator=gen)


def valid_triplets(labels: list[int]):
    n = len(labels)
    for a, p, neg in itertools.product(range(n), repeat=3):
        if a != p and labels[a] == labels[p] and labels[neg] != labels[a]:
            yield a, p, neg


def loop_deltas(dist: torch.Tensor, labels: list[int]) -> list[tuple[int, int, int, float]]:
    return [(a, p, n, float(dist[a, n] - dist[a, p])) for a, p, n in valid_triplets(labels)]


@pytest.mark.parametrize("distance", ["euclidean", "manhattan", "cosine"])
@pytest.mark.parametrize("seed", range(3))
def test_counts_sweep_and_histogram_equal_plain_loops(distance, seed):
    x, labels = batch(seed)
    analysis = BatchAnalysis(x, labels, distance)
    deltas = [d for *_, d in loop_deltas(analysis.dist, labels.tolist())]
    assert analysis.total == len(deltas)
    for margin in (0.0, 0.3, 1.0, 2.5):
        want = {kind: 0 for kind in Kind}
        for d in deltas:
            want[classify(0.0, d, margin)] += 1
        assert analysis.counts(margin) == want
        shares = analysis.shares_over_margins([margin], every=1)[0]
        assert shares.tolist() == pytest.approx([want[k] / len(deltas) for k in Kind], abs=1e-12)
    lo, hi = analysis.delta_range()
    assert (lo, hi) == (min(deltas), max(deltas))
    edges, counts = analysis.delta_histogram(7, every=1)
    assert counts.sum() == len(deltas) and len(edges) == 8
    for i in range(7):
        inside = sum(edges[i] < d <= edges[i + 1] or (i == 0 and d == edges[0]) for d in deltas)
        assert counts[i] == inside


@pytest.mark.parametrize("distance", ["euclidean", "manhattan"])
def test_counts_equal_count_triplets(distance):
    x, labels = batch(5, n=60, dims=8, classes=5)
    analysis = BatchAnalysis(x, labels, distance)
    for margin in (0.0, 0.5, 2.0):
        assert analysis.counts(margin) == count_triplets(x, labels, margin, P_OF[distance])


def test_pictures_of_large_batches_count_every_kth_anchor(monkeypatch):
    monkeypatch.setattr("lossviz.batches.analysis.PICTURE_ANCHORS", 10)
    x, labels = batch(6, n=25)
    analysis = BatchAnalysis(x, labels)
    assert analysis.anchor_stride == 3
    sampled = [t for t in loop_deltas(analysis.dist, labels.tolist()) if t[0] % 3 == 0]
    edges, counts = analysis.delta_histogram(5)
    assert counts.sum() == len(sampled) < analysis.total
    for i in range(5):
        first = i == 0
        inside = sum(edges[i] < d <= edges[i + 1] or (first and d == edges[0]) for *_, d in sampled)
        assert counts[i] == inside
    easy = sum(d > 0.5 for *_, d in sampled) / len(sampled)
    assert analysis.shares_over_margins([0.5])[0, 0] == pytest.approx(easy)


def test_sweep_rows_sum_to_one_and_grow_monotonically():
    x, labels = batch(1, n=40)
    shares = BatchAnalysis(x, labels).shares_over_margins([0.0, 0.5, 1.0, 3.0, 50.0])
    assert torch.allclose(shares.sum(dim=1), torch.ones(5, dtype=torch.float64))
    assert (shares[1:, 0] <= shares[:-1, 0]).all()  # easy shrinks as m grows
    assert shares[-1, 0] == 0.0  # beyond every delta nothing is easy
    assert (shares[:, 2] == shares[0, 2]).all()  # hard does not depend on m


@pytest.mark.parametrize("distance", ["euclidean", "manhattan"])
@pytest.mark.parametrize("seed", range(4))
def test_batch_losses_equal_the_core_losses(distance, seed):
    x, labels = batch(seed, n=30, classes=4)
    p = P_OF[distance]
    for margin in (0.0, 0.2, 1.0):
        got = BatchAnalysis(x, labels, distance).losses(margin)
        assert got["batch_all"] == pytest.approx(
            float(batch_all_triplet_loss(x, labels, margin, p))
        )
        assert got["batch_hard"] == pytest.approx(
            float(batch_hard_triplet_loss(x, labels, margin, p))
        )
        fixed = batch_hard_triplet_loss(x, labels, margin, p, normalize=True)
        assert got["batch_hard_fix"] == pytest.approx(float(fixed))
        semi = batch_semihard_triplet_loss(x, labels, margin, p)
        assert got["batch_semihard"] == pytest.approx(float(semi))


def test_cosine_losses_equal_plain_loops():
    x, labels = batch(7, n=16)
    margin = 0.3
    analysis = BatchAnalysis(x, labels, "cosine")
    dist, lab = analysis.dist, labels.tolist()
    positive = [
        max(0.0, float(dist[a, p] - dist[a, n]) + margin) for a, p, n in valid_triplets(lab)
    ]
    active = [v for v in positive if v > 0]
    assert analysis.losses(margin)["batch_all"] == pytest.approx(sum(active) / len(active))
    per_pair = []
    for a, p in itertools.permutations(range(16), 2):
        if lab[a] != lab[p]:
            continue
        negatives = [float(dist[a, n]) for n in range(16) if lab[n] != lab[a]]
        farther = [d for d in negatives if d > float(dist[a, p])]
        chosen = min(farther) if farther else max(negatives)
        per_pair.append(max(0.0, float(dist[a, p]) - chosen + margin))
    assert analysis.losses(margin)["batch_semihard"] == pytest.approx(sum(per_pair) / len(per_pair))


def test_semihard_comparison_on_exact_ties():
    # 1-D points on integers: deltas are exact, some equal 0 and some equal the margin.
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0], [1.0], [5.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 0])
    margin = 1.0
    analysis = BatchAnalysis(x, labels)
    deltas = [d for *_, d in loop_deltas(analysis.dist, labels.tolist())]
    comparison = analysis.semihard_comparison(margin)
    assert comparison.pml == sum(0 < d <= margin for d in deltas)
    assert comparison.facenet == sum(0 < d < margin for d in deltas)
    assert comparison.pml > comparison.facenet  # the ties at delta == m exist
    pairs = [(a, p) for a, p in itertools.permutations(range(6), 2) if labels[a] == labels[p]]
    assert comparison.tf_addons == len(pairs)
    fallbacks = with_loss = 0
    for a, p in pairs:
        negatives = [float(analysis.dist[a, n]) for n in range(6) if labels[n] != labels[a]]
        farther = [d for d in negatives if d > float(analysis.dist[a, p])]
        fallbacks += not farther
        chosen = min(farther) if farther else max(negatives)
        with_loss += chosen - float(analysis.dist[a, p]) < margin
    assert (comparison.tf_fallbacks, comparison.tf_with_loss) == (fallbacks, with_loss)


@pytest.mark.parametrize("anchor", [0, 3, 11])
def test_anchor_view_equals_plain_loops(anchor):
    x, labels = batch(2, n=20)
    margin = 0.5
    analysis = BatchAnalysis(x, labels)
    view = analysis.anchor_view(anchor, margin)
    dist, lab = analysis.dist, labels.tolist()
    positives = [p for p in range(20) if p != anchor and lab[p] == lab[anchor]]
    negatives = [n for n in range(20) if lab[n] != lab[anchor]]
    assert view.positives == tuple(positives)
    assert view.hardest_positive == max(positives, key=lambda p: float(dist[anchor, p]))
    assert view.hardest_negative == min(negatives, key=lambda n: float(dist[anchor, n]))
    mine = [(p, n) for a, p, n in valid_triplets(lab) if a == anchor]
    kinds = [classify(float(dist[anchor, p]), float(dist[anchor, n]), margin) for p, n in mine]
    assert view.counts == {kind: kinds.count(kind) for kind in Kind}
    semihard = sorted({n for (p, n), k in zip(mine, kinds, strict=True) if k == Kind.SEMI_HARD})
    assert view.semihard_negatives == tuple(semihard)
    hp = view.hardest_positive
    for_hardest = [
        n for p, n in mine if p == hp and 0 < dist[anchor, n] - dist[anchor, p] <= margin
    ]
    assert view.semihard_for_hardest == tuple(for_hardest)
    active = sum(float(dist[anchor, n] - dist[anchor, p]) < margin for p, n in mine)
    assert view.batch_all_active == active
    for p, n, fallback in view.semihard_choices:
        farther = [m for m in negatives if float(dist[anchor, m]) > float(dist[anchor, p])]
        expected = (
            min(farther, key=lambda m: float(dist[anchor, m]))
            if farther
            else max(negatives, key=lambda m: float(dist[anchor, m]))
        )
        assert (n, fallback) == (expected, not farther)


def test_anchor_without_positive_is_reported_not_raised():
    x = torch.tensor([[0.0], [1.0], [2.0]])
    view = BatchAnalysis(x, torch.tensor([0, 1, 1])).anchor_view(0, 1.0)
    assert not view.usable and view.hardest_positive == -1 and sum(view.counts.values()) == 0
    with pytest.raises(ValueError, match="anchor"):
        BatchAnalysis(x, torch.tensor([0, 1, 1])).anchor_view(3, 1.0)


def test_triplet_rows_are_the_first_triplets_in_order():
    x, labels = batch(3, n=12)
    analysis = BatchAnalysis(x, labels)
    rows = analysis.triplet_rows(0.5, limit=40)
    expected = list(valid_triplets(labels.tolist()))[:40]
    got = list(zip(*(rows[k].tolist() for k in ("anchor", "positive", "negative")), strict=True))
    assert got == expected
    d = analysis.dist
    assert rows["delta"].tolist() == [float(d[a, n] - d[a, p]) for a, p, n in expected]
    assert rows["kind"].tolist() == [int(classify(d[a, p], d[a, n], 0.5)) for a, p, n in expected]
    everything = analysis.triplet_rows(0.5, limit=10**9)
    assert everything["anchor"].shape[0] == analysis.total


def test_csv_downloads_are_text_with_spreadsheet_safe_labels():
    x = torch.tensor([[0.0], [1.0], [3.0]])
    labels = torch.tensor([0, 0, 1])
    analysis = BatchAnalysis(x, labels)
    text = triplets_csv(analysis.triplet_rows(1.0, 10), ("=cmd()", "b"), labels)
    lines = text.splitlines()
    assert lines[0].split(",")[:5] == ["anchor", "positive", "negative", "anchor_label",
                                       "negative_label"]  # fmt: skip
    assert lines[1] == "0,1,2,'=cmd(),b,1,3,2,easy"
    assert len(lines) == 1 + analysis.total
    counts = counts_csv(analysis.counts(1.0), 1.0, "euclidean").splitlines()
    assert counts[0] == "kind,count,share,margin,distance"
    # (0, 1, 2): delta 3 - 1 = 2 > m, easy; (1, 0, 2): delta 2 - 1 = 1 = m, semi-hard.
    assert counts[1:] == ["easy,1,0.500000,1.0,euclidean", "semi-hard,1,0.500000,1.0,euclidean",
                          "hard,0,0.000000,1.0,euclidean"]  # fmt: skip


def test_batches_without_triplets_give_zeros_and_the_libraries_one_class_values():
    x = torch.randn(5, 2, dtype=torch.float64)
    one_class = torch.zeros(5, dtype=torch.int64)
    analysis = BatchAnalysis(x, one_class)
    assert analysis.total == 0 and analysis.counts(1.0) == dict.fromkeys(Kind, 0)
    losses = analysis.losses(1.0)
    assert losses["batch_all"] == losses["batch_hard"] == 0.0
    # Quaterion's fix and TF Addons' semi-hard still have a value on one class.
    assert losses["batch_hard_fix"] == pytest.approx(
        batch_hard_triplet_loss(x, one_class, 1.0, normalize=True).item()
    )
    assert losses["batch_semihard"] == pytest.approx(
        batch_semihard_triplet_loss(x, one_class, 1.0).item()
    )
    assert analysis.shares_over_margins([0.5]).tolist() == [[0.0, 0.0, 0.0]]
    assert analysis.delta_histogram(4)[1].sum() == 0


def test_cosine_distances():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, 0.0]])
    dist = batch_distances(x, "cosine")
    assert torch.diag(dist).tolist() == [0.0] * 4
    assert dist[0, 1] == pytest.approx(1.0) and dist[0, 2] == pytest.approx(2.0)
    assert dist[3, 0] == pytest.approx(1.0)  # a zero vector is at distance 1
    with pytest.raises(ValueError, match="distance"):
        batch_distances(x, "chebyshev")


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_bad_margins_are_refused(bad):
    x, labels = batch(0, n=6)
    with pytest.raises(ValueError, match="margin"):
        BatchAnalysis(x, labels).counts(bad)


def test_non_finite_embeddings_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        BatchAnalysis(torch.tensor([[0.0], [math.nan]]), torch.tensor([0, 1]))


def oracle_distances(rows: list[list[float]], distance: str) -> list[list[float]]:
    """Python floats (float64) from the definitions, one pair at a time."""
    if distance == "euclidean":
        return [[math.dist(u, v) for v in rows] for u in rows]
    if distance == "manhattan":
        return [[math.fsum(abs(a - b) for a, b in zip(u, v, strict=True)) for v in rows]
                for u in rows]  # fmt: skip
    norms = [max(math.hypot(*u), 1e-12) for u in rows]  # floored as F.normalize

    def cosine(i: int, j: int) -> float:
        dot = math.fsum(a * b for a, b in zip(rows[i], rows[j], strict=True))
        return 0.0 if i == j else min(2.0, max(0.0, 1.0 - dot / (norms[i] * norms[j])))

    return [[cosine(i, j) for j in range(len(rows))] for i in range(len(rows))]


def oracle(rows: list[list[float]], lab: list[int], distance: str, margin: float, anchor: int):
    """Counts, the four batch losses and one anchor's view by plain loops in float64."""
    d = oracle_distances(rows, distance)
    n = len(rows)
    pos = [[j for j in range(n) if j != i and lab[j] == lab[i]] for i in range(n)]
    neg = [[j for j in range(n) if lab[j] != lab[i]] for i in range(n)]
    deltas = [d[a][k] - d[a][p] for a in range(n) for p in pos[a] for k in neg[a]]
    # No delta within rounding of a border: the device's float64 then classifies as we do.
    assert min(min(abs(t), abs(t - margin)) for t in deltas) > 1e-9
    counts = {
        Kind.HARD: sum(t <= 0 for t in deltas),
        Kind.SEMI_HARD: sum(0 < t <= margin for t in deltas),
        Kind.EASY: sum(t > margin for t in deltas),
    }
    active = [margin - t for t in deltas if margin - t > 0]
    hard = [max(0.0, max(d[a][p] for p in pos[a]) - min(d[a][k] for k in neg[a]) + margin)
            for a in range(n) if pos[a] and neg[a]]  # fmt: skip
    hp = [max((d[a][p] for p in pos[a]), default=0.0) for a in range(n)]
    hn = [min(d[a][k] for k in neg[a]) if neg[a] else max(d[a]) for a in range(n)]
    scale = max(sum(hn) / n, 1e-12)
    semihard = []
    for a in range(n):
        for p in pos[a]:
            farther = [d[a][k] for k in neg[a] if d[a][k] > d[a][p]]
            chosen = min(farther) if farther else max((d[a][k] for k in neg[a]), default=0.0)
            semihard.append(max(0.0, d[a][p] - chosen + margin))
    losses = {
        "batch_all": sum(active) / len(active),
        "batch_hard": sum(hard) / len(hard),
        "batch_hard_fix": sum(max(0.0, (hp[a] - hn[a]) / scale + margin) for a in range(n)) / n,
        "batch_semihard": sum(semihard) / len(semihard),
    }
    row = d[anchor]
    kinds = [row[k] - row[p] for p in pos[anchor] for k in neg[anchor]]
    view = {
        "counts": {
            Kind.EASY: sum(t > margin for t in kinds),
            Kind.SEMI_HARD: sum(0 < t <= margin for t in kinds),
            Kind.HARD: sum(t <= 0 for t in kinds),
        },
        "positives": tuple(pos[anchor]),
        "hardest_positive": max(pos[anchor], key=lambda p: row[p]),
        "hardest_negative": min(neg[anchor], key=lambda k: row[k]),
        "semihard_negatives": tuple(
            k for k in neg[anchor] if any(0 < row[k] - row[p] <= margin for p in pos[anchor])
        ),
        "batch_all_active": sum(row[k] - row[p] < margin for p in pos[anchor] for k in neg[anchor]),
    }
    return counts, losses, view, (min(deltas), max(deltas))


@pytest.mark.parametrize("distance", MINING_DISTANCES)
@pytest.mark.parametrize("device", DEVICES)
def test_every_device_gives_the_float64_oracles_answers(device, distance):
    x, labels = batch(4, n=40, dims=6, classes=4, dtype=torch.float32)
    margin, anchor = 0.4 if distance != "cosine" else 0.15, 7
    counts, losses, view, (lo, hi) = oracle(
        x.double().tolist(), labels.tolist(), distance, margin, anchor
    )
    here = BatchAnalysis(x.to(device), labels.to(device), distance)
    assert here.dist.device.type == device
    assert here.total == sum(counts.values())
    assert here.counts(margin) == counts
    shares = here.shares_over_margins([margin], every=1)[0].tolist()
    assert shares == pytest.approx([counts[k] / here.total for k in Kind], abs=1e-12)
    assert here.delta_range() == pytest.approx((lo, hi), rel=1e-9)
    assert here.losses(margin) == pytest.approx(losses, rel=1e-9)
    got = here.anchor_view(anchor, margin)
    assert {k: getattr(got, k) for k in view} == view
