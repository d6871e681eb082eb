"""The triplet diagram: its density against plain loops over every triplet, its kinds' counts
against BatchAnalysis and classify (ties included), its picks against the page's anchor view,
each dot's velocity under a gradient step (against finite differences, autograd and hand-worked
batches), and the figure's lines, bands, picks and direction arrows."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lossviz.batches import point_sets as data
from lossviz.batches.analysis import BatchAnalysis, batch_distances
from lossviz.batches.triplet_diagram import (
    DOT_LIMIT,
    Triplets,
    _bin_of,
    dot_velocities,
    kind_counts,
    loss_gradient,
    triplet_density,
)
from lossviz.core.losses import batch_hard_from_distances, hardest_pairs, label_masks
from lossviz.core.triplets import Kind, classify
from lossviz.figures import INK, KIND_COLORS
from lossviz.figures.triplet_diagram import (
    ARROW_SHARE,
    STEP_TRACE,
    band_polygons,
    direction_segments,
    triplet_diagram,
)


def batch(seed: int, n: int = 20, dims: int = 3, classes: int = 3):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dims, generator=gen, dtype=torch.float64)
    return x, torch.randint(0, classes, (n,), generator=gen)


def grid_batch(seed: int, n: int = 16):
    """Points on a small integer grid: Manhattan distances are integers, so many triplets
    tie (d(a, n) = d(a, p)), sit exactly at delta = margin, or on a bin edge."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 3, (n, 2), generator=gen).to(torch.float64)
    return x, torch.randint(0, 3, (n,), generator=gen)


def valid_triplets(labels: list[int]):
    n = len(labels)
    for a, p, neg in itertools.product(range(n), repeat=3):
        if a != p and labels[a] == labels[p] and labels[neg] != labels[a]:
            yield a, p, neg


def loop_bin(d: float, edges: np.ndarray) -> int:
    """The bin of the documented rule: edges[i] <= d < edges[i + 1], the last one closed and
    taking everything beyond."""
    bins = len(edges) - 1
    for i in range(bins - 1):
        if edges[i] <= d < edges[i + 1]:
            return i
    return bins - 1


def loop_histogram(dist: torch.Tensor, labels: list[int], edges: np.ndarray) -> np.ndarray:
    bins = len(edges) - 1
    out = np.zeros((bins, bins), dtype=np.int64)
    for a, p, neg in valid_triplets(labels):
        out[loop_bin(float(dist[a, p]), edges), loop_bin(float(dist[a, neg]), edges)] += 1
    return out


# --------------------------------------------------------------------------- density


@pytest.mark.parametrize("distance", ["euclidean", "manhattan", "cosine"])
@pytest.mark.parametrize("seed", range(3))
def test_the_density_is_a_plain_loops_histogram_of_every_triplet(distance, seed):
    x, labels = batch(seed)
    analysis = BatchAnalysis(x, labels, distance)
    density = triplet_density(analysis.dist, labels, bins=7)
    triplets = list(valid_triplets(labels.tolist()))
    assert density.total == len(triplets) == analysis.total == int(density.counts.sum())
    largest = max(max(analysis.dist[a, p], analysis.dist[a, n]) for a, p, n in triplets)
    assert density.edges[0] == 0 and density.edges[-1] == float(largest)
    assert density.counts.dtype == np.int64
    want = loop_histogram(analysis.dist, labels.tolist(), density.edges)
    np.testing.assert_array_equal(density.counts, want)


@pytest.mark.parametrize("seed", range(3))
def test_distances_on_bin_edges_and_beyond_d_max_land_as_documented(seed):
    x, labels = grid_batch(seed)
    analysis = BatchAnalysis(x, labels, "manhattan")  # integers 0..4: on the edges 0, 1, ...
    labels_list = labels.tolist()
    for d_max, bins in ((4.0, 4), (4.0, 8), (2.0, 2), (3.0, 5)):  # 2.0 and 3.0: some beyond
        density = triplet_density(analysis.dist, labels, bins=bins, d_max=d_max)
        assert density.edges[-1] == d_max
        want = loop_histogram(analysis.dist, labels_list, density.edges)
        np.testing.assert_array_equal(density.counts, want)
        assert density.counts.sum() == density.total == analysis.total


def test_binning_equals_a_search_of_the_edges_next_to_them():
    gen = torch.Generator().manual_seed(0)
    for top, bins in ((1.0, 10), (4.8149344491903525, 60), (0.3, 7), (1e6, 13)):
        edges = torch.linspace(0.0, top, bins + 1, dtype=torch.float64)
        near = torch.cat([edges, edges.nextafter(edges + 1), edges.nextafter(edges - 1)])
        values = torch.cat([near.clamp_min(0), torch.rand(5000, generator=gen) * top * 1.2])
        want = (torch.searchsorted(edges, values, right=True) - 1).clamp(0, bins - 1)
        assert torch.equal(_bin_of(values, edges), want)


def test_anchors_without_a_positive_or_a_negative_add_nothing():
    # class 2 has one row (no positive); its rows are still the others' negatives.
    x = torch.tensor([[0.0], [1.0], [3.0], [4.5], [9.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 2])
    analysis = BatchAnalysis(x, labels)
    density = triplet_density(analysis.dist, labels, bins=5)
    assert density.total == 4 * 3 == analysis.total
    want = loop_histogram(analysis.dist, labels.tolist(), density.edges)
    np.testing.assert_array_equal(density.counts, want)
    assert density.batch_hard.anchor.tolist() == [0, 1, 2, 3]
    one_class = triplet_density(analysis.dist, torch.zeros(5, dtype=torch.int64))
    assert one_class.total == 0 and one_class.counts.sum() == 0
    assert one_class.edges[-1] == 1.0 and one_class.batch_hard.anchor.size == 0
    assert one_class.dots is not None and one_class.dots.anchor.size == 0


def test_the_digits_every_triplet_binned():
    points = data.load_digits_points()
    analysis = BatchAnalysis(points.embeddings, points.labels)
    density = triplet_density(analysis.dist, analysis.labels)
    assert density.total == analysis.total == int(density.counts.sum())
    assert 500_000_000 < density.total < 540_000_000
    assert density.dots is None and density.batch_hard.anchor.size == 1797
    # Marginals: per bin of d(a, p), its pairs times their anchor's negatives.
    positive = analysis.positive
    negatives = analysis.negative.sum(dim=1)
    cells = _bin_of(analysis.dist, torch.from_numpy(density.edges))
    weights = (positive * negatives[:, None]).to(torch.int64)
    by_d_ap = torch.zeros(density.bins, dtype=torch.int64).index_add_(
        0, cells[positive], weights[positive]
    )
    np.testing.assert_array_equal(density.counts.sum(axis=1), by_d_ap.numpy())


def test_dots_are_every_triplet_in_order_up_to_the_limit():
    x, labels = batch(4, n=14)
    analysis = BatchAnalysis(x, labels)
    density = triplet_density(analysis.dist, labels)
    triplets = list(valid_triplets(labels.tolist()))
    assert 0 < len(triplets) <= DOT_LIMIT and density.dots is not None
    got = list(zip(density.dots.anchor.tolist(), density.dots.positive.tolist(),
                   density.dots.negative.tolist(), strict=True))  # fmt: skip
    assert got == triplets
    a, p, n = (torch.tensor(c) for c in zip(*triplets, strict=True))
    np.testing.assert_array_equal(density.dots.d_ap, analysis.dist[a, p].numpy())
    np.testing.assert_array_equal(density.dots.d_an, analysis.dist[a, n].numpy())
    for margin in (0.0, 0.5, 2.0):
        want = classify(analysis.dist[a, p], analysis.dist[a, n], margin).numpy()
        np.testing.assert_array_equal(density.dot_kinds(margin), want)
        kinds = density.dot_kinds(margin)
        assert {k: int((kinds == k).sum()) for k in Kind} == analysis.counts(margin)
    assert triplet_density(analysis.dist, labels, dot_limit=len(triplets) - 1).dots is None


@pytest.mark.parametrize(
    ("distances", "labels", "kwargs", "words"),
    [
        (torch.zeros(3, 3), torch.zeros(4), {}, "(N, N)"),
        (torch.zeros(3, 2), torch.zeros(3), {}, "(N, N)"),
        (torch.full((2, 2), math.nan), torch.zeros(2), {}, "finite"),
        (-torch.ones(2, 2), torch.zeros(2), {}, ">= 0"),
        (torch.ones(2, 2), torch.zeros(2), {"bins": 0}, "bins"),
        (torch.ones(2, 2), torch.zeros(2), {"d_max": 0.0}, "d_max"),
        (torch.ones(2, 2), torch.zeros(2), {"d_max": math.inf}, "d_max"),
    ],
)  # fmt: skip
def test_bad_input_is_refused(distances, labels, kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        triplet_density(distances, labels, **kwargs)


# --------------------------------------------------------------------------- kinds


def loop_kind_counts(dist: torch.Tensor, labels: list[int], margin: float) -> dict[Kind, int]:
    want = dict.fromkeys(Kind, 0)
    for a, p, n in valid_triplets(labels):
        want[classify(float(dist[a, p]), float(dist[a, n]), margin)] += 1
    return want


@pytest.mark.parametrize("seed", range(3))
def test_kind_counts_are_batch_analysis_and_classify_ties_included(seed):
    x, labels = grid_batch(seed, n=18)
    for distance in ("manhattan", "euclidean"):  # integers (ties) / square roots
        analysis = BatchAnalysis(x, labels, distance)
        for margin in (0.0, 1.0, 2.0, 1.5, math.sqrt(2), 5.0):  # 0, 1, 2: delta == margin
            got = kind_counts(analysis.dist, labels, margin)
            assert got == analysis.counts(margin)
            assert got == loop_kind_counts(analysis.dist, labels.tolist(), margin)
    dist = BatchAnalysis(x, labels, "manhattan").dist
    deltas = {float(dist[a, n] - dist[a, p]) for a, p, n in valid_triplets(labels.tolist())}
    assert {0.0, 1.0, 2.0} <= deltas  # the ties are really there


def test_kind_counts_of_random_batches_at_several_margins():
    x, labels = batch(7, n=40, dims=5, classes=4)
    analysis = BatchAnalysis(x, labels)
    for margin in (0.0, 0.2, 0.7, 3.0):
        assert kind_counts(analysis.dist, labels, margin) == analysis.counts(margin)
    with pytest.raises(ValueError, match="margin"):
        kind_counts(analysis.dist, labels, -0.1)


# --------------------------------------------------------------------------- picks


@pytest.mark.parametrize(
    ("make", "distance"),
    [(lambda: batch(1), "euclidean"), (lambda: batch(2), "cosine"),
     (lambda: grid_batch(3), "manhattan"), (lambda: grid_batch(4), "euclidean")],
)  # fmt: skip
def test_picks_are_the_anchor_views_choices(make, distance):
    x, labels = make()
    analysis = BatchAnalysis(x, labels, distance)
    density = triplet_density(analysis.dist, labels)
    usable = [a for a in range(len(labels)) if analysis.anchor_view(a, 1.0).usable]
    assert density.batch_hard.anchor.tolist() == usable
    assert density.semi_hard.anchor.tolist() == usable
    fallbacks = 0
    for k, a in enumerate(usable):
        view = analysis.anchor_view(a, 1.0)
        hard = density.batch_hard
        assert (hard.positive[k], hard.negative[k]) == (view.hardest_positive,
                                                        view.hardest_negative)  # fmt: skip
        assert (hard.d_ap[k], hard.d_an[k]) == (view.d_hardest_positive, view.d_hardest_negative)
        p, n, fallback = next(c for c in view.semihard_choices if c[0] == view.hardest_positive)
        semi = density.semi_hard
        assert (semi.positive[k], semi.negative[k]) == (p, n)
        assert density.semi_hard_fallback[k] == fallback
        assert semi.d_an[k] == analysis.dist[a, n]
        fallbacks += fallback
    hardest = hardest_pairs(analysis.dist, labels)
    np.testing.assert_array_equal(density.batch_hard.d_ap, hardest.positive[usable].numpy())
    np.testing.assert_array_equal(density.batch_hard.d_an, hardest.negative[usable].numpy())


def test_batch_hard_picks_give_the_batch_hard_loss():
    x, labels = batch(8, n=30, dims=4, classes=3)
    analysis = BatchAnalysis(x, labels)
    picks = triplet_density(analysis.dist, labels).batch_hard
    for margin in (0.1, 1.0):
        loss = np.maximum(picks.d_ap - picks.d_an + margin, 0).mean()
        assert loss == pytest.approx(analysis.losses(margin)["batch_hard"], abs=1e-12)


def test_a_semi_hard_fallback_takes_the_last_of_the_farthest_negatives():
    # Anchor 0: positive at 5, negatives at 1, 2 and 2 (rows 2, 3, 4): none farther than
    # the positive, so the rule falls back to the farthest, the later row of the tie.
    x = torch.tensor([[0.0], [5.0], [1.0], [2.0], [-2.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1])
    analysis = BatchAnalysis(x, labels)
    density = triplet_density(analysis.dist, labels)
    k = density.semi_hard.anchor.tolist().index(0)
    assert density.semi_hard_fallback[k]
    assert density.semi_hard.negative[k] == 4 == analysis.anchor_view(0, 1.0).semihard_choices[0][1]
    assert density.batch_hard.negative[k] == 2


# --------------------------------------------------------------------------- figure


def figure_of(x, labels, margin: float, **kwargs):
    analysis = BatchAnalysis(x, labels)
    density = triplet_density(analysis.dist, labels, **kwargs)
    counts = analysis.counts(margin)
    fig = triplet_diagram(**density.drawing(margin), kind_counts=counts)
    return fig, density, counts


def test_the_figure_has_the_lines_the_named_bands_and_the_picks():
    x, labels = batch(9, n=60, dims=4, classes=4)
    margin = 0.8
    fig, density, counts = figure_of(x, labels, margin, dot_limit=0)  # the density
    top = float(density.edges[-1])
    for kind, rule in ((Kind.HARD, "δ ≤ 0"), (Kind.SEMI_HARD, "0 < δ ≤ m"),
                       (Kind.EASY, "δ > m")):  # fmt: skip
        (band,) = [t for t in fig.data if t.name == f"{kind.label} ({rule}): {counts[kind]:,}"]
        assert band.fill == "toself" and KIND_COLORS[kind] not in band.fillcolor  # rgba of it
        (note,) = [a for a in fig.layout.annotations if a.text.startswith(f"<b>{kind.label}</b>")]
        assert note.text.endswith(f"{counts[kind]:,}")
        xs, ys = band_polygons(top, margin)[kind]
        assert list(band.x) == xs and list(band.y) == ys
        assert classify(note.x, note.y, margin) == kind  # the word sits in its band
    (diagonal,) = [t for t in fig.data if t.name == "d(a,n) = d(a,p)"]
    assert list(diagonal.x) == [0.0, top] and list(diagonal.y) == [0.0, top]
    (shifted,) = [t for t in fig.data if t.name == "d(a,n) = d(a,p) + m"]
    assert list(shifted.x) == [0.0, top - margin] and list(shifted.y) == [margin, top]
    hard = next(t for t in fig.data if t.name.startswith("batch-hard picks"))
    semi = next(t for t in fig.data if t.name.startswith("semi-hard picks"))
    assert hard.marker.symbol != semi.marker.symbol
    np.testing.assert_array_equal(hard.x, density.batch_hard.d_ap)
    np.testing.assert_array_equal(semi.y, density.semi_hard.d_an)
    assert hard.name.endswith(f": {len(density.batch_hard.anchor):,}")
    (heat,) = [t for t in fig.data if t.type == "heatmap"]
    cells = np.asarray(heat.customdata)
    np.testing.assert_array_equal(cells[..., 0], density.counts.T)  # counts in the hover
    z = np.asarray(heat.z, dtype=float)
    filled = density.counts.T > 0
    np.testing.assert_allclose(z[filled], np.log10(density.counts.T[filled]))
    assert np.isnan(z[~filled]).all()
    assert fig.layout.xaxis.range == (0.0, top) and fig.layout.yaxis.range == (0.0, top)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert "d(a, p)" in fig.layout.xaxis.title.text and "d(a, n)" in fig.layout.yaxis.title.text
    assert sum(t.type == "scattergl" for t in fig.data) == 2


def test_few_triplets_are_drawn_as_dots_by_kind():
    x, labels = batch(10, n=12)
    fig, density, counts = figure_of(x, labels, 0.5)
    assert density.dots is not None
    assert not [t for t in fig.data if t.type == "heatmap"]
    for kind in Kind:
        (dots,) = [t for t in fig.data if t.name == f"{kind.label} triplets"]
        assert len(dots.x) == counts[kind]
        assert dots.marker.color == KIND_COLORS[kind]


def test_a_margin_beyond_the_plot_leaves_no_easy_band():
    x, labels = batch(11, n=12)
    fig, density, counts = figure_of(x, labels, 100.0)
    assert counts[Kind.EASY] == 0
    assert not [a for a in fig.layout.annotations if "easy" in a.text]
    easy = next(t for t in fig.data if t.name.startswith("easy ("))
    assert list(easy.x) == []


# --------------------------------------------------------------------------- gradient steps

DISTANCES = ["euclidean", "manhattan", "cosine"]
STEP_LOSSES = ["batch_all", "batch_hard"]


def reference_loss(x: torch.Tensor, labels: torch.Tensor, margin: float, distance: str, loss: str):
    """The page's batch losses written out over every triplet (O(N^3); small batches only),
    differentiable in ``x`` through ``batch_distances``."""
    dist = batch_distances(x, distance)
    if loss == "batch_hard":
        return batch_hard_from_distances(dist, labels, margin)
    positive, negative = label_masks(labels)
    valid = positive[:, :, None] & negative[:, None, :]
    active = valid & ((dist[:, None, :] - dist[:, :, None]) < margin)  # delta < m, as the page
    losses = (dist[:, :, None] - dist[:, None, :] + margin) * active
    return losses.sum() / active.sum().clamp_min(1)


def autograd_velocities(x, labels, triplets, margin, distance, loss) -> np.ndarray:
    """Each distance's gradient by autograd, one (i, j) entry at a time, dotted with -∇L."""
    step = -loss_gradient(x, labels, margin, distance, loss)
    xx = x.detach().clone().requires_grad_(True)
    dist = batch_distances(xx, distance)
    rates = {}
    pairs = {(int(a), int(o)) for a, p, n in zip(*triplets[:3], strict=True) for o in (p, n)}
    for i, j in sorted(pairs):
        (grad,) = torch.autograd.grad(dist[i, j], xx, retain_graph=True)
        rates[i, j] = float((grad * step).sum())
    return np.array([[rates[int(a), int(p)], rates[int(a), int(n)]]
                     for a, p, n in zip(*triplets[:3], strict=True)])  # fmt: skip


@pytest.mark.parametrize("loss", STEP_LOSSES)
@pytest.mark.parametrize("distance", DISTANCES)
def test_velocities_are_the_distances_rate_under_a_tiny_explicit_step(distance, loss):
    x, labels = batch(21, n=14, dims=3)
    margin = 0.2 if distance == "cosine" else 0.6
    density = triplet_density(batch_distances(x, distance), labels)
    velocities = dot_velocities(x, labels, density.dots, margin, distance, loss)
    assert velocities.shape == (density.total, 2) and velocities.dtype == np.float64
    gradient = loss_gradient(x, labels, margin, distance, loss)
    eps = 1e-6  # central difference: O(eps^2) ~ 1e-12 truncation, ~1e-10 rounding
    ahead, behind = (batch_distances(x - s * eps * gradient, distance) for s in (1, -1))
    rate = ((ahead - behind) / (2 * eps)).numpy()
    dots = density.dots
    finite_difference = np.stack(
        [rate[dots.anchor, dots.positive], rate[dots.anchor, dots.negative]], axis=1
    )
    assert np.abs(velocities).max() > 0.01  # something moves
    np.testing.assert_allclose(velocities, finite_difference, rtol=0, atol=1e-7)


@pytest.mark.parametrize("loss", STEP_LOSSES)
@pytest.mark.parametrize("distance", DISTANCES)
def test_the_loss_gradient_is_autograds_of_the_pages_loss(distance, loss):
    x, labels = batch(22, n=12, dims=4)
    margin = 0.2 if distance == "cosine" else 0.8
    analysis = BatchAnalysis(x, labels, distance)
    xx = x.clone().requires_grad_(True)
    value = reference_loss(xx, labels, margin, distance, loss)
    assert float(value.detach()) == pytest.approx(analysis.losses(margin)[loss], rel=1e-12)
    (want,) = torch.autograd.grad(value, xx)
    got = loss_gradient(x, labels, margin, distance, loss)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("distance", DISTANCES)
def test_the_distances_gradients_are_torchs_even_at_their_kinks(distance):
    # Rows 0 and 1 coincide (euclidean: d = 0; manhattan: every coordinate ties), rows 2 and
    # 3 tie in one coordinate; the closed forms must keep torch's choices there.
    x = torch.tensor([[0.5, 1.0], [0.5, 1.0], [2.0, -1.0], [2.0, 0.25], [-1.0, 0.5],
                      [-1.5, -2.0]], dtype=torch.float64)  # fmt: skip
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    dots = triplet_density(batch_distances(x, distance), labels).dots
    for loss in STEP_LOSSES:
        got = dot_velocities(x, labels, dots, 1.0, distance, loss)
        want = autograd_velocities(x, labels, dots, 1.0, distance, loss)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_batch_all_moves_a_lossless_triplet_through_the_active_ones_hand_worked():
    # 1-D: a0 = 0, a1 = 1 (class 0), b2 = 2.75, b3 = 3.25 (class 1); m = 1. Only (1, 0, 2)
    # has a loss: d10 - d12 + m = 1 - 1.75 + 1 = 0.25 (every other delta exceeds m), so
    # L = 2 x1 - x0 - x2 + m and -∇L = (1, -2, 1, 0): x0 and x2 move right, x1 left.
    x = torch.tensor([[0.0], [1.0], [2.75], [3.25]])
    labels = torch.tensor([0, 0, 1, 1])
    analysis = BatchAnalysis(x, labels)
    assert analysis.losses(1.0)["batch_all"] == 0.25
    density = triplet_density(analysis.dist, labels)
    rows = np.stack([density.dots.anchor, density.dots.positive, density.dots.negative], axis=1)
    np.testing.assert_array_equal(rows, [[0, 1, 2], [0, 1, 3], [1, 0, 2], [1, 0, 3],
                                         [2, 3, 0], [2, 3, 1], [3, 2, 0], [3, 2, 1]])  # fmt: skip
    torch.testing.assert_close(
        loss_gradient(x, labels, 1.0),
        torch.tensor([[-1.0], [2.0], [-1.0], [0.0]], dtype=torch.float64),
    )
    # d/dt of |x_i - x_j| is (the rate of the larger) - (the rate of the smaller).
    want = [[-3, 0],  # (0, 1, 2): no loss of its own; d01 shrinks by 3, d02 = x2 - x0 stays
            [-3, -1],  # (0, 1, 3): easy, yet both distances shrink
            [-3, 3],  # (1, 0, 2): the active triplet, along (-1, +1)
            [-3, 2], [-1, 0], [-1, 3], [-1, -1], [-1, 2]]  # fmt: skip
    np.testing.assert_array_equal(dot_velocities(x, labels, density.dots, 1.0), want)
    # Only (1, 0, 2) has a loss: the easy (0, 1, 2)'s velocity comes from it alone, through
    # the rows they share.
    delta = density.dots.d_an - density.dots.d_ap
    np.testing.assert_array_equal(np.flatnonzero(delta < 1.0), [2])
    assert density.dot_kinds(1.0)[0] == Kind.EASY


def test_batch_hard_shrinks_both_distances_of_a_hard_anchors_pick_hand_worked():
    # 1-D: q = -2 (class 1), a = 0 (class 0), n = 0.75 (class 1), p = 2 (class 0); m = 0.5.
    # Anchor a's hardest negative n (0.75) is closer than its hardest positive p (2): hard.
    # Per anchor: a (p, n), p (a, n), n (q, a), q (n, a), all with a positive loss, so
    # 4 L = (d_ap - d_an) + (d_pa - d_pn) + (d_nq - d_na) + (d_qn - d_qa) + 4 m and
    # -∇L = (1, -1, -1, 1) / 4: a and q move right, p and n left. The whole batch contracts.
    x = torch.tensor([[0.0], [2.0], [0.75], [-2.0]])  # a, p, n, q
    labels = torch.tensor([0, 0, 1, 1])
    analysis = BatchAnalysis(x, labels)
    density = triplet_density(analysis.dist, labels)
    picks = density.batch_hard
    rows = np.stack([picks.anchor, picks.positive, picks.negative], axis=1)
    np.testing.assert_array_equal(rows, [[0, 1, 2], [1, 0, 2], [2, 3, 0], [3, 2, 0]])
    assert picks.d_an[0] < picks.d_ap[0]  # anchor 0's hardest negative is the closer
    torch.testing.assert_close(
        loss_gradient(x, labels, 0.5, loss="batch_hard"),
        torch.tensor([[-1.0], [1.0], [1.0], [-1.0]], dtype=torch.float64) / 4,
    )
    velocities = dot_velocities(x, labels, picks, 0.5, loss="batch_hard")
    # (0, 1, 2): d_ap = x1 - x0 and d_an = x2 - x0 both shrink at 1/2: toward (0, 0).
    np.testing.assert_array_equal(velocities, [[-0.5, -0.5], [-0.5, 0.0], [-0.5, -0.5],
                                               [-0.5, 0.0]])  # fmt: skip
    assert (velocities[0] < 0).all()  # the collapse signature
    # Batch-all here: six active triplets, 6 L = -3 x0 + x1 + 3 x2 - x3 + const, so
    # -∇L = (3, -1, -3, 1) / 6 and the pick moves by (-1/6 - 1/2, -1/2 - 1/2): toward (0, 0)
    # as well (in 1-D, n between a and p, other anchors' triplets pull n across a).
    np.testing.assert_allclose(dot_velocities(x, labels, picks, 0.5)[0],
                               [-2 / 3, -1.0], rtol=0, atol=1e-15)  # fmt: skip


def test_no_loss_no_motion_and_rows_outside_the_batch_are_refused():
    x, labels = batch(23, n=10)
    dots = triplet_density(batch_distances(x, "euclidean"), labels).dots
    # Classes 100 apart, each within 0.1: every triplet easy at m = 1.
    far = 100.0 * labels[:, None].double() + 0.01 * torch.arange(10.0)[:, None]
    for loss in STEP_LOSSES:
        assert not dot_velocities(far, labels, dots, 1.0, loss=loss).any()
    empty = Triplets(*(np.zeros(0, dtype=np.int64),) * 3, *(np.zeros(0),) * 2)
    assert dot_velocities(x, labels, empty, 1.0).shape == (0, 2)
    outside = Triplets(np.array([0]), np.array([1]), np.array([10]), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="rows"):
        dot_velocities(x, labels, outside, 1.0)
    for kwargs, words in [({"loss": "batch_semihard"}, "loss"), ({"distance": "chebyshev"},
                          "distance"), ({"margin": -1.0}, "margin")]:  # fmt: skip
        with pytest.raises(ValueError, match=words):
            dot_velocities(x, labels, dots, **{"margin": 1.0, **kwargs})


def test_the_figure_draws_each_dots_direction_as_one_trace_of_arrows():
    x, labels = batch(24, n=12)
    analysis = BatchAnalysis(x, labels)
    density = triplet_density(analysis.dist, labels)
    velocities = dot_velocities(x, labels, density.dots, 0.5, loss="batch_hard")
    fig = triplet_diagram(**density.drawing(0.5), kind_counts=analysis.counts(0.5),
                          velocities=velocities, step_loss="batch-hard")  # fmt: skip
    (arrows,) = [t for t in fig.data if t.name and t.name.startswith(STEP_TRACE)]
    assert "(batch-hard)" in arrows.name and "length ∝ speed" in arrows.name
    assert arrows.line.color == INK and arrows.marker.color == INK  # ink, not a kind colour
    xs, ys = np.asarray(arrows.x, dtype=float), np.asarray(arrows.y, dtype=float)
    assert len(xs) == 3 * density.total and np.isnan(xs[2::3]).all() and np.isnan(ys[2::3]).all()
    np.testing.assert_allclose(xs[0::3], density.dots.d_ap, rtol=1e-6)  # from each dot
    np.testing.assert_allclose(ys[0::3], density.dots.d_an, rtol=1e-6)
    drawn = np.stack([xs[1::3] - xs[0::3], ys[1::3] - ys[0::3]], axis=1)
    speeds = np.hypot(*velocities.T)
    top = float(density.edges[-1])
    # One scale for all: the fastest is ARROW_SHARE of the axes long, the rest in proportion.
    np.testing.assert_allclose(drawn, velocities * (ARROW_SHARE * top / speeds.max()),
                               rtol=0, atol=1e-5 * top)  # fmt: skip
    sizes = np.asarray(arrows.marker.size)
    assert arrows.marker.symbol == "arrow" and arrows.marker.angleref == "previous"
    assert (sizes[1::3] > 0).all() and not sizes[0::3].any()  # heads at the ends only
    dots = [t for t in fig.data if t.name and t.name.endswith(" triplets")]
    assert all("per unit learning rate" in t.hovertemplate for t in dots)
    assert sum(t.type == "scattergl" for t in fig.data) == 5  # the arrows: one more trace
    assert (
        len(fig.data)
        == len(triplet_diagram(**density.drawing(0.5), kind_counts=analysis.counts(0.5)).data) + 1
    )


def test_arrows_of_a_batch_without_loss_and_without_dots():
    x, labels = batch(25, n=10)
    far = 100.0 * labels[:, None].double() + 0.01 * torch.arange(10.0)[:, None]
    density = triplet_density(batch_distances(far, "euclidean"), labels)
    still = np.zeros((density.total, 2))
    xs, ys = direction_segments(density.dots, still, 1.0)
    np.testing.assert_allclose(xs[1::3], xs[0::3])  # zero-length segments
    counts = kind_counts(batch_distances(far, "euclidean"), labels, 1.0)
    fig = triplet_diagram(**density.drawing(1.0), kind_counts=counts, velocities=still)
    (arrows,) = [t for t in fig.data if t.name and t.name.startswith(STEP_TRACE)]
    assert "nothing moves" in arrows.name
    heat = triplet_density(batch_distances(x, "euclidean"), labels, dot_limit=0)
    with pytest.raises(ValueError, match="dots"):
        triplet_diagram(**heat.drawing(1.0), kind_counts=counts, velocities=still)
    with pytest.raises(ValueError, match="one per dot"):
        triplet_diagram(**density.drawing(1.0), kind_counts=counts, velocities=still[:-1])
