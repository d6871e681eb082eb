"""The loss controls every loss page shares: distance, typed expression, p, margin, eps, swap."""

from __future__ import annotations

import math

import streamlit as st

from lossviz.distances import DISTANCE_LABELS
from lossviz.expr import ALLOWED_FUNCTIONS, EXAMPLES, ExpressionError, parse_distance
from lossviz.scene import LossScene
from lossviz.settings import LossSettings
from lossviz.ui.state import SceneBinding

P_CHOICES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, math.inf)
EPS_LABELS = {0.0: "0", 1e-6: "1e-6 (torch's default)"}
LOSS_FIELDS = ("distance", "expr", "p", "margin", "eps")


def _distance_label(name: str) -> str:
    return DISTANCE_LABELS.get(name, "Custom expression…")


def _p_label(p: float) -> str:
    return "∞" if math.isinf(p) else f"{p:g}"


TRIPLET_MARGIN_HELP = "How much farther N must be from A than P is before the loss is zero."


def loss_controls(
    binding: SceneBinding, scene: LossScene, margin_help: str = TRIPLET_MARGIN_HELP
) -> None:
    """Widgets for the shared loss fields, keyed by field name (values come from the scene)."""
    key = binding.widget_key
    spec = scene.field_spec
    distance = st.selectbox(
        "Distance",
        spec("distance").options,
        format_func=_distance_label,
        key=key("distance"),
        help="How far apart two points are. The regions and the loss change with it.",
    )
    if distance == "custom":
        functions = "\n".join(f"- `{name}`: {text}" for name, text in ALLOWED_FUNCTIONS.items())
        st.text_input(
            "d(a, b) =",
            key=key("expr"),
            max_chars=spec("expr").max_len,
            help=f"Any distance in the points `a` and `b`, e.g. `{EXAMPLES[0]}`.\n\n{functions}",
        )
    st.select_slider(
        "p (Minkowski)",
        sorted({*P_CHOICES, scene.p}),
        format_func=_p_label,
        key=key("p"),
        disabled=distance != "minkowski",
        help="The p of the p-norm (sum |x|^p)^(1/p): 1 is Manhattan, 2 Euclidean, ∞ the "
        "largest coordinate. Below 1 it is not a norm, but torch accepts it.",
    )
    st.slider(
        "Margin m",
        min_value=spec("margin").lo,
        max_value=spec("margin").hi,
        step=0.05,
        key=key("margin"),
        help=margin_help,
    )
    st.radio(
        "eps",
        spec("eps").options,
        format_func=EPS_LABELS.get,
        horizontal=True,
        key=key("eps"),
        help="torch adds eps to the difference a − b before taking the norm, so two "
        "coincident points are eps·D^(1/p) apart and still have a gradient direction.",
    )


def learning_rate_control(binding: SceneBinding, scene: LossScene) -> None:
    """The step size of Step and Descend, bounded by the scene's spec."""
    spec = scene.field_spec("lr")
    st.number_input(
        "Learning rate", spec.lo, spec.hi, key=binding.widget_key("lr"), format="%.4g",
        help="Step size of Step and Descend: each point moves by −lr · ∇L.",
    )  # fmt: skip


def usable_expression(binding: SceneBinding, typed: str) -> str:
    """The typed distance if it parses, else the last one that did (the parser's message shown)."""
    good_key = f"{binding.page}.good_expr"
    try:
        parse_distance(typed)
    except ExpressionError as problem:
        fallback = st.session_state.get(good_key, binding.scene_cls.field_spec("expr").default)
        st.error(f"{problem}  \nStill using the last good distance: `{fallback}`")
        return fallback
    st.session_state[good_key] = typed
    return typed


def loss_settings(binding: SceneBinding, scene: LossScene, swap: bool = False) -> LossSettings:
    """The core's settings for a scene; a bad typed distance falls back (with a message)."""
    expr = usable_expression(binding, scene.expr) if scene.distance == "custom" else scene.expr
    return LossSettings(scene.margin, scene.p, scene.eps, swap, scene.distance, expr)
