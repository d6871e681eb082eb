"""A tiny app around the draggable plane, for tests/test_plane.py and the browser tests.

`streamlit run tests/browser/apps/plane_app.py` shows it by hand. The app's own
session state (``pts``) is the truth; the plane's callback writes it.

``?mode=infonce`` shows InfoNCE on the circle instead: an anchor, a positive and ``k``
negatives (``&k=``, 1 to 16, default 4) at temperature ``&tau=`` (default 0.2), on the
unit circle (``&circle=0``: off it, raw dot products; ``&normalize=1`` with it: cosines
of points that are not kept on the circle), the weights as bars, the core's read-out.
"""

from __future__ import annotations

import math

import streamlit as st

from lossviz.core.circle_reading import on_circle_at, point_names, read_circle
from lossviz.core.descent import arrow_scale
from lossviz.core.softmax_contrastive import DegenerateError
from lossviz.ui.components.infonce_readout import infonce_reading_json, infonce_weights
from lossviz.ui.components.plane import (
    LiveLoss,
    Metric,
    PlaneSpec,
    Regions,
    Trajectory,
    plane,
)

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


INFONCE_KEY = "infonce_plane"
INFONCE_BOUNDS = (-2.0, 2.0)
INFONCE_ANGLES = (0, 40, 100, 160, 220, 300, 20, 80, 140, 200, 260, 320, 10, 70, 130, 190, 250, 310)


def infonce_defaults(negatives: int) -> dict[str, tuple[float, float]]:
    """A at 0 degrees, P at 40, the negatives spread around the circle."""
    names = point_names(negatives)
    return {n: on_circle_at(math.radians(a)) for n, a in zip(names, INFONCE_ANGLES, strict=False)}


def infonce_page() -> None:
    params = st.query_params
    negatives = min(max(int(params.get("k", "4")), 1), 16)
    tau = float(params.get("tau", "0.2"))
    circle = params.get("circle", "1") != "0"
    normalize = params.get("normalize", "1" if circle else "0") != "0"
    state.setdefault("infonce_pts", infonce_defaults(negatives))
    state.setdefault("infonce_changes", 0)

    def store_infonce(points: dict[str, tuple[float, float]]) -> None:
        state.infonce_pts = points
        state.infonce_changes += 1

    pts = state.infonce_pts
    try:
        reading = read_circle(pts, tau, on_circle=normalize)
    except DegenerateError:
        reading = None
    arrows = None
    if reading is not None:
        scale = arrow_scale(list(reading.gradients.values()), INFONCE_BOUNDS[1] - INFONCE_BOUNDS[0])
        arrows = {n: (-gx * scale, -gy * scale) for n, (gx, gy) in reading.gradients.items()}
    spec = PlaneSpec(
        key=INFONCE_KEY,
        points=pts,
        bounds=INFONCE_BOUNDS,
        arrows=arrows,
        live=LiveLoss("infonce", 0.0, {}, temperature=tau, on_circle=normalize),
        reading=infonce_reading_json(reading),
        weights=infonce_weights(reading) if reading is not None else {},
        circle=circle,
        caption="Drag a point along the circle, or click it and use the arrow keys",
        download_name="infonce-plane",
    )
    plane(spec, on_change=store_infonce)
    st.text(f"points: {fmt(pts)}")
    server = infonce_reading_json(reading)
    st.text(f"changes: {state.infonce_changes} loss: {server['loss']}")


state = st.session_state
if st.query_params.get("mode") == "infonce":
    st.title("plane test app: InfoNCE")
    infonce_page()
    st.stop()
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
spec = PlaneSpec(
    key=KEY,
    points=pts,
    bounds=BOUNDS,
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
plane(spec, on_change=store)
st.text(f"points: {fmt(pts)}")
st.text(f"changes: {state.changes} unrelated: {unrelated}")
