"""The batch mining page headless (AppTest): every source and control, malformed uploads,
links; the numbers shown are the core's (the triplet diagram's directions included)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lossviz.batches import point_sets as data
from lossviz.batches.analysis import LOSS_NAMES, BatchAnalysis
from lossviz.batches.export import counts_csv, triplets_csv
from lossviz.batches.triplet_diagram import DOT_LIMIT, dot_velocities, triplet_density
from lossviz.core.triplets import Kind
from lossviz.figures.triplet_diagram import STEP_TRACE
from lossviz.scenes.scene import MiningScene
from lossviz.ui import mining_page as mn
from lossviz.ui.inert import inert
from tests import apptest_helpers as helpers
from tests.apptest_helpers import listed, literal, metric_values, ok, warnings, widget
from tests.test_data import MALFORMED

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "mining.py")
EXAMPLE = mn.EXAMPLE_CSV.read_bytes()


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return helpers.open_page(PAGE, query)


def scene_of(at: AppTest) -> MiningScene:
    return at.session_state[mn.BINDING.scene_key]


def points_of(at: AppTest) -> data.LabelledPoints:
    """The points the page analyses, rebuilt from its scene and session by the core."""
    scene = scene_of(at)
    if scene.source == "blobs":
        points = data.make_blobs(scene.classes, scene.per_class, scene.spread, scene.seed)
        settings = (scene.classes, scene.per_class, scene.spread, scene.seed)
        state = at.session_state  # AppTest's session state has no .get
        moved = state[mn.MOVED_KEY] if mn.MOVED_KEY in state else None  # noqa: SIM401
        if moved is not None and moved[0] == settings:  # moves of other settings are stale
            points = points._replace(embeddings=torch.tensor(moved[1], dtype=torch.float32))
        return points
    if scene.source == "digits":
        points = data.load_digits_points()
    elif scene.source == "iris":
        points = data.load_iris_points()
    else:
        points = data.read_embeddings_csv(at.session_state[mn.CSV_KEY][1])
    if scene.space == "pca2":
        points = points._replace(embeddings=data.project_2d(points.embeddings))
    return points


def assert_shows_core_numbers(at: AppTest) -> None:
    scene = scene_of(at)
    points = points_of(at)
    analysis = BatchAnalysis(points.embeddings, points.labels, scene.distance)
    counts = analysis.counts(scene.margin)
    total = sum(counts.values())
    shown = metric_values(at)
    assert shown["valid triplets"] == f"{total:,}"
    for kind in Kind:
        assert shown[kind.label] == f"{counts[kind]:,}"
    for name, value in analysis.losses(scene.margin).items():
        assert shown[LOSS_NAMES[name]] == f"{value:.4f}"
    view = analysis.anchor_view(scene.anchor, scene.margin)
    anchor_rows = at.table[0].value
    first = anchor_rows.iloc[0, 1]
    assert f"({view.anchor}, {view.hardest_positive}, {view.hardest_negative})" in first
    comparison = analysis.semihard_comparison(scene.margin)
    selected = list(at.table[1].value["selected"])
    assert selected[:2] == [f"{comparison.pml:,}", f"{comparison.facenet:,}"]
    assert selected[2].startswith(f"{comparison.tf_addons:,} ")


def test_default_blobs_show_the_core_numbers_on_a_draggable_plane():
    at = open_page()
    assert scene_of(at) == MiningScene()
    assert_shows_core_numbers(at)
    (plane,) = at.get("bidi_component")
    assert plane.key == mn.PLANE_KEY
    # the histogram and the sweep beside the plane, the triplet diagram below
    assert len(at.get("plotly_chart")) == 3


@pytest.mark.parametrize(
    ("label", "value"),
    [("Classes", 5), ("Points per class", 3), ("Spread", 1.5), ("Seed", 7),
     ("Margin m", 1.25), ("Anchor (row)", 5)],
)  # fmt: skip
def test_every_blob_control_changes_the_scene_and_the_numbers(label, value):
    at = open_page()
    widget(at, label).set_value(value)
    ok(at.run())
    scene = scene_of(at)
    field = {"Classes": "classes", "Points per class": "per_class", "Spread": "spread",
             "Seed": "seed", "Margin m": "margin", "Anchor (row)": "anchor"}[label]  # fmt: skip
    assert getattr(scene, field) == value
    assert at.query_params[field] == MiningScene.field_spec(field).encode(value)
    assert_shows_core_numbers(at)


@pytest.mark.parametrize("distance", ["manhattan", "cosine"])
def test_distance_choice(distance):
    at = open_page()
    widget(at, "Distance").set_value(distance)
    ok(at.run())
    assert scene_of(at).distance == distance
    assert_shows_core_numbers(at)


@pytest.mark.parametrize(("source", "space"), [("digits", "raw"), ("iris", "raw"),
                                               ("iris", "pca2")])  # fmt: skip
def test_bundled_sources_in_both_spaces(source, space):
    at = open_page()
    widget(at, "Source").set_value(source)
    ok(at.run())
    widget(at, "Distances in").set_value(space)
    widget(at, "Anchor (row)").set_value(42)
    ok(at.run())
    assert (scene_of(at).source, scene_of(at).space, scene_of(at).anchor) == (source, space, 42)
    assert_shows_core_numbers(at)
    assert not at.get("bidi_component")  # no dragging of real data: a clickable scatter
    assert len(at.get("plotly_chart")) == 4


def test_upload_asks_for_a_file_then_reads_it():
    at = open_page({"source": "upload"})
    assert "Upload a CSV file" in at.warning[0].value
    at.file_uploader[0].set_value(("mine.csv", EXAMPLE, "text/csv"))
    ok(at.run())
    assert not at.warning
    assert at.session_state[mn.CSV_KEY] == ("mine.csv", EXAMPLE)
    assert_shows_core_numbers(at)
    captions = [literal(c.value) for c in at.caption]
    assert "mine.csv: 150 rows, 5 classes; distances in 8 dimensions" in captions


def test_the_example_button_loads_the_example_file():
    at = open_page({"source": "upload"})
    at.button[0].click()
    ok(at.run())
    assert at.session_state[mn.CSV_KEY] == ("embeddings.csv", EXAMPLE)
    assert_shows_core_numbers(at)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_upload_gets_a_message_and_the_page_keeps_working(name):
    raw, words = MALFORMED[name]
    at = open_page({"source": "upload"})
    at.file_uploader[0].set_value(("bad.csv", raw, "text/csv"))
    ok(at.run())
    (warning,) = at.warning
    shown = literal(warning.value)
    assert shown.startswith("bad.csv: ") and words in shown
    assert not at.metric
    widget(at, "Source").set_value("blobs")
    ok(at.run())
    assert_shows_core_numbers(at)


def test_a_good_upload_after_a_bad_one_replaces_it():
    at = open_page({"source": "upload"})
    at.file_uploader[0].set_value(("bad.csv", MALFORMED["NaN"][0], "text/csv"))
    ok(at.run())
    at.file_uploader[0].set_value(("good.csv", EXAMPLE, "text/csv"))
    ok(at.run())
    assert not at.warning
    assert_shows_core_numbers(at)


def test_dragged_blobs_are_analysed_and_can_be_put_back():
    at = open_page()
    moved = tuple((0.0, 0.0) if i < 3 else tuple(p) for i, p in
                  enumerate(data.make_blobs().embeddings.tolist()))  # fmt: skip
    at.session_state[mn.MOVED_KEY] = ((3, 8, 1.0, 0), moved)
    ok(at.run())
    assert_shows_core_numbers(at)
    (back,) = [b for b in at.button if b.label == "Put the points back"]
    back.click()
    ok(at.run())
    assert mn.MOVED_KEY not in at.session_state
    assert_shows_core_numbers(at)


def test_moves_are_forgotten_when_the_blob_settings_change():
    at = open_page()
    at.session_state[mn.MOVED_KEY] = ((3, 8, 1.0, 0), ((0.0, 0.0),) * 24)
    widget(at, "Seed").set_value(3)
    ok(at.run())
    assert not [b for b in at.button if b.label == "Put the points back"]
    assert_shows_core_numbers(at)


def test_the_anchor_follows_the_data_when_it_shrinks():
    at = open_page({"source": "iris", "anchor": "140"})
    assert scene_of(at).anchor == 140
    widget(at, "Source").set_value("blobs")
    ok(at.run())
    assert scene_of(at).anchor == 23  # the last of the 24 blob points, and the page says so
    (notice,) = [w for w in warnings(at) if w.startswith("Anchor (row): 140")]
    assert "so it shows 23" in notice
    assert_shows_core_numbers(at)


def test_an_anchor_without_triplets_gets_a_note():
    raw = b"label,x\na,0\na,1\nb,2\nb,3\nc,9\n"
    at = open_page({"source": "upload", "anchor": "4"})
    at.file_uploader[0].set_value(("lonely.csv", raw, "text/csv"))
    ok(at.run())
    assert any("is the anchor of no triplet" in i.value for i in at.info)


def test_downloads_hold_the_core_counts_and_triplets(monkeypatch):
    from streamlit.delta_generator import DeltaGenerator

    offered = {}  # file name -> the data the page hands to the button
    real = DeltaGenerator.download_button

    def recording(self, label, data, *args, **kwargs):
        offered[kwargs["file_name"]] = data
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    at = open_page({"margin": "0.5"})
    assert len(at.get("download_button")) == 2
    points = points_of(at)
    analysis = BatchAnalysis(points.embeddings, points.labels)
    assert offered["triplet_counts.csv"] == counts_csv(analysis.counts(0.5), 0.5, "euclidean")
    table = offered["triplets.csv"]()  # built on click
    rows = analysis.triplet_rows(0.5, mn.TABLE_LIMIT)
    assert table == triplets_csv(rows, points.names, points.labels)
    assert table.count("\n") == 1 + min(analysis.total, mn.TABLE_LIMIT)


def test_a_link_restores_the_exact_scene():
    scene = MiningScene(source="iris", space="pca2", distance="manhattan", margin=0.35, anchor=77)
    at = open_page(scene.to_query())
    assert scene_of(at) == scene and not at.warning
    assert at.query_params["anchor"] == "77"
    assert_shows_core_numbers(at)


@pytest.mark.parametrize(
    "query",
    [{"margin": "abc"}, {"source": "<script>", "classes": "1e9", "spread": "nan"},
     {"distance": "chebyshev", "anchor": "-1", "space": "3d"}, {"per_class": "inf"}],
)  # fmt: skip
def test_a_bad_link_opens_defaults_with_a_warning_per_bad_value(query):
    at = open_page(query)
    assert scene_of(at) == MiningScene()
    assert len(listed(at)) == len(query)
    assert_shows_core_numbers(at)


def test_user_text_is_shown_literally_not_as_markdown():
    raw = b"label,x\n**bold**,1\n**bold**,2\n[a](https://x.y),3\n[a](https://x.y),4\n"
    at = open_page({"source": "upload"})
    at.file_uploader[0].set_value(("$x^2$ *file*.csv", raw, "text/csv"))
    ok(at.run())
    caption = next(c.value for c in at.caption if "rows" in c.value)
    assert caption.startswith(inert("$x^2$ *file*.csv") + ": 4 rows")
    anchor_note = next(c.value for c in at.caption if c.value.startswith("Anchor"))
    assert f"(class {inert('**bold**')})" in anchor_note


def plotly_array(value) -> np.ndarray:
    """A figure's array as Streamlit sends it: a list, or plotly's typed ``bdata``."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(n) for n in shape.split(",")]
        return flat.reshape(shape) if shape else flat
    return np.asarray(value)


def triplet_diagram_of(at: AppTest) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if any(trace.get("name") == "d(a,n) = d(a,p) + m" for trace in spec["data"]):
            return spec
    raise AssertionError("the page shows no triplet diagram")


@pytest.mark.parametrize(
    "query",
    [{}, {"source": "digits", "margin": "0.5"}, {"source": "iris", "distance": "cosine"}],
)
def test_the_triplet_diagram_shows_the_core_counts_and_picks(query):
    at = open_page(query)
    scene, points = scene_of(at), points_of(at)
    analysis = BatchAnalysis(points.embeddings, points.labels, scene.distance)
    counts = analysis.counts(scene.margin)
    density = triplet_density(analysis.dist, analysis.labels, mn.DIAGRAM_BINS)
    spec = triplet_diagram_of(at)
    traces = {trace.get("name"): trace for trace in spec["data"]}
    for kind in Kind:
        (band,) = [n for n in traces if n and n.startswith(f"{kind.label} (") and "δ" in n]
        assert band.endswith(f": {counts[kind]:,}")  # the core's exact count, in words
    notes = {a["text"] for a in spec["layout"]["annotations"]}
    assert f"<b>hard</b><br>{counts[Kind.HARD]:,}" in notes
    assert f"<b>semi-hard</b><br>{counts[Kind.SEMI_HARD]:,}" in notes
    heatmaps = [t for t in spec["data"] if t.get("type") == "heatmap"]
    if density.dots is not None:  # the default blobs: one dot per triplet
        assert not heatmaps
        for kind in Kind:
            shown = traces.get(f"{kind.label} triplets")
            assert (len(plotly_array(shown["x"])) if shown else 0) == counts[kind]
    else:  # digits, iris: the density, every triplet counted
        (heat,) = heatmaps
        cells = plotly_array(heat["customdata"])
        np.testing.assert_array_equal(cells[..., 0], density.counts.T)
        assert cells[..., 0].sum() == analysis.total
    hard = next(t for n, t in traces.items() if n and n.startswith("batch-hard picks"))
    semi = next(t for n, t in traces.items() if n and n.startswith("semi-hard picks"))
    np.testing.assert_array_equal(plotly_array(hard["x"]), density.batch_hard.d_ap)
    np.testing.assert_array_equal(plotly_array(hard["y"]), density.batch_hard.d_an)
    np.testing.assert_array_equal(plotly_array(semi["y"]), density.semi_hard.d_an)
    caption = next(c.value for c in at.caption if "Xuan et al." in c.value)
    assert f"({analysis.total:,}, " in caption


def direction_trace(spec: dict) -> dict | None:
    return next((t for t in spec["data"] if (t.get("name") or "").startswith(STEP_TRACE)), None)


def test_the_diagrams_directions_are_the_cores_velocities():
    at = open_page()
    assert direction_trace(triplet_diagram_of(at)) is None  # off by default
    assert not [r for r in at.radio if r.label == "Loss for the step"]  # shown only when on
    points = points_of(at)
    scene = scene_of(at)
    analysis = BatchAnalysis(points.embeddings, points.labels, scene.distance)
    density = triplet_density(analysis.dist, analysis.labels, mn.DIAGRAM_BINS)
    assert density.dots is not None
    widget(at, "Show each dot's direction under a gradient step").set_value(True)
    ok(at.run())
    assert at.session_state[mn.DIRECTIONS_KEY] is True
    for loss, word in (("batch_all", "batch-all"), ("batch_hard", "batch-hard")):
        if loss != "batch_all":
            widget(at, "Loss for the step").set_value(loss)
            ok(at.run())
        trace = direction_trace(triplet_diagram_of(at))
        assert trace is not None and f"({word})" in trace["name"]
        xs, ys = plotly_array(trace["x"]).astype(float), plotly_array(trace["y"]).astype(float)
        assert len(xs) == 3 * density.total
        np.testing.assert_allclose(xs[0::3], density.dots.d_ap, rtol=1e-6)  # from each dot
        np.testing.assert_allclose(ys[0::3], density.dots.d_an, rtol=1e-6)
        want = dot_velocities(points.embeddings, points.labels, density.dots, scene.margin,
                              scene.distance, loss)  # fmt: skip
        drawn = np.stack([xs[1::3] - xs[0::3], ys[1::3] - ys[0::3]], axis=1)
        speeds, lengths = np.hypot(*want.T), np.hypot(*drawn.T)
        # Each arrow points along its dot's velocity (float32 coordinates: compare arrows of
        # at least 1% of the longest), and all share one scale: relative speeds are kept.
        long = lengths >= 0.01 * lengths.max()
        assert long.sum() > 0.9 * len(long)
        np.testing.assert_allclose(drawn[long] / lengths[long, None],
                                   want[long] / speeds[long, None], atol=1e-4)  # fmt: skip
        top = float(density.edges[-1])
        np.testing.assert_allclose(drawn, want * (lengths.max() / speeds.max()), atol=1e-5 * top)
        note = next(c.value for c in at.caption if c.value.startswith("Arrows:"))
        shrinking = int(((want[:, 0] < 0) & (want[:, 1] < 0)).sum())
        assert f"{word} loss" in note and f"{shrinking:,} of {density.total:,} dots" in note
        picks = dot_velocities(points.embeddings, points.labels, density.batch_hard,
                               scene.margin, scene.distance, loss)  # fmt: skip
        picked = f"{int((picks < 0).all(axis=1).sum())} of batch-hard's {len(picks)} picks"
        assert picked in note


def test_a_density_diagram_says_the_directions_need_few_triplets():
    at = open_page({"source": "iris"})
    assert not [t for t in at.toggle if t.label.startswith("Show each dot's direction")]
    note = next(c.value for c in at.caption if "direction under a gradient step" in c.value)
    assert f"at most {DOT_LIMIT:,} valid triplets" in literal(note)
