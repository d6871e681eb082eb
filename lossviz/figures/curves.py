"""Curves of a loss: the triplet loss along delta on its kinds, and the contrastive loss."""

from __future__ import annotations

from collections.abc import Sequence

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
) -> go.Figure:
    """The contrastive loss against d for both labels, the margin line and the current pair.

    ``distances`` ascending; ``similar_loss`` (d²) and ``dissimilar_loss``
    (relu(m − d)²) at each. ``pair`` is ``(d, loss, similar)``: marked on its label's
    curve. ``inverted`` ``(d, loss)``: the inverted snippet's loss for the same pair,
    marked as an open diamond (it lies on the other label's curve).
    """
    fig = go.Figure()
    for name, values, color, dash in (
        ("similar: d²", similar_loss, COLORS["positive"], "solid"),
        ("dissimilar: max(m − d, 0)²", dissimilar_loss, COLORS["negative"], "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=list(distances),
                y=list(values),
                mode="lines",
                name=name,
                line={"color": color, "width": 3, "dash": dash},
                hovertemplate="d = %{x:.3f}<br>loss = %{y:.3f}<extra>" + name + "</extra>",
            )
        )
    d, loss, similar = pair
    fig.add_trace(
        go.Scatter(
            x=[d],
            y=[loss],
            mode="markers",
            name="this pair",
            marker={
                "color": COLORS["positive"] if similar else COLORS["negative"],
                "size": 14,
                "line": {"width": 2, "color": INK},
            },
            hovertemplate="this pair<br>d = %{x:.3f}<br>loss = %{y:.3f}<extra></extra>",
        )
    )
    if inverted is not None:
        fig.add_trace(
            go.Scatter(
                x=[inverted[0]],
                y=[inverted[1]],
                mode="markers",
                name="inverted snippet",
                marker={
                    "symbol": "diamond-open",
                    "color": COLORS["hard"],
                    "size": 16,
                    "line": {"width": 3},
                },
                hovertemplate="inverted snippet<br>d = %{x:.3f}<br>loss = %{y:.3f}<extra></extra>",
            )
        )
    fig.add_vline(
        x=margin,
        line_dash="dot",
        line_color=COLORS["margin"],
        annotation_text="margin m",
        annotation_position="top right",
    )
    top = max(max(similar_loss), max(dissimilar_loss), loss) * 1.08
    fig.update_layout(
        height=340,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="distance d",
        yaxis_title="contrastive loss",
        yaxis_range=[-0.03 * top, top],
        legend={"orientation": "h", "y": -0.25, "x": 0},
    )
    return fig
