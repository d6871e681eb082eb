"""Hostile links on every page (AppTest + hypothesis): each opens, with defaults or a notice.

Random strings, NaN, inf, huge and negative numbers, missing, empty and repeated keys,
unicode and markup: the page must run without an exception, every field of its scene
must be a value its spec allows, and a bad value must produce a visible warning.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossviz.ui.inert import inert
from lossviz.ui.navigation import HOME, PAGES
from tests.apptest_helpers import listed, literal, ok

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_VALUES = ("nan", "NaN", "inf", "-inf", "+inf", "1e308", "-1e308", "1e-400", "-5", "0",
                  "", " ", "99999999999999999999999", "0x10", "1_0", "None", "true", "[]", "{}",
                  "<script>alert(1)</script>", "'; DROP TABLE x; --", "%00", "\x00", "\u202e",
                  "😀" * 50, "a" * 5000, "../../etc/passwd", "__import__('os')")  # fmt: skip


def binding_of(page_path: str):
    """The page's SceneBinding (None for a page without a scene, like home)."""
    name = Path(page_path).stem
    try:
        module = importlib.import_module(f"lossviz.ui.{name}_page")
    except ModuleNotFoundError:
        return None
    return getattr(module, "BINDING", None)


def values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_VALUES),
        st.text(max_size=40),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
    )


def queries(field_names: list[str]) -> st.SearchStrategy[dict]:
    keys = st.sampled_from([*field_names, "x", "", "page", "__proto__", "<b>k</b>"])
    one_or_many = st.one_of(values(), st.lists(values(), min_size=2, max_size=3))
    return st.dictionaries(keys, one_or_many, max_size=6)


LINKED_PAGES = [HOME, *PAGES]


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: Path(p.path).stem)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_link_opens_the_page(page, data):
    from streamlit.testing.v1 import AppTest

    binding = binding_of(page.path)
    fields = list(binding.scene_cls.specs()) if binding else []
    query = data.draw(queries(fields))
    at = AppTest.from_file(str(ROOT / page.path), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    ok(at.run())
    if binding is None:
        return
    scene = at.session_state[binding.scene_key]
    for name, spec in scene.specs().items():
        assert spec.problem(getattr(scene, name)) is None, (name, getattr(scene, name))
    _, notes = binding.scene_cls.parse_query(query)
    shown = listed(at)
    for note in notes[:6]:  # a notice lists six bad values, then how many more
        assert literal(inert(note)) in shown, (note, shown)
