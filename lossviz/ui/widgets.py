"""Sidebar controls built from a scene's field specs: each control is defined once.

Every function takes the page's :class:`~lossviz.ui.state.SceneBinding` and a field name,
and builds the Streamlit widget keyed by the field, with the default, bounds, step,
options, label, help and option labels of ``Scene.field_spec(field)``: a call site
passes no label or help (a page that needs other words for a field declares them in its
scene). A page that offers less passes a narrowed ``spec`` (``FieldSpec.narrowed``: e.g.
the anchor row of the data at hand). A field without a label is not a control: asking
for its widget raises ``ValueError``.

A value the widget cannot show (a row beyond the data, an option the page no longer
offers) is moved to the nearest one it can, and a notice beside the control says so:
never a silent change.

A control whose field the link hides (``?hide=margin,p``, ``?hide=all``:
:mod:`lossviz.ui.presenter`) is not drawn: the function returns the field's value, which
comes from the link or the scene as usual (its key is seeded by ``SceneBinding.load``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Literal

import streamlit as st

from lossviz.scenes.scene import FieldSpec
from lossviz.ui.inert import inert
from lossviz.ui.presenter import is_hidden
from lossviz.ui.state import SceneBinding


def _spec(binding: SceneBinding, field: str, spec: FieldSpec | None) -> FieldSpec:
    spec = spec or binding.scene_cls.field_spec(field)
    if not spec.label:
        raise ValueError(f"{binding.scene_cls.__name__}.{field} has no label: not a control")
    return spec


def _fit(binding: SceneBinding, field: str, spec: FieldSpec) -> None:
    """Make the control's value one it can show; a notice when that changed it."""
    key = binding.widget_key(field)
    value = st.session_state.get(key, spec.default)
    problem = spec.problem(value)
    if problem is None:
        return
    fitted = spec.default
    if spec.kind == "number" and isinstance(value, int | float) and not math.isnan(value):
        fitted = min(max(value, spec.lo), spec.hi)
        fitted = int(fitted) if spec.integer else float(fitted)
    st.session_state[key] = fitted
    st.warning(
        f"{spec.label}: {inert(spec.shown(value), 60)} {inert(problem)} here, so it shows "
        f"{inert(spec.shown(fitted))}."
    )


def _value(binding: SceneBinding, field: str, spec: FieldSpec) -> Any:
    """A hidden control's value: the scene's (from the link), fitted by ``_fit`` already."""
    return st.session_state.get(binding.widget_key(field), spec.default)


def _number_args(spec: FieldSpec) -> dict[str, Any]:
    if spec.integer:
        return {"min_value": int(spec.lo), "max_value": int(spec.hi),
                "step": int(spec.step or 1)}  # fmt: skip
    args: dict[str, Any] = {"min_value": float(spec.lo), "max_value": float(spec.hi)}
    if spec.step is not None:
        args["step"] = float(spec.step)
    return args


def _numeric(
    widget: Callable[..., Any], binding: SceneBinding, field: str, spec: FieldSpec | None,
    format: str | None,
) -> Any:  # fmt: skip
    spec = _spec(binding, field, spec)
    _fit(binding, field, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    return widget(spec.label, key=binding.widget_key(field), help=spec.help, format=format,
                  **_number_args(spec))  # fmt: skip


def slider(
    binding: SceneBinding, field: str, *, spec: FieldSpec | None = None,
    format: str | None = None,
) -> Any:  # fmt: skip
    """A number field as a slider over its range, in its steps."""
    return _numeric(st.slider, binding, field, spec, format)


def number(
    binding: SceneBinding, field: str, *, spec: FieldSpec | None = None,
    format: str | None = None,
) -> Any:  # fmt: skip
    """A number field as a number input (exact values, e.g. a seed or a learning rate)."""
    return _numeric(st.number_input, binding, field, spec, format)


def marks(binding: SceneBinding, field: str, *, disabled: bool = False) -> Any:
    """A number field as a select slider over its marks (and the current value, if between)."""
    spec = _spec(binding, field, None)
    _fit(binding, field, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    current = st.session_state.get(binding.widget_key(field), spec.default)
    options = sorted({*spec.marks, current})
    return st.select_slider(spec.label, options, key=binding.widget_key(field), help=spec.help,
                            disabled=disabled, format_func=spec.shown)  # fmt: skip


def choice(
    binding: SceneBinding, field: str, *, style: Literal["select", "radio", "slider"] = "select",
    horizontal: bool = False, options: tuple | None = None,
) -> Any:  # fmt: skip
    """A choice field as a select box, radio buttons or a select slider, options labelled."""
    spec = _spec(binding, field, None)
    if options is not None:  # a page offering fewer options narrows the spec
        spec = dataclasses.replace(spec, options=options)
    _fit(binding, field, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    args = {"key": binding.widget_key(field), "help": spec.help, "format_func": spec.shown}
    if style == "radio":
        return st.radio(spec.label, spec.options, horizontal=horizontal, **args)
    if style == "slider":
        return st.select_slider(spec.label, spec.options, **args)
    return st.selectbox(spec.label, spec.options, **args)


def toggle(binding: SceneBinding, field: str) -> bool:
    """A flag field as a toggle."""
    spec = _spec(binding, field, None)
    _fit(binding, field, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    return st.toggle(spec.label, key=binding.widget_key(field), help=spec.help)


def text(binding: SceneBinding, field: str) -> str:
    """A text field as a text input, at most its ``max_len`` characters."""
    spec = _spec(binding, field, None)
    _fit(binding, field, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    return st.text_input(spec.label, key=binding.widget_key(field), max_chars=spec.max_len,
                         help=spec.help)  # fmt: skip


RECORD_HELP = (
    "The step the figure shows first and the numbers below describe (arrow keys move it). "
    "▶ Play under the figure animates every step in your browser."
)


def recorded_step(steps: list[int], key: str) -> int:
    """A select slider over a run's recorded ``steps`` (the data's, not a scene field's):
    the step shown, the last one at first and whenever the recorded steps change."""
    if st.session_state.get(key) not in steps:
        st.session_state[key] = steps[-1]
    return st.select_slider("Step shown", steps, key=key, help=RECORD_HELP)


__all__ = ["choice", "marks", "number", "recorded_step", "slider", "text", "toggle"]
