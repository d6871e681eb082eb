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


def loss_landscape(
    loss_grid: Sequence[Sequence[float]],
    boundary_grid: Sequence[Sequence[float]],
    bounds: tuple[float, float],
    points: dict[str, tuple[float, float]],
    title: str = "loss if N were here",
) -> go.Figure:
    """Heatmap of the loss for every position of N, its zero line dashed, and the points.

    ``loss_grid`` (fine) and ``boundary_grid`` (coarse, for the loss-0 contour)
    are square grids of cell values over ``[lo, hi]^2``, first row at the top
    (y = hi); NumPy arrays keep this fast. ``points`` maps names ("A", "P") to
    positions. Kept cheap to draw: the browser redraws it whenever A or P
    moves, and a heatmap is an image where a filled contour is geometry.
    """
    lo, hi = bounds

    def centres(grid: Sequence[Sequence[float]]) -> list[float]:
        step = (hi - lo) / len(grid)
        return [lo + step * (i + 0.5) for i in range(len(grid))]

    xs, coarse = centres(loss_grid), centres(boundary_grid)
    roles = {"A": "anchor", "P": "positive", "N": "negative"}
    names = list(points)
    heatmap = go.Heatmap(
        x=xs,
        y=xs[::-1],
        z=loss_grid,
        colorscale="Viridis",
        zmin=0.0,
        colorbar={"title": {"text": "loss"}, "thickness": 12},
        hovertemplate="N at (%{x:.2f}, %{y:.2f})<br>loss = %{z:.3f}<extra></extra>",
    )
    zero_line = go.Contour(
        x=coarse,
        y=coarse[::-1],
        z=boundary_grid,
        # A single level just above 0: where the loss starts (the easy border).
        contours={"start": 1e-9, "end": 1e-9, "size": 1, "coloring": "none"},
        line={"color": "white", "width": 2, "dash": "dash"},
        showscale=False,
        hoverinfo="skip",
    )
    markers = go.Scatter(
        x=[points[n][0] for n in names],
        y=[points[n][1] for n in names],
        mode="markers+text",
        text=names,
        textposition="top right",
        textfont={"color": "white", "size": 14},
        marker={
            "color": [COLORS.get(roles.get(n, n), "white") for n in names],
            "size": 12,
            "line": {"width": 2, "color": "white"},
        },
        hovertemplate="%{text} (%{x:.2f}, %{y:.2f})<extra></extra>",
    )
    axis = {"range": [lo, hi], "constrain": "domain", "zeroline": False}
    return go.Figure(
        data=[heatmap, zero_line, markers],
        layout={
            "title": {"text": title, "x": 0.5, "font": {"size": 14}},
            "height": 520,
            "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "xaxis": axis,
            "yaxis": {**axis, "scaleanchor": "x"},
            "showlegend": False,
        },
    )


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
                "line": {"width": 2, "color": COLORS["loss"]},
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
