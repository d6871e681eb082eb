"""The triplet playground's state and actions: drag, presets, reset, step, descend."""

from __future__ import annotations

import functools

import streamlit as st
import torch

from lossviz.descent import arrow_scale
from lossviz.grid import kind_cells
from lossviz.outlines import triplet_outlines
from lossviz.playground import (
    POINT_NAMES,
    TripletReading,
    descend,
    negative_landscape,
    read_triplet,
)
from lossviz.scene import PlaygroundScene
from lossviz.settings import LossSettings, make_distance
from lossviz.ui.controls import LOSS_FIELDS
from lossviz.ui.heatmap import heatmap_payload
from lossviz.ui.plane import KIND_REGION_PALETTE, Regions, Shapes
from lossviz.ui.plane_layers import kind_shapes
from lossviz.ui.points import ScenePoints
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(PlaygroundScene, "playground", (*LOSS_FIELDS, "swap", "lr"))
POINTS = ScenePoints(BINDING, POINT_NAMES, (("ax", "ay"), ("px", "py"), ("nx", "ny")))
BOUNDS = POINTS.bounds
REGION_RESOLUTION = 200
HEATMAP_RESOLUTION = 100  # the loss heatmap: 100 x 100 cells are plenty for the eye
_HEATMAP_KEY = "playground.heatmap_for"


def reset() -> None:
    POINTS.apply(PlaygroundScene())


def step(settings: LossSettings, steps: int = 1) -> None:
    """Move all three points ``steps`` gradient-descent steps; animate when more than one."""
    scene = BINDING.load()
    POINTS.follow(descend(POINTS.positions(scene), settings, scene.lr, steps, BOUNDS).tolist())


def heatmap_drawn_for(scene: PlaygroundScene) -> tuple[tuple[float, float], ...]:
    """A and P as the loss heatmap is drawn now (remembered for :func:`heatmap_is_stale`)."""
    points = POINTS.of(scene)
    drawn = (points["A"], points["P"])
    st.session_state[_HEATMAP_KEY] = drawn
    return drawn


def heatmap_is_stale(scene: PlaygroundScene) -> bool:
    """Whether A or P moved since the heatmap was drawn (then the whole page reruns)."""
    points = POINTS.of(scene)
    return st.session_state.get(_HEATMAP_KEY) != (points["A"], points["P"])


@st.cache_data(max_entries=64, show_spinner=False)
def region_grid(
    anchor: tuple[float, float], positive: tuple[float, float], settings: LossSettings
) -> Regions:
    """The kinds as 200 x 200 cells, for a typed distance (no known geometry); cached."""
    _, kind = negative_landscape(anchor, positive, settings, BOUNDS, REGION_RESOLUTION)
    return Regions(size=REGION_RESOLUTION, cells=kind_cells(kind), palette=KIND_REGION_PALETTE)


def plane_regions(
    points: dict[str, tuple[float, float]], d_ap: float, settings: LossSettings
) -> tuple[Regions | None, Shapes | None]:
    """The plane's background: exact outlines for a built-in distance, else the cell grid."""
    outlines = triplet_outlines(points["A"], points["P"], d_ap, settings)
    if outlines is None:
        return region_grid(points["A"], points["P"], settings), None
    return None, kind_shapes(outlines)


@st.cache_resource(max_entries=64, show_spinner=False)
def landscape_heatmap(
    anchor: tuple[float, float], positive: tuple[float, float], settings: LossSettings
) -> bytes:
    """The loss heatmap's data for A and P where they are (N is not drawn, so dragging N
    reuses it); built once per A, P and settings, shared read-only by every session.
    Its own grid (100 x 100: plenty for the eye), each value at its cell's centre; the
    zero line exact for a built-in distance."""
    loss, _ = negative_landscape(anchor, positive, settings, BOUNDS, HEATMAP_RESOLUTION)
    distance = make_distance(settings.distance, settings.p, settings.eps, settings.expr)
    pair = torch.tensor([anchor, positive], dtype=torch.float64)
    outlines = triplet_outlines(anchor, positive, distance(pair[:1], pair[1:]).item(), settings)
    return heatmap_payload(
        loss.numpy(),
        BOUNDS,
        {"A": anchor, "P": positive},
        zero_balls=None if outlines is None else outlines.semi,
    )


@functools.lru_cache(maxsize=4096)
def reading_of(points: tuple[tuple[float, float], ...], settings: LossSettings) -> TripletReading:
    """:func:`read_triplet`, once per process for each scene (every student opens the default
    one). Raises ``NonFiniteError`` as it does (errors are not cached)."""
    return read_triplet([list(xy) for xy in points], settings)


def arrows(reading: TripletReading) -> tuple[dict[str, tuple[float, float]], float]:
    """Arrows of ``-gradient * scale`` for each point, and the scale."""
    scale = arrow_scale(reading.gradients, BOUNDS[1] - BOUNDS[0])
    drawn = {
        name: (-gx * scale, -gy * scale)
        for name, (gx, gy) in zip(POINT_NAMES, reading.gradients, strict=True)
    }
    return drawn, scale
