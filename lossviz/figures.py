"""Plotly figures: data in, ``go.Figure`` out. No Streamlit, no tensor maths.

``COLORS`` is the one colour table every page uses (Okabe-Ito palette,
safe for the common forms of colour blindness).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

COLORS: dict[str, str] = {
    "easy": "#009E73",  # bluish green
    "semi-hard": "#E69F00",  # orange
    "hard": "#D55E00",  # vermillion
    "anchor": "#0072B2",  # blue
    "positive": "#56B4E9",  # sky blue
    "negative": "#CC79A7",  # reddish purple
    "loss": "#000000",
    "margin": "#666666",
}

KIND_NAMES = ("easy", "semi-hard", "hard")  # indexed by lossviz.triplets.Kind


def kinds_along_delta(deltas: Sequence[float], losses: Sequence[float], margin: float) -> go.Figure:
    """The triplet loss against ``delta = d(a,n) - d(a,p)``, on bands coloured by kind.

    ``deltas`` ascending, ``losses`` the loss at each delta (same length).
    Bands: hard for delta <= 0, semi-hard for 0 < delta <= margin, easy beyond.
    """
    lo, hi = float(deltas[0]), float(deltas[-1])
    fig = go.Figure()
    bands = (("hard", lo, 0.0), ("semi-hard", 0.0, margin), ("easy", margin, hi))
    for name, x0, x1 in bands:
        fig.add_vrect(
            x0=x0,
            x1=x1,
            fillcolor=COLORS[name],
            opacity=0.25,
            line_width=0,
            annotation_text=f"<b>{name}</b>",
            annotation_position="top",
            annotation_font={"color": COLORS[name], "size": 14},
        )
    fig.add_trace(
        go.Scatter(
            x=list(deltas),
            y=list(losses),
            mode="lines",
            line={"color": COLORS["loss"], "width": 3},
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
