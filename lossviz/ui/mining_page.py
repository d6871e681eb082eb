"""Batch mining page: which data, its cached analysis, and the pictures of it.

The point set comes from the scene (blobs, digits, iris) or from the
session (an upload, or the bundled example file). Everything the core
computes is cached across sessions by a key that identifies the points
exactly (generator settings, dragged positions, or the upload's SHA-256), so
a class opening the same link shares one analysis.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from lossviz.batches import point_sets as data
from lossviz.batches.analysis import (
    LOSS_NAMES,
    AnchorView,
    BatchAnalysis,
    SemihardComparison,
)
from lossviz.batches.export import counts_csv, triplets_csv
from lossviz.batches.triplet_diagram import (
    DOT_LIMIT,
    TripletDensity,
    Triplets,
    dot_velocities,
    triplet_density,
)
from lossviz.core.triplets import Kind, kinds_of_deltas
from lossviz.figures import COLORS, class_color
from lossviz.figures.batch import delta_histogram, embedding_scatter, margin_sweep
from lossviz.figures.triplet_diagram import triplet_diagram as diagram_figure
from lossviz.scenes.scene import MiningScene
from lossviz.ui.components.plane import PlaneSpec, plane, preview_metric
from lossviz.ui.inert import inert
from lossviz.ui.readouts import kinds_in_words
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(
    MiningScene,
    "mining",
    ("source", "classes", "per_class", "spread", "seed", "space", "distance", "margin", "anchor"),
)
CSV_KEY = "mining.csv"  # (file name, bytes): the last upload or the example file
UPLOAD_KEY = "mining.upload"
MOVED_KEY = "mining.moved"  # (blob settings, positions) after a drag
PLANE_KEY = "mining.plane"
SCATTER_KEY = "mining.scatter"
DRAG_LIMIT = 64  # blobs with at most this many points can be dragged
TABLE_LIMIT = 20_000  # rows in the per-triplet download
SWEEP_STEPS = 26
HISTOGRAM_BINS = 40
DIAGRAM_BINS = 60  # per axis of the triplet diagram's density
# The diagram's "direction under a gradient step" controls: plain session state, not the
# scene (not part of the link).
DIRECTIONS_KEY = "mining.diagram_directions"
STEP_LOSS_KEY = "mining.diagram_step_loss"
STEP_LOSSES = {"batch_all": "batch-all", "batch_hard": "batch-hard"}
EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "examples" / "embeddings.csv"

CSV_FORMAT = (
    "UTF-8 CSV with a header row. One column named `label` holds each row's class "
    f"(text); every other column is a number. At most {data.MAX_UPLOAD_BYTES // 2**20} MB, "
    f"{data.MAX_ROWS:,} rows and {data.MAX_COLUMNS:,} numeric columns; at least two classes."
)


@dataclass(frozen=True)
class Batch:
    """The points the page analyses, and what it draws.

    ``key`` identifies the points exactly (it keys every cache); ``points``
    holds the embeddings distances are computed on; ``picture`` (N, 2) is what
    is drawn (the points themselves when 2-D, else a PCA projection).
    """

    key: tuple
    points: data.LabelledPoints
    picture: np.ndarray
    description: str
    draggable: bool


# --------------------------------------------------------------------------- data


def _blob_settings(scene: MiningScene) -> tuple:
    return scene.classes, scene.per_class, scene.spread, scene.seed


@st.cache_resource(max_entries=4, show_spinner=False)
def _bundled(source: str, space: str) -> tuple[data.LabelledPoints, np.ndarray]:
    points = data.load_digits_points() if source == "digits" else data.load_iris_points()
    picture = data.project_2d(points.embeddings)
    if space == "pca2":
        points = points._replace(embeddings=picture)
    return points, picture.numpy()


@st.cache_resource(max_entries=8, show_spinner="Reading the file…")
def _parsed_upload(digest: str, _raw: bytes) -> data.LabelledPoints | str:
    """The upload's points, or the reason it cannot be used (the digest keys the bytes)."""
    try:
        return data.read_embeddings_csv(_raw)
    except data.DataError as problem:
        return str(problem)


def current_batch(scene: MiningScene) -> Batch | str:
    """The batch the scene describes, or a message saying why there is none."""
    if scene.source == "blobs":
        points = data.make_blobs(*_blob_settings(scene))
        moved = st.session_state.get(MOVED_KEY)
        key: tuple = ("blobs", *_blob_settings(scene))
        if moved is not None and moved[0] == _blob_settings(scene):
            points = points._replace(embeddings=torch.tensor(moved[1], dtype=torch.float32))
            key += (moved[1],)
        n = len(points.labels)
        return Batch(
            key,
            points,
            points.embeddings.numpy(),
            f"{n} points in {scene.classes} blobs",
            n <= DRAG_LIMIT,
        )
    if scene.source in ("digits", "iris"):
        points, picture = _bundled(scene.source, scene.space)
        n, dims = points.embeddings.shape
        what = "handwritten digits (pixels / 16)" if scene.source == "digits" else "iris flowers"
        return Batch(
            (scene.source, scene.space),
            points,
            picture,
            f"{n:,} {what}; distances in {dims} dimensions",
            False,
        )
    upload = st.session_state.get(CSV_KEY)
    if upload is None:
        return "Upload a CSV file (or use the example) to analyse your own embeddings."
    name, raw = upload
    digest = hashlib.sha256(raw).hexdigest()
    parsed = _parsed_upload(digest, raw)
    if isinstance(parsed, str):
        return f"{inert(name)}: {inert(parsed)}"
    if scene.space == "pca2":
        picture = data.project_2d(parsed.embeddings)
        parsed = parsed._replace(embeddings=picture)
    n, dims = parsed.embeddings.shape
    return Batch(
        ("upload", digest, scene.space),
        parsed,
        data.project_2d(parsed.embeddings).numpy(),
        f"{inert(name)}: {n:,} rows, {len(parsed.names)} classes; distances in {dims} dimensions",
        False,
    )


def store_upload() -> None:
    """Copy the uploader's file into the session (the uploader forgets it on clear)."""
    file = st.session_state.get(UPLOAD_KEY)
    if file is not None:
        st.session_state[CSV_KEY] = (file.name, file.getvalue())


def use_example() -> None:
    st.session_state[CSV_KEY] = (EXAMPLE_CSV.name, EXAMPLE_CSV.read_bytes())
    st.session_state[BINDING.widget_key("source")] = "upload"


def example_bytes() -> bytes:
    return EXAMPLE_CSV.read_bytes()


def move_blobs(scene: MiningScene, names: list[str]):
    """The plane's ``on_change``: keep the dragged positions for these blob settings."""
    settings = _blob_settings(scene)

    def store(points: dict[str, tuple[float, float]]) -> None:
        st.session_state[MOVED_KEY] = (settings, tuple(points[n] for n in names))

    return store


def reset_blobs() -> None:
    st.session_state.pop(MOVED_KEY, None)


def blobs_moved(scene: MiningScene) -> bool:
    moved = st.session_state.get(MOVED_KEY)
    return scene.source == "blobs" and moved is not None and moved[0] == _blob_settings(scene)


# --------------------------------------------------------------------------- analysis


@st.cache_resource(max_entries=6, ttl=1800, show_spinner="Sorting every anchor's negatives…")
def _analysis(key: tuple, distance: str, _batch: Batch) -> BatchAnalysis:
    return BatchAnalysis(_batch.points.embeddings, _batch.points.labels, distance)


def analysis(batch: Batch, distance: str) -> BatchAnalysis:
    return _analysis(batch.key, distance, batch)


@st.cache_data(max_entries=256, show_spinner="Counting triplets at this margin…")
def margin_results(
    key: tuple, distance: str, margin: float, _analysis: BatchAnalysis
) -> tuple[dict[Kind, int], dict[str, float], SemihardComparison]:
    """Counts, batch losses and the semi-hard comparison at one margin (cached per data set)."""
    return (
        _analysis.counts(margin),
        _analysis.losses(margin),
        _analysis.semihard_comparison(margin),
    )


@st.cache_data(max_entries=64, show_spinner="Binning every triplet's δ…")
def distributions(
    key: tuple, distance: str, _analysis: BatchAnalysis
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(edges, counts, margins, shares)``: the delta histogram and the margin sweep.

    Both count every :attr:`BatchAnalysis.anchor_stride`-th anchor's triplets (all of
    them up to 2,000 points); see :func:`distributions_note`.
    """
    edges, counts = _analysis.delta_histogram(HISTOGRAM_BINS)
    top = max(float(edges[-1]), 0.1)
    margins = torch.linspace(0.0, min(top, 5.0), SWEEP_STEPS, dtype=torch.float64)
    shares = _analysis.shares_over_margins(margins.tolist())
    return edges.numpy(), counts.numpy(), margins.numpy(), shares.numpy()


def distribution_figures(key: tuple, distance: str, analysis: BatchAnalysis, margin: float):
    """The delta histogram (bars coloured by the core's kind of their centre) and the sweep."""
    edges, counts, margins, shares = distributions(key, distance, analysis)
    centres = torch.from_numpy((edges[:-1] + edges[1:]) / 2)
    kinds = kinds_of_deltas(centres, margin).tolist()
    return delta_histogram(edges, counts, kinds, margin), margin_sweep(margins, shares, margin)


def distributions_note(analysis: BatchAnalysis) -> str:
    every = analysis.anchor_stride
    if every == 1:
        return "Every valid triplet is counted (exactly, in float64)."
    anchors = len(range(0, analysis.size, every))
    return (
        f"Histogram and sweep: the triplets of every {every}th anchor ({anchors:,} of "
        f"{analysis.size:,}); the counts above are over all of them."
    )


@st.cache_data(max_entries=16, show_spinner="Placing every triplet at (d(a, p), d(a, n))…")
def diagram_density(key: tuple, distance: str, _analysis: BatchAnalysis) -> TripletDensity:
    """Every valid triplet binned by its two distances, and the picks (no margin in it)."""
    return triplet_density(_analysis.dist, _analysis.labels, DIAGRAM_BINS)


@st.cache_data(max_entries=64, show_spinner="Following one gradient step of every dot…")
def diagram_velocities(
    key: tuple,
    distance: str,
    margin: float,
    loss: str,
    _embeddings: torch.Tensor,
    _labels: torch.Tensor,
    _dots: Triplets,
) -> np.ndarray:
    """Each dot's ``(d/dt d(a,p), d/dt d(a,n))`` under a gradient step of ``loss`` (the dots
    are the cached density's: they follow from the key and the distance)."""
    return dot_velocities(_embeddings, _labels, _dots, margin, distance, loss)


def triplet_diagram(
    key: tuple,
    distance: str,
    analysis: BatchAnalysis,
    margin: float,
    counts: dict[Kind, int],
    embeddings: torch.Tensor | None = None,
) -> None:
    """The triplet diagram at ``margin``: the cached density, the margin's lines and the
    core's exact ``counts`` of each kind. With the batch's ``embeddings`` (those the
    analysis was built on), a toggle under it draws each dot's direction under a
    gradient step (when the diagram shows dots)."""
    density = diagram_density(key, distance, analysis)
    chart = st.empty()  # drawn once the controls below it are read
    drawing = density.drawing(margin)
    velocities, loss = None, "batch_all"
    if embeddings is not None and density.dots is not None:
        left, right = st.columns([3, 2], vertical_alignment="center")
        shown = left.toggle("Show each dot's direction under a gradient step",
                            key=DIRECTIONS_KEY)  # fmt: skip
        if shown:
            loss = right.radio("Loss for the step", list(STEP_LOSSES), key=STEP_LOSS_KEY,
                               format_func=STEP_LOSSES.__getitem__, horizontal=True)  # fmt: skip
            velocities = diagram_velocities(
                key, distance, margin, loss, embeddings, analysis.labels, density.dots
            )
            drawing.update(velocities=velocities, step_loss=STEP_LOSSES[loss])
    elif embeddings is not None:
        st.caption(
            f"Each dot's direction under a gradient step needs at most {DOT_LIMIT:,} valid "
            f"triplets, one dot each; this batch has {density.total:,} (fewer points per "
            "class, or fewer classes, would do)."
        )
    chart.plotly_chart(diagram_figure(**drawing, kind_counts=counts), width="stretch",
                       alt=f"Triplet diagram: every valid triplet at (d(a, p), d(a, n)), with "
                       f"the lines d(a, n) = d(a, p) and d(a, n) = d(a, p) + {margin:g}: "
                       f"{kinds_in_words(counts)}.")  # fmt: skip
    drawn = "one dot each" if density.dots is not None else "shaded by how many share a cell"
    st.caption(
        f"Every valid triplet ({density.total:,}, {drawn}) at its two distances, as in Xuan "
        "et al. (ECCV 2020, Fig. 1): on or below the solid line d(a, n) = d(a, p) it is "
        "hard, up to the dashed line d(a, n) = d(a, p) + m semi-hard, above it easy, so "
        "the margin only moves the dashed line. Crosses: the triplet batch-hard takes for "
        "each anchor (farthest positive, nearest negative); triangles: the negative "
        "batch-semi-hard takes for that positive."
    )
    if velocities is not None:
        st.caption(directions_note(velocities, STEP_LOSSES[loss], density))


def directions_note(velocities: np.ndarray, loss: str, density: TripletDensity) -> str:
    """What the arrows show, and how many dots (and batch-hard's picks) head toward (0, 0)."""
    speeds = np.hypot(velocities[:, 0], velocities[:, 1])
    dots, picks = density.dots, density.batch_hard
    if dots is None or not len(speeds) or not speeds.max() > 0:
        return f"No triplet has a {loss} loss: a gradient step moves nothing."
    shrinking = (velocities[:, 0] < 0) & (velocities[:, 1] < 0)
    row = {t: i for i, t in enumerate(zip(dots.anchor, dots.positive, dots.negative, strict=True))}
    picked = [row[t] for t in zip(picks.anchor, picks.positive, picks.negative, strict=True)]
    return (
        f"Arrows: where one gradient-descent step on the whole batch's {loss} loss sends "
        "each dot. Every embedding moves at once, so a dot does not simply slide along "
        "(−1, +1): both of its distances change, even for a triplet without a loss of its "
        "own. Lengths are relative: the fastest dot moves at "
        f"{speeds.max():.3g} per unit learning rate (each dot's hover has its numbers). "
        f"{int(shrinking.sum()):,} of {len(speeds):,} dots head down and left (both "
        f"distances shrink), {int(shrinking[picked].sum()):,} of batch-hard's "
        f"{len(picked):,} picks: when the picks do, the batch is contracting toward one "
        "point, the collapse Xuan et al. describe."
    )


def pick_anchor_from_click() -> None:
    """The scatter's ``on_select``: a clicked point becomes the anchor."""
    event = st.session_state.get(SCATTER_KEY)
    points = event.get("selection", {}).get("points", []) if event else []
    for point in points:
        row = point.get("customdata")
        if isinstance(row, list):
            row = row[0] if row else None
        if isinstance(row, int | float):
            st.session_state[BINDING.widget_key("anchor")] = int(row)
            return


# --------------------------------------------------------------------------- pictures


def picture(batch: Batch, scene: MiningScene, view: AnchorView) -> None:
    """The batch drawn with the anchor's hardest pair: draggable blobs or a clickable scatter."""
    labels = batch.points.labels.numpy()
    if batch.draggable:
        names = [f"x{i}" for i in range(len(labels))]
        xy = batch.picture
        roles = {int(n): "◐" for n in view.semihard_for_hardest}
        roles.update({view.anchor: "anchor"})
        if view.usable:
            roles.update({view.hardest_positive: "hardest +", view.hardest_negative: "hardest −"})
        colors = {name: class_color(int(label)) for name, label in zip(names, labels, strict=True)}
        colors[names[view.anchor]] = COLORS["anchor"]
        lines = []
        if view.usable:
            anchor = names[view.anchor]
            lines = [(anchor, names[view.hardest_positive]), (anchor, names[view.hardest_negative])]
        spec = PlaneSpec(
            key=PLANE_KEY,
            points={name: (float(x), float(y)) for name, (x, y) in zip(names, xy, strict=True)},
            bounds=(-data.BLOB_BOUND, data.BLOB_BOUND),
            metric=preview_metric(scene.distance, 2.0, 0.0),  # exact: the page's distances
            labels={name: roles.get(i, "") for i, name in enumerate(names)},
            colors=colors,
            lines=lines,
            caption="Drag any point: every count below follows. Blue: the anchor; lines: its "
            "hardest positive and hardest negative; ◐: negatives semi-hard for that positive.",
            height_px=520,
        )
        plane(spec, on_change=move_blobs(scene, names))
        return
    figure = embedding_scatter(
        batch.picture,
        labels,
        batch.points.names,
        anchor=view.anchor,
        hardest_positive=view.hardest_positive,
        hardest_negative=view.hardest_negative,
        semihard=view.semihard_for_hardest,
    )
    st.plotly_chart(
        figure,
        alt="The batch's points coloured and shaped by class, with the anchor, its hardest "
        "positive and its hardest negative marked; click a point to make it the anchor.",
        key=SCATTER_KEY,
        on_select=pick_anchor_from_click,
        selection_mode="points",
        width="stretch",
    )
    projected = batch.points.embeddings.shape[1] > 2
    st.caption(
        ("Picture: the first two principal components; distances use every dimension. "
         if projected else "")
        + "Click a point to make it the anchor. Star: the anchor; lines: its hardest positive "
        "(diamond) and hardest negative (square); orange rings: negatives semi-hard for that "
        "positive."
    )  # fmt: skip


# --------------------------------------------------------------------------- read-outs


def kind_metrics(counts: dict[Kind, int]) -> None:
    total = sum(counts.values())
    columns = st.columns(4)
    columns[0].metric("valid triplets", f"{total:,}")
    for column, kind in zip(columns[1:], Kind, strict=True):
        share = counts[kind] / total if total else 0.0
        column.metric(
            kind.label,
            f"{counts[kind]:,}",
            f"{share:.1%} of all",
            delta_color="off",
            delta_arrow="off",
        )


def loss_metrics(losses: dict[str, float]) -> None:
    for column, (name, value) in zip(st.columns(len(losses)), losses.items(), strict=True):
        column.metric(LOSS_NAMES[name], f"{value:.4f}")


def anchor_table(view: AnchorView, labels: torch.Tensor, names: tuple[str, ...]) -> None:
    """Which triplet each strategy uses for this anchor (text only: class names are user data)."""
    if not view.usable:
        st.info(
            f"Row {view.anchor} has no positive (no other row of its class) or no negative, "
            "so it is the anchor of no triplet. Pick another anchor."
        )
        return
    a, hp, hn = view.anchor, view.hardest_positive, view.hardest_negative
    total = sum(view.counts.values())
    hardest_choice = next(c for c in view.semihard_choices if c[0] == hp)
    fallback = " (fallback: no negative is farther)" if hardest_choice[2] else ""
    rows = [
        {"strategy": "Batch-hard", "triplets it uses for this anchor":
            f"one: ({a}, {hp}, {hn}), d(a,p) = {view.d_hardest_positive:.3f}, "
            f"d(a,n) = {view.d_hardest_negative:.3f}"},
        {"strategy": "Batch-hard + fix", "triplets it uses for this anchor":
            "the same triplet; its gap is divided by the batch's mean hardest-negative distance"},
        {"strategy": "Batch-all", "triplets it uses for this anchor":
            f"every triplet with a positive loss: {view.batch_all_active:,} of {total:,}"},
        {"strategy": "Batch-semi-hard (TF Addons)", "triplets it uses for this anchor":
            f"one per positive ({len(view.positives)}); for the hardest positive {hp}: "
            f"negative {hardest_choice[1]}{fallback}"},
    ]  # fmt: skip
    st.table(rows)
    kinds = ", ".join(f"{view.counts[k]:,} {k.label}" for k in Kind)
    st.caption(
        f"Anchor {a} (class {inert(names[int(labels[a])])}): {total:,} triplets, {kinds}. "
        f"{len(view.semihard_negatives)} negatives are semi-hard for at least one positive."
    )


def semihard_table(comparison: SemihardComparison, total: int) -> None:
    rows = [
        {"definition": "pytorch-metric-learning (TripletMarginMiner)",
         "rule": "0 < δ ≤ m: every such triplet", "selected": f"{comparison.pml:,}"},
        {"definition": "FaceNet / Moindrot (strict)",
         "rule": "0 < δ < m: every such triplet", "selected": f"{comparison.facenet:,}"},
        {"definition": "TensorFlow Addons / sentence-transformers",
         "rule": "per positive pair, the nearest negative farther than p (no margin bound), "
                 "else the farthest negative",
         "selected": f"{comparison.tf_addons:,} ({comparison.tf_fallbacks:,} fallbacks, "
                     f"{comparison.tf_with_loss:,} with a loss)"},
    ]  # fmt: skip
    st.table(rows)
    st.caption(
        f"Out of {total:,} valid triplets. The first two differ only at δ = m exactly; TF "
        "Addons chooses one negative per positive pair instead of keeping every semi-hard "
        "triplet, and its choice may lie beyond the margin (no loss) or be a fallback."
    )


def explainer() -> None:
    with st.expander("What am I looking at?", icon=":material/help:"):
        st.markdown(
            "A training step never sees one triplet: it sees a batch of labelled embeddings. "
            "Every (anchor, positive, negative) with the anchor and positive in one class and "
            "the negative in another is a **valid triplet**; with δ = d(a, n) − d(a, p) it is "
            "**hard** when δ ≤ 0 (the negative is at least as close as the positive), "
            "**semi-hard** when 0 < δ ≤ m, and **easy** when δ > m (no loss).\n\n"
            "- **Batch-all** averages the loss over every triplet whose loss is positive.\n"
            "- **Batch-hard** keeps one triplet per anchor: its farthest positive and its "
            "nearest negative. Strong, but it can pull every embedding onto one point "
            "(see the collapse demo); the **fix** (exactly Quaterion's `TripletLoss`, averaged "
            "over every anchor) divides the gap by the mean hardest-negative distance, so "
            "shrinking everything no longer pays.\n"
            "- **Batch-semi-hard** (FaceNet, exactly as TF Addons' `triplet_semihard_loss` "
            "computes it) takes, for every positive pair, the nearest negative that is still "
            "farther than the positive (else the farthest). Two differences: here the distance "
            "is the one you chose, where TF Addons' default is the *squared* Euclidean "
            "distance; and a batch without positive pairs gives 0 where TF Addons gives NaN.\n\n"
            "**Choosing a margin**: the sweep shows how the shares change with m. With m far "
            "above most δ almost nothing is easy and every triplet trains; with m near 0 only "
            "the hard ones do. Counts are exact (no sampling), computed in float64."
        )


def downloads(batch: Batch, scene: MiningScene, analysis: BatchAnalysis, counts) -> None:
    """Counts and (the first ``TABLE_LIMIT``) triplets as CSV; the table is built on click."""

    def triplet_table() -> str:
        rows = analysis.triplet_rows(scene.margin, TABLE_LIMIT)
        return triplets_csv(rows, batch.points.names, batch.points.labels)

    left, right = st.columns(2)
    left.download_button(
        "Download the counts (CSV)",
        counts_csv(counts, scene.margin, scene.distance),
        file_name="triplet_counts.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    right.download_button(
        f"Download the triplets (first {min(TABLE_LIMIT, analysis.total):,}, CSV)",
        triplet_table,
        file_name="triplets.csv",
        mime="text/csv",
        icon=":material/download:",
        help="Every valid triplet in (anchor, positive, negative) order, with distances and "
        f"kind; capped at {TABLE_LIMIT:,} rows.",
    )
