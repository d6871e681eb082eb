"""The triplet playground's state and actions: drag, presets, reset, step, descend."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from lossviz.figures import COLORS, loss_landscape
from lossviz.playground import (
    POINT_NAMES,
    LossSettings,
    TripletReading,
    arrow_scale,
    descend,
    kind_cells,
    negative_landscape,
)
from lossviz.presets import PLAYGROUND_PRESETS
from lossviz.scene import PlaygroundScene
from lossviz.ui.controls import LOSS_FIELDS
from lossviz.ui.plane import Metric, Regions, Trajectory
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(PlaygroundScene, "playground", (*LOSS_FIELDS, "swap", "lr"))
BOUNDS = (PlaygroundScene.field_spec("ax").lo, PlaygroundScene.field_spec("ax").hi)
REGION_RESOLUTION = 200
HEATMAP_STRIDE = 2  # the loss heatmap uses every 2nd cell: 100 x 100 is plenty for the eye
DESCENT_STEPS = 50
KIND_PALETTE = {"0": COLORS["easy"], "1": COLORS["semi-hard"], "2": COLORS["hard"]}
_TRAJECTORY_KEY = "playground.trajectory"
_LESSON_KEY = "playground.lesson"
_HEATMAP_KEY = "playground.heatmap_for"
_COORDS = (("ax", "ay"), ("px", "py"), ("nx", "ny"))


def points_of(scene: PlaygroundScene) -> dict[str, tuple[float, float]]:
    return {
        name: (getattr(scene, fx), getattr(scene, fy))
        for name, (fx, fy) in zip(POINT_NAMES, _COORDS, strict=True)
    }


def triplet_of(scene: PlaygroundScene) -> list[list[float]]:
    return [list(xy) for xy in points_of(scene).values()]


def _point_fields(triplet) -> dict[str, float]:
    return {
        field: float(value)
        for (fx, fy), (x, y) in zip(_COORDS, triplet, strict=True)
        for field, value in ((fx, x), (fy, y))
    }


def move_points(points: dict[str, tuple[float, float]]) -> None:
    """The plane's callback: the dragged positions become the scene's."""
    triplet = [points.get(name, xy) for name, xy in points_of(BINDING.load()).items()]
    BINDING.update(**_point_fields(triplet))
    st.session_state[_TRAJECTORY_KEY] = None


def apply_preset(name: str) -> None:
    preset = PLAYGROUND_PRESETS[name]
    BINDING.set(preset.scene)
    st.session_state[_TRAJECTORY_KEY] = None
    st.session_state[_LESSON_KEY] = preset.lesson


def reset() -> None:
    BINDING.set(PlaygroundScene())
    st.session_state[_TRAJECTORY_KEY] = None
    st.session_state[_LESSON_KEY] = None


def lesson() -> str | None:
    return st.session_state.get(_LESSON_KEY)


def step(settings: LossSettings, steps: int = 1) -> None:
    """Move all three points ``steps`` gradient-descent steps; animate when more than one."""
    scene = BINDING.load()
    path = descend(triplet_of(scene), settings, scene.lr, steps, BOUNDS)
    BINDING.update(**_point_fields(path[-1].tolist()))
    if steps > 1:
        previous = st.session_state.get(_TRAJECTORY_KEY)
        frames = [dict(zip(POINT_NAMES, map(tuple, frame), strict=True)) for frame in path.tolist()]
        animation_id = previous.animation_id + 1 if previous else 1
        st.session_state[_TRAJECTORY_KEY] = Trajectory(frames=frames, animation_id=animation_id)
    else:
        st.session_state[_TRAJECTORY_KEY] = None


def heatmap_drawn_for(scene: PlaygroundScene) -> tuple[tuple[float, float], ...]:
    """A and P as the loss heatmap is drawn now (remembered for :func:`heatmap_is_stale`)."""
    points = points_of(scene)
    drawn = (points["A"], points["P"])
    st.session_state[_HEATMAP_KEY] = drawn
    return drawn


def heatmap_is_stale(scene: PlaygroundScene) -> bool:
    """Whether A or P moved since the heatmap was drawn (then the whole page reruns)."""
    points = points_of(scene)
    return st.session_state.get(_HEATMAP_KEY) != (points["A"], points["P"])


def trajectory() -> Trajectory | None:
    return st.session_state.get(_TRAJECTORY_KEY)


@dataclass(frozen=True)
class Landscape:
    """What the page draws for every position N could take (NumPy grids, first row at top)."""

    regions: Regions  # kinds, 200 x 200, for the plane's background
    loss_grid: object  # 100 x 100 loss heatmap
    boundary_grid: object  # 50 x 50 loss, for the loss-0 contour


@st.cache_data(max_entries=256, show_spinner=False)
def landscape(anchor: tuple[float, float], positive: tuple[float, float], settings: LossSettings):
    """The landscape for A and P where they are; cached, so dragging N costs nothing here."""
    loss, kind = negative_landscape(anchor, positive, settings, BOUNDS, REGION_RESOLUTION)
    regions = Regions(size=REGION_RESOLUTION, cells=kind_cells(kind), palette=KIND_PALETTE)
    heatmap = loss[::HEATMAP_STRIDE, ::HEATMAP_STRIDE].contiguous().numpy()
    boundary = loss[:: 2 * HEATMAP_STRIDE, :: 2 * HEATMAP_STRIDE].contiguous().numpy()
    return Landscape(regions=regions, loss_grid=heatmap, boundary_grid=boundary)


@st.cache_resource(max_entries=64, show_spinner=False)
def landscape_figure(
    anchor: tuple[float, float], positive: tuple[float, float], settings: LossSettings
) -> go.Figure:
    """The loss heatmap for A and P where they are (N is not drawn, so dragging N reuses it).

    Building and validating the plotly figure is most of a rerun's time; it is
    rebuilt only when A, P or the settings change. Shared read-only: plotting
    does not modify it.
    """
    view = landscape(anchor, positive, settings)
    return loss_landscape(view.loss_grid, view.boundary_grid, BOUNDS, {"A": anchor, "P": positive})


def arrows(reading: TripletReading) -> tuple[dict[str, tuple[float, float]], float]:
    """Arrows of ``-gradient * scale`` for each point, and the scale."""
    scale = arrow_scale(reading.gradients, BOUNDS[1] - BOUNDS[0])
    drawn = {
        name: (-gx * scale, -gy * scale)
        for name, (gx, gy) in zip(POINT_NAMES, reading.gradients, strict=True)
    }
    return drawn, scale


def preview_metric(scene: PlaygroundScene) -> Metric:
    """How the plane measures its live preview lines while a point is dragged."""
    kinds = {
        "euclidean": ("lp", 2.0),
        "manhattan": ("lp", 1.0),
        "chebyshev": ("lp", float("inf")),
        "minkowski": ("lp", scene.p),
        "cosine": ("cosine", 2.0),
        "squared_euclidean": ("squared", 2.0),
    }
    kind, p = kinds.get(scene.distance, ("none", 2.0))
    return Metric(kind=kind, p=p, eps=scene.eps, show_pn=scene.swap)
