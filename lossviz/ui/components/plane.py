"""The draggable plane: points a student drags, drawn by a Custom Components v2 element.

Inline JS and CSS (``plane.js``, ``plane.css`` next to this file), no build step, no
iframe. The page's own session state is the source of truth for the points:

    if "points" not in st.session_state:
        st.session_state.points = dict(DEFAULT_POINTS)

    def store(points):  # runs in the component's callback, before the script
        st.session_state.points = points

    spec = PlaneSpec(key="triplet_plane", points=st.session_state.points, bounds=(-4, 4),
                     metric=Metric("lp", p=2.0))
    plane(spec, on_change=store)

A Reset button simply writes ``st.session_state.points``; the browser adopts the new
points and never sends them back. Keep your own state under another key than the
plane's ``key`` (Streamlit owns ``st.session_state[key]``: the component's value).
Never move points by writing ``st.session_state[key]["points"]``: the browser re-sends
its old value on the next rerun and undoes it.

While the browser animates a ``Trajectory`` (once per ``animation_id``, per key, even
across reruns), it hides the arrows, dims the regions and sends nothing. Under
``prefers-reduced-motion: reduce`` it shows the final points at once instead.

For screen readers the plane has a polite live region (``role="status"``) that says, after
an arrow-key move (within a second), during a drag (at most once a second), at the drop
and at the end of an animation, what the read-out shows, in its own numbers and with the
kind or term as a word: "N moved. d(a, p) 1.414, d(a, n) 2.000, loss 0.414, semi-hard."

Value sent by the browser (state ``points`` of the component, on pointer-up or after
a 400 ms pause in arrow-key moves): ``{"A": [x, y], "P": [x, y], ..., "seq": n}``.
``seq`` grows with every send, so two identical drops are still two changes.
Data sent to the browser: :meth:`PlaneSpec.to_json`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st

from lossviz.core.grid import UNDEFINED_CELL
from lossviz.core.outlines import Ball
from lossviz.core.softmax_contrastive import TEMPERATURE
from lossviz.figures import COLORS, KIND_COLORS
from lossviz.ui.components.component import asset_component
from lossviz.ui.components.wire import json_payload

Point = tuple[float, float]
Points = dict[str, Point]


STATE_NAME = "points"  # the component's state value; on_points_change fires on a send

_mount = asset_component("plane")  # Streamlit's element "lossviz.plane"

DEFAULT_COLORS: dict[str, str] = {
    "A": COLORS["anchor"],
    "P": COLORS["positive"],
    "N": COLORS["negative"],
    "X1": COLORS["anchor"],
    "X2": COLORS["negative"],
}
FALLBACK_COLOR = "#555555"
# Region cells of kinds (``lossviz.core.grid.kind_cells``): the kind colours, grey where undefined.
KIND_REGION_PALETTE: dict[str, str] = {
    **{str(int(kind)): color for kind, color in KIND_COLORS.items()},
    UNDEFINED_CELL: "#9e9e9e",
}
MAX_POINTS = 64
MAX_REGION_SIZE = 1024
MAX_FRAMES = 2000

# Hex, a colour name, or a functional rgb()/hsl() colour: nothing that could smuggle CSS.
_COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/]+\))$")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
_NEGATIVE_RE = re.compile(r"^N[0-9]+$")  # InfoNCE's negatives: N1 ... Nk


# --------------------------------------------------------------------------- options


def _check_color(color: object, what: str) -> str:
    if not isinstance(color, str) or not _COLOR_RE.match(color.strip()):
        raise ValueError(f"{what} must be a CSS colour like '#0072B2'; got {color!r}")
    return color.strip()


def _finite(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _is_pair(value: object) -> bool:
    """A list or tuple of two finite numbers (booleans and strings are not numbers)."""
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_finite, value))


def _check_point(point: object, what: str) -> Point:
    if not _is_pair(point):
        raise ValueError(f"{what} must be a pair of finite numbers (x, y); got {point!r}")
    return float(point[0]), float(point[1])


def _check_opacity(opacity: object, what: str) -> None:
    if not _finite(opacity) or not 0.0 <= opacity <= 1.0:
        raise ValueError(f"{what} must be in [0, 1]; got {opacity!r}")


@dataclass(frozen=True)
class Regions:
    """A background grid, ``size`` x ``size`` cells, drawn under the points.

    ``cells`` holds ``size * size`` single characters, row-major, FIRST ROW = TOP
    (y = hi); each is a key of ``palette`` (e.g. "0"/"1"/"2" for easy/semi-hard/hard).
    """

    size: int
    cells: str
    palette: dict[str, str]
    opacity: float = 0.35

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or not 1 <= self.size <= MAX_REGION_SIZE:
            raise ValueError(f"Regions.size must be an int in [1, {MAX_REGION_SIZE}]")
        if not isinstance(self.cells, str) or len(self.cells) != self.size * self.size:
            got = len(self.cells) if isinstance(self.cells, str) else type(self.cells).__name__
            raise ValueError(f"Regions.cells must hold size*size = {self.size**2} chars; got {got}")
        if not self.palette or not all(isinstance(k, str) and len(k) == 1 for k in self.palette):
            raise ValueError("Regions.palette keys must be single characters")
        for char, color in self.palette.items():
            _check_color(color, f"Regions.palette[{char!r}]")
        unknown = set(self.cells) - set(self.palette)
        if unknown:
            raise ValueError(f"Regions.cells uses characters not in the palette: {sorted(unknown)}")
        _check_opacity(self.opacity, "Regions.opacity")

    def to_json(self) -> dict[str, Any]:
        """The browser's ``regions``: ``size``, ``cells`` (as above), ``palette``, ``opacity``."""
        return {
            "size": self.size,
            "cells": self.cells,
            "palette": dict(self.palette),
            "opacity": float(self.opacity),
        }


@dataclass(frozen=True)
class ShapeLayer:
    """Balls (``lossviz.core.outlines``) filled with one colour: their union.

    ``role`` says which of the mirror's regions (``regionBalls`` in ``mirror.js``) the
    browser draws instead while the points differ from Python's (a drag, an animation):
    "semi" / "hard" (a triplet's) or "margin" (a pair's); "" keeps these balls.
    """

    color: str
    balls: tuple[Ball, ...]
    role: Literal["semi", "hard", "margin", ""] = ""

    def __post_init__(self) -> None:
        _check_color(self.color, "ShapeLayer.color")
        if self.role not in ("semi", "hard", "margin", ""):
            raise ValueError(f"ShapeLayer.role must be semi, hard, margin or ''; got {self.role!r}")
        for ball in self.balls:
            if not (_finite(ball.radius) and all(_finite(v) for v in ball.center)):
                raise ValueError(f"a ball needs a finite centre and radius; got {ball!r}")

    def to_json(self) -> dict[str, Any]:
        """``{"color", "role", "balls"}``, each ball as :meth:`Ball.to_json` writes it."""
        return {"color": self.color, "role": self.role, "balls": [b.to_json() for b in self.balls]}


@dataclass(frozen=True)
class Shapes:
    """Regions as exact vector outlines: the plot filled with ``base`` (None: left clear),
    then each layer over the previous ones, all at ``opacity``."""

    layers: tuple[ShapeLayer, ...]
    base: str | None = None
    opacity: float = 0.35

    def __post_init__(self) -> None:
        if self.base is not None:
            _check_color(self.base, "Shapes.base")
        _check_opacity(self.opacity, "Shapes.opacity")

    def to_json(self) -> dict[str, Any]:
        """The browser's ``shapes``: ``base`` (null: clear), ``opacity`` and the layers, in
        drawing order."""
        return {
            "base": self.base,
            "opacity": float(self.opacity),
            "layers": [layer.to_json() for layer in self.layers],
        }


@dataclass(frozen=True)
class LiveLoss:
    """The loss the browser computes itself while a point moves (``mirror.js``, checked
    against the core): a triplet's (points A, P, N), a pair's (X1, X2) or InfoNCE's (A, P,
    N1 ... Nk, k from 1 to 16: ``lossviz.core.circle_reading.read_circle``), with the badge
    ``(text, colour)`` for each kind or term the read-out can show (InfoNCE shows none).

    InfoNCE reads ``temperature`` (in [0.01, 2]) and ``on_circle`` (cosines of the
    normalised points, else raw dot products); ``margin`` is unused (0.0). Its read-out
    shows the loss, its lower bound ("none off the circle"), the hardest negative's share
    ("N3 takes 71 %"), the alignment and the uniformity; the server's ``reading`` at rest
    holds the same keys, :data:`lossviz.ui.components.infonce_readout.READING_KEYS`
    (built by ``infonce_reading_json``). While a point moves the mirror also recomputes
    the plane's ``weights`` (bars and arrow widths).
    """

    kind: Literal["triplet", "pair", "infonce"]
    margin: float
    badges: Mapping[str, tuple[str, str]]
    swap: bool = False  # triplet
    similar: bool = True  # pair
    inverted: bool = False  # pair: the inverted snippet's loss
    temperature: float = 0.1  # infonce
    on_circle: bool = True  # infonce: cosines (True) or raw dot products

    def __post_init__(self) -> None:
        if self.kind not in ("triplet", "pair", "infonce"):
            raise ValueError(f"LiveLoss.kind must be triplet, pair or infonce; got {self.kind!r}")
        if not _finite(self.margin) or self.margin < 0:
            raise ValueError(f"LiveLoss.margin must be finite and >= 0; got {self.margin!r}")
        if self.kind == "infonce" and not (
            _finite(self.temperature) and TEMPERATURE.lo <= self.temperature <= TEMPERATURE.hi
        ):
            raise ValueError(
                f"LiveLoss.temperature must be in [{TEMPERATURE.lo:g}, {TEMPERATURE.hi:g}]; "
                f"got {self.temperature!r}"
            )
        if not isinstance(self.on_circle, bool):
            raise ValueError(f"LiveLoss.on_circle must be a bool; got {self.on_circle!r}")
        for name, (_text, color) in self.badges.items():
            _check_color(color, f"LiveLoss.badges[{name!r}]")

    def to_json(self) -> dict[str, Any]:
        """``{"kind", "margin", "swap", "similar", "inverted", "temperature", "on_circle",
        "badges"}`` (a badge as ``[text, colour]``)."""
        return {
            "kind": self.kind,
            "margin": float(self.margin),
            "swap": bool(self.swap),
            "similar": bool(self.similar),
            "inverted": bool(self.inverted),
            "temperature": float(self.temperature) if _finite(self.temperature) else None,
            "on_circle": bool(self.on_circle),
            "badges": {name: [str(text), color] for name, (text, color) in self.badges.items()},
        }


@dataclass(frozen=True)
class Trajectory:
    """Frames the browser animates once per ``animation_id`` (then shows ``points``)."""

    frames: list[dict[str, Point]]
    animation_id: int
    frame_ms: int = 30

    def __post_init__(self) -> None:
        if not self.frames or len(self.frames) > MAX_FRAMES:
            raise ValueError(f"Trajectory.frames must hold 1 to {MAX_FRAMES} frames")
        for i, frame in enumerate(self.frames):
            if not isinstance(frame, Mapping):
                raise ValueError(f"Trajectory.frames[{i}] must be a dict name -> (x, y)")
            for name, point in frame.items():
                _check_point(point, f"Trajectory.frames[{i}][{name!r}]")
        if not isinstance(self.animation_id, int) or isinstance(self.animation_id, bool):
            raise ValueError("Trajectory.animation_id must be an int")
        if not isinstance(self.frame_ms, int) or not 1 <= self.frame_ms <= 10_000:
            raise ValueError("Trajectory.frame_ms must be an int in [1, 10000]")

    def to_json(self, names: Sequence[str]) -> dict[str, Any]:
        """``{"id", "frame_ms", "frames"}``, each frame name -> [x, y] for the points named
        ``names`` (others dropped)."""
        return {
            "id": self.animation_id,
            "frame_ms": self.frame_ms,
            "frames": [
                {n: _pair_list(p) for n, p in frame.items() if n in names} for frame in self.frames
            ],
        }


@dataclass(frozen=True)
class Metric:
    """The distance the live preview labels lines with (torch's conventions)."""

    kind: Literal["lp", "cosine", "squared", "none"] = "lp"
    p: float = 2.0
    eps: float = 1e-6
    show_pn: bool = False  # also draw P-N (for the swap option)

    def __post_init__(self) -> None:
        if self.kind not in ("lp", "cosine", "squared", "none"):
            raise ValueError(f"Metric.kind must be lp, cosine, squared or none; got {self.kind!r}")
        if not isinstance(self.p, (int, float)) or math.isnan(self.p) or not self.p > 0:
            raise ValueError(f"Metric.p must be > 0 (inf allowed); got {self.p!r}")
        if not _finite(self.eps) or self.eps < 0:
            raise ValueError(f"Metric.eps must be finite and >= 0; got {self.eps!r}")

    def to_json(self) -> dict[str, Any]:
        """``{"kind", "p", "eps"}``; JSON has no Infinity, so p = inf travels as "inf"."""
        p = "inf" if math.isinf(self.p) else float(self.p)
        return {"kind": self.kind, "p": p, "eps": float(self.eps)}


_PREVIEW = {
    "euclidean": ("lp", 2.0),
    "manhattan": ("lp", 1.0),
    "chebyshev": ("lp", float("inf")),
    "cosine": ("cosine", 2.0),
    "squared_euclidean": ("squared", 2.0),
}


def preview_metric(distance: str, p: float, eps: float, show_pn: bool = False) -> Metric:
    """How the plane labels its lines while a point moves, for a page's distance setting.

    A ``DISTANCES`` name ("minkowski" with ``p``), or no numbers for a typed
    distance ("custom"): the one place a page's distance becomes a preview.
    """
    kind, order = ("lp", p) if distance == "minkowski" else _PREVIEW.get(distance, ("none", 2.0))
    return Metric(kind=kind, p=order, eps=eps, show_pn=show_pn)


# --------------------------------------------------------------------------- pure helpers


def clamp_point(point: Point, bounds: tuple[float, float]) -> Point:
    lo, hi = bounds
    return min(max(point[0], lo), hi), min(max(point[1], lo), hi)


def points_from_value(
    value: object, names: Sequence[str], bounds: tuple[float, float]
) -> Points | None:
    """The points in a component value, clamped to ``bounds``; None if malformed.

    Every name in ``names`` must be present as a pair of finite numbers (booleans and
    strings are rejected); other keys (``seq``, unknown names) are ignored.
    """
    if not isinstance(value, Mapping):
        return None
    points: Points = {}
    for name in names:
        raw = value.get(name)
        if not _is_pair(raw):
            return None
        points[name] = clamp_point((float(raw[0]), float(raw[1])), bounds)
    return points


def default_lines(names: Sequence[str], metric: Metric | None) -> list[tuple[str, str]]:
    """A-P and A-N (and P-N when ``metric.show_pn``) for a triplet, else consecutive pairs."""
    if {"A", "P", "N"} <= set(names):
        lines = [("A", "P"), ("A", "N")]
        if metric is not None and metric.show_pn:
            lines.append(("P", "N"))
        return lines
    return list(zip(names[:-1], names[1:], strict=True))


def _check_bounds(bounds: object) -> tuple[float, float]:
    if not _is_pair(bounds) or not float(bounds[0]) < float(bounds[1]):
        raise ValueError(f"bounds must be (lo, hi) with finite lo < hi; got {bounds!r}")
    return float(bounds[0]), float(bounds[1])


def _pair_list(point: Point) -> list[float]:
    return [float(point[0]), float(point[1])]


@dataclass(frozen=True)
class PlaneSpec:
    """Everything one plane shows, validated once (``ValueError`` from the constructor);
    :meth:`to_json` is the ``data`` the browser receives.

    ``key``: the element's key (also the ``instance`` the browser sees). ``points``: name
    -> (x, y) in data units, names like "A" or "X1" (never "seq"), 1 to ``MAX_POINTS``;
    clamped to ``bounds`` (lo, hi, on both axes) for display. ``arrows``: name -> (dx, dy),
    drawn from each point (unknown names dropped). ``metric`` turns on the lines
    (``lines``, default :func:`default_lines`) and their live length labels. ``shapes`` are
    drawn over ``regions`` (give one or the other). ``live`` turns on the read-out above
    the plot: ``reading`` (the server's numbers, e.g. ``{"d_ap": ..., "loss": ..., "kind":
    "easy"}``; non-finite numbers become null, strings at most 40 characters) at rest, the
    mirror's while a point moves (an ``infonce`` one: see :class:`LiveLoss`). ``labels``
    (at most 80 characters each) and ``colors`` (CSS colours, over ``DEFAULT_COLORS``; N1,
    N2 ... default to N's) by point name. ``static`` points cannot be dragged or moved
    with the keyboard (a picture, e.g. a quiz question). ``download_name`` names the SVG
    and PNG files the plane's download buttons save.

    ``circle`` draws the unit circle and keeps every moved point on it: a drag puts the
    point where the pointer's direction (from the origin) meets the circle (a pointer at
    the exact centre keeps the point's angle), the arrow keys turn it by 3 degrees (15 with
    Shift; right and up counterclockwise, left and down clockwise). The bounds must then
    hold the circle (lo <= -1, hi >= 1); the value sent back is still ``{name: [x, y],
    "seq": n}``, its coordinates rounded to 1e-6 (so within 7.1e-7 of the circle). Points
    Python gives are shown where they are (snap them yourself). ``weights``: name -> a
    share in [0, 1] (e.g. InfoNCE's softmax weights: ``infonce_weights`` in
    :mod:`lossviz.ui.components.infonce_readout`), unknown names dropped: a bar beside the
    point with its percentage as text ("42 %"), and the point's arrow 1.5 px (share 0) to
    7 px (share 1) wide; an ``infonce`` ``live`` loss recomputes them while a point moves
    (bars and arrow widths; the arrows stay hidden until Python answers, as always).

    Frozen, and never hashed (it holds mappings; what it is given is not copied, so leave
    it unchanged); its JSON is built once, in the constructor, so a spec kept across
    reruns (an instrument's per-scene cache) costs a rerun only its ``ack``.
    """

    key: str
    points: Mapping[str, Point]
    bounds: tuple[float, float]
    regions: Regions | None = None
    shapes: Shapes | None = None
    arrows: Mapping[str, Point] | None = None
    trajectory: Trajectory | None = None
    metric: Metric | None = None
    live: LiveLoss | None = None
    reading: Mapping[str, object] | None = None
    labels: Mapping[str, str] | None = None
    colors: Mapping[str, str] | None = None
    lines: Sequence[tuple[str, str]] | None = None
    caption: str = ""
    height_px: int = 520
    static: bool = False
    download_name: str = "lossviz-plane"
    circle: bool = False
    weights: Mapping[str, float] | None = None
    _json: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_json", self._validated_json())

    @property
    def names(self) -> tuple[str, ...]:
        """The points' names, in order."""
        return tuple(self.points)

    @property
    def limits(self) -> tuple[float, float]:
        """``bounds`` as checked: (lo, hi), floats."""
        lo, hi = self._json["bounds"]
        return lo, hi

    def _validated_json(self) -> dict[str, Any]:
        lo, hi = _check_bounds(self.bounds)
        if not self.points or len(self.points) > MAX_POINTS:
            raise ValueError(f"points must hold 1 to {MAX_POINTS} named points")
        for name in self.points:
            if not isinstance(name, str) or not _NAME_RE.match(name) or name == "seq":
                raise ValueError(f"point names must be short ids like 'A' or 'X1'; got {name!r}")
        pts = {
            n: _pair_list(clamp_point(_check_point(p, f"points[{n!r}]"), (lo, hi)))
            for n, p in self.points.items()
        }
        palette = {**DEFAULT_COLORS, **(self.colors or {})}
        colors = {n: _check_color(_default_color(n, palette), f"colors[{n!r}]") for n in pts}
        if not isinstance(self.height_px, int) or not 120 <= self.height_px <= 2000:
            raise ValueError(f"height_px must be an int in [120, 2000]; got {self.height_px!r}")
        if not isinstance(self.circle, bool):
            raise ValueError(f"circle must be a bool; got {self.circle!r}")
        if self.circle and not (lo <= -1.0 and hi >= 1.0):
            raise ValueError(f"a plane with the unit circle needs bounds around it; got {lo, hi}")
        return {
            "instance": str(self.key),
            "points": pts,
            "bounds": [lo, hi],
            "colors": colors,
            "labels": self._labels_json(pts),
            "arrows": self._arrows_json(pts),
            "regions": None if self.regions is None else self.regions.to_json(),
            "trajectory": None if self.trajectory is None else self.trajectory.to_json(pts),
            "metric": None if self.metric is None else self.metric.to_json(),
            "shapes": None if self.shapes is None else self.shapes.to_json(),
            "live": None if self.live is None else self.live.to_json(),
            "reading": None if self.reading is None else _reading_json(self.reading),
            "download_name": _download_name(self.download_name),
            "lines": self._lines_json(pts),
            "caption": str(self.caption),
            "height_px": self.height_px,
            "static": bool(self.static),
            "circle": self.circle,
            "weights": self._weights_json(pts),
        }

    def _labels_json(self, pts: Mapping[str, list[float]]) -> dict[str, str]:
        texts = {}
        for name, text in (self.labels or {}).items():
            if name in pts:
                if not isinstance(text, str):
                    raise ValueError(f"labels[{name!r}] must be a string")
                texts[name] = text[:80]
        return texts

    def _arrows_json(self, pts: Mapping[str, list[float]]) -> dict[str, list[float]] | None:
        if not self.arrows:
            return None
        return {
            n: _pair_list(_check_point(d, f"arrows[{n!r}]"))
            for n, d in self.arrows.items()
            if n in pts
        }

    def _weights_json(self, pts: Mapping[str, list[float]]) -> dict[str, float] | None:
        if self.weights is None:
            return None
        shares = {}
        for name, share in self.weights.items():
            if not _finite(share) or not 0.0 <= share <= 1.0:
                raise ValueError(f"weights[{name!r}] must be a share in [0, 1]; got {share!r}")
            if name in pts:
                shares[name] = float(share)
        return shares

    def _lines_json(self, pts: Mapping[str, list[float]]) -> list[list[str]]:
        pairs = (
            default_lines(list(pts), self.metric)
            if self.lines is None
            else [tuple(pair) for pair in self.lines]
        )
        for pair in pairs:
            if len(pair) != 2 or not all(n in pts for n in pair):
                raise ValueError(f"lines must name pairs of points; got {pair!r}")
        return [list(pair) for pair in pairs] if self.metric is not None else []

    def to_json(self, ack: int = 0) -> dict[str, Any]:
        """The JSON-safe ``data`` the browser receives (no NaN or infinity; p = inf travels
        as "inf"). A new top-level dict; what it holds is shared and must not be changed.

        ``ack`` is the ``seq`` of the last value Python has received: the browser keeps
        its own (just sent) positions until the data acknowledges them, so a stale
        rerun's data cannot snap a dropped point back.
        """
        return {**self._json, "ack": int(ack)}

    @functools.cached_property
    def _body(self) -> bytes:
        return json_payload(self._json)

    def payload(self, ack: int = 0) -> bytes:
        """:meth:`to_json` as compact JSON bytes (the body serialised once per spec)."""
        return self._body[:-1] + b',"ack":' + str(int(ack)).encode() + b"}"


def _reading_json(reading: Mapping[str, object]) -> dict[str, object]:
    """Numbers (non-finite ones as None: JSON has no NaN), booleans and short strings."""
    out: dict[str, object] = {}
    for name, value in reading.items():
        if isinstance(value, bool) or value is None:
            out[str(name)] = value
        elif isinstance(value, (int, float)):
            out[str(name)] = float(value) if math.isfinite(value) else None
        else:
            out[str(name)] = str(value)[:40]
    return out


def _default_color(name: str, palette: Mapping[str, str]) -> str:
    """``palette``'s colour for ``name``; InfoNCE's negatives N1 ... Nk take N's."""
    if name in palette:
        return palette[name]
    if _NEGATIVE_RE.match(name):
        return palette["N"]
    return FALLBACK_COLOR


def _download_name(name: str) -> str:
    """A safe file stem: letters, digits, '-', '_' and '.', at most 60 characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-.")[:60]
    return stem or "lossviz-plane"


def _component_value(key: str) -> object:
    """The component's ``points`` state value in session state (None before any send)."""
    try:
        state = st.session_state[key]
    except KeyError:
        return None
    return state.get(STATE_NAME) if isinstance(state, Mapping) else None


def _ack(value: object) -> int:
    seq = value.get("seq") if isinstance(value, Mapping) else None
    return int(seq) if _finite(seq) else 0


def points_callback(
    key: str,
    names: Sequence[str],
    bounds: tuple[float, float],
    on_change: Callable[[Points], None],
) -> Callable[[], None]:
    """The ``on_points_change`` callback: the component's value -> ``on_change(points)``."""

    def _on_points_change() -> None:
        received = points_from_value(_component_value(key), names, bounds)
        if received is not None:
            on_change(received)

    return _on_points_change


def _ignore(points: Points) -> None:
    """A static plane's ``on_change``: the browser never sends."""


# --------------------------------------------------------------------------- the element


def plane(spec: PlaneSpec, on_change: Callable[[Points], None] | None = None) -> None:
    """Show the plane ``spec`` describes; ``on_change(points)`` runs (as a callback) after
    a move.

    ``on_change`` gets every point, clamped to the spec's bounds; a malformed value from
    the browser is ignored. Store the points in your own session state there: it, not
    the component's value, is the truth. A static spec never calls it (None is fine).
    """
    callback = points_callback(spec.key, spec.names, spec.limits, on_change or _ignore)
    payload = spec.payload(_ack(_component_value(spec.key)))
    _mount(key=spec.key, data=payload, on_points_change=callback)


__all__ = [
    "LiveLoss",
    "Metric",
    "PlaneSpec",
    "Regions",
    "ShapeLayer",
    "Shapes",
    "Trajectory",
    "clamp_point",
    "default_lines",
    "plane",
    "points_callback",
    "points_from_value",
]
