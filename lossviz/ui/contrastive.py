"""The contrastive page's state and actions: drag, presets, reset, step, descend, convention."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from lossviz.descent import arrow_scale
from lossviz.figures.curves import contrastive_curves
from lossviz.outlines import margin_outline
from lossviz.pairs import (
    POINT_NAMES,
    PairReading,
    descend_pair,
    loss_along_distance,
    margin_cells,
)
from lossviz.scene import ContrastiveScene
from lossviz.settings import LossSettings
from lossviz.ui.controls import LOSS_FIELDS
from lossviz.ui.plane import Regions
from lossviz.ui.plane_layers import MARGIN_FILL, margin_shapes
from lossviz.ui.points import ScenePoints
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(ContrastiveScene, "contrastive", (*LOSS_FIELDS, "similar", "lr"))
POINTS = ScenePoints(BINDING, POINT_NAMES, (("x1x", "x1y"), ("x2x", "x2y")))
BOUNDS = POINTS.bounds
REGION_RESOLUTION = 200
PLANE_KEY = "contrastive.plane"
INVERTED_KEY = "contrastive.inverted"
MARGIN_PALETTE = {"0": "#ffffff", "1": MARGIN_FILL}


def inverted_snippet(margin: float) -> str:
    """The widely copied snippet, written out with the page's margin (what its curve uses)."""
    return (
        "def contrastive_loss(x1, x2, label):\n"
        '    """label 1 = similar, 0 = not."""\n'
        f"    m = {margin!r}  # the margin\n"
        "    d = F.pairwise_distance(x1, x2)\n"
        "    pull = (1 - label) * d**2\n"
        "    push = label * F.relu(m - d)**2\n"
        "    return (pull + push).mean()"
    )


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


def arrows(
    reading: PairReading, points: dict[str, tuple[float, float]]
) -> tuple[dict[str, tuple[float, float]], float]:
    """Arrows of ``-gradient * scale`` for each point, and the scale.

    As on the playground (the longest at most 15% of the plane), and also at most 45% of
    the gap between the points, so that a pulled pair's arrows do not cross each other.
    """
    scale = arrow_scale(reading.gradients, BOUNDS[1] - BOUNDS[0])
    (x1, y1), (x2, y2) = points["X1"], points["X2"]
    gap = math.hypot(x2 - x1, y2 - y1)
    longest = max(math.hypot(gx, gy) for gx, gy in reading.gradients)
    if gap > 0 and longest * scale > 0.45 * gap:
        scale = 0.45 * gap / longest
    drawn = {
        name: (-gx * scale, -gy * scale)
        for name, (gx, gy) in zip(POINT_NAMES, reading.gradients, strict=True)
    }
    return drawn, scale


@st.cache_data(max_entries=64, show_spinner=False)
def margin_grid(x1: tuple[float, float], settings: LossSettings) -> Regions:
    """Where X2 would be inside the margin of X1, as cells: for a typed distance; cached."""
    cells = margin_cells(x1, settings, BOUNDS, REGION_RESOLUTION)
    return Regions(size=REGION_RESOLUTION, cells=cells, palette=MARGIN_PALETTE, opacity=0.3)


def plane_regions(x1: tuple[float, float], settings: LossSettings) -> dict[str, object]:
    """The plane's ``regions`` or ``shapes``: the margin around X1, exact for a built-in
    distance, else the cell grid."""
    balls = margin_outline(x1, settings)
    if balls is None:
        return {"regions": margin_grid(x1, settings)}
    return {"shapes": margin_shapes(balls)}


@st.cache_resource(max_entries=64, show_spinner=False)
def curves_figure(
    margin: float,
    pair: tuple[float, float, bool],
    inverted_point: tuple[float, float] | None,
) -> go.Figure:
    """Loss against d for both labels (values from the core), the pair marked; cached."""
    hi = max(2.0 * margin, 1.15 * pair[0], 0.5)
    d, similar_loss, dissimilar_loss = loss_along_distance(margin, hi)
    return contrastive_curves(
        d.tolist(), similar_loss.tolist(), dissimilar_loss.tolist(), margin, pair, inverted_point
    )


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
