"""The project installs as a package (`pip install .`): the core, the Streamlit layer and the
components' JS and CSS, with requirements.txt as its dependencies."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_holds_the_package_its_assets_and_its_dependencies(tmp_path):
    source = tmp_path / "src"  # a copy: building writes build/ and *.egg-info beside the code
    shutil.copytree(REPO / "lossviz", source / "lossviz",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "requirements.txt", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("lossviz-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n) for n in names if n.endswith("METADATA")).decode()
    for asset in ("plane", "player", "heatmap", "cookies"):
        assert f"lossviz/ui/components/assets/{asset}.js" in names
        assert f"lossviz/ui/components/assets/{asset}.css" in names
    assert {
        "lossviz/ui/components/assets/mirror.js",
        "lossviz/ui/components/assets/theme.js",
    } <= names  # imported
    assert {"lossviz/losses.py", "lossviz/core/losses.py", "lossviz/rooms/store.py",
            "lossviz/figures/curves.py", "lossviz/ui/widgets.py"} <= names  # fmt: skip
    assert not [n for n in names if n.startswith(("tests/", "bench/", "pages/"))]
    required = [line for line in (REPO / "requirements.txt").read_text().splitlines()
                if line and not line.startswith("#")]  # fmt: skip
    for requirement in required:
        name = requirement.split("=")[0].split(">")[0].split("<")[0]
        assert f"Requires-Dist: {name}" in metadata, requirement
