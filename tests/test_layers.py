"""Imports point only down the layers, and each sub-package imports only what its
``__init__`` docstring allows (docs/architecture.md draws it):

    pages/, app.py
    lossviz/ui/ (pages' own modules, instruments, widgets ...) -> lossviz/ui/components/
    lossviz/figures/ (plotly)
    lossviz/scenes/        scenes, presets, the lesson
    lossviz/teaching/      quiz rounds, references, snippets, formulas
    lossviz/training/      collapse runs, the shared run registry, frames, GIFs
    lossviz/batches/       point sets, a batch's triplets, CSV
    lossviz/core/          the losses (torch, numpy, the standard library)
    lossviz/rooms/         class-quiz storage (standard library, psycopg)

Besides: no cycles among lossviz's modules; a module named after a page
(``lossviz/ui/<page>_page.py``, and ``<page>_*.py`` beside it) is imported only by that
page and its own family; nothing inside lossviz imports the public-path modules kept for
code outside it (``lossviz/device.py``, ...); pages do no maths and build no figures.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lossviz"
PAGES = sorted((ROOT / "pages").glob("*.py"))
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# Sub-package -> the lossviz sub-packages and the third-party packages it may import.
ALLOWED: dict[str, tuple[set[str], set[str]]] = {
    "core": ({"core"}, {"torch", "numpy"}),
    "batches": ({"core", "batches"}, {"torch", "numpy", "sklearn"}),
    "training": ({"core", "batches", "training"}, {"torch", "numpy", "PIL"}),
    "teaching": ({"core", "batches", "training", "teaching"}, {"torch", "numpy"}),
    "rooms": ({"rooms"}, {"psycopg"}),
    "scenes": ({"core", "batches", "training", "teaching", "scenes"}, {"torch", "numpy"}),
    "figures": ({"core", "figures"}, {"plotly", "numpy"}),
}
PUBLIC_PATHS = {"device", "distances", "losses", "triplets", "expr", "collapse", "data", "scene"}


def imported_modules(path: Path) -> set[str]:
    """Dotted names of every module a file imports (``from a import b``: ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _roots(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def _subpackage(name: str) -> str | None:
    """``lossviz.core.losses`` -> ``core``; None for names outside a sub-package."""
    parts = name.split(".")
    return parts[1] if len(parts) >= 2 and parts[0] == "lossviz" else None


def _module_files(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def lossviz_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


CASES = [(sub, p) for sub in ALLOWED for p in _module_files(sub)]


def test_every_subpackage_is_checked_and_documented():
    found = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert found == {*ALLOWED, "ui"}, found
    for sub in found:
        doc = ast.get_docstring(ast.parse((PACKAGE / sub / "__init__.py").read_text()))
        assert doc and "import" in doc, f"lossviz/{sub}/__init__.py says what it may import"


@pytest.mark.parametrize(("subpackage", "path"), CASES, ids=lambda c: str(c)[-40:])
def test_a_subpackage_imports_only_what_it_may(subpackage, path):
    inner, outer = ALLOWED[subpackage]
    names = imported_modules(path)
    third_party = _roots(names) - STDLIB - {"lossviz"}
    assert third_party <= outer, f"{path.name} imports {third_party - outer}"
    used = {_subpackage(n) for n in names if n.startswith("lossviz.")}
    assert used <= inner, f"{path.name} imports lossviz.{used - inner}"


def test_ui_components_import_no_other_ui_module():
    for path in sorted((PACKAGE / "ui" / "components").glob("*.py")):
        names = {n for n in imported_modules(path) if n.startswith("lossviz.ui.")}
        assert all(n.startswith("lossviz.ui.components") for n in names), (path.name, names)


def test_nothing_inside_lossviz_imports_a_public_path_module():
    """``lossviz/device.py`` and the other public paths only re-export, for code outside."""
    public = {f"lossviz.{name}" for name in PUBLIC_PATHS}
    for name in PUBLIC_PATHS:
        path = PACKAGE / f"{name}.py"
        assert path.exists()
        assert all(n.startswith("lossviz.") for n in imported_modules(path)), path.name
    users = [*PACKAGE.rglob("*.py"), *PAGES, ROOT / "app.py"]
    for path in users:
        if path.parent == PACKAGE:
            continue
        assert not imported_modules(path) & public, path


def _page_family(module: str) -> str | None:
    """``lossviz.ui.class_quiz_teacher`` -> ``class_quiz`` (a page's name), else None."""
    if not module.startswith("lossviz.ui.") or module.count(".") != 2:
        return None
    stem = module.rsplit(".", 1)[1]
    for page in PAGES:
        if stem == f"{page.stem}_page" or stem.startswith(f"{page.stem}_"):
            return page.stem
    return None


def test_a_pages_own_modules_are_imported_by_that_page_only():
    families = {m: _page_family(m) for m in lossviz_modules() if _page_family(m)}
    assert {"playground", "contrastive", "mining", "collapse", "quiz", "lesson", "class_quiz",
            "home"} <= set(families.values())  # fmt: skip
    importers = {module_name(p): p for p in [*PACKAGE.rglob("*.py"), *PAGES]}
    for importer, path in importers.items():
        mine = _page_family(importer) or (importer.split(".")[-1] if path in PAGES else None)
        for used in imported_modules(path):
            family = families.get(used)
            assert family is None or family == mine, f"{importer} imports {used} ({family})"


def test_no_import_cycles():
    modules = lossviz_modules()
    graph = {
        name: {n for n in imported_modules(path) if n in modules and n != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for used in graph[name]:
            if state.get(used) == 1:
                pytest.fail(" -> ".join([*trail, name, used]))
            if used not in state:
                visit(used, [*trail, name])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_do_no_maths_and_build_no_figures(path):
    roots = _roots(imported_modules(path))
    assert not roots & {"torch", "numpy", "plotly"}, roots


def test_the_layer_checker_sees_violations(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import streamlit as st\nfrom plotly import graph_objects\nimport torch.nn\n"
        "from lossviz.ui import widgets\n"
    )
    names = imported_modules(bad)
    assert _roots(names) == {"streamlit", "plotly", "torch", "lossviz"}
    assert _subpackage("lossviz.ui.widgets") == "ui"
    assert _page_family("lossviz.ui.class_quiz_teacher") == "class_quiz"
    assert _page_family("lossviz.ui.widgets") is None


UI = sorted((PACKAGE / "ui").rglob("*.py"))
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


WORDING = {"label", "help"}


def widget_wordings(path: Path) -> list[str]:
    """Each ``widgets.<function>(...)`` call that words its control itself (a third positional
    argument, the label it once took, or a ``label=``/``help=`` keyword), and each import of
    the widget functions by name (calls the check would not see)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "lossviz.ui.widgets":
            found.append(f"line {node.lineno}: imports from lossviz.ui.widgets")
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id == "widgets":
            words = node.args[2:] + [k.value for k in node.keywords if k.arg in WORDING]
            if words:
                found.append(f"line {node.lineno}: widgets.{node.func.attr} is given wording")
    return found


@pytest.mark.parametrize("path", [*PAGES, *UI], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_controls_label_and_help_come_from_its_spec(path):
    """No call site passes a widget its label or help: both live in the field's spec (the
    scene of the page says its own words), so a control reads the same everywhere."""
    assert not widget_wordings(path), path.name


def test_the_wording_checker_sees_a_label_at_a_call_site(tmp_path):
    bad = tmp_path / "bad_page.py"
    bad.write_text(
        "from lossviz.ui import widgets\n"
        "from lossviz.ui.widgets import toggle\n"
        'widgets.slider(binding, "margin", "Margin m")\n'
        'widgets.toggle(binding, "swap", help="Use min(d(a, n), d(p, n)).")\n'
        'widgets.choice(binding, "eps", style="radio", horizontal=True)\n'
    )
    assert [line.split(":")[0] for line in widget_wordings(bad)] == [
        "line 2", "line 3", "line 4",
    ]  # fmt: skip
