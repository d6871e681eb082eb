"""Sidebar controls built from a scene's field specs: each control is defined once.

Every function takes the page's :class:`~lossviz.ui.state.SceneBinding`, a field name
and a label, and builds the Streamlit widget keyed by the field, with the default,
bounds, step and options of ``Scene.field_spec(field)`` and the option labels of
:mod:`lossviz.ui.labels`. A page that offers less passes a narrowed ``spec``
(``FieldSpec.narrowed``: e.g. the anchor row of the data at hand).

A value the widget cannot show (a row beyond the data, an option the page no longer
offers) is moved to the nearest one it can, and a notice beside the control says so:
never a silent change.

A control whose field the link hides (``?hide=margin,p``, ``?hide=all``:
:mod:`lossviz.ui.presenter`) is not drawn: the function returns the field's value, which
comes from the link or the scene as usual (its key is seeded by ``SceneBinding.load``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import streamlit as st

from lossviz.scenes.scene import FieldSpec
from lossviz.ui.inert import inert
from lossviz.ui.labels import option_label
from lossviz.ui.presenter import is_hidden
from lossviz.ui.state import SceneBinding


def _spec(binding: SceneBinding, field: str, spec: FieldSpec | None) -> FieldSpec:
    return spec or binding.scene_cls.field_spec(field)


def _fit(binding: SceneBinding, field: str, label: str, spec: FieldSpec) -> None:
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
    shown = option_label(field, fitted)
    st.warning(
        f"{label}: {inert(option_label(field, value), 60)} {inert(problem)} here, so it shows "
        f"{inert(shown)}."
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
    widget: Callable[..., Any], binding: SceneBinding, field: str, label: str,
    help: str | None, spec: FieldSpec | None, format: str | None,
) -> Any:  # fmt: skip
    spec = _spec(binding, field, spec)
    _fit(binding, field, label, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    return widget(label, key=binding.widget_key(field), help=help, format=format,
                  **_number_args(spec))  # fmt: skip


def slider(
    binding: SceneBinding, field: str, label: str, *, help: str | None = None,
    spec: FieldSpec | None = None, format: str | None = None,
) -> Any:  # fmt: skip
    """A number field as a slider over its range, in its steps."""
    return _numeric(st.slider, binding, field, label, help, spec, format)


def number(
    binding: SceneBinding, field: str, label: str, *, help: str | None = None,
    spec: FieldSpec | None = None, format: str | None = None,
) -> Any:  # fmt: skip
    """A number field as a number input (exact values, e.g. a seed or a learning rate)."""
    return _numeric(st.number_input, binding, field, label, help, spec, format)


def marks(
    binding: SceneBinding, field: str, label: str, *, help: str | None = None,
    disabled: bool = False,
) -> Any:  # fmt: skip
    """A number field as a select slider over its marks (and the current value, if between)."""
    spec = _spec(binding, field, None)
    _fit(binding, field, label, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    current = st.session_state.get(binding.widget_key(field), spec.default)
    options = sorted({*spec.marks, current})
    return st.select_slider(label, options, key=binding.widget_key(field), help=help,
                            disabled=disabled,
                            format_func=lambda v: option_label(field, v))  # fmt: skip


def choice(
    binding: SceneBinding, field: str, label: str, *,
    style: Literal["select", "radio", "slider"] = "select", help: str | None = None,
    horizontal: bool = False, options: tuple | None = None,
) -> Any:  # fmt: skip
    """A choice field as a select box, radio buttons or a select slider, options labelled."""
    spec = _spec(binding, field, None)
    if options is not None:  # a page offering fewer options narrows the spec
        spec = FieldSpec("choice", spec.default, options=options)
    _fit(binding, field, label, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    key = binding.widget_key(field)
    shown: Callable[[object], str] = lambda value: option_label(field, value)  # noqa: E731
    if style == "radio":
        return st.radio(label, spec.options, key=key, help=help, horizontal=horizontal,
                        format_func=shown)  # fmt: skip
    if style == "slider":
        return st.select_slider(label, spec.options, key=key, help=help, format_func=shown)
    return st.selectbox(label, spec.options, key=key, help=help, format_func=shown)


def toggle(binding: SceneBinding, field: str, label: str, *, help: str | None = None) -> bool:
    """A flag field as a toggle."""
    spec = _spec(binding, field, None)
    _fit(binding, field, label, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    return st.toggle(label, key=binding.widget_key(field), help=help)


def text(binding: SceneBinding, field: str, label: str, *, help: str | None = None) -> str:
    """A text field as a text input, at most its ``max_len`` characters."""
    spec = _spec(binding, field, None)
    _fit(binding, field, label, spec)
    if is_hidden(field):
        return _value(binding, field, spec)
    return st.text_input(label, key=binding.widget_key(field), max_chars=spec.max_len, help=help)


__all__ = ["choice", "marks", "number", "slider", "text", "toggle"]
