"""The heatmap component's data: uint16 levels within half a level of the grid, in Python and
in the browser's decoder (heatmap.js run by node); the zero line traced by marching squares."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import numpy as np
import pytest

from lossviz.figures import COLORS
from lossviz.ui.components.component import ASSETS, inline_js
from lossviz.ui.components.heatmap import encode_levels, heatmap_payload

HEATMAP_JS = ASSETS / "heatmap.js"


def decode(levels: str, zmax: float) -> np.ndarray:
    return np.frombuffer(base64.b64decode(levels), dtype="<u2") / 65535 * zmax


def run_js(expression: str) -> object:
    script = (
        f"const src = {json.dumps(inline_js(HEATMAP_JS))};"
        "const m = await import('data:text/javascript,' + encodeURIComponent(src));"
        f"console.log(JSON.stringify({expression}));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def disc_grid(n: int = 40, radius: float = 0.5) -> np.ndarray:
    """0 inside a disc of ``radius`` around the centre of [-1, 1]², the distance beyond it."""
    centres = -1 + (np.arange(n) + 0.5) * 2 / n
    x, y = np.meshgrid(centres, centres[::-1])
    return np.maximum(np.hypot(x, y) - radius, 0.0)


def test_levels_come_back_within_half_a_level():
    grid = disc_grid()
    levels, zmax = encode_levels(grid)
    assert zmax == grid.max()
    assert np.abs(decode(levels, zmax) - grid.ravel()).max() <= zmax / 131070 + 1e-15


def test_a_flat_grid_and_bad_grids():
    levels, zmax = encode_levels(np.zeros((3, 3)))
    assert zmax == 0.0 and not decode(levels, 1.0).any()
    with pytest.raises(ValueError, match="square"):
        encode_levels(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        encode_levels(np.array([[0.0, -1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="finite"):
        encode_levels(np.array([[0.0, np.inf], [0.0, 0.0]]))


def test_the_payload_is_json_with_the_points_in_their_colours():
    data = json.loads(heatmap_payload(disc_grid(), (-1.0, 1.0), {"A": (0.0, 0.0), "P": (0.5, 0)}))
    assert data["size"] == 40 and (data["lo"], data["hi"]) == (-1.0, 1.0)
    assert [p["color"] for p in data["points"]] == [COLORS["anchor"], COLORS["positive"]]
    assert [(p["name"], p["x"], p["y"]) for p in data["points"]] == [("A", 0, 0), ("P", 0.5, 0)]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run heatmap.js")
def test_the_browser_decodes_the_levels_and_traces_the_zero_line_on_the_disc():
    grid = disc_grid()
    levels, zmax = encode_levels(grid)
    got = run_js(
        f"(() => {{ const g = m.decodeLevels({json.dumps(levels)}, {zmax});"
        " return {grid: Array.from(g), contour: m.zeroContour(g, 40)}; })()"
    )
    assert np.allclose(got["grid"], decode(levels, zmax), rtol=0, atol=1e-12)
    # Segment ends are (row, col) in cell-centre units: back to the plane, on the circle.
    ends = np.array([end for segment in got["contour"] for end in segment])
    x = -1 + (ends[:, 1] + 0.5) * 2 / 40
    y = 1 - (ends[:, 0] + 0.5) * 2 / 40
    assert len(got["contour"]) > 40
    assert np.abs(np.hypot(x, y) - 0.5).max() < 2 / 40  # within one cell of the true border
