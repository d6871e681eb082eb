"""Plotly figures: data in, ``go.Figure`` out. No Streamlit, no tensor maths.

``COLORS`` is the one colour table every page uses (Okabe-Ito palette,
safe for the common forms of colour blindness).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
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


# Classes (mining page): Paul Tol's "muted" scheme, colour-blind safe, 10 colours; cycled.
# Ordered so the first classes are far from the anchor / positive blues.
CLASS_COLORS: tuple[str, ...] = ("#117733", "#CC6677", "#DDCC77", "#882255", "#44AA99",
                                 "#999933", "#AA4499", "#332288", "#88CCEE", "#DDDDDD")  # fmt: skip
_LEGEND_CLASSES = 12  # above this many classes: one trace, no legend (speed)


def class_color(label: int) -> str:
    return CLASS_COLORS[label % len(CLASS_COLORS)]


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
                marker={"color": colors, "size": 7, "line": {"width": 0.5, "color": "white"}},
                hovertemplate="row %{customdata}<br>class %{text}<extra></extra>",
            )
        )
    if anchor is not None:
        _anchor_overlay(fig, xy, anchor, hardest_positive, hardest_negative, semihard)
    fig.update_layout(
        title={"text": title, "x": 0.5, "font": {"size": 14}},
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
                textfont={"color": "black", "size": 13},
                customdata=[anchor, index],
                line={"color": COLORS[role], "width": 3},
                marker={
                    "size": [0, 14],
                    "symbol": symbol,
                    "color": COLORS[role],
                    "line": {"width": 2, "color": "black"},
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
                "line": {"width": 1.5, "color": "black"},
            },
            hovertemplate="row %{customdata}: anchor<extra></extra>",
        )
    )


def _small_chart(title: str) -> dict:
    """Layout shared by the mining page's two small charts beside the picture."""
    return {
        "height": 300,
        "title": {"text": title, "x": 0.5, "font": {"size": 13}},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    }


def delta_histogram(edges: np.ndarray, counts: np.ndarray, margin: float) -> go.Figure:
    """Bars of how many valid triplets have each delta, coloured by kind, 0 and the margin marked.

    ``edges`` (B+1,) ascending, ``counts`` (B,). A bar's colour is the kind
    at its centre (a bar straddling 0 or the margin holds both kinds).
    """
    centres = (edges[:-1] + edges[1:]) / 2
    kinds = np.where(centres <= 0, "hard", np.where(centres <= margin, "semi-hard", "easy"))
    fig = go.Figure(
        go.Bar(
            x=centres,
            y=counts,
            width=np.diff(edges),
            marker={"color": [COLORS[k] for k in kinds], "line": {"width": 0}},
            customdata=np.stack([edges[:-1], edges[1:]], axis=1),
            hovertemplate="δ in (%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
            "<br>%{y:,} triplets<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_color=COLORS["loss"], line_width=1.5)
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

    ``margins`` (M,) ascending, ``shares`` (M, 3) columns easy, semi-hard, hard.
    """
    fig = go.Figure()
    for column, name in ((2, "hard"), (1, "semi-hard"), (0, "easy")):
        fig.add_trace(
            go.Scatter(
                x=margins,
                y=shares[:, column],
                mode="lines",
                name=name,
                stackgroup="kinds",
                line={"color": COLORS[name], "width": 1},
                hovertemplate="margin %{x:.3f}: %{y:.1%} " + name + "<extra></extra>",
            )
        )
    fig.add_vline(x=margin, line_dash="dash", line_color=COLORS["loss"])
    fig.update_layout(
        **_small_chart("Shares as the margin grows"),
        xaxis={"title": "margin m", "range": [float(margins[0]), float(margins[-1])]},
        yaxis={"title": "share of valid triplets", "tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.3, "x": 0},
    )
    return fig


# Left run, right run (curves): neither is a kind colour, so "hard" is never read as a run.
RUN_COLORS: tuple[str, ...] = ("#CC79A7", "#0072B2")
