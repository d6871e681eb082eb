"""The InfoNCE page's batch tab and its conventions panel.

The batch tab: N examples as 2N views (two noisy views of generated points or of digits
through a fixed random projection) on the circle or a rotatable sphere, the 2N x 2N
similarity matrix with the positives marked, one row's softmax, and the batch losses
(NT-Xent as lightly and as pytorch-metric-learning compute it, the difference named,
SupCon, CLIP). A batch and its reading are pure functions of the scene's batch fields and
tau: computed once per process (the last 16 kept) and shared by every session.

The conventions panel: the circle's scene under each library's name for the temperature,
and the textbook softmax beside the log-sum-exp form at tau = 0.01 in float32.
"""

from __future__ import annotations

import functools
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from lossviz.batches.contrastive_batch import (
    BatchReading,
    TemperatureSweep,
    read_batch,
    temperature_sweep,
)
from lossviz.batches.contrastive_views import ViewBatch, make_views
from lossviz.core.circle_reading import CircleReading
from lossviz.figures import contrastive as figures
from lossviz.figures.shared_figure import SharedFigure
from lossviz.scenes.scene import InfoNCEScene
from lossviz.teaching.temperature_conventions import naive_versus_stable, temperature_conventions
from lossviz.ui import widgets
from lossviz.ui.readouts import small_number
from lossviz.ui.state import SceneBinding

BATCH_FIELDS = ("batch", "examples", "dim", "noise", "seed")  # make_views' arguments


def batch_controls(binding: SceneBinding) -> InfoNCEScene:
    """The batch's controls, at the top of its tab (drawn only while the tab is open: the
    scene keeps their values meanwhile); returns the scene they leave."""
    columns = st.columns([3, 2, 2, 3, 2])
    with columns[0]:
        widgets.choice(binding, "batch")
    with columns[1]:
        widgets.slider(binding, "examples")
    with columns[2]:
        widgets.choice(binding, "dim", style="radio")
    with columns[3]:
        widgets.slider(binding, "noise")
    with columns[4]:
        widgets.number(binding, "seed")
    return binding.commit()


@functools.lru_cache(maxsize=16)
def batch_of(source: str, examples: int, dim: int, noise: float, seed: int) -> ViewBatch:
    """:func:`make_views`, once per process for each configuration."""
    return make_views(source, examples, dim, noise, seed)


@functools.lru_cache(maxsize=16)
def reading_of(batch_key: tuple, temperature: float) -> BatchReading:
    """:func:`read_batch` of the batch ``batch_key`` names (``BATCH_FIELDS``' values), once
    per process for each configuration and temperature."""
    return read_batch(batch_of(*batch_key), temperature)


SMALL_MATRIX_ROWS = 128  # up to here the matrix's hover has the weights and the chosen
# row is outlined; beyond, neither: the matrix (1.8 MB of JSON at 2N = 512, 3.3 MB with the
# weights) is then one figure per batch and temperature, so moving the row re-sends only
# the row's charts (Streamlit sends a browser a large message it already has as a hash)


@functools.lru_cache(maxsize=16)
def sweep_of(batch_key: tuple) -> TemperatureSweep:
    """NT-Xent of the batch at 25 temperatures from 0.01 to 2, once per process."""
    return temperature_sweep(batch_of(*batch_key))


@functools.lru_cache(maxsize=16)
def matrix_figure(batch_key: tuple, temperature: float, outlined: int | None) -> go.Figure:
    """The similarity matrix, row ``outlined`` outlined (None: none), shared read-only."""
    reading = reading_of(batch_key, temperature)
    partner = reading.partner.numpy()
    figure = figures.similarity_heatmap(
        reading.similarity.numpy(), reading.weights.numpy(), partner, anchor=outlined,
        with_weights=len(partner) <= SMALL_MATRIX_ROWS,
    )  # fmt: skip
    return SharedFigure(figure)


@functools.lru_cache(maxsize=32)
def batch_figures(batch_key: tuple, temperature: float, row: int) -> tuple[go.Figure, ...]:
    """The views, the similarity matrix, ``row``'s softmax and the loss against the
    temperature, built once per process for each configuration (shared read-only by every
    session)."""
    batch, reading = batch_of(*batch_key), reading_of(batch_key, temperature)
    weights, partner = reading.weights.numpy(), reading.partner.numpy()
    sweep = sweep_of(batch_key)
    outlined = row if len(partner) <= SMALL_MATRIX_ROWS else None
    built = (
        figures.views_figure(batch.views.numpy(), batch.example.numpy(),
                             batch.classes.numpy(), batch.class_names, anchor=row),
        figures.softmax_row(weights[row], row, int(partner[row]), classes=batch.classes.numpy()),
        figures.temperature_curve(sweep.temperatures, sweep.losses, sweep.lower_bounds,
                                  temperature, reading.nt_xent, collapsed=sweep.collapsed,
                                  negatives=reading.negatives),
    )  # fmt: skip
    views, softmax, curve = (SharedFigure(figure) for figure in built)
    return views, matrix_figure(batch_key, temperature, outlined), softmax, curve


def _losses_table(reading: BatchReading) -> list[dict[str, Any]]:
    return [
        {"loss": "NT-Xent, lightly (NTXentLoss)", "value": reading.nt_xent,
         "negatives per anchor": f"{reading.negatives:,}"},
        {"loss": "NT-Xent, PML, labels = example", "value": reading.nt_xent_pml_instance,
         "negatives per anchor": f"{reading.negatives:,}"},
        {"loss": "NT-Xent, PML, labels = class", "value": reading.nt_xent_pml_class,
         "negatives per anchor": _span(reading.class_negatives.tolist())},
        {"loss": "SupCon, PML, labels = class", "value": reading.supcon,
         "negatives per anchor": _span(reading.class_negatives.tolist())},
        {"loss": "CLIP (view 1 → view 2 and back)", "value": reading.clip,
         "negatives per anchor": f"{len(reading.partner) // 2 - 1:,}"},
    ]  # fmt: skip


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def batch_view(binding: SceneBinding) -> None:
    """The batch tab: its controls, the views, the matrix, one row's softmax, the loss
    against the temperature and the batch losses."""
    scene = batch_controls(binding)
    key = tuple(getattr(scene, field) for field in BATCH_FIELDS)
    reading = reading_of(key, scene.tau)
    rows = len(reading.partner)
    row = widgets.slider(binding, "row", spec=InfoNCEScene.field_spec("row").narrowed(hi=rows - 1))
    st.caption(
        f"{scene.examples} examples, two views each: {rows} rows. Row i's positive is the other "
        f"view of its example; the other {rows - 2} rows are its negatives (NT-Xent, τ = "
        f"{scene.tau:g}). On the circle or the sphere a line joins an example's two views."
    )
    metrics = st.columns(4)
    metrics[0].metric("batch NT-Xent", f"{reading.nt_xent:.3f}")
    metrics[1].metric("batch's lowest possible", small_number(reading.lower_bound),
                      help="log(1 + (2N − 2)·e^(−2/τ)): every positive on its anchor, "
                      "every negative opposite (on the sphere).")  # fmt: skip
    metrics[2].metric("batch collapsed", f"{reading.collapsed:.3f}",
                      help="log(2N − 1): every view on one spot.")  # fmt: skip
    metrics[3].metric("alignment / uniformity",
                      f"{reading.alignment:.3f} / {reading.uniformity:.3f}")  # fmt: skip
    views, heatmap, softmax, curve = batch_figures(key, scene.tau, min(row, rows - 1))
    left, right = st.columns(2, gap="large")
    with left:
        st.plotly_chart(views, width="stretch", key="infonce.views",
                        alt=f"The batch's {rows} views (two of each example), coloured by "
                        "class, on the unit circle or sphere.")  # fmt: skip
        st.plotly_chart(softmax, width="stretch", key="infonce.row_softmax",
                        alt=f"Row {min(row, rows - 1)}'s softmax over the other views at "
                        f"τ = {scene.tau:g}; its positive is marked.")  # fmt: skip
    with right:
        st.plotly_chart(heatmap, width="stretch", key="infonce.similarity",
                        alt=f"The {rows} × {rows} cosine similarities of the views; the "
                        "positive pairs marked with a symbol, the diagonal left out.",
                        )  # fmt: skip
        st.plotly_chart(curve, width="stretch", key="infonce.temperature",
                        alt=f"This batch's NT-Xent against τ, with its lowest possible and "
                        f"its collapsed value; τ = {scene.tau:g} is marked.")  # fmt: skip
    st.markdown("**The batch losses** on these views at this τ")
    st.dataframe(
        _losses_table(reading), hide_index=True, width="stretch",
        column_config={"value": st.column_config.NumberColumn(format="%.4f")},
    )  # fmt: skip
    st.info(reading.difference, icon=":material/difference:")


def conventions_panel(
    reading: CircleReading, temperature: float, key: str, toggle_in: Any = None
) -> None:
    """Behind a toggle: this scene's loss under each library's temperature parameter, and
    the textbook softmax overflowing at τ = 0.01 in float32 beside the log-sum-exp form."""
    toggle = (toggle_in or st).toggle
    if not toggle("Other libraries' τ", key=key,
                  help="The same loss under PML's temperature, sentence-transformers' scale "
                  "and CLIP's logit_scale; and the textbook formula's overflow."):  # fmt: skip
        return
    if not reading.on_circle:
        st.caption("These libraries normalise first: turn *On the circle* on to compare.")
        return
    conventions = temperature_conventions(reading.similarities, temperature)
    with st.container(border=True):
        st.markdown(f"**One temperature, three names.** {conventions.summary}")
        st.dataframe(
            [{"library": row.library, "written": row.call, "default": row.default,
              "loss": row.loss, "note": row.note} for row in conventions.rows],
            hide_index=True, width="stretch",
            column_config={"loss": st.column_config.NumberColumn(format="%.6f")},
        )  # fmt: skip
        naive = naive_versus_stable(reading.similarities)
        st.markdown("**The textbook formula at τ = 0.01, float32**")
        columns = st.columns(3)
        columns[0].metric("exp(s/τ) / Σ exp(s/τ)", f"{naive.naive:.6g}")
        columns[1].metric("log-sum-exp form", f"{naive.stable:.6g}")
        columns[2].metric("float64", f"{naive.exact:.6g}")
        st.caption(naive.explanation)


__all__ = ["batch_controls", "batch_view", "conventions_panel"]
