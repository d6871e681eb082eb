"""Every figure carries the data it is given, in the app's colours; kinds come from the core."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lossviz.core.triplets import Kind, kinds_of_deltas, loss_along_delta
from lossviz.figures import CLASS_COLORS, COLORS, KIND_COLORS, RUN_COLORS, class_color
from lossviz.figures.batch import delta_histogram, embedding_scatter, margin_sweep
from lossviz.figures.curves import contrastive_curves, kinds_along_delta


def test_one_colour_table_keyed_by_kind():
    assert set(KIND_COLORS) == set(Kind)
    assert all(COLORS[kind.label] == color for kind, color in KIND_COLORS.items())
    assert set(COLORS) >= {"anchor", "positive", "negative", "loss", "margin"}
    assert len(set(KIND_COLORS.values())) == 3
    assert not set(RUN_COLORS) & set(KIND_COLORS.values())  # a run is never read as a kind
    assert class_color(0) == CLASS_COLORS[0] and class_color(len(CLASS_COLORS)) == CLASS_COLORS[0]


def test_kinds_along_delta_draws_the_curve_on_the_cores_kinds():
    deltas, losses, kinds = loss_along_delta(1.0, lo=-1.0, hi=2.0, steps=7)  # step 0.5
    fig = kinds_along_delta(deltas.tolist(), losses.tolist(), kinds.tolist(), margin=1.0)
    (curve,) = fig.data
    assert list(curve.x) == deltas.tolist() and list(curve.y) == losses.tolist()
    bands = [(s.x0, s.x1, s.fillcolor) for s in fig.layout.shapes if s.type == "rect"]
    # classify: hard for delta <= 0 (-1, -0.5, 0), semi-hard for (0, 1], easy beyond.
    assert bands == [
        (-1.0, 0.5, KIND_COLORS[Kind.HARD]),
        (0.5, 1.5, KIND_COLORS[Kind.SEMI_HARD]),
        (1.5, 2.0, KIND_COLORS[Kind.EASY]),
    ]
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["<b>hard</b>", "<b>semi-hard</b>", "<b>easy</b>"]
    assert [s.x0 for s in fig.layout.shapes if s.type == "line"] == [1.0]  # the margin


def test_contrastive_curves_carry_both_labels_the_pair_and_the_snippet():
    d = [0.0, 0.5, 1.0, 1.5]
    similar, dissimilar = [x * x for x in d], [max(1.0 - x, 0) ** 2 for x in d]
    fig = contrastive_curves(d, similar, dissimilar, 1.0, (0.5, 0.25, False), inverted=(0.5, 0.25))
    sim, dis, pair, snippet = fig.data
    assert list(sim.y) == similar and sim.line.color == COLORS["positive"]
    assert list(dis.y) == dissimilar and dis.line.color == COLORS["negative"]
    assert (pair.x[0], pair.y[0]) == (0.5, 0.25) and pair.marker.color == COLORS["negative"]
    assert snippet.marker.symbol == "diamond-open" and snippet.marker.color == COLORS["hard"]
    one = contrastive_curves(d, similar, dissimilar, 1.0, (1.0, 1.0, True))
    assert len(one.data) == 3 and one.data[2].marker.color == COLORS["positive"]


def test_embedding_scatter_colours_classes_and_draws_the_anchor():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    labels = np.array([0, 0, 1, 1])
    fig = embedding_scatter(xy, labels, ["a", "<b>x</b>"], anchor=0, hardest_positive=1,
                            hardest_negative=2, semihard=[3])  # fmt: skip
    first, second, ring, positive, negative, anchor = fig.data
    assert list(first.customdata) == [0, 1] and first.marker.color == CLASS_COLORS[0]
    assert list(second.customdata) == [2, 3] and second.marker.color == CLASS_COLORS[1]
    assert second.name == "&lt;b&gt;x&lt;/b&gt;"  # user text escaped
    assert list(ring.customdata) == [3] and ring.marker.color == COLORS["semi-hard"]
    assert list(positive.x) == [0.0, 1.0] and positive.line.color == COLORS["positive"]
    assert list(negative.y) == [0.0, 1.0] and negative.line.color == COLORS["negative"]
    assert list(anchor.customdata) == [0] and anchor.marker.color == COLORS["anchor"]


def test_delta_histogram_colours_bars_by_the_cores_kinds():
    edges = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    counts = np.array([3, 4, 5, 6])
    kinds = kinds_of_deltas(torch.from_numpy((edges[:-1] + edges[1:]) / 2), 0.5).tolist()
    fig = delta_histogram(edges, counts, kinds, 0.5)
    (bars,) = fig.data
    assert list(bars.x) == [-0.5, 0.25, 0.75, 1.5] and list(bars.y) == [3, 4, 5, 6]
    assert list(bars.width) == [1.0, 0.5, 0.5, 1.0]
    assert list(bars.marker.color) == [KIND_COLORS[Kind.HARD], KIND_COLORS[Kind.SEMI_HARD],
                                       KIND_COLORS[Kind.EASY], KIND_COLORS[Kind.EASY]]  # fmt: skip
    assert sorted(s.x0 for s in fig.layout.shapes) == [0.0, 0.5]


def test_margin_sweep_stacks_each_kinds_share_in_its_colour():
    margins = np.array([0.0, 0.5, 1.0])
    shares = np.array([[0.5, 0.0, 0.5], [0.3, 0.2, 0.5], [0.1, 0.4, 0.5]])  # easy, semi, hard
    fig = margin_sweep(margins, shares, 0.5)
    assert [t.name for t in fig.data] == ["hard", "semi-hard", "easy"]
    for trace in fig.data:
        kind = next(k for k in Kind if k.label == trace.name)
        assert list(trace.y) == shares[:, int(kind)].tolist()
        assert trace.line.color == KIND_COLORS[kind]


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_kinds_of_deltas_is_classify(margin):
    deltas = torch.tensor([-1.0, 0.0, 0.25, 0.5, 0.75])
    assert kinds_of_deltas(deltas, margin).tolist() == [
        int(Kind.HARD), int(Kind.HARD),
        int(Kind.SEMI_HARD if margin >= 0.25 else Kind.EASY),
        int(Kind.SEMI_HARD if margin >= 0.5 else Kind.EASY), int(Kind.EASY),
    ]  # fmt: skip
