"""A SimCLR training run as an animated GIF, for a teacher's slides.

:func:`contrastive_gif` draws the recorded frames of one or two contrastive runs trained in
lockstep (``frames[i][r]``: run r's
:class:`~lossviz.training.contrastive_training.ContrastiveSnapshot` at the i-th record, as
:meth:`lossviz.training.run_registry.SharedRun.frames` returns them) side by side, one
square panel per run, the way the SimCLR page's figure (:mod:`lossviz.figures.simclr`)
draws its point panels: the first ``POINTS_DRAWN`` probe digits in their digit colours,
on the unit circle (a thin grey circle, axes fixed at +-``CIRCLE_REACH``) when the run's
outputs are 2-D, else their first two principal components in a square that holds every
record's points (the title then says "PCA"). Above each panel the run's title (after a
marker in its colour on the page, and a "stopped" badge once the guard stopped it), below
it the record's read-out ("step 120 · NT-Xent 4.87 · alignment 0.05 · uniformity -0.55 ·
eff. rank 1.5"); a legend of the digits runs along the bottom.

Everything else is :mod:`lossviz.training.run_gif`'s: the fonts, the sizes (for its
``BASE_WIDTH``, scaling with ``width``), the supersampled dots, one fixed palette shared by
every frame, one GIF frame per record at ``fps`` a second with the last held ``HOLD_MS``,
looping forever.

Core layer: Pillow, numpy and the standard library; no Streamlit, no Plotly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from lossviz.training import run_gif
from lossviz.training.contrastive_training import (
    CIRCLE_DIM,
    ContrastiveConfig,
    ContrastiveSnapshot,
    run_titles,
)
from lossviz.training.run_gif import (
    BACKGROUND,
    BADGE_COLORS,
    BADGE_GAP,
    BADGE_PAD,
    BADGE_SIZE,
    BADGE_TEXT,
    BLEND_LEVELS,
    BOTTOM,
    CLASS_COLORS,
    DOT,
    DOT_SIDE,
    FRAME_COLOR,
    LEGEND_ROW,
    LEGEND_SIZE,
    READOUT_ROW,
    READOUT_SIZE,
    RIM_COLOR,
    RIM_WIDTH,
    SUPERSAMPLE,
    TEXT_COLOR,
    TITLE_ROW,
    TITLE_SIZE,
    TOP,
    Geometry,
    Palette,
    Progress,
)
from lossviz.training.run_registry import run_id

# Copies of lossviz.figures.simclr.POINTS_DRAWN and lossviz.figures.RUN_COLORS (the core may
# not import the figures layer); tests/test_contrastive_gif.py holds them equal.
POINTS_DRAWN = 256
RUN_COLORS: tuple[str, ...] = ("#CC79A7", "#0072B2")
CIRCLE_COLOR = "#8a8d96"  # the page's unit circle
CIRCLE_REACH = 1.12  # the circle's axes span -1.12 .. 1.12, as on the page
PCA_PAD = 1.08  # a PCA square's half side: the largest |coordinate| of any record, padded
CIRCLE_WIDTH = 1.0  # the circle's line, in (final) pixels at BASE_WIDTH
MARKER = 11  # the run's marker before its title (the page's marker size), at BASE_WIDTH
MARKER_GAP = 6
BELOW_PANEL, ABOVE_LEGEND = 6, 6  # between a panel and its read-out; above the legend
PCA_NOTE = "PCA of the unit outputs"
FPS = 10
# Characters of the page's titles that Pillow's default font (Aileron) has no glyph for.
SPELLED = {"τ": "tau", "σ": "sigma", "−": "-", "–": "-"}


# --------------------------------------------------------------------------- layout


def geometry(runs: int, width: int) -> Geometry:
    """:func:`run_gif.geometry`'s squares, with each title above its square and each read-out
    below it (``readout_y``), then the legend."""
    g = run_gif.geometry(runs, width)
    s = g.scale
    title_y = round(TOP * s)
    top = title_y + round(TITLE_ROW * s)
    boxes = tuple((left, top, right, top + g.side) for left, _, right, _ in g.boxes)
    readout_y = top + g.side + round(BELOW_PANEL * s)
    legend_y = readout_y + round((READOUT_ROW + ABOVE_LEGEND) * s)
    return Geometry(width, s, g.side, boxes, title_y, readout_y, legend_y)


def height(g: Geometry, legend_rows: int = 1) -> int:
    """The GIF's height for ``g`` and a legend of ``legend_rows`` rows."""
    return g.legend_y + legend_rows * round(LEGEND_ROW * g.scale) + round(BOTTOM * g.scale)


# --------------------------------------------------------------------------- text


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if np.isfinite(value) else "not finite"


def plain(text: str) -> str:
    """``text`` with the characters the GIF's font lacks spelled out (``SPELLED``)."""
    return "".join(SPELLED.get(ch, ch) for ch in str(text))


def readout(snapshot: ContrastiveSnapshot) -> str:
    """The line under a run's panel: the record's step and measures."""
    return (
        f"step {snapshot.step} · NT-Xent {_number(snapshot.nt_xent, 2)} · alignment "
        f"{_number(snapshot.alignment, 2)} · uniformity {_number(snapshot.uniformity, 2)} · "
        f"eff. rank {_number(snapshot.effective_rank, 1)}"
    )


def gif_titles(configs: Sequence[ContrastiveConfig]) -> list[str]:
    """Each run's name as the SimCLR page gives it
    (:func:`~lossviz.training.contrastive_training.run_titles`)."""
    return run_titles(configs)


def gif_name(configs: Sequence[ContrastiveConfig]) -> str:
    """The GIF's file name: ``simclr-<run id>.gif`` (the shared run's id, a safe name)."""
    if not configs:
        raise ValueError("gif_name needs at least one configuration")
    return f"simclr-{run_id(tuple(configs))}.gif"


# --------------------------------------------------------------------------- colours


def palette_colors() -> list[tuple[int, int, int]]:
    """:func:`run_gif.palette_colors` of the digits, plus the circle and the run colours
    and their blends into the background."""
    white = run_gif._rgb(BACKGROUND)
    extra = [run_gif._rgb(c) for c in (CIRCLE_COLOR, *RUN_COLORS)]
    colors = run_gif.palette_colors(CLASS_COLORS) + extra
    for ink in extra:
        colors += [run_gif._blend(ink, white, k / BLEND_LEVELS) for k in range(1, BLEND_LEVELS)]
    unique = list(dict.fromkeys(colors))
    assert len(unique) <= 256, len(unique)
    return unique


# --------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _Panel:
    """What stays fixed over one run's frames: its draw order, axes and empty square.

    ``order``: drawn point indices in draw order, the probe's (the digits take turns, so
    where points pile up, as on an arc of the circle, no digit hides under the others as it
    would drawn digit by digit); ``fills[i]``: the colour of point ``order[i]``; a point
    (x, y) sits at ``(centre + x * k, centre - y * k)`` in supersampled pixels; ``empty``:
    the supersampled square before any point (white, and the circle on a 2-D run).
    """

    order: np.ndarray
    fills: tuple[tuple[int, int, int], ...]
    circle: bool
    k: float
    empty: Image.Image


def on_circle(frames: Sequence[Sequence[ContrastiveSnapshot]], r: int) -> bool:
    """Whether run r's points are its 2-D unit outputs (else a PCA of more dimensions)."""
    return frames[0][r].spectrum.numel() == CIRCLE_DIM


def _reach(frames: Sequence[Sequence[ContrastiveSnapshot]], r: int) -> float:
    """Half the side of the square of run r: the page's (every record's points, padded)."""
    if on_circle(frames, r):
        return CIRCLE_REACH
    top = 0.0
    for frame in frames:
        points = np.abs(frame[r].points.numpy())
        top = max(top, float(points[np.isfinite(points)].max(initial=0.0)))
    return max(top * PCA_PAD, 1e-3)


def _panel(frames, r: int, labels: np.ndarray, big: int, dot: float, width: float) -> _Panel:
    order = np.arange(len(labels))  # the probe's order: the digits take turns
    fills = tuple(run_gif._rgb(CLASS_COLORS[c]) for c in labels[order])
    k = (big / 2 - dot - 2 * SUPERSAMPLE) / _reach(frames, r)
    empty = Image.new("RGB", (big, big), BACKGROUND)
    circle = on_circle(frames, r)
    if circle:
        c, radius = big / 2, k
        ImageDraw.Draw(empty).ellipse(
            (c - radius, c - radius, c + radius, c + radius),
            outline=CIRCLE_COLOR,
            width=max(1, round(width)),
        )
    return _Panel(order, fills, circle, k, empty)


def _scatter(snapshot: ContrastiveSnapshot, panel: _Panel, dot: float, rim: int) -> Image.Image:
    """One run's points on its supersampled square."""
    image = panel.empty.copy()
    draw = ImageDraw.Draw(image)
    centre = image.size[0] / 2
    xy = snapshot.points.numpy()[: len(panel.order)].astype(np.float64)[panel.order]
    px = (centre + xy[:, 0] * panel.k).tolist()
    py = (centre - xy[:, 1] * panel.k).tolist()
    for x, y, fill in zip(px, py, panel.fills, strict=True):
        if np.isfinite(x) and np.isfinite(y):
            box = (x - dot, y - dot, x + dot, y + dot)
            draw.ellipse(box, fill=fill, outline=RIM_COLOR, width=rim)
    return image


@dataclass(frozen=True)
class _Canvas:
    """Everything every frame shares: layout, fonts, the drawn background, palette, panels."""

    g: Geometry
    fonts: run_gif._Fonts
    titles: tuple[str, ...]
    background: Image.Image
    palette: Palette
    panels: tuple[_Panel, ...]
    dot: float
    rim: int


def _badge_room(fonts: run_gif._Fonts, s: float) -> float:
    return run_gif._badge_width("stopped", fonts, s) + BADGE_GAP * s


def _title_x(g: Geometry, r: int) -> float:
    """Where run r's title text starts: after its marker."""
    return g.boxes[r][0] + round((MARKER + MARKER_GAP) * g.scale)


def _draw_marker(draw: ImageDraw.ImageDraw, g: Geometry, r: int) -> None:
    """Run r's marker as the page draws it: A a circle, B a square, in the run's colour."""
    size = round(MARKER * g.scale)
    x = g.boxes[r][0]
    y = g.title_y + round((TITLE_SIZE * g.scale - size) / 2) + 1
    box = (x, y, x + size, y + size)
    if r == 0:
        draw.ellipse(box, fill=RUN_COLORS[r])
    else:
        draw.rectangle(box, fill=RUN_COLORS[r % len(RUN_COLORS)])


def _canvas(frames, labels: np.ndarray, titles: Sequence[str], width: int) -> _Canvas:
    runs = len(titles)
    g = geometry(runs, width)
    s = g.scale
    shown = [
        plain(t) if on_circle(frames, r) else f"{plain(t)} · {PCA_NOTE}"
        for r, t in enumerate(titles)
    ]
    readouts = [readout(snapshot) for frame in frames for snapshot in frame]
    badge_font = run_gif._font(BADGE_SIZE * s)
    title_room = g.side - (MARKER + MARKER_GAP) * s
    title_room -= badge_font.getlength("stopped") + (2 * BADGE_PAD + BADGE_GAP) * s
    fonts = run_gif._Fonts(
        title=run_gif._fitting_font(shown, TITLE_SIZE * s, title_room),
        readout=run_gif._fitting_font(readouts, READOUT_SIZE * s, g.side),
        badge=badge_font,
        legend=run_gif._font(LEGEND_SIZE * s),
    )
    shown = [run_gif._cut(t, fonts.title, title_room) for t in shown]
    items = run_gif._legend_items([str(d) for d in range(10)], CLASS_COLORS, fonts, s)
    rows = run_gif._legend_rows(g, items, fonts)
    background = Image.new("RGB", (width, height(g, len(rows))), BACKGROUND)
    draw = ImageDraw.Draw(background)
    for r, title in enumerate(shown):
        _draw_marker(draw, g, r)
        draw.text((_title_x(g, r), g.title_y), title, fill=TEXT_COLOR, font=fonts.title)
    run_gif.draw_legend(draw, g, rows, fonts.legend, heading="digit")
    big = g.side * SUPERSAMPLE
    dot = DOT * g.side / DOT_SIDE * SUPERSAMPLE
    line = CIRCLE_WIDTH * s * SUPERSAMPLE
    return _Canvas(
        g=g,
        fonts=fonts,
        titles=tuple(shown),
        background=background,
        palette=Palette(palette_colors()),
        panels=tuple(_panel(frames, r, labels, big, dot, line) for r in range(runs)),
        dot=dot,
        rim=max(1, round(RIM_WIDTH * SUPERSAMPLE)),
    )


def _draw_badge(draw: ImageDraw.ImageDraw, canvas: _Canvas, r: int) -> None:
    """A "stopped" badge after run r's title."""
    g, fonts, s = canvas.g, canvas.fonts, canvas.g.scale
    x = _title_x(g, r) + fonts.title.getlength(canvas.titles[r]) + BADGE_GAP * s
    y = g.title_y + round(2 * s)
    tall = round(BADGE_SIZE * s + 6 * s)
    wide = run_gif._badge_width("stopped", fonts, s)
    color = BADGE_COLORS["stopped"]
    draw.rounded_rectangle((x, y, x + wide, y + tall), radius=tall / 2, fill=color)
    middle = (x + wide / 2, y + tall / 2)
    draw.text(middle, "stopped", fill=BADGE_TEXT, font=fonts.badge, anchor="mm")


def _frame(canvas: _Canvas, frame: Sequence[ContrastiveSnapshot]) -> Image.Image:
    """One record (``frame[r]``: run r) drawn and mapped onto the palette."""
    g = canvas.g
    image = canvas.background.copy()
    draw = ImageDraw.Draw(image)
    for r, (snapshot, panel, box) in enumerate(zip(frame, canvas.panels, g.boxes, strict=True)):
        points = _scatter(snapshot, panel, canvas.dot, canvas.rim)
        image.paste(points.reduce(SUPERSAMPLE), box[:2])
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), outline=FRAME_COLOR)
        line = run_gif._cut(readout(snapshot), canvas.fonts.readout, g.side)
        draw.text((box[0], g.readout_y), line, fill=TEXT_COLOR, font=canvas.fonts.readout)
        if snapshot.stopped:
            _draw_badge(draw, canvas, r)
    return canvas.palette.apply(image)


# --------------------------------------------------------------------------- the GIF


def contrastive_gif(
    frames: Sequence[Sequence[ContrastiveSnapshot]],
    labels,
    titles: Sequence[str],
    *,
    width: int = run_gif.BASE_WIDTH,
    fps: int = FPS,
    report: Progress | None = None,
) -> bytes:
    """The bytes of an animated GIF of ``frames`` (``frames[i][r]``: run r at record i).

    ``labels`` (P,): the probe's digits (:func:`~lossviz.training.contrastive_training.
    probe_labels`), ``labels[i]`` that of every record's ``points[i]``; the first
    ``POINTS_DRAWN`` points are drawn. ``titles[r]`` names run r. ``width`` pixels wide
    (240..4096), the height follows; ``fps`` records a second (1..50), the last record held
    ``HOLD_MS``. ``report(fraction)``, if given, is called with increasing fractions in
    (0, 1] as frames are drawn, the last time with 1.0 once the GIF is encoded.
    """
    run_gif._check(frames, titles, width, fps, CLASS_COLORS)
    count = min(POINTS_DRAWN, *(len(s.points) for s in frames[0]))
    labels = np.asarray(labels).reshape(-1)
    if len(labels) < count:
        raise ValueError(f"labels must name every drawn point ({count}); got {len(labels)}")
    labels = labels[:count].astype(np.int64) % len(CLASS_COLORS)
    canvas = _canvas(frames, labels, titles, width)
    images = []
    for index, frame in enumerate(frames):
        images.append(_frame(canvas, frame))
        if report is not None:
            report((index + 1) / (len(frames) + 1))
    data = run_gif._encode(images, fps)
    if report is not None:
        report(1.0)
    return data


__all__ = [
    "CIRCLE_COLOR",
    "POINTS_DRAWN",
    "RUN_COLORS",
    "contrastive_gif",
    "geometry",
    "gif_name",
    "gif_titles",
    "height",
    "on_circle",
    "palette_colors",
    "plain",
    "readout",
]
