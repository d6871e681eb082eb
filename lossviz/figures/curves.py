"""Curves of a loss: the triplet loss along delta on its kinds, and the contrastive loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from lossviz.core.triplets import Kind
from lossviz.figures import COLORS, INK, KIND_COLORS


def kinds_along_delta(
    deltas: Sequence[float], losses: Sequence[float], kinds: Sequence[Kind], margin: float
) -> go.Figure:
    """The triplet loss against ``delta = d(a,n) - d(a,p)``, on bands coloured by kind.

    ``deltas`` ascending; ``losses`` and ``kinds`` (the core's ``classify``) at each
    delta. A band spans each run of one kind, from its first delta to the next
    run's first; the margin is marked.
    """
    deltas, kinds = [float(d) for d in deltas], [Kind(int(k)) for k in kinds]
    fig = go.Figure()
    start = 0
    for i in range(1, len(kinds) + 1):
        if i < len(kinds) and kinds[i] == kinds[start]:
            continue
        kind, x0, x1 = kinds[start], deltas[start], deltas[min(i, len(deltas) - 1)]
        fig.add_vrect(
            x0=x0,
            x1=x1,
            fillcolor=KIND_COLORS[kind],
            opacity=0.25,
            line_width=0,
            annotation_text=f"<b>{kind.label}</b>",
            annotation_position="top",
            annotation_font={"color": KIND_COLORS[kind], "size": 14},
        )
        start = i
    fig.add_trace(
        go.Scatter(
            x=deltas,
            y=list(losses),
            mode="lines",
            line={"color": INK, "width": 3},
            name="loss",
            hovertemplate="δ = %{x:.3f}<br>loss = %{y:.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=margin, line_dash="dash", line_color=COLORS["margin"])
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="δ = d(a, n) − d(a, p)",
        yaxis_title="triplet loss",
        showlegend=False,
    )
    return fig


def contrastive_curves(
    distances: Sequence[float],
    similar_loss: Sequence[float],
    dissimilar_loss: Sequence[float],
    margin: float,
    pair: tuple[float, float, bool],
    inverted: tuple[float, float] | None = None,
    figure: type[go.Figure] = go.Figure,
) -> go.Figure:
    """The contrastive loss against d for both labels, the margin line and the current pair.

    ``distances`` ascending; ``similar_loss`` (d²) and ``dissimilar_loss``
    (relu(m − d)²) at each. ``pair`` is ``(d, loss, similar)``: marked on its label's
    curve. ``inverted`` ``(d, loss)``: the inverted snippet's loss for the same pair,
    marked as an open diamond (it lies on the other label's curve). ``figure``: the
    class built (``go.Figure`` or a subclass of it).

    Built from plain data, validated in one step: the figure ``add_trace`` and
    ``add_vline`` would build, at a tenth of their cost (it is rebuilt on every drop).
    """
    traces = [
        {
            "type": "scatter",
            "x": list(distances),
            "y": list(values),
            "mode": "lines",
            "name": name,
            "line": {"color": color, "width": 3, "dash": dash},
            "hovertemplate": "d = %{x:.3f}<br>loss = %{y:.3f}<extra>" + name + "</extra>",
        }
        for name, values, color, dash in (
            ("similar: d²", similar_loss, COLORS["positive"], "solid"),
            ("dissimilar: max(m − d, 0)²", dissimilar_loss, COLORS["negative"], "dash"),
        )
    ]
    d, loss, similar = pair
    traces.append(
        _marker(
            "this pair", d, loss,
            {"color": COLORS["positive"] if similar else COLORS["negative"], "size": 14,
             "line": {"width": 2, "color": INK}},
        )
    )  # fmt: skip
    if inverted is not None:
        traces.append(
            _marker(
                "inverted snippet", inverted[0], inverted[1],
                {"symbol": "diamond-open", "color": COLORS["hard"], "size": 16,
                 "line": {"width": 3}},
            )
        )  # fmt: skip
    top = max(max(similar_loss), max(dissimilar_loss), loss) * 1.08
    layout = {
        # The margin: a dotted vertical line over the whole height, labelled at its top.
        "shapes": [
            {"type": "line", "x0": margin, "x1": margin, "xref": "x", "y0": 0, "y1": 1,
             "yref": "y domain", "line": {"color": COLORS["margin"], "dash": "dot"}}
        ],
        "annotations": [
            {"showarrow": False, "text": "margin m", "x": margin, "xanchor": "left",
             "xref": "x", "y": 1, "yanchor": "top", "yref": "y domain"}
        ],
        "height": 340,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "xaxis": {"title": {"text": "distance d"}},
        "yaxis": {"title": {"text": "contrastive loss"}, "range": [-0.03 * top, top]},
        "legend": {"orientation": "h", "y": -0.25, "x": 0},
    }  # fmt: skip
    return figure(data=traces, layout=layout)


def _marker(name: str, x: float, y: float, marker: dict[str, Any]) -> dict[str, Any]:
    """One marked point, hovering its name, d and loss."""
    return {
        "type": "scatter",
        "x": [x],
        "y": [y],
        "mode": "markers",
        "name": name,
        "marker": marker,
        "hovertemplate": name + "<br>d = %{x:.3f}<br>loss = %{y:.3f}<extra></extra>",
    }
