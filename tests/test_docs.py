"""The README is a short guide and the documents in docs/ say nothing stale.

README.md stays at most ``README_MAX_LINES`` lines, with a line and a screenshot for every
page of the menu. In README.md and docs/*.md: every relative link and image points at a file
of this repository that exists (and a ``#fragment`` at a heading of it), nothing points
outside the repository, every ``lossviz/...`` path and every ``lossviz.x.y`` module (and the
name after it) exists, and every ``make`` target named is the Makefile's. docs/pages.md's
"Copy as code" example prints what the page quotes (tests/test_snippets.py checks that the
page generates it), and docs/benchmarks.md is what ``python -m bench.run_all --docs-only``
writes from bench/results/*.md. The results files embedded there are records of past runs,
quoted verbatim: the name checks skip them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *DOCS]
README_MAX_LINES = 220

FENCE = re.compile(r"^(```|~~~)")
EMBEDDED = re.compile(r"<!-- from (\S+) -->.*?<!-- end of \1 -->", re.DOTALL)
LINK = re.compile(r"(!?)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"<(img|a)\s[^>]*?(src|href)=\"([^\"]+)\"", re.IGNORECASE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
PATH = re.compile(r"(?<![\w./~-])lossviz/[A-Za-z0-9_./-]*")
MODULE = re.compile(r"(?<![\w./-])lossviz(?:\.[A-Za-z_]\w*)+")
MAKE = re.compile(r"(?:^|`)make ([a-z][\w-]*)", re.MULTILINE)


def ids(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def without_embedded(text: str) -> str:
    """The text without the results files quoted in docs/benchmarks.md."""
    return EMBEDDED.sub("", text)


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code (where a link is a link)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(INLINE_CODE.sub("", line))
    return "\n".join(lines)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, punctuation and symbols dropped
    (letters, digits, ``_`` and ``-`` kept), spaces as ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file (repeats get ``-1``, ``-2``, ...)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text_of(path).splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[bool, str]]:
    """(is an image, target) for every Markdown and HTML link and image of a document."""
    text = prose(without_embedded(text_of(path)))
    found = [(bang == "!", target) for bang, target in LINK.findall(text)]
    found += [(tag.lower() == "img", target) for tag, _, target in HTML_LINK.findall(text)]
    return found


def test_the_readme_is_a_guide():
    lines = text_of(README).splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): it is the guide; "
        "move the details into docs/"
    )


def page_titles() -> list[str]:
    """The menu's titles, read from lossviz/ui/navigation.py without importing it."""
    tree = ast.parse(text_of(ROOT / "lossviz" / "ui" / "navigation.py"))
    return [
        node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "PageInfo"
        and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
    ]


def test_the_readme_has_a_line_and_a_screenshot_for_every_page():
    titles = page_titles()
    assert "Home" in titles and len(titles) >= 8, titles
    readme = text_of(README)
    images = [target for image, target in links(README) if image]
    pages_anchors = anchors(ROOT / "docs" / "pages.md")
    for title in titles:
        assert f"**[{title}](docs/pages.md#{slug(title)})**" in readme, title
        assert slug(title) in pages_anchors, f"docs/pages.md has no section '{title}'"
    assert len(images) >= len(titles), images
    assert all(target.startswith("docs/screenshots/") for target in images), images


def test_the_readme_gives_the_two_commands_and_leads_to_every_document():
    readme = text_of(README)
    assert "make run" in readme and "make test" in readme
    for doc in DOCS:
        assert f"(docs/{doc.name})" in readme, f"README.md does not link docs/{doc.name}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=ids)
def test_every_relative_link_and_image_exists(path):
    missing = []
    for image, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, ...
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(ROOT):
            missing.append(f"{target}: outside the repository")
        elif not resolved.exists() or (image and not resolved.is_file()):
            missing.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            missing.append(f"{target}: no heading '#{fragment}' there")
    assert not missing, missing


@pytest.mark.parametrize("path", DOCUMENTS, ids=ids)
def test_nothing_points_outside_the_repository(path):
    text = text_of(path)
    assert "../shared" not in text and "/shared/" not in text


def names(path: Path, pattern: re.Pattern[str]) -> set[str]:
    return set(pattern.findall(without_embedded(text_of(path))))


@pytest.mark.parametrize("path", DOCUMENTS, ids=ids)
def test_every_lossviz_path_named_exists(path):
    missing = sorted(name for name in names(path, PATH) if not (ROOT / name.rstrip(".")).exists())
    assert not missing, missing


def _defined_names(module: Path) -> set[str] | None:
    """Top-level names a module defines or imports (None: it re-exports with ``*``, so it
    is read through the module it re-exports)."""
    tree = ast.parse(text_of(module))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                return None
            found |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return found


def module_exists(name: str) -> bool:
    """``lossviz.a.b`` is a package or module of lossviz, optionally followed by a name
    that module defines (``lossviz.rooms.RoomStore``); deeper attributes are not checked."""
    parts = name.split(".")
    here, index = ROOT / "lossviz", 1
    module = here / "__init__.py"
    while index < len(parts):
        part = parts[index]
        if (here / part / "__init__.py").exists():
            here, module, index = here / part, here / part / "__init__.py", index + 1
        elif (here / f"{part}.py").exists():
            module, index = here / f"{part}.py", index + 1
            break
        else:
            break
    if index == len(parts):
        return True
    defined = _defined_names(module)
    while defined is None:  # a public path: `from lossviz.core.x import *`
        star = next(
            node.module
            for node in ast.parse(text_of(module)).body
            if isinstance(node, ast.ImportFrom) and node.module
        )
        module = ROOT.joinpath(*star.split(".")).with_suffix(".py")
        defined = _defined_names(module)
    return parts[index] in defined


@pytest.mark.parametrize("path", DOCUMENTS, ids=ids)
def test_every_lossviz_module_named_exists(path):
    missing = sorted(name for name in names(path, MODULE) if not module_exists(name))
    assert not missing, missing


def test_the_module_checker_sees_what_is_missing():
    assert module_exists("lossviz.core.triplet_reading")
    assert module_exists("lossviz.rooms.RoomStore")
    assert module_exists("lossviz.core.triplets.Kind.EASY")
    assert module_exists("lossviz.device.default_device")  # through the public path's `*`
    assert not module_exists("lossviz.playground")  # lossviz.core.triplet_reading now
    assert not module_exists("lossviz.core.nowhere")
    assert not module_exists("lossviz.core.triplets.NoSuchName")
    assert PATH.findall("see `lossviz/figures.py`.") == ["lossviz/figures.py"]
    assert not (ROOT / "lossviz" / "figures.py").exists()


@pytest.mark.parametrize("path", DOCUMENTS, ids=ids)
def test_every_make_target_named_is_the_makefiles(path):
    makefile = text_of(ROOT / "Makefile")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    named = set(MAKE.findall(without_embedded(text_of(path))))
    assert named <= targets, named - targets


def code_block(text: str, after: str, language: str) -> str:
    """The first fenced ``language`` block after the line ``after``."""
    tail = text[text.index(after) :]
    match = re.search(rf"^```{language}\n(.*?)^```$", tail, re.MULTILINE | re.DOTALL)
    assert match, f"no ```{language} block after {after!r}"
    return match.group(1)


@pytest.mark.slow
def test_the_copy_as_code_example_prints_what_the_page_says():
    pages = text_of(ROOT / "docs" / "pages.md")
    heading = '### A "Copy as code" script'
    script = code_block(pages, heading, "python")
    printed = code_block(pages, heading, "text")
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout == printed


def test_the_benchmarks_page_is_what_run_all_writes():
    from bench.run_all import DOCS_PAGE, render

    assert DOCS_PAGE.read_text(encoding="utf-8") == render(), (
        "docs/benchmarks.md is out of date: python -m bench.run_all --docs-only"
    )


def test_every_results_file_has_its_benchmark():
    from bench.run_all import BENCHMARKS, RESULTS

    stems = {result.stem for benchmark in BENCHMARKS for result in benchmark.results}
    orphans = [p.name for p in RESULTS.glob("*.md") if p.stem.rpartition("-")[0] not in stems]
    assert not orphans, f"add them to bench/run_all.py's BENCHMARKS: {orphans}"


def test_the_benchmarks_page_keeps_tables_apart_from_text():
    from bench.run_all import embed

    text = "# Title\nA line\n| a |\n|---|\n| 1 |\nafter\n```\n# a comment\n```\n## Part"
    assert embed(text).splitlines() == [
        "### Title", "A line", "", "| a |", "|---|", "| 1 |", "", "after",
        "```", "# a comment", "```", "#### Part",
    ]  # fmt: skip
