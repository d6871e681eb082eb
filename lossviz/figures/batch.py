"""The mining page's figures: the batch's scatter with an anchor, the delta histogram, the
margin sweep. Class names are user text: escaped (plotly reads a subset of HTML)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lossviz.core.triplets import Kind
from lossviz.figures import BACKGROUND, COLORS, INK, KIND_COLORS, class_color

_LEGEND_CLASSES = 12  # above this many classes: one trace, no legend (speed)


def embedding_scatter(
    xy: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    *,
    anchor: int | None = None,
    hardest_positive: int = -1,
    hardest_negative: int = -1,
    semihard: Sequence[int] = (),
    title: str = "",
) -> go.Figure:
    """Points coloured by class, the anchor's hardest pair drawn and its semi-hard negatives ringed.

    ``xy`` (N, 2), ``labels`` (N,) ints indexing ``names``. Every marker
    carries its row index as ``customdata`` (a click selects an anchor). Class
    names are user text: escaped, as plotly reads a subset of HTML in labels.
    """
    safe = [html.escape(str(name), quote=False) for name in names]
    fig = go.Figure()
    rows = np.arange(len(labels))
    per_class = len(names) <= _LEGEND_CLASSES
    groups = [(c, labels == c) for c in range(len(names))] if per_class else [(None, rows >= 0)]
    for label, mask in groups:
        colors = class_color(label) if label is not None else [class_color(v) for v in labels]
        fig.add_trace(
            go.Scattergl(
                x=xy[mask, 0],
                y=xy[mask, 1],
                mode="markers",
                name=safe[label] if label is not None else "points",
                customdata=rows[mask],
                text=[safe[v] for v in labels[mask]],
                marker={"color": colors, "size": 7, "line": {"width": 0.5, "color": BACKGROUND}},
                hovertemplate="row %{customdata}<br>class %{text}<extra></extra>",
            )
        )
    if anchor is not None:
        _anchor_overlay(fig, xy, anchor, hardest_positive, hardest_negative, semihard)
    fig.update_layout(
        title={"text": title, "x": 0.5, "xanchor": "center", "font": {"size": 14}},
        height=520,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        yaxis={"scaleanchor": "x"},
        legend={
            "title": {"text": "class"},
            "itemsizing": "constant",
            "orientation": "h",
            "y": -0.08,
            "x": 0,
        },
        showlegend=per_class,
        clickmode="event+select",
        dragmode="pan",
    )
    return fig


def _anchor_overlay(fig, xy, anchor, hardest_positive, hardest_negative, semihard) -> None:
    if len(semihard):
        idx = np.asarray(semihard)
        fig.add_trace(
            go.Scattergl(
                x=xy[idx, 0],
                y=xy[idx, 1],
                mode="markers",
                name="semi-hard negatives",
                showlegend=False,
                customdata=idx,
                marker={
                    "symbol": "circle-open",
                    "size": 14,
                    "color": COLORS["semi-hard"],
                    "line": {"width": 2},
                },
                hovertemplate="row %{customdata}: semi-hard negative<extra></extra>",
            )
        )
    roles = ((hardest_positive, "positive", "diamond", "hardest +"),
             (hardest_negative, "negative", "square", "hardest −"))  # fmt: skip
    for index, role, symbol, text in roles:
        if index < 0:
            continue
        fig.add_trace(
            go.Scattergl(
                x=[xy[anchor, 0], xy[index, 0]],
                y=[xy[anchor, 1], xy[index, 1]],
                mode="lines+markers+text",
                name=f"hardest {role}",
                showlegend=False,
                text=["", text],
                textposition="top center",
                textfont={"color": INK, "size": 13},
                customdata=[anchor, index],
                line={"color": COLORS[role], "width": 3},
                marker={
                    "size": [0, 14],
                    "symbol": symbol,
                    "color": COLORS[role],
                    "line": {"width": 2, "color": INK},
                },
                hovertemplate=f"row %{{customdata}}: hardest {role}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scattergl(
            x=[xy[anchor, 0]],
            y=[xy[anchor, 1]],
            mode="markers",
            name="anchor",
            showlegend=False,
            customdata=[anchor],
            marker={
                "symbol": "star",
                "size": 20,
                "color": COLORS["anchor"],
                "line": {"width": 1.5, "color": INK},
            },
            hovertemplate="row %{customdata}: anchor<extra></extra>",
        )
    )


def _small_chart(title: str) -> dict:
    """Layout shared by the mining page's two small charts beside the picture."""
    return {
        "height": 300,
        "title": {"text": title, "x": 0.5, "xanchor": "center", "font": {"size": 13}},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    }


def delta_histogram(
    edges: np.ndarray, counts: np.ndarray, kinds: Sequence[Kind], margin: float
) -> go.Figure:
    """Bars of how many valid triplets have each delta, coloured by kind, 0 and the margin marked.

    ``edges`` (B+1,) ascending, ``counts`` (B,), ``kinds`` (B,): the core's kind
    of each bar's centre (a bar straddling 0 or the margin holds both kinds).
    """
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(
        go.Bar(
            x=centres,
            y=counts,
            width=np.diff(edges),
            marker={"color": [KIND_COLORS[Kind(int(k))] for k in kinds], "line": {"width": 0}},
            customdata=np.stack([edges[:-1], edges[1:]], axis=1),
            hovertemplate="δ in (%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
            "<br>%{y:,} triplets<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_color=INK, line_width=1.5)
    fig.add_vline(x=margin, line_dash="dash", line_color=COLORS["margin"])
    fig.update_layout(
        **_small_chart("δ of every valid triplet"),
        xaxis_title="δ = d(a, n) − d(a, p)",
        yaxis_title="triplets",
        bargap=0,
        showlegend=False,
    )
    return fig


def margin_sweep(margins: np.ndarray, shares: np.ndarray, margin: float) -> go.Figure:
    """Share of easy / semi-hard / hard triplets against the margin, stacked, the margin marked.

    ``margins`` (M,) ascending, ``shares`` (M, 3): column ``Kind`` value (easy,
    semi-hard, hard). Stacked hard at the bottom.
    """
    fig = go.Figure()
    for kind in (Kind.HARD, Kind.SEMI_HARD, Kind.EASY):
        fig.add_trace(
            go.Scatter(
                x=margins,
                y=shares[:, int(kind)],
                mode="lines",
                name=kind.label,
                stackgroup="kinds",
                line={"color": KIND_COLORS[kind], "width": 1},
                hovertemplate="margin %{x:.3f}: %{y:.1%} " + kind.label + "<extra></extra>",
            )
        )
    fig.add_vline(x=margin, line_dash="dash", line_color=INK)
    fig.update_layout(
        **_small_chart("Shares as the margin grows"),
        xaxis={"title": "margin m", "range": [float(margins[0]), float(margins[-1])]},
        yaxis={"title": "share of valid triplets", "tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.3, "x": 0},
    )
    return fig
