"""The triplet playground's state and actions: drag, presets, reset, step, descend."""

from __future__ import annotations

import functools

import streamlit as st
import torch

from lossviz.core.loss_settings import LossSettings
from lossviz.core.outlines import triplet_outlines
from lossviz.core.triplet_reading import (
    POINT_NAMES,
    TripletReading,
    descend,
    negative_landscape,
    read_triplet,
)
from lossviz.scenes.scene import PlaygroundScene
from lossviz.ui.components.heatmap import heatmap_payload
from lossviz.ui.controls import LOSS_FIELDS
from lossviz.ui.points import ScenePoints
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(PlaygroundScene, "playground", (*LOSS_FIELDS, "swap", "lr"))
POINTS = ScenePoints(BINDING, POINT_NAMES, (("ax", "ay"), ("px", "py"), ("nx", "ny")))
BOUNDS = POINTS.bounds
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


@functools.lru_cache(maxsize=64)
def landscape_heatmap(
    anchor: tuple[float, float], positive: tuple[float, float], settings: LossSettings
) -> bytes:
    """The loss heatmap's data for A and P where they are (N is not drawn, so dragging N
    reuses it); built once per A, P and settings in the process, shared by every session
    (bytes: nothing to copy, and a hit costs a hash of its arguments, not Streamlit's).
    Its own grid (100 x 100: plenty for the eye), each value at its cell's centre; the
    zero line exact for a built-in distance."""
    loss, _ = negative_landscape(anchor, positive, settings, BOUNDS, HEATMAP_RESOLUTION)
    distance = settings.pair_distance()
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
