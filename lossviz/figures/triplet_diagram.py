"""The triplet diagram (Xuan et al., ECCV 2020, Fig. 1): every valid triplet of a batch at
``(d(a, p), d(a, n))``, the lines ``d(a, n) = d(a, p)`` and ``d(a, n) = d(a, p) + m``, the
hard / semi-hard / easy bands named with their counts, and the triplets that batch-hard and
semi-hard mining pick; on request, where a gradient step sends each dot. Counts, kinds and
velocities arrive computed (by :mod:`lossviz.batches.triplet_diagram` and the core); this
module only draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
import plotly.graph_objects as go

from lossviz.core.triplets import Kind
from lossviz.figures import BACKGROUND, COLORS, INK, KIND_COLORS

# The kinds' words and the part of the plane each one is (delta = d(a, n) - d(a, p)).
BAND_RULES: dict[Kind, str] = {
    Kind.HARD: "δ ≤ 0",
    Kind.SEMI_HARD: "0 < δ ≤ m",
    Kind.EASY: "δ > m",
}
PICK_STYLES = {  # name -> (legend text, marker symbol, colour)
    "batch_hard": ("batch-hard picks", "x", COLORS["anchor"]),
    "semi_hard": ("semi-hard picks", "triangle-up", COLORS["negative"]),
}
# The fastest dot's direction is drawn this long (a share of the axes' length); others in
# proportion to their speed.
ARROW_SHARE = 0.07
STEP_TRACE = "direction of a gradient step"  # the arrows' legend entry starts so


class TripletColumns(Protocol):
    """Triplets as columns, each ``(K,)``: batch rows and distances (``Triplets``' fields)."""

    anchor: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    d_ap: np.ndarray
    d_an: np.ndarray


def _hex_alpha(color: str, alpha: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def band_polygons(top: float, margin: float) -> dict[Kind, tuple[list[float], list[float]]]:
    """Each kind's part of the square ``[0, top]^2`` as a polygon ``(xs, ys)`` (may be empty):
    hard on and below ``y = x``, semi-hard up to ``y = x + margin``, easy above."""
    m = min(margin, top)
    return {
        Kind.HARD: ([0.0, top, top], [0.0, 0.0, top]),
        Kind.SEMI_HARD: ([0.0, top, top - m, 0.0], [0.0, top, top, m]),
        Kind.EASY: ([0.0, top - m, 0.0], [m, top, top]) if m < top else ([], []),
    }


def triplet_diagram(
    edges: np.ndarray,
    counts: np.ndarray,
    margin: float,
    kind_counts: Mapping[Kind, int],
    *,
    batch_hard: TripletColumns,
    semi_hard: TripletColumns,
    semi_hard_fallback: np.ndarray | None = None,
    dots: TripletColumns | None = None,
    dot_kinds: np.ndarray | None = None,
    velocities: np.ndarray | None = None,
    step_loss: str = "batch-all",
) -> go.Figure:
    """Every valid triplet on the ``(d(a, p), d(a, n))`` plane, the kinds' bands and the picks.

    ``edges`` ``(B+1,)`` from 0, both axes; ``counts`` ``(B, B)``: ``counts[i, j]``
    triplets with ``d(a, p)`` in bin ``i`` and ``d(a, n)`` in bin ``j``, drawn as a
    heatmap on a log colour scale (exact counts in the hover) unless ``dots`` (every
    triplet, with ``dot_kinds`` their ``Kind`` values) are given: then one dot per
    triplet. ``kind_counts``: the exact number of each kind at ``margin``, written in the
    legend and in each band. ``batch_hard`` / ``semi_hard``: one triplet per anchor, as
    two marker symbols (``semi_hard_fallback`` marks the semi-hard rule's fallbacks).

    ``velocities`` ``(K, 2)`` (with ``dots`` only; row ``k`` for dot ``k``, e.g.
    :func:`~lossviz.batches.triplet_diagram.dot_velocities`): each dot's direction under a
    gradient step of the loss named ``step_loss``, one arrow from the dot in the ink colour,
    the fastest :data:`ARROW_SHARE` of the axes long and the others in proportion to their
    speed (both axes share a scale, so the drawn direction is the velocity's); the speeds
    per unit learning rate are in the dots' hover. One trace, its segments split by gaps.
    """
    if velocities is not None:
        if dots is None:
            raise ValueError("velocities need the dots they belong to")
        velocities = np.asarray(velocities, dtype=np.float64)
        if velocities.shape != (len(dots.d_ap), 2) or not np.isfinite(velocities).all():
            raise ValueError(f"need finite velocities ({len(dots.d_ap)}, 2), one per dot; got "
                             f"{velocities.shape}")  # fmt: skip
    top = float(edges[-1])
    fig = go.Figure()
    polygons = band_polygons(top, margin)
    for kind in (Kind.HARD, Kind.SEMI_HARD, Kind.EASY):
        xs, ys = polygons[kind]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                fill="toself",
                mode="none",
                fillcolor=_hex_alpha(KIND_COLORS[kind], 0.14),
                name=f"{kind.label} ({BAND_RULES[kind]}): {kind_counts[kind]:,}",
                legendgroup="bands",
                legendgrouptitle={"text": "kind: triplets"},
                hoverinfo="skip",
            )
        )
    if dots is not None:
        _add_dots(fig, dots, np.asarray(dot_kinds), velocities)
        if velocities is not None:
            _add_directions(fig, dots, velocities, ARROW_SHARE * top, step_loss)
    else:
        _add_heatmap(fig, edges, counts)
    for role, text in (("hard", "d(a,n) = d(a,p)"), ("margin", "d(a,n) = d(a,p) + m")):
        shift = 0.0 if role == "hard" else min(margin, top)
        fig.add_trace(
            go.Scatter(
                x=[0.0, top - shift],
                y=[shift, top],
                mode="lines",
                name=text,
                legendgroup="lines",
                line={"color": INK if role == "hard" else COLORS["margin"], "width": 2,
                      "dash": "solid" if role == "hard" else "dash"},
                hoverinfo="skip",
            )
        )  # fmt: skip
    for name, picks in (("batch_hard", batch_hard), ("semi_hard", semi_hard)):
        fallback = semi_hard_fallback if name == "semi_hard" else None
        _add_picks(fig, name, picks, fallback)
    _label_bands(fig, top, margin, kind_counts)
    axis = {"range": [0.0, top], "rangemode": "tozero", "constrain": "domain", "zeroline": False}
    fig.update_layout(
        height=600,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={**axis, "title": "d(a, p): anchor to positive"},
        yaxis={**axis, "title": "d(a, n): anchor to negative", "scaleanchor": "x",
               "scaleratio": 1},
        legend={"orientation": "v", "x": 1.02, "y": 1, "itemsizing": "constant",
                "groupclick": "toggleitem"},
        hovermode="closest",
    )  # fmt: skip
    return fig


def _add_heatmap(fig: go.Figure, edges: np.ndarray, counts: np.ndarray) -> None:
    """The counts as cells on a log10 colour scale; empty cells left blank."""
    centres = (edges[:-1] + edges[1:]) / 2
    grid = np.asarray(counts, dtype=np.int64).T  # rows: d(a, n) bins, as the y axis
    with np.errstate(divide="ignore"):
        z = np.where(grid > 0, np.log10(np.maximum(grid, 1)), np.nan)
    lo, hi = edges[:-1], edges[1:]
    cells = np.stack(
        np.broadcast_arrays(grid, lo[None, :], hi[None, :], lo[:, None], hi[:, None]), axis=-1
    )
    top = int(np.ceil(np.nanmax(z))) if np.isfinite(z).any() else 1
    ticks = list(range(0, max(top, 1) + 1))
    fig.add_trace(
        go.Heatmap(
            x=centres,
            y=centres,
            z=z,
            customdata=cells,
            # From the page's background to its ink (both themes); a lone triplet still shows.
            colorscale=[[0.0, BACKGROUND], [1.0, INK]],
            zmin=-0.5,
            opacity=0.85,
            zmax=max(top, 1),
            name="triplets per cell",
            colorbar={
                "title": {"text": "triplets<br>per cell"},
                "tickvals": ticks,
                "ticktext": [f"{10**k:,}" for k in ticks],
                "x": 1.0,
                "xanchor": "left",
                "len": 0.5,
                "y": 0,
                "yanchor": "bottom",
            },
            hovertemplate="d(a,p) in [%{customdata[1]:.3f}, %{customdata[2]:.3f})<br>"
            "d(a,n) in [%{customdata[3]:.3f}, %{customdata[4]:.3f})<br>"
            "%{customdata[0]:,} triplets<extra></extra>",
            hoverongaps=False,
        )
    )


def _add_dots(
    fig: go.Figure, dots: TripletColumns, kinds: np.ndarray, velocities: np.ndarray | None
) -> None:
    """One dot per triplet, coloured (and named) by its kind; its velocity in the hover."""
    rows = np.stack([dots.anchor, dots.positive, dots.negative], axis=1)
    step = ""
    if velocities is not None:
        # float32 (rows print as integers; 3 digits shown) keeps the chart's data small
        rows = np.concatenate([rows, velocities], axis=1).astype(np.float32)
        step = ("<br>a gradient step moves d(a,p) by %{customdata[3]:+.3g}, "
                "d(a,n) by %{customdata[4]:+.3g}<br>(per unit learning rate)")  # fmt: skip
    for kind in (Kind.HARD, Kind.SEMI_HARD, Kind.EASY):
        mask = kinds == int(kind)
        fig.add_trace(
            go.Scattergl(
                x=dots.d_ap[mask],
                y=dots.d_an[mask],
                mode="markers",
                name=f"{kind.label} triplets",
                legendgroup="dots",
                customdata=rows[mask],
                marker={"color": KIND_COLORS[kind], "size": 5, "opacity": 0.7},
                hovertemplate="(a, p, n) = (%{customdata[0]:d}, %{customdata[1]:d}, "
                "%{customdata[2]:d})<br>d(a,p) = %{x:.3f}, d(a,n) = %{y:.3f}<br>"
                + kind.label
                + step
                + "<extra></extra>",
            )
        )


def direction_segments(
    dots: TripletColumns, velocities: np.ndarray, length: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, ys)`` ``(3K,)`` float32 (plenty for a drawing): per dot its point, the point
    moved along its velocity (the fastest by ``length``, the others in proportion; all stay
    put when none moves), and NaN, Plotly's gap (as ``None`` in a list, but the array
    travels as compact binary): one polyline of ``K`` segments, in the dots' order."""
    x0, y0 = np.asarray(dots.d_ap, dtype=np.float64), np.asarray(dots.d_an, dtype=np.float64)
    speeds = np.hypot(velocities[:, 0], velocities[:, 1])
    fastest = float(speeds.max()) if len(speeds) else 0.0
    scale = length / fastest if fastest > 0 else 0.0
    xs = np.full(3 * len(x0), np.nan, dtype=np.float32)
    ys = np.full(3 * len(x0), np.nan, dtype=np.float32)
    xs[0::3], ys[0::3] = x0, y0
    xs[1::3], ys[1::3] = x0 + scale * velocities[:, 0], y0 + scale * velocities[:, 1]
    return xs, ys


def _add_directions(
    fig: go.Figure, dots: TripletColumns, velocities: np.ndarray, length: float, loss: str
) -> None:
    """Each dot's direction under a gradient step: an ink arrow from the dot (one trace)."""
    xs, ys = direction_segments(dots, velocities, length)
    moving = np.hypot(velocities[:, 0], velocities[:, 1]) > 0
    sizes = np.zeros(len(xs), dtype=np.uint8)
    sizes[1::3] = np.where(moving, 7, 0)  # an arrowhead at each moving segment's end only
    still = "" if moving.any() else ": no loss, nothing moves"
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            name=f"{STEP_TRACE} ({loss}){still}<br>from each dot; length ∝ speed",
            legendgroup="directions",
            line={"color": INK, "width": 1},
            marker={"symbol": "arrow", "angleref": "previous", "size": sizes, "color": INK,
                    "line": {"width": 0}},
            opacity=0.75,
            connectgaps=False,
            hoverinfo="skip",
        )
    )  # fmt: skip


def _add_picks(
    fig: go.Figure, name: str, picks: TripletColumns, fallback: np.ndarray | None
) -> None:
    text, symbol, color = PICK_STYLES[name]
    rows = np.stack([picks.anchor, picks.positive, picks.negative], axis=1)
    notes = np.full(len(rows), "", dtype=object)
    if fallback is not None:
        notes[np.asarray(fallback, dtype=bool)] = "<br>fallback: no negative farther than p"
    fig.add_trace(
        go.Scattergl(
            x=picks.d_ap,
            y=picks.d_an,
            mode="markers",
            name=f"{text}: {len(rows):,}",
            legendgroup="picks",
            customdata=rows,
            text=notes,
            marker={"symbol": symbol, "size": 7, "color": color,
                    "line": {"width": 0.5, "color": BACKGROUND}},
            hovertemplate=f"{text[:-1]}: (a, p, n) = (%{{customdata[0]}}, "
            "%{customdata[1]}, %{customdata[2]})<br>d(a,p) = %{x:.3f}, d(a,n) = %{y:.3f}"
            "%{text}<extra></extra>",
        )
    )  # fmt: skip


def _label_bands(fig: go.Figure, top: float, margin: float, counts: Mapping[Kind, int]) -> None:
    """Each band's word and count, written inside it (where the band shows)."""
    m = min(margin, top)
    spots = {
        Kind.HARD: (0.78 * top, 0.2 * top),
        Kind.SEMI_HARD: (0.5 * (top - m), 0.5 * (top - m) + m / 2),
        Kind.EASY: (0.2 * (top - m), top - 0.2 * (top - m)),
    }
    for kind, (x, y) in spots.items():
        if kind == Kind.EASY and m >= top:
            continue  # no easy band inside the plot
        fig.add_annotation(
            x=x,
            y=y,
            text=f"<b>{kind.label}</b><br>{counts[kind]:,}",
            showarrow=False,
            font={"color": INK, "size": 13},
            bgcolor=BACKGROUND,
            bordercolor=KIND_COLORS[kind],
            borderwidth=2,
            opacity=0.9,
        )
