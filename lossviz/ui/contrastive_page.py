"""The contrastive page's state and actions: drag, presets, reset, step, descend, convention."""

from __future__ import annotations

import functools

import plotly.graph_objects as go
import streamlit as st

from lossviz.core.loss_settings import LossSettings
from lossviz.core.pair_reading import (
    POINT_NAMES,
    PairReading,
    descend_pair,
    loss_along_distance,
    read_pair,
)
from lossviz.figures.curves import contrastive_curves
from lossviz.figures.shared_figure import SharedFigure
from lossviz.scenes.scene import ContrastiveScene
from lossviz.ui.controls import LOSS_FIELDS
from lossviz.ui.points import ScenePoints
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(ContrastiveScene, "contrastive", (*LOSS_FIELDS, "similar", "lr"))
POINTS = ScenePoints(BINDING, POINT_NAMES, (("x1x", "x1y"), ("x2x", "x2y")))
BOUNDS = POINTS.bounds
PLANE_KEY = "contrastive.plane"
INVERTED_KEY = "contrastive.inverted"


def reset() -> None:
    POINTS.apply(ContrastiveScene())
    st.session_state[INVERTED_KEY] = False


def inverted() -> bool:
    """Whether the page shows (and descends) the inverted snippet instead of the loss."""
    return bool(st.session_state.get(INVERTED_KEY, False))


def step(settings: LossSettings, steps: int = 1) -> None:
    """Move both points ``steps`` gradient-descent steps (of the loss drawn); animate if > 1."""
    scene = BINDING.load()
    path = descend_pair(
        POINTS.positions(scene), scene.similar, settings, scene.lr, steps, BOUNDS,
        inverted=inverted(),
    )  # fmt: skip
    POINTS.follow(path.tolist())


@functools.lru_cache(maxsize=4096)
def readings_of(
    points: tuple[tuple[float, float], ...], similar: bool, settings: LossSettings
) -> tuple[PairReading, PairReading]:
    """The pair's reading (X1, X2: ``points``) and the inverted snippet's
    (:func:`read_pair`, ``inverted=True``), once per process for each scene (every student
    opens the default one): what the plane, the numbers, the formulas, the curves and the
    reference check show. Raises ``NonFiniteError`` as it does (errors are not cached)."""
    rows = [list(xy) for xy in points]
    return read_pair(rows, similar, settings), read_pair(rows, similar, settings, inverted=True)


@functools.lru_cache(maxsize=64)
def curves_figure(
    margin: float,
    pair: tuple[float, float, bool],
    inverted_point: tuple[float, float] | None,
) -> go.Figure:
    """Loss against d for both labels (values from the core), the pair marked; built once
    per margin and marks in the process, shared read-only by every session. ``pair`` is
    (d, loss, similar); ``inverted_point`` the inverted snippet's (d, loss), if shown."""
    hi = max(2.0 * margin, 1.15 * pair[0], 0.5)
    curves = loss_curves(margin, hi)
    return contrastive_curves(*curves, margin, pair, inverted_point, figure=SharedFigure)


@functools.lru_cache(maxsize=64)
def loss_curves(margin: float, hi: float) -> tuple[tuple[float, ...], ...]:
    """:func:`loss_along_distance` on [0, ``hi``] as tuples (d, similar loss, dissimilar
    loss), once per margin and ``hi`` (which is 2 m for every pair closer than 2 m / 1.15:
    most drops share one)."""
    return tuple(tuple(values.tolist()) for values in loss_along_distance(margin, hi))


def contrastive_explainer() -> None:
    with st.expander("What am I looking at?", icon=":material/help:"):
        st.markdown(
            """
**The points.** X1 and X2 are two embeddings; the toggle says whether they come from the
same class (*similar*, label y = 1) or not (*dissimilar*, y = 0).

**The loss.** The contrastive loss (Hadsell, Chopra and LeCun 2006) is
`y·d² + (1 − y)·max(m − d, 0)²`: a similar pair is always *pulled* together; a dissimilar
pair is *pushed* apart only while it is closer than the margin *m*, and costs nothing beyond.

**The shaded disc.** Where X2 would be inside the margin of X1 (a p-ball of radius *m*:
a circle for p = 2, a diamond for p = 1, a square for p = ∞).

**The arrows.** The negative gradient of the loss for each point, from torch autograd.
*Step* takes one gradient-descent step; *Descend* takes 50 and animates them.

**The chart.** The loss against d for both labels, from the same core function: the pair is
the dot; the dotted line is the margin.

**The label convention.** A much-copied snippet documents "label 1 = similar" but computes
the loss the other way round. Turn on *Use the inverted snippet* to see what it does here.
"""
        )
