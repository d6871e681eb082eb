"""Imports point only down the layers (README, Development): pages and ui, then the core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted(p for p in (ROOT / "lossviz").glob("*.py") if p.name != "__init__.py")
FIGURES = sorted((ROOT / "lossviz" / "figures").glob("*.py"))
PAGES = sorted((ROOT / "pages").glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Top-level and dotted names of every module a file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _roots(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_there_is_a_core_to_check():
    assert {p.stem for p in CORE} >= {"device", "distances", "losses", "triplets", "expr", "scene"}
    assert PAGES


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_imports_neither_streamlit_nor_plotly_nor_upper_layers(path):
    names = imported_modules(path)
    assert not _roots(names) & {"streamlit", "plotly"}, names
    assert not {n for n in names if n.startswith(("lossviz.ui", "lossviz.figures"))}, names


@pytest.mark.parametrize("path", FIGURES, ids=lambda p: p.name)
def test_figures_import_neither_streamlit_nor_ui(path):
    names = imported_modules(path)
    assert "streamlit" not in _roots(names)
    assert not {n for n in names if n.startswith("lossviz.ui")}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_do_no_maths_and_build_no_figures(path):
    roots = _roots(imported_modules(path))
    assert not roots & {"torch", "numpy", "plotly"}, roots


def test_the_layer_checker_sees_violations(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nfrom plotly import graph_objects\nimport torch.nn\n")
    assert _roots(imported_modules(bad)) == {"streamlit", "plotly", "torch"}


UI = sorted((ROOT / "lossviz" / "ui").glob("*.py"))
BOUNDED = {"slider", "number_input", "select_slider"}


def _streamlit_calls(path: Path) -> list[tuple[str, ast.Call]]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in {"st", "column", "buttons"}:
                calls.append((node.func.attr, node))
    return calls


@pytest.mark.parametrize("path", [*PAGES, *UI], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_bounded_control_comes_from_its_spec(path):
    """Sliders and number inputs are built only by lossviz/ui/widgets.py, from field specs;
    no page or module writes a control's bounds, step or options itself."""
    if path.name == "widgets.py":
        return
    bounded = [name for name, _ in _streamlit_calls(path) if name in BOUNDED]
    assert not bounded, f"{path.name} builds {bounded} itself"
    source = path.read_text(encoding="utf-8")
    uses = source.count("widget_key(")
    writes = source.count("st.session_state[BINDING.widget_key(")
    assert path.name == "state.py" or uses == writes, f"{path.name} keys a widget itself"
