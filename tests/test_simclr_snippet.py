"""Copy as code for the SimCLR page (lossviz/teaching/snippets.py, ``simclr_snippet``): the
script trains the run again with torch alone and prints the final record's numbers exactly.

The scripts run in this process (a fresh namespace each, stdout captured), so that they and
``train_contrastive`` share torch's thread settings; one more test runs a script on its own,
as a student would.
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from lossviz.teaching.snippets import simclr_snippet
from lossviz.training.contrastive_training import (
    PRESETS,
    Augment,
    ContrastiveConfig,
    train_contrastive,
)

TIMEOUT_S = 120
SHORT = {"steps": 20, "record_every": 20}  # the presets, shortened to keep the tests fast
CONFIGS = {
    **{name: config.replace(**SHORT) for name, (config, _) in PRESETS.items()},
    "projector-variance": ContrastiveConfig(
        temperature=0.5,
        output_dim=16,
        projector=True,
        variance_weight=5.0,
        augment=Augment(noise_std=0.2, dropout=0.3, max_shift=2),
        batch_size=32,
        seed=3,
        **SHORT,
    ),
    "no-augmentation": ContrastiveConfig(
        output_dim=8, augment=Augment(0.0, 0.0, 0), batch_size=16, steps=5, record_every=2
    ),
}
NAMES = ("nt_xent", "alignment", "uniformity", "effective_rank")
RUFF = Path(sys.executable).with_name("ruff")


def run_script(code: str) -> dict[str, str]:
    """Exec the script in a fresh namespace: its ``name = value`` lines -> {name: value}."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "<simclr snippet>", "exec"), {"__name__": "__main__"})
    return dict(line.split(" = ") for line in buffer.getvalue().strip().splitlines())


def expected(config: ContrastiveConfig) -> dict[str, float]:
    last = train_contrastive(config, "cpu").last
    assert last.stopped is None
    numbers = {name: getattr(last, name) for name in NAMES}
    if config.variance_weight > 0:
        numbers["loss"] = last.loss
    return numbers


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_script_prints_the_runs_final_numbers(config):
    got = run_script(simclr_snippet(config))
    want = expected(config)
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        assert math.isclose(float(got[name]), value, rel_tol=1e-6, abs_tol=1e-9), (name, got)
    # Exactly, in fact: 10 significant digits tell float32 numbers apart (9 are enough).
    assert got == {name: f"{value:.10g}" for name, value in want.items()}


def test_a_script_runs_on_its_own(tmp_path: Path):
    config = CONFIGS["not_collapsing"]
    path = tmp_path / "simclr.py"
    path.write_text(simclr_snippet(config))
    result = subprocess.run(
        [sys.executable, "-I", str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
        cwd=tmp_path,
    )
    lines = result.stdout.strip().splitlines()
    assert [line.split(" = ")[0] for line in lines] == list(NAMES)
    got = {name: float(value) for name, value in (line.split(" = ") for line in lines)}
    for name, value in expected(config).items():
        assert math.isclose(got[name], value, rel_tol=1e-6, abs_tol=1e-9), (name, got)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_script_imports_torch_math_and_sklearn_only(config):
    tree = ast.parse(simclr_snippet(config))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module)
    assert imported == ["math", "torch", "torch.nn.functional", "sklearn.datasets"]
    assert "lossviz" not in ast.unparse(tree)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
              if isinstance(n.func, ast.Name)}  # fmt: skip
    assert not {"exec", "eval", "__import__", "open"} & called


def test_only_what_the_config_uses_is_written():
    plain = simclr_snippet(CONFIGS["not_collapsing"])  # no projector, no variance, no shift
    assert "projector" not in plain.lower() and "w3" not in plain
    assert "variance_penalty" not in plain and "VARIANCE_WEIGHT" not in plain
    assert "def shift(" not in plain and "masked_fill(drop_u" not in plain
    assert "torch.rand(b, 2, generator=draws)  # shift_u: unused, MAX_SHIFT = 0" in plain
    assert "view = (view + NOISE_STD * noise).clamp(0.0, 1.0)" in plain
    assert "TAU = 2.0" in plain and "SEED = 0" in plain and "STEPS = 20" in plain
    full = simclr_snippet(CONFIGS["projector-variance"])
    assert "def projector(h):" in full and "head = generator(2)" in full
    assert "VARIANCE_WEIGHT = 5.0" in full and "def variance_penalty(z):" in full
    assert "def shift(" in full and "view = view.masked_fill(drop_u < DROPOUT, 0.0)" in full
    assert 'print(f"loss = {loss.item():.10g}")' in full


def test_the_settings_are_written_exactly():
    config = ContrastiveConfig(temperature=0.1 + 0.2, lr=1 / 3, augment=Augment(1 / 7, 0.3, 1))
    code = simclr_snippet(config)
    assert f"TAU = {0.1 + 0.2!r}" in code and f"LR = {1 / 3!r}" in code
    assert f"NOISE_STD = {1 / 7!r}" in code


def test_what_is_not_a_config_raises():
    with pytest.raises(ValueError):
        simclr_snippet({"temperature": 0.2})  # type: ignore[arg-type]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_script_is_formatted_and_linted_as_the_project_is(config):
    assert RUFF.exists(), f"ruff is a test requirement (requirements-dev.txt); not at {RUFF}"
    code = simclr_snippet(config)
    root = Path(__file__).parents[1]
    formatted = subprocess.run(
        [str(RUFF), "format", "--stdin-filename", "simclr.py", "-"],
        input=code, capture_output=True, text=True, check=True, cwd=root,
    ).stdout  # fmt: skip
    assert formatted == code
    subprocess.run(
        [str(RUFF), "check", "--stdin-filename", "simclr.py", "-"],
        input=code, capture_output=True, text=True, check=True, cwd=root,
    )  # fmt: skip
