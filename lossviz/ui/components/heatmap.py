"""A square heatmap of a value over the plane, drawn in the browser from compact data.

A Custom Components v2 element (``heatmap.js``, ``heatmap.css``), inline, no iframe,
nothing sent back. Replaces a Plotly heatmap whose figure Streamlit serialised again
on every rerun (about a third of a playground rerun's server time): here the data are
the grid's uint16 levels, encoded once per grid and cached with it.
"""

from __future__ import annotations

import base64

import numpy as np

from lossviz.core.outlines import Ball
from lossviz.figures import COLORS
from lossviz.ui.components.component import asset_component
from lossviz.ui.components.wire import json_payload

_mount = asset_component("heatmap")

# Viridis (matplotlib's), 11 stops: perceptually uniform and colour-blind safe.
VIRIDIS = ("#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884",
           "#44bf70", "#7ad151", "#bddf26", "#fde725")  # fmt: skip
ROLES = {"A": "anchor", "P": "positive", "N": "negative"}


def _rgb(color: str) -> list[int]:
    return [int(color[i : i + 2], 16) for i in (1, 3, 5)]


def encode_levels(grid: np.ndarray) -> tuple[str, float]:
    """A non-negative (n, n) grid as base64 uint16 levels of ``[0, zmax]``, and zmax.

    A level is within ``zmax / 131070`` of its value (the hover read-out's precision).
    """
    values = np.asarray(grid, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"the grid must be square; got {values.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("the grid must hold finite values >= 0")
    zmax = float(values.max()) if values.size else 0.0
    scaled = values / zmax * 65535 if zmax > 0 else np.zeros_like(values)
    levels = np.rint(scaled).astype("<u2")
    return base64.b64encode(levels.tobytes()).decode("ascii"), zmax


def heatmap_payload(
    grid: np.ndarray,
    bounds: tuple[float, float],
    points: dict[str, tuple[float, float]],
    title: str = "loss if N were here",
    value_label: str = "loss",
    hover_name: str = "N",
    max_px: int = 560,
    zero_balls: tuple[Ball, ...] | None = None,
) -> bytes:
    """What the browser draws, as JSON bytes: ``grid`` (n, n) over ``bounds``², first row at
    the top. Build it once per grid (cache it): mounting it then costs a hash.

    ``zero_balls``: where the value is > 0 as a union of balls (``lossviz.core.outlines``); its
    border is drawn exactly as the white zero line. Without them the line is traced on
    the grid."""
    levels, zmax = encode_levels(grid)
    return json_payload(
        {
            "levels": levels,
            "zmax": zmax,
            "size": int(np.asarray(grid).shape[0]),
            "lo": float(bounds[0]),
            "hi": float(bounds[1]),
            "points": [
                {
                    "name": name,
                    "x": float(x),
                    "y": float(y),
                    "color": COLORS.get(ROLES.get(name, name), "#ffffff"),
                }
                for name, (x, y) in points.items()
            ],  # fmt: skip
            "colormap": [_rgb(c) for c in VIRIDIS],
            "title": title,
            "value_label": value_label,
            "hover_name": hover_name,
            "max_px": max_px,
            "zero_balls": None if zero_balls is None else [b.to_json() for b in zero_balls],
        }
    )


def heatmap(key: str, payload: bytes) -> None:
    """Mount the heatmap ``key`` with :func:`heatmap_payload`'s bytes."""
    _mount(key=key, data=payload, height="content")
