"""A tiny app around the draggable plane, for tests/test_plane.py and the browser tests.

`streamlit run tests/browser/apps/plane_app.py` shows it by hand. The app's own
session state (``pts``) is the truth; the plane's callback writes it.
"""

from __future__ import annotations

import streamlit as st

from lossviz.ui.components.plane import Metric, Regions, Trajectory, plane

KEY = "plane"
BOUNDS = (-4.0, 4.0)
DEFAULTS = {"A": (0.0, 0.0), "P": (1.0, 1.0), "N": (-1.5, 0.5)}
GRID = 100
FRAMES = 30
ANIMATION_TARGET = (3.0, -3.0)  # where the "Animate" button sends N


def half_plane_cells(size: int) -> str:
    """Top half (y > 0) "0", bottom-left "1", bottom-right "2"; first row = top (y = hi)."""
    rows = []
    for r in range(size):
        y = BOUNDS[1] - (r + 0.5) * (BOUNDS[1] - BOUNDS[0]) / size
        row = []
        for c in range(size):
            x = BOUNDS[0] + (c + 0.5) * (BOUNDS[1] - BOUNDS[0]) / size
            row.append("0" if y > 0 else ("1" if x < 0 else "2"))
        rows.append("".join(row))
    return "".join(rows)


def fmt(points: dict[str, tuple[float, float]]) -> str:
    return " ".join(f"{n}=({x:.2f}, {y:.2f})" for n, (x, y) in points.items())


state = st.session_state
state.setdefault("pts", dict(DEFAULTS))
state.setdefault("changes", 0)
state.setdefault("trajectory", None)


def store(points: dict[str, tuple[float, float]]) -> None:
    state.pts = points
    state.changes += 1


def reset() -> None:
    state.pts = dict(DEFAULTS)


def animate() -> None:
    start = state.pts
    frames = []
    for i in range(FRAMES):
        t = i / (FRAMES - 1)
        n = start["N"]
        frames.append(
            {
                **start,
                "N": (
                    n[0] + (ANIMATION_TARGET[0] - n[0]) * t,
                    n[1] + (ANIMATION_TARGET[1] - n[1]) * t,
                ),
            }
        )
    previous = state.trajectory.animation_id if state.trajectory else 0
    state.trajectory = Trajectory(frames=frames, animation_id=previous + 1, frame_ms=30)
    state.pts = frames[-1]


st.title("plane test app")
unrelated = st.slider("unrelated", 0, 10, 3, key="unrelated")
left, right = st.columns(2)
left.button("Reset", on_click=reset)
right.button("Animate", on_click=animate)

pts = state.pts
plane(
    key=KEY,
    points=pts,
    bounds=BOUNDS,
    on_change=store,
    regions=Regions(
        size=GRID,
        cells=half_plane_cells(GRID),
        palette={"0": "#009E73", "1": "#E69F00", "2": "#D55E00"},
    ),
    # Arrows toward the origin, a quarter of the way: they follow the app-state points.
    arrows={n: (-x / 4, -y / 4) for n, (x, y) in pts.items()},
    trajectory=state.trajectory,
    metric=Metric("lp", p=2.0),
    labels={"A": "A anchor", "P": "P positive", "N": "N negative"},
    caption="Drag a point, or click it and use the arrow keys",
)
st.text(f"points: {fmt(pts)}")
st.text(f"changes: {state.changes} unrelated: {unrelated}")
