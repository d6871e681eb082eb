"""The collapse figure as the page drew it before the player: Plotly, frames built once.

Kept for ``bench/collapse_motion.py`` only, which measures how smoothly each way moves the
points in a browser (the reason the page now uses
``lossviz/ui/components/assets/player.js``). Not used by the app.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lossviz.figures import COLORS, RUN_COLORS, class_color

_KIND_COLUMNS = (("easy", 0), ("semi-hard", 1), ("hard", 2))


def training_figure(
    titles: Sequence[str],
    embeddings: Sequence[np.ndarray],
    labels: np.ndarray,
    class_names: Sequence[str],
    steps: np.ndarray,
    loss: np.ndarray,
    spread: np.ndarray,
    shares: np.ndarray,
    margin: float,
    *,
    frame: int = -1,
    animate: bool = False,
    frame_ms: int = 50,
) -> go.Figure:
    """Embeddings of one or two runs (top) and their loss, spread and kind shares (bottom).

    ``embeddings[r]`` (F, E, 2): run r's evaluation points at each of the F
    recorded ``steps`` (F,); ``labels`` (E,) index ``class_names``; ``loss`` and
    ``spread`` (R, F); ``shares`` (R, F, 3) easy / semi-hard / hard. The
    scatter shows frame ``frame``; the curves are drawn to the last frame with a
    marker at ``frame``. Each scatter keeps one axis span for all frames (the
    largest), so a collapse shows as points shrinking, not as autoscaled noise.
    ``animate`` adds one plotly frame per step, a play button and a step slider.
    """
    runs = len(titles)
    frame = frame % len(steps)
    width = 6 // runs  # a 6-column grid: scatters share the top row, three curves the bottom
    top = [cell for _ in range(runs) for cell in ({"colspan": width}, *[None] * (width - 1))]
    fig = make_subplots(
        rows=2,
        cols=6,
        specs=[top, [{"colspan": 2}, None, {"colspan": 2}, None, {"colspan": 2}, None]],
        row_heights=[0.64, 0.36],
        vertical_spacing=0.1,
        horizontal_spacing=0.06,
        subplot_titles=[
            *titles,
            "batch loss" + (" (solid: left, dotted: right)" if runs == 2 else ""),
            "spread (log)",
            "easy / semi-hard / hard",
        ],
    )
    safe = [html.escape(str(name), quote=False) for name in class_names]
    classes = range(len(class_names))
    moving: list[int] = []
    for run in range(runs):
        col = 1 + run * width
        for label in classes:
            mask = labels == label
            points = embeddings[run][frame][mask]
            moving.append(len(fig.data))
            fig.add_trace(
                go.Scatter(
                    x=points[:, 0],
                    y=points[:, 1],
                    mode="markers",
                    name=safe[label],
                    legendgroup=safe[label],
                    showlegend=run == 0,
                    # A dark rim: a collapsed cloud is one dot, which must not vanish.
                    marker={
                        "color": class_color(label),
                        "size": 6,
                        "line": {"width": 0.6, "color": "#333333"},
                    },  # fmt: skip
                    hovertemplate=f"class {safe[label]}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        lo, hi = _span(embeddings[run])
        fig.update_xaxes(range=[lo[0], hi[0]], row=1, col=col)
        fig.update_yaxes(range=[lo[1], hi[1]], row=1, col=col)
    for run in range(runs):
        dash = "solid" if run == 0 else "dot"
        fig.add_trace(_curve(steps, loss[run], titles[run], RUN_COLORS[run], dash), 2, 1)
        fig.add_trace(_curve(steps, spread[run], titles[run], RUN_COLORS[run], dash), 2, 3)
        for name, column in _KIND_COLUMNS:
            curve = _curve(steps, shares[run][:, column], f"{name} ({titles[run]})",
                           COLORS[name], dash)  # fmt: skip
            fig.add_trace(curve, 2, 5)
    fig.add_hline(y=margin, line_dash="dash", line_color=COLORS["margin"], row=2, col=1,
                  annotation_text="margin", annotation_position="top right")  # fmt: skip
    fig.update_yaxes(type="log", row=2, col=3)
    # A large early loss (the fix starts near 9) must not flatten the curve at the margin.
    finite_loss = loss[np.isfinite(loss)]
    loss_top = max(3.0 * margin, float(np.percentile(finite_loss, 90)) if finite_loss.size else 1.0)
    fig.update_yaxes(range=[0.0, loss_top * 1.05], row=2, col=1)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=2, col=5)
    low_spread = max(float(np.nanmin(spread)), 1e-12)
    high_spread = max(float(np.nanmax(spread)), low_spread * 10)
    bands = [(1, [0.0, loss_top * 1.05]),
             (3, [low_spread, high_spread]), (5, [0.0, 1.0])]  # fmt: skip
    markers = []
    for col, (y0, y1) in bands:
        markers.append(len(fig.data))
        fig.add_trace(_step_marker(steps[frame], y0, y1), 2, col)
    fig.update_layout(
        height=720,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"title": {"text": "class"}, "itemsizing": "constant", "tracegroupgap": 2},
        uirevision="training",
    )
    if animate:
        _add_frames(fig, embeddings, labels, classes, steps, moving, markers, bands, frame_ms)
    return fig


def _span(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = frames[np.isfinite(frames).all(axis=-1)]
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    pad = np.maximum((hi - lo) * 0.05, 1e-6)
    return lo - pad, hi + pad


def _curve(x, y, name: str, color: str, dash: str) -> go.Scatter:
    safe = html.escape(name, quote=False)
    return go.Scatter(
        x=x,
        y=y,
        mode="lines",
        name=safe,
        showlegend=False,
        line={"color": color, "width": 2, "dash": dash},
        hovertemplate="step %{x}: %{y:.4g}<extra>" + safe + "</extra>",
    )


def _step_marker(step: float, y0: float, y1: float) -> go.Scatter:
    return go.Scatter(x=[step, step], y=[y0, y1], mode="lines", showlegend=False,
                      line={"color": COLORS["loss"], "width": 1}, hoverinfo="skip")  # fmt: skip


def _add_frames(fig, embeddings, labels, classes, steps, moving, markers, bands, frame_ms):
    frames = []
    for i, step in enumerate(steps):
        data = [go.Scatter(x=embeddings[run][i][labels == label][:, 0],
                           y=embeddings[run][i][labels == label][:, 1])
                for run in range(len(embeddings)) for label in classes]  # fmt: skip
        data += [go.Scatter(x=[step, step], y=y) for _, y in bands]
        frames.append(go.Frame(data=data, traces=moving + markers, name=str(int(step))))
    fig.frames = frames
    play = {"frame": {"duration": frame_ms, "redraw": False}, "fromcurrent": True,
            "transition": {"duration": 0}, "mode": "immediate"}  # fmt: skip
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
             "transition": {"duration": 0}}  # fmt: skip
    fig.update_layout(
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0, "y": -0.06, "xanchor": "left",
            "yanchor": "top", "showactive": False,
            "buttons": [{"label": "▶ Replay", "method": "animate", "args": [None, play]},
                        {"label": "❚❚", "method": "animate", "args": [[None], pause]}],
        }],
        sliders=[{
            "active": len(steps) - 1, "x": 0.16, "len": 0.84, "y": -0.04,
            "currentvalue": {"prefix": "step ", "xanchor": "right"},
            "steps": [{"label": str(int(s)), "method": "animate",
                       "args": [[str(int(s))], {**pause, "frame": {"duration": 0,
                                                                   "redraw": False}}]}
                      for s in steps],
        }],
        margin={"l": 10, "r": 10, "t": 40, "b": 90},
    )  # fmt: skip
