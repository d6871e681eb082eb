"""Every page opened with every scene field at its edges: no exception and no silent change.

For each field of each page's scene: its lowest and highest value (and infinity where it
is allowed), every option, both flags, and a few in-range values a person might type.
The page must run without an exception, and either show the value (the scene and the
address hold it) or say with a warning why it shows another one. The hostile-link tests
(``test_hostile_links``) cover malformed values; these are valid ones, where a
control's own range can disagree with its field's.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.scenes.scene import FieldSpec
from lossviz.ui.navigation import PAGES
from tests.apptest_helpers import ok
from tests.test_hostile_links import binding_of

ROOT = Path(__file__).resolve().parents[1]
# What a field needs beside it to be shown at all (p is the Minkowski p, and so on).
COMPANIONS = {
    "p": {"distance": "minkowski"},
    "expr": {"distance": "custom"},
    "classes": {"source": "blobs"},
    "per_class": {"source": "blobs"},
    "spread": {"source": "blobs"},
    "space": {"source": "iris"},
}
# Fields whose values are worth less time than one run each (the collapse page's autostart
# trains; its other fields show step 0, which is cheap).
TYPED = {"number": (0.3, 0.75, 2.5, 7), "text": ("max(abs(a - b))", "sum(abs(a - b))")}


def edge_values(spec: FieldSpec) -> list:
    if spec.kind == "flag":
        return [False, True]
    if spec.kind == "choice":
        return list(spec.options)
    if spec.kind == "text":
        return list(TYPED["text"])
    values = [spec.lo, spec.hi, *[v for v in TYPED["number"] if spec.lo <= v <= spec.hi]]
    if spec.allow_inf:
        values.append(math.inf)
    return [int(v) if spec.integer else float(v) for v in dict.fromkeys(values)]


def cases() -> list:
    found = []
    for page in PAGES:
        binding = binding_of(page.path)
        if binding is None:
            continue  # no scene in its link (the lesson: only the step, see test_lesson_page)
        for field, spec in binding.scene_cls.specs().items():
            if field == "autostart":
                continue  # trains a run: test_collapse_page covers it
            for value in edge_values(spec):
                found.append(
                    pytest.param(page.path, field, value, id=f"{page.title}-{field}-{value!r}")
                )
    return found


@pytest.mark.parametrize(("path", "field", "value"), cases())
def test_a_valid_edge_value_is_shown_or_said(path, field, value):
    binding = binding_of(path)
    spec = binding.scene_cls.field_spec(field)
    query = {**COMPANIONS.get(field, {}), field: spec.encode(value)}
    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    for key, raw in query.items():
        at.query_params[key] = raw
    ok(at.run())
    scene = at.session_state[binding.scene_key]
    shown = getattr(scene, field)
    warnings = [w.value for w in at.warning]
    if shown == value:
        assert at.query_params[field] == spec.encode(value)
        assert not [w for w in warnings if w.startswith("This link had a bad value")], warnings
    else:
        assert warnings, f"{field}={value!r} became {shown!r} without a notice"
