"""A training run of the collapse demo as an animated GIF, for a teacher's slides.

:func:`run_gif` draws the recorded frames of one or two runs trained in
lockstep (``frames[i][r]``: run r's :class:`~lossviz.training.collapse.Snapshot` at
the i-th record, as :meth:`lossviz.training.side_by_side.SideBySide.frames` and
:meth:`lossviz.training.run_registry.SharedRun.frames` return them) the way the page's
player (``lossviz/ui/components/assets/player.js``) draws one: per run a title, a badge
("collapsed", "not collapsed" or "stopped"), a read-out "step k · loss x
(margin m) · spread y% of its start" and a square scatter of the evaluation
points in their class colours. Each run's axes span the widest box of the
whole run plus 6% padding, with equal aspect, so a collapse shows as the
points shrinking. A legend of the classes runs along the bottom.

One GIF frame per record, ``fps`` a second, the last one held ``HOLD_MS``;
the GIF loops forever. Pixel sizes are given for ``BASE_WIDTH`` and scale
with ``width``. Points are drawn at ``SUPERSAMPLE`` times the size and
box-averaged down (anti-aliasing); every frame is then mapped, undithered,
onto one fixed palette made of the colours drawn and their blends, so the
frames share a global colour table and differ only where points moved.

Core layer: Pillow, numpy and the standard library; no Streamlit, no Plotly.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lossviz.training.collapse import Snapshot, TrainConfig, collapsed

# A copy of lossviz.figures.CLASS_COLORS: the core may not import the figures layer
# (tests/test_layers.py); tests/test_run_gif.py holds the two equal.
CLASS_COLORS: tuple[str, ...] = ("#117733", "#CC6677", "#DDCC77", "#882255", "#44AA99",
                                 "#999933", "#AA4499", "#332288", "#88CCEE", "#DDDDDD")  # fmt: skip
# The player's colours (lossviz/ui/components/player.py STYLE and assets/player.css).
BACKGROUND = "#ffffff"
TEXT_COLOR = "#31333f"
RIM_COLOR = "#333333"
FRAME_COLOR = "#b9bcc6"
BADGE_TEXT = "#ffffff"
BADGE_COLORS: dict[str, str] = {
    "collapsed": "#c0392b",
    "not collapsed": "#1e8449",
    "stopped": "#b9770e",
}

BASE_WIDTH = 960  # the pixel sizes below are for this width; they scale with the GIF's
OUTER, GAP = 16, 24  # page margin and the gap between panels
TOP, BOTTOM = 12, 10
TITLE_SIZE, READOUT_SIZE, LEGEND_SIZE, BADGE_SIZE = 17, 14, 14, 12
TITLE_ROW, READOUT_ROW, LEGEND_ROW = 26, 20, 22  # row heights
BELOW_READOUT, ABOVE_LEGEND = 6, 10
BADGE_PAD, BADGE_GAP = 8, 8  # inside a badge, each side; between a title and its badge
LEGEND_DOT, LEGEND_GAP, ITEM_GAP = 10, 12, 14  # after "class"; between legend items
DOT, DOT_SIDE = 3.6, 440  # the player's dot radius on its 440 px panel; scales with the side
RIM_WIDTH = 0.7
PAD = 0.06  # of the run's span, around the points
MIN_FONT_SHARE = 0.6  # a text too long for its panel shrinks to this share, then is cut
SUPERSAMPLE = 2
HOLD_MS = 2000
WIDTHS = (240, 4096)
FPS = (1, 50)  # GIF delays are whole hundredths; browsers slow anything under 2 down
BLEND_LEVELS = 7  # steps between a colour and white in the palette (text anti-aliasing)
RIM_LEVELS = 3  # steps between a class colour and the rim

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Geometry:
    """Where everything goes in a GIF of ``runs`` panels, ``width`` pixels wide.

    ``boxes[r]``: run r's scatter square ``(left, top, right, bottom)``
    (right and bottom exclusive, ``right - left == side``); the title row
    starts at ``title_y``, the read-out at ``readout_y``, the legend at
    ``legend_y``; ``scale`` is ``width / BASE_WIDTH``.
    """

    width: int
    scale: float
    side: int
    boxes: tuple[tuple[int, int, int, int], ...]
    title_y: int
    readout_y: int
    legend_y: int


def geometry(runs: int, width: int) -> Geometry:
    """The panels of ``runs`` runs side by side: equal squares, centred, two-run sized at most.

    One run gets the square a two-run GIF of this width would have, so both
    kinds are the same height (the legend aside) and fit one slide alike.
    """
    s = width / BASE_WIDTH
    outer, gap = round(OUTER * s), round(GAP * s)
    side = (width - 2 * outer - gap * (max(runs, 2) - 1)) // max(runs, 2)
    left = (width - runs * side - (runs - 1) * gap) // 2
    title_y = round(TOP * s)
    readout_y = title_y + round(TITLE_ROW * s)
    top = readout_y + round((READOUT_ROW + BELOW_READOUT) * s)
    boxes = tuple(
        (left + r * (side + gap), top, left + r * (side + gap) + side, top + side)
        for r in range(runs)
    )
    return Geometry(width, s, side, boxes, title_y, readout_y, top + side + round(ABOVE_LEGEND * s))


# --------------------------------------------------------------------------- text


def spread_text(spread: float, start: float) -> str:
    """A spread against its start as the player writes it: 0.05%, 98.31%, 3,874% or 1.3e+12x."""
    if not (math.isfinite(spread) and math.isfinite(start) and start > 0):
        return "-"
    ratio = spread / start
    if ratio < 10:
        return f"{ratio * 100:.2f}%"
    if ratio < 1e4:
        return f"{round(ratio * 100):,}%"
    return f"{ratio:.1e}x"


def badge(snapshot: Snapshot, first: Snapshot) -> str:
    """A run's state at ``snapshot``: "stopped", "collapsed" or "not collapsed"."""
    if snapshot.stopped:
        return "stopped"
    return "collapsed" if collapsed(first, snapshot) else "not collapsed"


def readout(snapshot: Snapshot, first: Snapshot, margin: float) -> str:
    """The line under a run's title: step, loss and spread (against the run's step 0)."""
    loss = _loss_text(snapshot.loss)
    spread = spread_text(snapshot.spread, first.spread)
    return f"step {snapshot.step} · loss {loss} (margin {margin:g}) · spread {spread} of its start"


def _loss_text(loss: float) -> str:
    """JavaScript's ``loss.toFixed(4)``, as the player shows it (exponential from 1e21 on)."""
    if not math.isfinite(loss):
        return "not finite"
    return repr(loss) if abs(loss) >= 1e21 else f"{loss:.4f}"


def _font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(size)))


def _fitting_font(texts: Sequence[str], size: float, room: float):
    """The default font at ``size``, or smaller (to ``MIN_FONT_SHARE``) so every text fits."""
    font = _font(size)
    widest = max((font.getlength(t) for t in texts), default=0.0)
    if widest > room:
        font = _font(max(size * room / widest, size * MIN_FONT_SHARE))
    return font


def _cut(text: str, font, room: float) -> str:
    """``text``, cut short with an ellipsis if it is wider than ``room`` pixels."""
    if font.getlength(text) <= room:
        return text
    while text and font.getlength(text + "…") > room:
        text = text[:-1]
    return text.rstrip() + "…"


# --------------------------------------------------------------------------- colours


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _blend(a: tuple[int, ...], b: tuple[int, ...], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def palette_colors(class_colors: Sequence[str]) -> list[tuple[int, int, int]]:
    """Every colour drawn and the blends anti-aliasing makes of them (at most 256).

    Inks blend into the white background (text, rims, dots' edges, badge
    text on its badge); a dot's fill blends into its dark rim.
    """
    white, rim = _rgb(BACKGROUND), _rgb(RIM_COLOR)
    fills = [_rgb(c) for c in dict.fromkeys(class_colors)]
    inks = [_rgb(c) for c in (TEXT_COLOR, RIM_COLOR, FRAME_COLOR, *BADGE_COLORS.values())]
    colors = [white, *inks, *fills]
    for ink in inks + fills:
        colors += [_blend(ink, white, k / BLEND_LEVELS) for k in range(1, BLEND_LEVELS)]
    for fill in fills:
        colors += [_blend(fill, rim, k / (RIM_LEVELS + 1)) for k in range(1, RIM_LEVELS + 1)]
    unique = list(dict.fromkeys(colors))
    if len(unique) > 256:
        raise ValueError(f"too many class colours for one GIF palette ({len(fills)})")
    return unique


class Palette:
    """A fixed GIF palette, and the exact nearest-colour mapping of RGB frames onto it.

    Pillow's own mapping onto a given palette (``Image.quantize(palette=...)``)
    searches at reduced precision and turns white into a light grey; this one
    is exact (nearest in RGB), and fast because most pixels are background:
    only the others are looked up, once per distinct colour.
    """

    def __init__(self, colors: Sequence[tuple[int, int, int]]):
        self.rgb = np.array(colors, dtype=np.int64)  # (P, 3); entry 0 is the background
        flat = self.rgb.ravel().tolist()
        self.flat = flat + flat[:3] * (256 - len(colors))

    def nearest(self, codes: np.ndarray) -> np.ndarray:
        """Palette indices (U,) uint8 of packed ``0xRRGGBB`` colours (U,)."""
        rgb = np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=1)
        distances = ((rgb[:, None, :] - self.rgb[None, :, :]) ** 2).sum(axis=2)
        return distances.argmin(axis=1).astype(np.uint8)

    def apply(self, image: Image.Image) -> Image.Image:
        """An RGB image as a "P" image on this palette."""
        rgb = np.asarray(image, dtype=np.int64)
        codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        index = np.zeros(codes.shape, dtype=np.uint8)
        ink = codes != _code(self.rgb[0])
        distinct, inverse = np.unique(codes[ink], return_inverse=True)
        index[ink] = self.nearest(distinct)[inverse]
        out = Image.fromarray(index)
        out.putpalette(self.flat)
        return out


def _code(rgb: Sequence[int]) -> int:
    return (int(rgb[0]) << 16) | (int(rgb[1]) << 8) | int(rgb[2])


# --------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _Run:
    """What stays fixed over one run's frames: its classes' draw order and its axes.

    ``order``: point indices, grouped by colour (drawn colour by colour, as
    the player does); ``colors[i]`` the fill of point ``order[i]``. A point
    (x, y) sits ``(x - x0) * k`` right of and ``(y - y0) * k`` above the
    square's inner bottom-left corner, in supersampled pixels.
    """

    order: np.ndarray
    colors: tuple[tuple[int, int, int], ...]
    x0: float
    y0: float
    k: float


def _xy(snapshot: Snapshot) -> np.ndarray:
    """A snapshot's evaluation points, (E, 2) float64."""
    return snapshot.embeddings.detach().to("cpu").numpy().astype(np.float64)


def _run_axes(frames: Sequence[Sequence[Snapshot]], r: int, side: int, dot: float, colors):
    """Run r's draw order and its span: the widest box of all its frames, squared and padded."""
    points = np.stack([_xy(frame[r]) for frame in frames])
    lo, hi = points.reshape(-1, 2).min(axis=0), points.reshape(-1, 2).max(axis=0)
    span = max(float((hi - lo).max()), 1e-6) * (1 + 2 * PAD)
    centre = (lo + hi) / 2
    labels = frames[0][r].labels.numpy() % len(colors)
    order = np.argsort(labels, kind="stable")
    k = (side - 2 * dot - 4 * SUPERSAMPLE) / span
    fills = tuple(_rgb(colors[c]) for c in labels[order])
    return _Run(order, fills, centre[0] - span / 2, centre[1] - span / 2, k)


def _scatter(snapshot: Snapshot, run: _Run, side: int, dot: float, rim: int) -> Image.Image:
    """One run's points on a ``side``-pixel square (supersampled), before the frame is drawn."""
    image = Image.new("RGB", (side, side), BACKGROUND)
    draw = ImageDraw.Draw(image)
    inset = dot + 2 * SUPERSAMPLE
    xy = _xy(snapshot)[run.order]
    px = inset + (xy[:, 0] - run.x0) * run.k
    py = side - inset - (xy[:, 1] - run.y0) * run.k
    for x, y, fill in zip(px.tolist(), py.tolist(), run.colors, strict=True):
        draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=fill, outline=RIM_COLOR, width=rim)
    return image


@dataclass(frozen=True)
class _Fonts:
    title: ImageFont.FreeTypeFont | ImageFont.ImageFont
    readout: ImageFont.FreeTypeFont | ImageFont.ImageFont
    badge: ImageFont.FreeTypeFont | ImageFont.ImageFont
    legend: ImageFont.FreeTypeFont | ImageFont.ImageFont


def _badge_width(text: str, fonts: _Fonts, s: float) -> int:
    return round(fonts.badge.getlength(text) + 2 * BADGE_PAD * s)


def _fonts(g: Geometry, titles: Sequence[str], readouts: Sequence[str]) -> _Fonts:
    """The fonts, shrunk where needed so the widest read-out (and title) fits a panel."""
    s = g.scale
    badge_font = _font(BADGE_SIZE * s)
    widest_badge = max(badge_font.getlength(b) for b in BADGE_COLORS) + 2 * BADGE_PAD * s
    return _Fonts(
        title=_fitting_font(titles, TITLE_SIZE * s, g.side - widest_badge - BADGE_GAP * s),
        readout=_fitting_font(readouts, READOUT_SIZE * s, g.side),
        badge=badge_font,
        legend=_font(LEGEND_SIZE * s),
    )


def _legend_items(class_names: Sequence[str], colors: Sequence[str], fonts: _Fonts, s: float):
    """``(name, colour, width)`` per class: a dot and the name."""
    dot = round(LEGEND_DOT * s)
    return [
        (str(name), colors[c % len(colors)], dot + round(4 * s + fonts.legend.getlength(str(name))))
        for c, name in enumerate(class_names)
    ]


def _legend_rows(g: Geometry, items, fonts: _Fonts) -> list[list[tuple[str, str, int]]]:
    """The legend's items flowed into rows as wide as the panels."""
    left, right = g.boxes[0][0], g.boxes[-1][2]
    room = right - left - fonts.legend.getlength("class") - LEGEND_GAP * g.scale
    rows: list[list[tuple[str, str, int]]] = [[]]
    used = 0.0
    for item in items:
        if rows[-1] and used + item[2] > room:
            rows.append([])
            used = 0.0
        rows[-1].append(item)
        used += item[2] + ITEM_GAP * g.scale
    return rows


def draw_legend(draw: ImageDraw.ImageDraw, g, rows, font, heading: str = "class") -> None:
    """``heading``, then each item's dot and name, in the rows :func:`_legend_rows` laid out
    (``g``: a geometry with ``scale``, ``boxes`` and ``legend_y``; the SimCLR GIF's too)."""
    s = g.scale
    left = g.boxes[0][0]
    draw.text((left, g.legend_y), heading, fill=TEXT_COLOR, font=font)
    start = left + font.getlength(heading) + LEGEND_GAP * s
    dot = round(LEGEND_DOT * s)
    for row_index, row in enumerate(rows):
        y = g.legend_y + row_index * round(LEGEND_ROW * s)
        x = start
        for name, color, item_width in row:
            top = y + round((LEGEND_SIZE * s - dot) / 2) + 1
            draw.ellipse((x, top, x + dot, top + dot), fill=color)
            draw.text((x + dot + 4 * s, y), name, fill=TEXT_COLOR, font=font)
            x += item_width + ITEM_GAP * s


def _background(g: Geometry, height: int, titles, legend_rows, fonts: _Fonts) -> Image.Image:
    """What every frame shares: white, the titles, the legend."""
    image = Image.new("RGB", (g.width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for title, (left, _, _, _) in zip(titles, g.boxes, strict=True):
        draw.text((left, g.title_y), title, fill=TEXT_COLOR, font=fonts.title)
    draw_legend(draw, g, legend_rows, fonts.legend)
    return image


def _draw_texts(draw, g: Geometry, titles, fonts: _Fonts, badges, readouts) -> None:
    """One frame's badges (after each title) and read-outs."""
    s = g.scale
    for r, (left, _, _, _) in enumerate(g.boxes):
        x = left + fonts.title.getlength(titles[r]) + BADGE_GAP * s
        y = g.title_y + round(2 * s)
        height = round(BADGE_SIZE * s + 6 * s)
        width = _badge_width(badges[r], fonts, s)
        draw.rounded_rectangle(
            (x, y, x + width, y + height), radius=height / 2, fill=BADGE_COLORS[badges[r]]
        )
        draw.text(
            (x + width / 2, y + height / 2),
            badges[r],
            fill=BADGE_TEXT,
            font=fonts.badge,
            anchor="mm",
        )
        line = _cut(readouts[r], fonts.readout, g.side)  # only if shrinking was not enough
        draw.text((left, g.readout_y), line, fill=TEXT_COLOR, font=fonts.readout)


# --------------------------------------------------------------------------- the GIF


def _check(frames, titles, width: int, fps: int, class_colors) -> None:
    if not class_colors:
        raise ValueError("class_colors must name at least one colour")
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    if not titles or any(len(frame) != len(titles) for frame in frames):
        raise ValueError(f"every frame needs one snapshot per title ({len(titles)})")
    if not WIDTHS[0] <= width <= WIDTHS[1]:
        raise ValueError(f"width must be {WIDTHS[0]}..{WIDTHS[1]} pixels; got {width}")
    if not FPS[0] <= fps <= FPS[1]:
        raise ValueError(f"fps must be {FPS[0]}..{FPS[1]}; got {fps}")


def _encode(images: list[Image.Image], fps: int) -> bytes:
    """The frames as a GIF that loops forever, the last one held ``HOLD_MS``."""
    frame_ms = round(1000 / fps)
    durations = [frame_ms] * (len(images) - 1) + [max(HOLD_MS, frame_ms)]
    out = io.BytesIO()
    images[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        disposal=1,
        # Not Pillow's optimize: it would re-map each frame's palette; ours is already minimal.
        optimize=False,
    )
    return out.getvalue()


@dataclass(frozen=True)
class _Canvas:
    """Everything every frame shares: layout, fonts, the drawn background, palette, axes.

    ``texts[i][r]``: run r's (badge, read-out) at record i. ``dot`` and
    ``rim`` are in supersampled pixels.
    """

    g: Geometry
    fonts: _Fonts
    titles: tuple[str, ...]
    texts: list[list[tuple[str, str]]]
    background: Image.Image
    palette: Palette
    runs: tuple[_Run, ...]
    dot: float
    rim: int


def _texts(frames: Sequence[Sequence[Snapshot]], margin: float) -> list[list[tuple[str, str]]]:
    first = frames[0]
    return [
        [
            (badge(snap, start), readout(snap, start, margin))
            for snap, start in zip(frame, first, strict=True)
        ]
        for frame in frames
    ]


def _canvas(frames, titles, class_names, margin: float, width: int, class_colors) -> _Canvas:
    g = geometry(len(titles), width)
    s = g.scale
    texts = _texts(frames, margin)
    fonts = _fonts(g, titles, [line for frame in texts for _, line in frame])
    badge_room = max(_badge_width(b, fonts, s) for b in BADGE_COLORS) + BADGE_GAP * s
    shown = tuple(_cut(str(t), fonts.title, g.side - badge_room) for t in titles)
    rows = _legend_rows(g, _legend_items(class_names, class_colors, fonts, s), fonts)
    height = g.legend_y + len(rows) * round(LEGEND_ROW * s) + round(BOTTOM * s)
    big = g.side * SUPERSAMPLE
    dot = DOT * g.side / DOT_SIDE * SUPERSAMPLE
    return _Canvas(
        g=g,
        fonts=fonts,
        titles=shown,
        texts=texts,
        background=_background(g, height, shown, rows, fonts),
        palette=Palette(palette_colors(class_colors)),
        runs=tuple(_run_axes(frames, r, big, dot, class_colors) for r in range(len(titles))),
        dot=dot,
        rim=max(1, round(RIM_WIDTH * SUPERSAMPLE)),
    )


def _frame(canvas: _Canvas, index: int, frame: Sequence[Snapshot]) -> Image.Image:
    """Record ``index`` (``frame[r]``: run r) drawn and mapped onto the palette."""
    g = canvas.g
    image = canvas.background.copy()
    draw = ImageDraw.Draw(image)
    for snapshot, run, box in zip(frame, canvas.runs, g.boxes, strict=True):
        points = _scatter(snapshot, run, g.side * SUPERSAMPLE, canvas.dot, canvas.rim)
        # Box-averaging the supersampled square: blends only, no ringing, so few colours.
        image.paste(points.reduce(SUPERSAMPLE), box[:2])
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), outline=FRAME_COLOR)
    badges, readouts = zip(*canvas.texts[index], strict=True)
    _draw_texts(draw, g, canvas.titles, canvas.fonts, badges, readouts)
    return canvas.palette.apply(image)


def run_gif(
    frames: Sequence[Sequence[Snapshot]],
    titles: Sequence[str],
    class_names: Sequence[str],
    margin: float,
    *,
    width: int = 960,
    fps: int = 12,
    progress: Progress | None = None,
    class_colors: Sequence[str] = CLASS_COLORS,
) -> bytes:
    """The bytes of an animated GIF of ``frames`` (``frames[i][r]``: run r at record i).

    ``titles[r]`` names run r; ``class_names[c]`` is label c's class (legend);
    ``margin`` is shown in the read-outs. Each run is judged ("collapsed")
    against its own first frame. ``width`` pixels wide (240..4096), the height
    follows; ``fps`` records a second (1..50). ``progress(fraction)``, if
    given, is called with increasing fractions in (0, 1] as frames are drawn,
    the last time with 1.0 once the GIF is encoded. Class c is drawn in
    ``class_colors[c % len(class_colors)]``.
    """
    _check(frames, titles, width, fps, class_colors)
    canvas = _canvas(frames, titles, class_names, margin, width, class_colors)
    images = []
    for index, frame in enumerate(frames):
        images.append(_frame(canvas, index, frame))
        if progress is not None:
            progress((index + 1) / (len(frames) + 1))
    data = _encode(images, fps)
    if progress is not None:
        progress(1.0)
    return data


def gif_name(configs: Sequence[TrainConfig]) -> str:
    """A safe file name for the GIF of ``configs``' runs.

    For example ``collapse-batch_hard-vs-batch_hard_fix-seed0-300steps.gif``.
    """
    if not configs:
        raise ValueError("gif_name needs at least one configuration")
    losses = "-vs-".join(config.loss for config in configs)
    name = f"collapse-{losses}-seed{configs[0].seed}-{configs[0].steps}steps"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".gif"


__all__ = [
    "CLASS_COLORS",
    "Geometry",
    "badge",
    "geometry",
    "gif_name",
    "palette_colors",
    "readout",
    "run_gif",
    "spread_text",
]
