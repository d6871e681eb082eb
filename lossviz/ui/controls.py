"""The loss controls every loss page shares: distance, typed expression, p, margin, eps, swap."""

from __future__ import annotations

import streamlit as st

from lossviz.core.expr import ExpressionError, parse_distance
from lossviz.core.loss_settings import LossSettings
from lossviz.scenes.scene import LossScene
from lossviz.ui import widgets
from lossviz.ui.inert import inert
from lossviz.ui.state import SceneBinding

LOSS_FIELDS = ("distance", "expr", "p", "margin", "eps")


def loss_controls(binding: SceneBinding) -> None:
    """Widgets for the shared loss fields, keyed by field name (values come from the scene;
    labels and help from its specs, e.g. the contrastive scene's own margin help)."""
    distance = widgets.choice(binding, "distance")
    if distance == "custom":
        widgets.text(binding, "expr")
    widgets.marks(binding, "p", disabled=distance != "minkowski")
    widgets.slider(binding, "margin")
    widgets.choice(binding, "eps", style="radio", horizontal=True)


def learning_rate_control(binding: SceneBinding) -> None:
    """The step size of Step and Descend, bounded by the scene's spec."""
    widgets.number(binding, "lr", format="%.4g")


def usable_expression(binding: SceneBinding, typed: str) -> str:
    """The typed distance if it parses, else the last one that did (the parser's message shown)."""
    good_key = f"{binding.page}.good_expr"
    try:
        parse_distance(typed)
    except ExpressionError as problem:
        fallback = st.session_state.get(good_key, binding.scene_cls.field_spec("expr").default)
        st.error(f"{inert(problem)}  \nStill using the last good distance: {inert(fallback)}")
        return fallback
    st.session_state[good_key] = typed
    return typed


def loss_settings(binding: SceneBinding, scene: LossScene, swap: bool = False) -> LossSettings:
    """The core's settings for a scene; a bad typed distance falls back (with a message)."""
    expr = usable_expression(binding, scene.expr) if scene.distance == "custom" else scene.expr
    return LossSettings(scene.margin, scene.p, scene.eps, swap, scene.distance, expr)
