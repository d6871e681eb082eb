"""The InfoNCE page's figures: a batch's similarity matrix with its positives marked, one
anchor's softmax, the views on the circle or the sphere, NT-Xent against the temperature.

Data in (numpy arrays or sequences: the batch reading's tensors as ``.numpy()``), a
``go.Figure`` out, built from plain dicts and validated once (as ``curves`` does). Rows are
ordered as the batch orders them: view 1 of every example, then view 2 (M = 2N rows).
Nothing is told by colour alone: positives carry a symbol, the anchor's own cell a cross,
classes a marker symbol as well as a colour. Each figure has a title saying what it shows.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from lossviz.figures import COLORS, INK, MUTED_INK, class_color

# Diverging, cosine -1 (blue) .. 0 (near white) .. 1 (red): ColorBrewer RdBu, colour-blind safe.
SIMILARITY_SCALE = [[0.0, "#2166AC"], [0.25, "#92C5DE"], [0.5, "#F7F7F7"],
                    [0.75, "#F4A582"], [1.0, "#B2182B"]]  # fmt: skip
# Marker symbols per class, beside the colour (scatter3d offers fewer symbols).
SYMBOLS_2D = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon",
              "pentagon", "triangle-down")  # fmt: skip
SYMBOLS_3D = ("circle", "square", "diamond", "cross", "x", "circle-open", "square-open",
              "diamond-open")  # fmt: skip
SPHERE_COLOR = "#888888"  # a mid grey: reads on the light and the dark theme


def class_symbol(label: int, dim: int) -> str:
    """Class ``label``'s marker symbol in a 2-D (``dim`` 2) or 3-D figure, cycled."""
    symbols = SYMBOLS_2D if dim == 2 else SYMBOLS_3D
    return symbols[int(label) % len(symbols)]


def _title(text: str) -> dict[str, Any]:
    return {"text": text, "x": 0.5, "xanchor": "center", "font": {"size": 14}}


def _cell_marker_size(views: int) -> float:
    """A marker about one cell wide in the heatmap (about 460 px across), 3 to 14 px."""
    return float(np.clip(460 / max(views, 1), 3, 14))


# --------------------------------------------------------------------------- (a) the matrix


def similarity_heatmap(
    similarity: np.ndarray,
    weights: np.ndarray,
    partner: Sequence[int] | np.ndarray,
    *,
    anchor: int | None = None,
    title: str | None = None,
    with_weights: bool = True,
) -> go.Figure:
    """The (M, M) cosine similarities as a heatmap, row i the anchor, column j a candidate.

    ``weights`` (M, M): each row's softmax without the diagonal (the hover shows i, j, s and
    the weight); ``partner`` (M,): each row's positive, marked with an open circle; the
    diagonal (the anchor itself, left out of its softmax) is blank and marked with a cross.
    Dashed lines split view 1 from view 2. ``anchor``: a row to outline.

    Size: the matrix travels as float32 (and the weights, for the hover, as a second one):
    about 3.3 MB of JSON at M = 512, 0.8 MB at 256. ``with_weights=False`` leaves the
    weights out of the hover and halves it.
    """
    s = np.array(similarity, dtype=np.float32)
    w = np.array(weights, dtype=np.float32)
    m = s.shape[0]
    n = m // 2
    rows = np.arange(m)
    np.fill_diagonal(s, np.nan)
    np.fill_diagonal(w, np.nan)
    partner = np.asarray(partner, dtype=np.int64)
    size = _cell_marker_size(m)
    heatmap = {
        "type": "heatmap",
        "z": s,
        "zmin": -1.0,
        "zmax": 1.0,
        "colorscale": SIMILARITY_SCALE,
        "colorbar": {"title": {"text": "cosine s"}, "thickness": 12},
        "hoverongaps": False,
        "name": "similarity",
        "hovertemplate": "anchor i = %{y}, candidate j = %{x}<br>s = %{z:.3f}"
        + ("<br>softmax weight = %{customdata:.3g}" if with_weights else "")
        + "<extra></extra>",
    }
    if with_weights:
        heatmap["customdata"] = w
    positives = {
        "type": "scatter",
        "x": partner,
        "y": rows,
        "mode": "markers",
        "name": "positive (the other view)",
        "customdata": np.stack(
            [np.asarray(similarity)[rows, partner], np.asarray(weights)[rows, partner]], axis=1
        ),  # fmt: skip
        "marker": {"symbol": "circle-open", "size": size, "color": INK, "line": {"width": 2}},
        "hovertemplate": "anchor i = %{y}, positive j = %{x}<br>s = %{customdata[0]:.3f}"
        "<br>softmax weight = %{customdata[1]:.3g}<extra>positive</extra>",
    }
    diagonal = {
        "type": "scatter",
        "x": rows,
        "y": rows,
        "mode": "markers",
        "name": "i = j: left out",
        "marker": {
            "symbol": "x-thin",
            "size": size,
            "color": MUTED_INK,
            "line": {"width": 1.5, "color": MUTED_INK},
        },  # fmt: skip
        "hovertemplate": "i = j = %{x}: the anchor itself, left out of its softmax<extra></extra>",
    }
    split = {"color": MUTED_INK, "width": 1, "dash": "dash"}
    shapes = [
        {"type": "line", "x0": n - 0.5, "x1": n - 0.5, "y0": -0.5, "y1": m - 0.5, "line": split},
        {"type": "line", "y0": n - 0.5, "y1": n - 0.5, "x0": -0.5, "x1": m - 0.5, "line": split},
    ]
    if anchor is not None:
        shapes.append(
            {"type": "rect", "x0": -0.5, "x1": m - 0.5, "y0": anchor - 0.5, "y1": anchor + 0.5,
             "line": {"color": COLORS["anchor"], "width": 2}}
        )  # fmt: skip
    text = title or (f"Cosines of {m} views: ○ positive, × left out")
    layout = {
        "title": _title(text),
        "height": 560,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "xaxis": {"title": {"text": "candidate j"}, "range": [-0.5, m - 0.5],
                  "constrain": "domain", "showgrid": False, "zeroline": False},
        "yaxis": {"title": {"text": "anchor i"}, "range": [m - 0.5, -0.5], "scaleanchor": "x",
                  "constrain": "domain", "showgrid": False, "zeroline": False},
        "shapes": shapes,
        "legend": {"orientation": "h", "y": -0.12, "x": 0},
    }  # fmt: skip
    return go.Figure(data=[heatmap, positives, diagonal], layout=layout)


# --------------------------------------------------------------------------- (b) one row


def softmax_row(
    weights: np.ndarray | Sequence[float],
    anchor: int,
    partner: int,
    *,
    classes: np.ndarray | Sequence[int] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Anchor ``anchor``'s softmax weights over the M - 1 other views, as bars.

    ``weights`` (M,): the anchor's row (its own entry is left out); the positive
    (``partner``) is its own bar, labelled with text and an arrow. With ``classes`` (M,),
    the negatives of the anchor's class (negatives for NT-Xent, positives for SupCon) are
    hatched. A dotted line marks the uniform weight 1 / (M - 1).
    """
    w = np.asarray(weights, dtype=np.float64)
    m = w.shape[0]
    others = np.array([j for j in range(m) if j != anchor], dtype=np.int64)
    negatives = others[others != partner]
    groups: list[tuple[str, np.ndarray, dict[str, Any]]] = []
    if classes is not None:
        labels = np.asarray(classes)
        mine = labels[negatives] == labels[anchor]
        groups.append(("negatives of other classes", negatives[~mine], {}))
        groups.append(
            ("negatives of the anchor's class", negatives[mine], {"pattern": {"shape": "/"}})
        )
    else:
        groups.append(("negatives", negatives, {}))
    traces: list[dict[str, Any]] = []
    for name, where, extra in groups:
        if where.size == 0:
            continue
        traces.append(
            {
                "type": "bar",
                "x": where,
                "y": w[where],
                "width": 0.8,
                "name": name,
                "marker": {"color": COLORS["negative"], "line": {"width": 0}, **extra},
                "hovertemplate": "view %{x}: weight %{y:.3g}<extra>" + name + "</extra>",
            }
        )
    traces.append(
        {
            "type": "bar",
            "x": [partner],
            "y": [w[partner]],
            "width": 0.8,
            "name": "positive",
            "text": ["positive"],
            "textposition": "outside",
            "marker": {"color": COLORS["positive"], "line": {"width": 1.5, "color": INK}},
            "hovertemplate": "view %{x}, the positive: weight %{y:.3g}<extra></extra>",
        }
    )
    uniform = 1.0 / (m - 1)
    layout = {
        "title": _title(title or f"Anchor {anchor}: its softmax over the {m - 1} other views"),
        "height": 320,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "barmode": "overlay",
        "bargap": 0.1,
        "xaxis": {"title": {"text": "candidate view j"}, "range": [-0.5, m - 0.5]},
        "yaxis": {"title": {"text": "softmax weight"}, "rangemode": "tozero"},
        "shapes": [
            {"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": uniform,
             "y1": uniform, "line": {"color": MUTED_INK, "dash": "dot", "width": 1}}
        ],
        "annotations": [
            {"x": partner, "y": float(w[partner]), "text": f"positive: w = {w[partner]:.3f}",
             "showarrow": True, "arrowhead": 2, "ax": 0, "ay": -36,
             "font": {"color": INK}, "arrowcolor": INK},
            {"x": 1, "xref": "x domain", "xanchor": "right", "y": uniform,
             "yanchor": "bottom", "showarrow": False, "text": f"uniform 1/{m - 1}",
             "font": {"color": MUTED_INK, "size": 11}},
        ],
        "legend": {"orientation": "h", "y": -0.3, "x": 0},
    }  # fmt: skip
    return go.Figure(data=traces, layout=layout)


# --------------------------------------------------------------------------- (c) the views


def _pair_lines(views: np.ndarray) -> list[np.ndarray]:
    """Per coordinate: view 1 of example e, view 2 of example e, a gap (NaN), for every e."""
    n = views.shape[0] // 2
    first, second = views[:n], views[n:]
    gap = np.full((n, views.shape[1]), np.nan)
    joined = np.stack([first, second, gap], axis=1).reshape(3 * n, views.shape[1])
    return [joined[:, k] for k in range(views.shape[1])]


def views_figure(
    views: np.ndarray,
    example: np.ndarray | Sequence[int],
    classes: np.ndarray | Sequence[int],
    class_names: Sequence[str],
    *,
    anchor: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """The M views on the unit circle (``views`` (M, 2)) or on a rotatable sphere (M, 3).

    The two views of an example are joined by a line; a class has a colour AND a marker
    symbol; the hover names the row, its example, which view and its class. ``anchor``:
    the anchor and its positive ringed. Class names are user text: escaped. The 3-D scene
    keeps the viewer's rotation across redraws (``uirevision``).
    """
    v = np.asarray(views, dtype=np.float64)
    m, dim = v.shape
    if dim not in (2, 3):
        raise ValueError(f"views must be (M, 2) or (M, 3); got {v.shape}")
    n = m // 2
    examples = np.asarray(example)
    labels = np.asarray(classes)
    names = [html.escape(str(name), quote=False) for name in class_names]
    rows = np.arange(m)
    which = np.where(rows < n, 1, 2)
    axes = ("x", "y", "z")[:dim]
    kind = "scatter" if dim == 2 else "scatter3d"
    traces: list[dict[str, Any]] = []
    if dim == 2:
        t = np.linspace(0, 2 * np.pi, 181)
        traces.append({"type": "scatter", "x": np.cos(t), "y": np.sin(t), "mode": "lines",
                       "name": "unit circle", "hoverinfo": "skip", "showlegend": False,
                       "line": {"color": MUTED_INK, "width": 1}})  # fmt: skip
    else:
        u, w = np.meshgrid(np.linspace(0, 2 * np.pi, 37), np.linspace(0, np.pi, 19))
        traces.append({"type": "surface", "x": np.cos(u) * np.sin(w),
                       "y": np.sin(u) * np.sin(w), "z": np.cos(w), "opacity": 0.15,
                       "showscale": False, "hoverinfo": "skip", "name": "unit sphere",
                       "colorscale": [[0, SPHERE_COLOR], [1, SPHERE_COLOR]]})  # fmt: skip
    lines = _pair_lines(v)
    traces.append({"type": kind, **dict(zip(axes, lines, strict=True)), "mode": "lines",
                   "name": "two views of an example", "hoverinfo": "skip",
                   "line": {"color": MUTED_INK, "width": 1.5}})  # fmt: skip
    size = 8 if dim == 2 else 4
    for label in np.unique(labels):
        mask = labels == label
        name = names[int(label)] if int(label) < len(names) else str(int(label))
        traces.append(
            {
                "type": kind,
                **{axis: v[mask, k] for k, axis in enumerate(axes)},
                "mode": "markers",
                "name": name,
                "customdata": np.stack([rows[mask], examples[mask], which[mask]], axis=1),
                "marker": {
                    "color": class_color(int(label)),
                    "size": size,
                    "symbol": class_symbol(int(label), dim),
                    "line": {"width": 0.5, "color": INK},
                },  # fmt: skip
                "hovertemplate": "view %{customdata[0]}: example %{customdata[1]}, "
                "view %{customdata[2]}<br>class " + name + "<extra></extra>",
            }
        )
    if anchor is not None:
        pair = [anchor, (anchor + n) % m]
        traces.append(
            {
                "type": kind,
                **{axis: v[pair, k] for k, axis in enumerate(axes)},
                "mode": "markers+text",
                "name": "anchor and its positive",
                "text": ["anchor", "positive"],
                "textposition": "top center",
                "textfont": {"color": INK},
                "marker": {
                    "symbol": "circle-open",
                    "size": 18 if dim == 2 else 10,
                    "color": [COLORS["anchor"], COLORS["positive"]],
                    "line": {"width": 3},
                },  # fmt: skip
                "hoverinfo": "skip",
            }
        )
    shape = "circle" if dim == 2 else "sphere"
    layout: dict[str, Any] = {
        "title": _title(title or f"{m} views of {n} examples on the unit {shape}"),
        "height": 520,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "legend": {
            "title": {"text": "class"},
            "orientation": "h",
            "y": -0.12,
            "x": 0,
            "itemsizing": "constant",
        },
        "uirevision": "views",
    }
    if dim == 2:
        span = [-1.2, 1.2]
        layout["xaxis"] = {
            "range": span,
            "zeroline": False,
            "constrain": "domain",
            "title": {"text": "z₁"},
        }
        layout["yaxis"] = {"range": span, "zeroline": False, "scaleanchor": "x",
                           "constrain": "domain", "title": {"text": "z₂"}}  # fmt: skip
    else:
        axis = {"range": [-1.1, 1.1], "zeroline": False}
        layout["scene"] = {"aspectmode": "cube", "xaxis": {**axis, "title": {"text": "z₁"}},
                           "yaxis": {**axis, "title": {"text": "z₂"}},
                           "zaxis": {**axis, "title": {"text": "z₃"}}}  # fmt: skip
    return go.Figure(data=traces, layout=layout)


# --------------------------------------------------------------------------- (d) the curve


def temperature_curve(
    temperatures: Sequence[float],
    losses: Sequence[float],
    lower_bounds: Sequence[float],
    temperature: float,
    loss: float,
    *,
    collapsed: float | None = None,
    negatives: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """NT-Xent of the batch against the temperature (log axis), its lower bound
    ``log(1 + k exp(-2 / tau))`` dashed, the collapsed value ``log(1 + k)`` dotted, and the
    current temperature's loss marked. ``negatives``: k, named in the legend."""
    k = "k" if negatives is None else f"{negatives:,}"
    traces = [
        {"type": "scatter", "x": list(temperatures), "y": list(losses), "mode": "lines",
         "name": "NT-Xent of this batch", "line": {"color": INK, "width": 3},
         "hovertemplate": "τ = %{x:.3g}<br>NT-Xent = %{y:.4f}<extra></extra>"},
        {"type": "scatter", "x": list(temperatures), "y": list(lower_bounds), "mode": "lines",
         "name": f"lower bound log(1 + {k}·e^(−2/τ))",
         "line": {"color": COLORS["margin"], "width": 2, "dash": "dash"},
         "hovertemplate": "τ = %{x:.3g}<br>lower bound = %{y:.4g}<extra></extra>"},
    ]  # fmt: skip
    if collapsed is not None:
        traces.append(
            {"type": "scatter", "x": [temperatures[0], temperatures[-1]],
             "y": [collapsed, collapsed], "mode": "lines",
             "name": f"collapsed log(1 + {k})",
             "line": {"color": COLORS["negative"], "width": 2, "dash": "dot"},
             "hovertemplate": "every view on one spot: %{y:.4f}<extra></extra>"}
        )  # fmt: skip
    traces.append(
        {"type": "scatter", "x": [temperature], "y": [loss], "mode": "markers",
         "name": "this temperature",
         "marker": {"color": COLORS["anchor"], "size": 13, "symbol": "diamond",
                    "line": {"width": 1.5, "color": INK}},
         "hovertemplate": "τ = %{x:.3g}<br>NT-Xent = %{y:.4f}<extra>this temperature</extra>"}
    )  # fmt: skip
    layout = {
        "title": _title(title or "NT-Xent of this batch against the temperature τ"),
        "height": 340,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "xaxis": {"title": {"text": "temperature τ (log scale)"}, "type": "log"},
        "yaxis": {"title": {"text": "loss"}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.3, "x": 0},
    }
    return go.Figure(data=traces, layout=layout)


__all__ = [
    "SIMILARITY_SCALE",
    "SYMBOLS_2D",
    "SYMBOLS_3D",
    "class_symbol",
    "similarity_heatmap",
    "softmax_row",
    "temperature_curve",
    "views_figure",
]
