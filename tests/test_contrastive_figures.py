"""The InfoNCE page's figures carry the batch reading's numbers: the matrix with its positives
marked by a symbol and its diagonal left out, a row's softmax with the positive named, the
views on the circle and the sphere (class by colour and symbol), the curve over tau."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossviz.batches.contrastive_batch import read_batch, temperature_sweep
from lossviz.batches.contrastive_views import make_views
from lossviz.figures import COLORS, class_color
from lossviz.figures.contrastive import (
    SYMBOLS_2D,
    SYMBOLS_3D,
    class_symbol,
    similarity_heatmap,
    softmax_row,
    temperature_curve,
    views_figure,
)


@pytest.fixture(scope="module")
def scene():
    batch = make_views("blobs", 6, 2, 0.3, seed=1)
    return batch, read_batch(batch, 0.2)


def test_the_heatmap_holds_the_matrix_marks_positives_and_leaves_the_diagonal_out(scene):
    batch, reading = scene
    s, w = reading.similarity.numpy(), reading.weights.numpy()
    fig = similarity_heatmap(s, w, reading.partner.numpy(), anchor=2)
    heatmap, positives, diagonal = fig.data
    assert heatmap.type == "heatmap" and (heatmap.zmin, heatmap.zmax) == (-1.0, 1.0)
    z, custom = np.asarray(heatmap.z, dtype=np.float64), np.asarray(heatmap.customdata)
    assert np.isnan(np.diag(z)).all() and np.isnan(np.diag(custom)).all()
    off = ~np.eye(12, dtype=bool)
    np.testing.assert_allclose(z[off], s[off], atol=1e-6)
    np.testing.assert_allclose(custom[off], w[off], atol=1e-6)
    assert "softmax weight" in heatmap.hovertemplate and "s = " in heatmap.hovertemplate
    # The positives: a symbol on each (i, partner i) cell, not a colour.
    assert list(positives.x) == reading.partner.tolist() and list(positives.y) == list(range(12))
    assert positives.marker.symbol == "circle-open"
    np.testing.assert_allclose(
        np.asarray(positives.customdata)[:, 0], s[np.arange(12), reading.partner.numpy()]
    )
    assert list(diagonal.x) == list(range(12)) == list(diagonal.y)
    assert diagonal.marker.symbol == "x-thin" and "left out" in diagonal.hovertemplate
    lines = [sh for sh in fig.layout.shapes if sh.type == "line"]
    assert sorted({sh.x0 for sh in lines if sh.x0 == sh.x1}) == [5.5]  # view 1 | view 2
    (outline,) = [sh for sh in fig.layout.shapes if sh.type == "rect"]
    assert (outline.y0, outline.y1) == (1.5, 2.5) and outline.line.color == COLORS["anchor"]
    assert "12 views" in fig.layout.title.text and fig.layout.yaxis.range == (11.5, -0.5)
    light = similarity_heatmap(s, w, reading.partner.numpy(), with_weights=False)
    assert light.data[0].customdata is None and "weight" not in light.data[0].hovertemplate
    assert not light.layout.shapes[2:]  # no anchor outline


def test_the_softmax_row_names_the_positive_and_hatches_the_anchors_class(scene):
    batch, reading = scene
    anchor = 1
    partner = int(reading.partner[anchor])
    row = reading.weights[anchor].numpy()
    classes = batch.classes.numpy()
    fig = softmax_row(row, anchor, partner, classes=classes)
    names = [trace.name for trace in fig.data]
    assert names == ["negatives of other classes", "negatives of the anchor's class", "positive"]
    other, same, positive = fig.data
    assert list(positive.x) == [partner] and positive.y[0] == pytest.approx(row[partner])
    assert list(positive.text) == ["positive"] and positive.marker.color == COLORS["positive"]
    shown = sorted([*other.x, *same.x, *positive.x])
    assert shown == [j for j in range(12) if j != anchor]  # every other view, once
    assert all(classes[j] == classes[anchor] for j in same.x)
    assert all(classes[j] != classes[anchor] for j in other.x)
    assert same.marker.pattern.shape == "/" and other.marker.color == COLORS["negative"]
    np.testing.assert_allclose(np.asarray(other.y), row[np.asarray(other.x)])
    (arrow, uniform) = fig.layout.annotations
    assert arrow.x == partner and f"{row[partner]:.3f}" in arrow.text and "positive" in arrow.text
    assert fig.layout.shapes[0].y0 == pytest.approx(1 / 11) and uniform.text == "uniform 1/11"
    plain = softmax_row(row, anchor, partner)
    assert [t.name for t in plain.data] == ["negatives", "positive"]
    assert "Anchor 1" in plain.layout.title.text


def test_the_views_on_the_circle(scene):
    batch, _ = scene
    fig = views_figure(batch.views.numpy(), batch.example.numpy(), batch.classes.numpy(),
                       ["<b>x</b>", "b", "c", "d"], anchor=0)  # fmt: skip
    circle, pairs, *classes, ring = fig.data
    assert circle.name == "unit circle"
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), 1.0)
    # Example e's two views joined, then a gap.
    v = batch.views.numpy()
    assert (pairs.x[0], pairs.y[0], pairs.x[1], pairs.y[1]) == (v[0, 0], v[0, 1], v[6, 0], v[6, 1])
    assert math.isnan(pairs.x[2]) and len(pairs.x) == 18
    labels = sorted(set(batch.classes.tolist()))
    assert [trace.name for trace in classes] == [["&lt;b&gt;x&lt;/b&gt;", "b", "c", "d"][c]
                                                 for c in labels]  # fmt: skip
    for label, trace in zip(labels, classes, strict=True):
        assert trace.marker.color == class_color(label)
        assert trace.marker.symbol == class_symbol(label, 2) == SYMBOLS_2D[label]
        rows = np.asarray(trace.customdata)[:, 0]
        assert (batch.classes.numpy()[rows] == label).all()
        np.testing.assert_allclose(trace.x, v[rows, 0])
    assert len({trace.marker.symbol for trace in classes}) == len(classes)
    assert list(ring.text) == ["anchor", "positive"] and list(ring.x) == [v[0, 0], v[6, 0]]
    assert fig.layout.yaxis.scaleanchor == "x" and "circle" in fig.layout.title.text


def test_the_views_on_a_rotatable_sphere():
    batch = make_views("digits", 30, 3, 0.2, seed=4)
    fig = views_figure(batch.views.numpy(), batch.example.numpy(), batch.classes.numpy(),
                       batch.class_names)  # fmt: skip
    sphere, pairs, *classes = fig.data
    assert sphere.type == "surface" and 0 < sphere.opacity < 1 and sphere.showscale is False
    radii = np.sqrt(
        np.asarray(sphere.x) ** 2 + np.asarray(sphere.y) ** 2 + np.asarray(sphere.z) ** 2
    )
    np.testing.assert_allclose(radii, 1.0)
    assert pairs.type == "scatter3d" and pairs.mode == "lines" and len(pairs.z) == 90
    assert all(trace.type == "scatter3d" for trace in classes)
    assert sum(len(trace.x) for trace in classes) == 60
    for trace in classes:
        label = int(trace.name)
        assert trace.marker.symbol == SYMBOLS_3D[label % len(SYMBOLS_3D)]
        assert trace.marker.color == class_color(label)
    assert fig.layout.uirevision == "views" and fig.layout.scene.aspectmode == "cube"
    assert "sphere" in fig.layout.title.text
    with pytest.raises(ValueError, match="views"):
        views_figure(np.zeros((4, 4)), [0, 1, 0, 1], [0, 0, 0, 0], ["a"])


def test_the_temperature_curve_with_its_bounds():
    batch = make_views("digits", 10, 3, 0.2, seed=2)
    sweep = temperature_sweep(batch, (0.01, 0.1, 1.0, 2.0))
    reading = read_batch(batch, 0.1)
    fig = temperature_curve(sweep.temperatures, sweep.losses, sweep.lower_bounds, 0.1,
                            reading.nt_xent, collapsed=sweep.collapsed,
                            negatives=reading.negatives)  # fmt: skip
    curve, bound, collapsed, here = fig.data
    assert list(curve.x) == [0.01, 0.1, 1.0, 2.0] and list(curve.y) == list(sweep.losses)
    assert list(bound.y) == list(sweep.lower_bounds) and bound.line.dash == "dash"
    assert "18" in bound.name and list(collapsed.y) == [sweep.collapsed] * 2
    assert (here.x[0], here.y[0]) == (0.1, reading.nt_xent)
    assert here.y[0] == pytest.approx(sweep.losses[1], rel=1e-10)
    assert fig.layout.xaxis.type == "log" and "temperature" in fig.layout.title.text
    bare = temperature_curve([0.1, 1.0], [1.0, 2.0], [0.0, 0.5], 0.5, 1.5)
    assert len(bare.data) == 3 and "k·e" in bare.data[1].name


def test_class_symbols_cycle_within_what_each_trace_type_offers():
    assert class_symbol(0, 2) == "circle" and class_symbol(len(SYMBOLS_2D), 2) == "circle"
    assert class_symbol(9, 3) == SYMBOLS_3D[1]
    scatter3d_symbols = {"circle", "circle-open", "cross", "diamond", "diamond-open", "square",
                         "square-open", "x"}  # fmt: skip
    assert set(SYMBOLS_3D) <= scatter3d_symbols
    # Ten digit classes: no two share both colour and symbol.
    pairs = {(class_color(c), class_symbol(c, 3)) for c in range(10)}
    assert len(pairs) == 10
