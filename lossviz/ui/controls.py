"""The loss controls every loss page shares: distance, typed expression, p, margin, eps, swap."""

from __future__ import annotations

import streamlit as st

from lossviz.core.expr import ALLOWED_FUNCTIONS, EXAMPLES, ExpressionError, parse_distance
from lossviz.core.loss_settings import LossSettings
from lossviz.scenes.scene import LossScene
from lossviz.ui import widgets
from lossviz.ui.inert import inert
from lossviz.ui.state import SceneBinding

LOSS_FIELDS = ("distance", "expr", "p", "margin", "eps")


TRIPLET_MARGIN_HELP = "How much farther N must be from A than P is before the loss is zero."


def loss_controls(binding: SceneBinding, margin_help: str = TRIPLET_MARGIN_HELP) -> None:
    """Widgets for the shared loss fields, keyed by field name (values come from the scene)."""
    distance = widgets.choice(
        binding, "distance", "Distance",
        help="How far apart two points are. The regions and the loss change with it.",
    )  # fmt: skip
    if distance == "custom":
        functions = "\n".join(f"- `{name}`: {text}" for name, text in ALLOWED_FUNCTIONS.items())
        widgets.text(
            binding, "expr", "d(a, b) =",
            help=f"Any distance in the points `a` and `b`, e.g. `{EXAMPLES[0]}`.\n\n{functions}",
        )  # fmt: skip
    widgets.marks(
        binding, "p", "p (Minkowski)", disabled=distance != "minkowski",
        help="The p of the p-norm (sum |x|^p)^(1/p): 1 is Manhattan, 2 Euclidean, ∞ the "
        "largest coordinate. Below 1 it is not a norm, but torch accepts it.",
    )  # fmt: skip
    widgets.slider(binding, "margin", "Margin m", help=margin_help)
    widgets.choice(
        binding, "eps", "eps", style="radio", horizontal=True,
        help="torch adds eps to the difference a − b before taking the norm, so two "
        "coincident points are eps·D^(1/p) apart and still have a gradient direction.",
    )  # fmt: skip


def learning_rate_control(binding: SceneBinding) -> None:
    """The step size of Step and Descend, bounded by the scene's spec."""
    widgets.number(
        binding, "lr", "Learning rate", format="%.4g",
        help="Step size of Step and Descend: each point moves by −lr · ∇L.",
    )  # fmt: skip


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
