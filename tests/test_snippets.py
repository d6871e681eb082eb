"""Copy as code (lossviz/teaching/snippets.py): every generated script prints the page's numbers.

All the scripts are written to files and run in one subprocess (each with its own
globals, by ``runpy``), so that torch is imported once; one more test runs a script
on its own, as a student would.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lossviz.core.expr import ExpressionError
from lossviz.core.loss_settings import LossSettings
from lossviz.core.pair_reading import read_pair
from lossviz.core.triplet_reading import read_triplet
from lossviz.scenes.presets import CONTRASTIVE_PRESETS, PLAYGROUND_PRESETS
from lossviz.teaching.snippets import custom_distance_code, pair_snippet, triplet_snippet

TIMEOUT_S = 60
TRIPLET = [[0.3, -0.2], [1.0, 0.5], [1.5, -1.0]]  # A not at the origin: cosine-like exprs
PAIR = [[0.3, -0.2], [0.9, 0.25]]  # d = 0.75 < margin: both terms differ from 0

EXPRESSIONS = (
    "sum(abs(a - b) ** 3) ** (1/3)",
    "1 - dot(a, b) / (norm(a) * norm(b)) + sqrt(2) * mean(square(a - b))",
    # constants Python alone would choke on: -1/0 is -inf in torch, so exp(...) is 0
    "clamp(norm(a - b, 1.5), 0, 2) + max(abs(a - b)) * exp(-1/0) + (-2) ** 2 * min(relu(b - a))",
)
# (distance, p, expr): every registry distance, minkowski at three p, three typed ones
DISTANCES = [
    ("euclidean", 2.0, ""),
    ("manhattan", 2.0, ""),
    ("chebyshev", 2.0, ""),
    ("minkowski", 0.5, ""),
    ("minkowski", 3.0, ""),
    ("minkowski", math.inf, ""),
    ("cosine", 2.0, ""),
    ("squared_euclidean", 2.0, ""),
    *(("custom", 2.0, expr) for expr in EXPRESSIONS),
]

DRIVER = """
import contextlib, io, json, runpy, sys, traceback

outputs = {}
for path in sys.argv[1:]:
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(path, run_name="__main__")
        outputs[path] = buffer.getvalue()
    except Exception:
        outputs[path] = "ERROR\\n" + traceback.format_exc()
print(json.dumps(outputs))
"""


@dataclass(frozen=True)
class Case:
    """One scene: a triplet (similar is None) or a pair, and its settings."""

    id: str
    points: tuple[tuple[float, float], ...]
    settings: LossSettings
    similar: bool | None = None

    def snippet(self) -> str:
        if self.similar is None:
            return triplet_snippet(self.points, self.settings)
        return pair_snippet(self.points, self.similar, self.settings)

    def expected(self) -> dict[str, float]:
        if self.similar is not None:
            reading = read_pair(self.points, self.similar, self.settings)
            return {"d": reading.d, "loss": reading.loss}
        reading = read_triplet(self.points, self.settings)
        numbers = {"d(a, p)": reading.d_ap, "d(a, n)": reading.d_an, "loss": reading.loss}
        if self.settings.swap:
            numbers["d(p, n)"] = reading.d_pn
        return numbers


def _points(rows) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in rows)


def _distance_id(distance: str, p: float, expr: str) -> str:
    if distance == "custom":
        return f"custom{EXPRESSIONS.index(expr)}"
    return f"minkowski-p{p:g}" if distance == "minkowski" else distance


def _cases() -> list[Case]:
    cases = []
    for distance, p, expr in DISTANCES:
        name = _distance_id(distance, p, expr)
        for eps in (0.0, 1e-6):
            for swap in (False, True):
                s = LossSettings(1.0, p, eps, swap, distance, expr)
                cases.append(Case(f"triplet-{name}-eps{eps:g}-swap{swap:d}", _points(TRIPLET), s))
            for similar in (True, False):
                s = LossSettings(1.5, p, eps, False, distance, expr)
                cases.append(
                    Case(f"pair-{name}-eps{eps:g}-sim{similar:d}", _points(PAIR), s, similar)
                )
    for key, preset in PLAYGROUND_PRESETS.items():
        sc = preset.scene
        s = LossSettings(sc.margin, sc.p, sc.eps, sc.swap, sc.distance, sc.expr)
        rows = [(sc.ax, sc.ay), (sc.px, sc.py), (sc.nx, sc.ny)]
        cases.append(Case(f"playground-preset-{key}", _points(rows), s))
    for key, preset in CONTRASTIVE_PRESETS.items():
        sc = preset.scene
        s = LossSettings(sc.margin, sc.p, sc.eps, False, sc.distance, sc.expr)
        rows = [(sc.x1x, sc.x1y), (sc.x2x, sc.x2y)]
        cases.append(Case(f"contrastive-preset-{key}", _points(rows), s, sc.similar))
    return cases


CASES = _cases()


def parse_output(text: str) -> dict[str, float]:
    """``name = value`` lines -> {name: value}."""
    numbers = {}
    for line in text.strip().splitlines():
        name, value = line.split(" = ")
        numbers[name] = float(value)
    return numbers


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, str]:
    """Every case's printed output, from one subprocess."""
    folder = tmp_path_factory.mktemp("snippets")
    paths = {}
    for case in CASES:
        path = folder / f"{case.id}.py"
        path.write_text(case.snippet())
        paths[case.id] = str(path)
    driver = folder / "driver.py"
    driver.write_text(DRIVER)
    result = subprocess.run(
        [sys.executable, str(driver), *paths.values()],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    printed = json.loads(result.stdout)
    return {case_id: printed[path] for case_id, path in paths.items()}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_snippet_prints_the_page_numbers(case, outputs):
    got = parse_output(outputs[case.id])
    want = case.expected()
    assert got.keys() == want.keys()
    for name, value in want.items():
        assert math.isclose(got[name], value, rel_tol=1e-9, abs_tol=1e-12), (name, got, want)


def test_a_snippet_runs_on_its_own(tmp_path: Path):
    settings = LossSettings(1.0, 2.0, 1e-6, True, "custom", EXPRESSIONS[0])
    path = tmp_path / "snippet.py"
    path.write_text(triplet_snippet(TRIPLET, settings))
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=TIMEOUT_S, check=True
    )
    reading = read_triplet(TRIPLET, settings)
    got = parse_output(result.stdout)
    assert list(got) == ["d(a, p)", "d(a, n)", "d(p, n)", "loss"]
    assert got["loss"] == pytest.approx(reading.loss, rel=1e-9, abs=1e-12)


def test_snippet_uses_the_torch_loss_and_writes_the_settings():
    code = triplet_snippet(TRIPLET, LossSettings(0.25, math.inf, 0.0, True, "minkowski", ""))
    assert "F.triplet_margin_loss(" in code
    assert 'margin=0.25, p=float("inf"), eps=0.0, swap=True' in code
    assert "torch.tensor([[0.3, -0.2]], dtype=torch.float64)" in code
    cosine = triplet_snippet(TRIPLET, LossSettings(0.25, 2.0, 0.0, False, "cosine", ""))
    assert "F.triplet_margin_with_distance_loss(" in cosine
    assert "1 - F.cosine_similarity(x, y, eps=1e-08)" in cosine
    pair = pair_snippet(PAIR, True, LossSettings(1.0, 2.0, 1e-6, False, "euclidean", ""))
    assert "d = F.pairwise_distance(x1, x2, p=2.0, eps=1e-06)" in pair
    assert "y = 1.0" in pair
    assert "loss = y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2" in pair


def test_points_are_written_exactly():
    points = [[0.1 + 0.2, -1 / 3], [2.0**-40, 3.999999999999999], [-0.0, 1e-300]]
    code = triplet_snippet(points, LossSettings(1.0, 2.0, 1e-6, False, "euclidean", ""))
    for row in points:
        assert f"[[{row[0]!r}, {row[1]!r}]]" in code


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('echo pwned')",
        "a.__class__",
        "open('pwned')",
        "norm(a - b); import os",
        "lambda: 0",
        "[a for a in b]",
        "exec('pwned')",
    ],
)
def test_a_rejected_expression_makes_the_snippet_raise(expr):
    settings = LossSettings(1.0, 2.0, 1e-6, False, "custom", expr)
    with pytest.raises(ExpressionError):
        triplet_snippet(TRIPLET, settings)
    with pytest.raises(ValueError):
        pair_snippet(PAIR, True, settings)


# Every name a snippet may use: the script's own, and the torch functions of lossviz.core.expr.
VOCABULARY = {
    *("torch", "F", "nn", "functional", "tensor", "float64", "item", "print", "float"),
    *("anchor", "positive", "negative", "distance", "loss", "x", "y", "a", "b", "d"),
    *("pairwise_distance", "triplet_margin_with_distance_loss", "squeeze", "new_tensor"),
    *("abs", "sqrt", "square", "exp", "log", "relu", "sin", "cos", "tanh", "maximum"),
    *("minimum", "sum", "mean", "amax", "amin", "linalg", "vector_norm", "pi", "e"),
}


@pytest.mark.parametrize(
    "expr",
    [
        "norm(a - b)  # pwned; import os",
        "norm(a - # pwned\n b)",
        "sum(abs(a - b)) + 0 * pi * e",
        "  max(abs(a-b))   ",
    ],
)
def test_an_accepted_expression_is_rebuilt_not_pasted(expr):
    code = triplet_snippet(TRIPLET, LossSettings(1.0, 2.0, 1e-6, False, "custom", expr))
    assert "pwned" not in code and "import os" not in code
    tree = ast.parse(code)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert names <= VOCABULARY
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [alias.name for n in imports for alias in n.names] == ["torch", "torch.nn.functional"]
    typed = ast.unparse(ast.parse(expr.strip(), mode="eval"))
    assert f"    # your distance: {typed}\n" in code


def test_custom_distance_code_maps_functions_to_torch():
    code = custom_distance_code("max(abs(a - b)) + norm(a - b, 1) + dot(a, b) * 0 + sqrt(4)")
    assert "torch.amax(torch.abs(a - b), dim=-1, keepdim=True)" in code
    assert "torch.linalg.vector_norm(a - b, ord=1.0, dim=-1, keepdim=True)" in code
    assert "torch.sum(a * b, dim=-1, keepdim=True) * 0.0" in code
    assert "torch.sqrt(a.new_tensor(4.0))" in code
    assert code.startswith("def distance(a, b):\n") and code.endswith("return d.squeeze(-1)\n")


def test_constants_python_cannot_compute_are_written_as_tensors():
    code = custom_distance_code("norm(a - b) * exp(-1/0) + 2 ** 0.5 + (1/3)")
    assert "exp(a.new_tensor(-1.0) / 0.0)" in code
    assert "a.new_tensor(2.0) ** 0.5" in code
    assert "(1.0 / 3.0)" in code or "+ 1.0 / 3.0" in code


@pytest.mark.parametrize(
    ("points", "settings"),
    [
        ([[math.nan, 0.0], [1.0, 0.0], [2.0, 0.0]], LossSettings(1, 2, 0, False, "euclidean", "")),
        (TRIPLET, LossSettings(math.inf, 2.0, 0.0, False, "euclidean", "")),
        (TRIPLET, LossSettings(0.0, 2.0, 0.0, False, "cosine", "")),
        (TRIPLET, LossSettings(1.0, 2.0, 0.0, False, "hamming", "")),
        (TRIPLET[:2], LossSettings(1.0, 2.0, 0.0, False, "euclidean", "")),
    ],
)
def test_what_cannot_be_written_raises(points, settings):
    with pytest.raises(ValueError):
        triplet_snippet(points, settings)


def test_the_docs_show_the_default_scenes_script():
    """docs/pages.md's "Copy as code" example is what the page generates for its defaults
    (tests/test_docs.py runs it and checks the printout the page quotes)."""
    from pathlib import Path

    from lossviz.scenes.scene import PlaygroundScene

    scene = PlaygroundScene()
    settings = LossSettings(scene.margin, scene.p, scene.eps, scene.swap, scene.distance, "")
    script = triplet_snippet([[scene.ax, scene.ay], [scene.px, scene.py], [scene.nx, scene.ny]],
                             settings)  # fmt: skip
    pages = (Path(__file__).resolve().parents[1] / "docs" / "pages.md").read_text(encoding="utf-8")
    assert f"```python\n{script.strip()}\n```" in pages


RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.settings.distance != "custom"], ids=lambda c: c.id
)
def test_a_built_in_distances_script_is_formatted_as_ruff_formats_it(case):
    """What a student copies reads like the project's code (and docs/pages.md's block passes
    ``ruff format --check``). A typed distance's expression stays on one line: not checked."""
    assert RUFF.exists(), f"ruff is a test requirement (requirements-dev.txt); not at {RUFF}"
    code = case.snippet()
    formatted = subprocess.run(
        [str(RUFF), "format", "--stdin-filename", "snippet.py", "-"],
        input=code, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
    ).stdout  # fmt: skip
    assert formatted == code
