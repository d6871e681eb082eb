"""Helpers shared by the pages' AppTests: run, check, find widgets."""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

WIDGET_KINDS = ("slider", "select_slider", "selectbox", "radio", "toggle", "number_input",
                "text_input", "checkbox")  # fmt: skip


def ok(at: AppTest) -> AppTest:
    """The app after a run, asserting that it raised nothing."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(
    path: str, query: dict[str, str] | None = None, state: dict[str, object] | None = None
) -> AppTest:
    """Run a page file on its own, optionally opened with a link's query and with session
    ``state`` set first (e.g. a toggle's key: on)."""
    at = AppTest.from_file(path, default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return ok(at.run())


def widget(at: AppTest, label: str):
    """The widget with this label, whatever its kind."""
    for kind in WIDGET_KINDS:
        for element in getattr(at, kind):
            if element.label == label:
                return element
    raise AssertionError(f"no widget labelled {label!r}")


# The loss controls both loss pages show (lossviz.ui.controls): (label, value, scene field).
SHARED_CONTROLS = [("Margin m", 0.35, "margin"), ("eps", 0.0, "eps"), ("Learning rate", 0.5, "lr")]


def set_widget(at: AppTest, label: str, value: object) -> AppTest:
    """Give the widget labelled ``label`` a value and rerun (asserting no exception)."""
    widget(at, label).set_value(value)
    return ok(at.run())


def assert_field_shown(at: AppTest, scene, field: str, value: object) -> None:
    """The page's scene holds ``value`` in ``field``, and so does its link."""
    assert getattr(scene, field) == value
    assert at.query_params[field] == type(scene).field_spec(field).encode(value)


def assert_preset_shown(at: AppTest, scene, preset) -> None:
    """The page's scene is the preset's, and the page says the preset's lesson."""
    assert scene == preset.scene
    assert at.info and at.info[0].value == preset.lesson


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def component_data(at: AppTest, name: str) -> list[dict]:
    """The data of every mounted Components v2 element called ``name``, in page order.

    lossviz's components receive JSON bytes (``lossviz.ui.components.wire``); plain JSON is
    read too.
    """
    found = []
    for element in at.get("bidi_component"):
        proto = element.proto
        if proto.component_name.endswith(name):
            raw = proto.bytes if proto.WhichOneof("data") == "bytes" else proto.json
            found.append(json.loads(raw))
    return found


def scripts(at: AppTest) -> list:
    """The page's code blocks, less the address in its "Link for the class" popover
    (``lossviz.ui.presenter.class_link``)."""
    return [code for code in at.code if not code.value.startswith(("/", "http"))]


def choose_preset(at: AppTest, name: str) -> AppTest:
    """Click the preset pill ``name`` (a key of the page's presets, or ``"reset"``) and rerun."""
    (pills,) = [p for p in at.pills if p.key and p.key.endswith(".preset")]
    return ok(pills.set_value(name).run())


def literal(markdown: str) -> str:
    """What ``lossviz.ui.inert`` Markdown reads as: escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def warnings(at: AppTest) -> list[str]:
    """The page's warnings as a reader sees them (see :func:`literal`)."""
    return [literal(w.value) for w in at.warning]


def listed(at: AppTest) -> list[str]:
    """Every item of the bullet lists in the page's warnings (one per bad link value)."""
    return [
        line[2:] for text in warnings(at) for line in text.splitlines() if line.startswith("- ")
    ]
