"""Figures of the SimCLR demo: the augmentations, and one or two contrastive runs as one
animated figure (points, curves, the alignment-uniformity plane, the spectrum).

:func:`training_figure` draws runs trained in lockstep from their records
(:class:`~lossviz.training.contrastive_training.ContrastiveSnapshot`, ``frames[i][r]``: run r
at the i-th record). Plotly animates it in the browser: its Play and Pause buttons and its
step slider move every animated trace together (Play from the first record), and nothing
reaches the server. Panels:

Two columns (they stay readable in the lesson's column and on a phone), in rows:

- row 1: each run's probe points (the circle itself for 2-D outputs, else the first two
  principal components of that record, as the snapshot holds them), coloured by digit;
- row 2: the alignment-uniformity plane (Wang and Isola 2020, Fig. 1: x uniformity, y
  alignment, both lower is better), each run's path and where it is now; the effective rank
  against the step;
- row 3: NT-Xent against the step; the covariance spectrum of each run's representation
  (log scale, descending) at the current record;
- row 4: alignment and uniformity against the step (curves: a marker at the current step).

Run A is drawn solid with circles, run B dashed with squares (never colour alone).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lossviz.figures import CLASS_COLORS, RUN_COLORS
from lossviz.figures.shared_figure import PrebuiltFigure, SharedFigure

POINTS_DRAWN = 256  # of the probe's 512 (class-balanced: the probe's order is stratified)
SPECTRUM_FLOOR = 1e-9  # singular values below this are drawn at it (a log axis has no 0)
_DASHES = ("solid", "dash")
_SYMBOLS = ("circle", "square")
_ROUND = 4  # decimals sent for a point's coordinate (a pixel is ~0.005 of the circle)
# The panels as (row, col) and the axis names Plotly gives them.
_POINTS = ((1, 1), (1, 2))
_PLANE, _RANK, _LOSS, _SPECTRUM, _ALIGN, _UNIFORM = (2, 1), (2, 2), (3, 1), (3, 2), (4, 1), (4, 2)


def augmentation_figure(images: np.ndarray, views: Sequence[np.ndarray], titles: Sequence[str]):
    """Digits and their augmented views as one grey picture.

    ``images`` (E, 64) pixels in [0, 1]; ``views[c]`` (E, 64) is column ``c + 1``'s view of
    each digit, titled ``titles[c]`` (column 0 is "digit"). One heatmap with blank gaps.
    """
    columns = [np.asarray(images), *(np.asarray(v) for v in views)]
    rows, gap, side = len(columns[0]), 2, 8
    height, width = rows * (side + gap) - gap, len(columns) * (side + gap) - gap
    picture = np.full((height, width), np.nan)
    for c, column in enumerate(columns):
        for r in range(rows):
            y, x = r * (side + gap), c * (side + gap)
            picture[y : y + side, x : x + side] = column[r].reshape(side, side)
    centres = [c * (side + gap) + side / 2 - 0.5 for c in range(len(columns))]
    fig = go.Figure(
        go.Heatmap(
            z=picture,
            colorscale="Greys",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="pixel %{z:.2f}<extra></extra>",
        )  # fmt: skip
    )
    fig.update_xaxes(tickvals=centres, ticktext=["digit", *titles], side="top", showgrid=False,
                     zeroline=False)  # fmt: skip
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=60 + rows * 44, margin={"l": 4, "r": 4, "t": 40, "b": 4},
                      plot_bgcolor="rgba(0,0,0,0)")  # fmt: skip
    return SharedFigure(fig)


def _typed(values) -> dict:
    """A float32 array as Plotly's typed-array JSON (what plotly.py writes for numpy)."""
    data = np.asarray(values, dtype="<f4").tobytes()
    return {"dtype": "f4", "bdata": base64.b64encode(data).decode("ascii")}


def _spectrum(snapshot) -> np.ndarray:
    return np.maximum(snapshot.spectrum.numpy(), SPECTRUM_FLOOR)


def _animated(frames, labels: np.ndarray, index: int, runs: int) -> list[tuple]:
    """Every trace that changes from record to record, in the figure's order:
    ``[((row, col), style, x, y), ...]`` (``style``: the trace's other attributes, which the
    animation never changes)."""
    moving = []
    for run in range(runs):
        points = frames[index][run].points.numpy()[:POINTS_DRAWN]
        for digit in range(10):
            mine = points[labels[:POINTS_DRAWN] == digit]
            style = {"mode": "markers", "name": f"digit {digit}",
                     "legendgroup": f"digit {digit}", "showlegend": run == 0,
                     "marker": {"color": CLASS_COLORS[digit], "size": 5, "line": {"width": 0}},
                     "hovertemplate": f"digit {digit}<extra></extra>"}  # fmt: skip
            moving.append((_POINTS[run], style, mine[:, 0], mine[:, 1]))
    for run in range(runs):
        s = frames[index][run]
        marker = {"color": RUN_COLORS[run], "size": 11, "symbol": _SYMBOLS[run],
                  "line": {"width": 1.5, "color": "#ffffff"}}  # fmt: skip
        now = {_PLANE: (s.uniformity, s.alignment), _LOSS: (s.step, s.nt_xent),
               _ALIGN: (s.step, s.alignment), _UNIFORM: (s.step, s.uniformity),
               _RANK: (s.step, s.effective_rank)}  # fmt: skip
        style = {"mode": "markers", "marker": marker, "showlegend": False, "hoverinfo": "skip"}
        moving += [(position, style, [x], [y]) for position, (x, y) in now.items()]
        spectrum = _spectrum(s)
        style = {"mode": "lines+markers", "showlegend": False,
                 "line": {"color": RUN_COLORS[run], "dash": _DASHES[run]},
                 "marker": {"symbol": _SYMBOLS[run], "size": 5},
                 "hovertemplate": f"σ%{{x}} = %{{y:.2e}}<extra>{'AB'[run]}</extra>"}  # fmt: skip
        moving.append((_SPECTRUM, style, np.arange(1, len(spectrum) + 1), spectrum))
    return moving


def _static_curves(fig: go.Figure, frames, titles: Sequence[str]) -> None:
    """Each run's whole path on the plane and its curves (drawn once, not animated)."""
    runs = len(frames[0])
    for run in range(runs):
        steps = [f[run].step for f in frames]
        line = {"color": RUN_COLORS[run], "dash": _DASHES[run], "width": 2}
        series = {
            _PLANE: ([f[run].uniformity for f in frames], [f[run].alignment for f in frames]),
            _LOSS: (steps, [f[run].nt_xent for f in frames]),
            _ALIGN: (steps, [f[run].alignment for f in frames]),
            _UNIFORM: (steps, [f[run].uniformity for f in frames]),
            _RANK: (steps, [f[run].effective_rank for f in frames]),
        }
        for position, (x, y) in series.items():
            fig.add_trace(
                go.Scatter(x=x, y=y, mode="lines", line=line, name=titles[run],
                           legendgroup=f"run {run}", showlegend=position == _LOSS,
                           hovertemplate="%{x:.3g}, %{y:.3f}<extra>" + titles[run] + "</extra>"),
                row=position[0], col=position[1],
            )  # fmt: skip


class TrainingFigure:
    """The animated figure of one finished set of runs, built once: :meth:`at` gives it
    showing any record first, without building or validating it again (the frames are
    plain dicts holding only what moves, float32 typed arrays).

    ``frames[i][r]``: run r at the i-th record, in step order; ``labels`` (P,) the digit of
    each probe point; ``titles[r]`` names run r; ``steps``: the runs' last step, where the
    step axes end (by default the last record's: a step-0 preview passes the runs' steps).
    """

    def __init__(
        self,
        frames: Sequence[Sequence],
        labels: np.ndarray,
        titles: Sequence[str],
        steps: int | None = None,
    ):
        runs = len(frames[0])
        labels = np.asarray(labels)
        circles = [_on_circle(frames, run) for run in range(runs)]
        point_titles = [f"{titles[r]} · {'circle' if circles[r] else 'PCA'}" for r in range(runs)]
        subplot_titles = [*point_titles, *([""] * (2 - runs)), "alignment vs uniformity",
                          "effective rank", "NT-Xent loss", "spectrum (representation)",
                          "alignment (↓ views closer)", "uniformity (↓ more spread)"]  # fmt: skip
        fig = make_subplots(
            rows=4, cols=2, row_heights=[0.31, 0.23, 0.23, 0.23], vertical_spacing=0.085,
            horizontal_spacing=0.14,
            subplot_titles=subplot_titles,
        )  # fmt: skip
        _static_curves(fig, frames, titles)
        first = len(fig.data)
        for (row, col), style, x, y in _animated(frames, labels, 0, runs):
            fig.add_trace(go.Scatter(x=x, y=y, **style), row=row, col=col)
        self.animated = list(range(first, len(fig.data)))
        self.names = [str(f[0].step) for f in frames]
        self.moving = [
            [{"x": _typed(x), "y": _typed(y)} for _, _, x, y in _animated(frames, labels, i, runs)]
            for i in range(len(frames))
        ]
        _layout(fig, frames, runs, circles, steps)
        self.base = fig.to_dict()
        self.frames = [
            {"name": name, "traces": self.animated, "data": data}
            for name, data in zip(self.names, self.moving, strict=True)
        ]

    def at(self, shown: int) -> PrebuiltFigure:
        """The figure showing record ``shown`` (its slider there), ready for ``st.plotly_chart``."""
        data = list(self.base["data"])
        for index, moving in zip(self.animated, self.moving[shown], strict=True):
            data[index] = {**data[index], **moving}
        layout = dict(self.base["layout"])
        layout["sliders"] = [{**layout["sliders"][0], "active": shown}]
        return PrebuiltFigure({"data": data, "layout": layout, "frames": self.frames})


def _on_circle(frames, run: int) -> bool:
    """Whether run ``run``'s points are drawn as they are (2-D outputs): unit vectors."""
    norms = np.linalg.norm(frames[0][run].points.numpy(), axis=1)
    return frames[0][run].points.shape[1] == 2 and bool(np.allclose(norms, 1.0, atol=1e-3))


def _layout(fig: go.Figure, frames, runs: int, circles: list[bool], steps: int | None) -> None:
    fig.update_annotations(font_size=13)  # the panels' titles
    names = [str(f[0].step) for f in frames]
    for run in range(runs):
        reach = 1.12 if circles[run] else _reach(frames, run)
        x, y = (f"xaxis{'' if run == 0 else run + 1}", f"yaxis{'' if run == 0 else run + 1}")
        fig.layout[x].update(range=[-reach, reach], zeroline=False, showgrid=False,
                             constrain="domain")  # fmt: skip
        fig.layout[y].update(range=[-reach, reach], zeroline=False, showgrid=False,
                             scaleanchor=x.replace("axis", ""), scaleratio=1)  # fmt: skip
        if circles[run]:
            fig.add_shape(type="circle", x0=-1, y0=-1, x1=1, y1=1, xref=x.replace("axis", ""),
                          yref=y.replace("axis", ""),
                          line={"color": "#8a8d96", "width": 1})  # fmt: skip
    fig.update_yaxes(type="log", row=_SPECTRUM[0], col=_SPECTRUM[1],
                     title_text="σ (log)",
                     exponentformat="power", dtick=1,
                     range=list(_spectrum_span(frames)))  # fmt: skip
    dims = max(frames[0][run].spectrum.numel() for run in range(runs))
    fig.update_xaxes(title_text="direction, largest first", row=_SPECTRUM[0], col=_SPECTRUM[1],
                     tick0=1,
                     dtick=max(1, dims // 8))  # fmt: skip
    last = steps if steps is not None else frames[-1][0].step
    for row, col in (_LOSS, _ALIGN, _UNIFORM, _RANK):
        fig.update_xaxes(title_text="step", row=row, col=col, range=[0, max(last, 1)])
    fig.update_yaxes(range=[0, dims + 0.5] if len(frames) == 1 else None, row=_RANK[0],
                     col=_RANK[1])  # fmt: skip
    fig.update_xaxes(title_text="uniformity", row=_PLANE[0], col=_PLANE[1])
    fig.update_yaxes(title_text="alignment", row=_PLANE[0], col=_PLANE[1])
    slider_steps = [
        {"label": name, "method": "animate",
         "args": [[name], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                           "transition": {"duration": 0}}]}
        for name in names
    ]  # fmt: skip
    play = {"frame": {"duration": 180, "redraw": True}, "fromcurrent": False,
            "transition": {"duration": 0}, "mode": "immediate"}  # fmt: skip
    fig.update_layout(
        height=1400,
        margin={"l": 50, "r": 20, "t": 110, "b": 200},
        legend={"orientation": "h", "x": 0, "y": 1.03, "yanchor": "bottom"},
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0, "y": -0.135, "xanchor": "left",
            "yanchor": "top", "showactive": False,
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ Pause", "method": "animate",
                 "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]},
            ],
        }],
        sliders=[{
            "active": 0, "steps": slider_steps, "x": 0, "len": 1, "y": -0.055,
            "yanchor": "top", "currentvalue": {"prefix": "step "}, "pad": {"t": 0},
        }],
    )  # fmt: skip


def _spectrum_span(frames) -> tuple[float, float]:
    """log10 bounds holding every run's spectrum at every record (the axis never moves)."""
    values = np.concatenate([_spectrum(s) for frame in frames for s in frame])
    low, high = np.log10(values.min()), np.log10(values.max())
    pad = max(0.1 * (high - low), 0.1)
    return float(low - pad), float(high + pad)


def _reach(frames, run: int) -> float:
    """Half the side of a square that holds run ``run``'s projected points at every record."""
    top = max(float(np.abs(f[run].points.numpy()).max()) for f in frames)
    return max(top * 1.08, 1e-3)


__all__ = ["POINTS_DRAWN", "SPECTRUM_FLOOR", "TrainingFigure", "augmentation_figure"]
