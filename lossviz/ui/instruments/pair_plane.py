"""The pair plane, built once for every page that shows a contrastive pair to drag.

The contrastive page and the lesson's pair step show the same instrument: X1 and X2 on
the plane, the margin around X1 shaded (where a dissimilar X2 is pushed: exact for a
built-in distance, cells computed by the core for a typed one), each point's arrow, the
live read-out the browser computes while a point moves and the server's numbers at rest.
A page hands it the reading it computed once (:class:`~lossviz.core.pair_reading.PairReading`)
and, when its arrows show another loss (the inverted snippet), that reading too; the
plane's description is built once per scene, readings and settings in the process
(:mod:`~lossviz.ui.instruments.scene_plane`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

from lossviz.core.descent import arrow_scale
from lossviz.core.loss_settings import LossSettings
from lossviz.core.outlines import margin_outline
from lossviz.core.pair_reading import POINT_NAMES, PairReading, Term, margin_cells
from lossviz.figures import COLORS
from lossviz.scenes.scene import ContrastiveScene
from lossviz.ui.components.plane import LiveLoss, PlaneSpec, Regions
from lossviz.ui.instruments.scene_plane import SceneView, show
from lossviz.ui.plane_layers import MARGIN_FILL, margin_shapes
from lossviz.ui.points import ScenePoints

Point = tuple[float, float]
LABELS = {"X1": "X1", "X2": "X2"}
CAPTION = (
    "Drag a point, or click it and use the arrow keys. Shaded: where X2 would be inside the "
    "margin of X1."
)
REGION_RESOLUTION = 200  # cells a side, for a typed distance
MARGIN_PALETTE = {"0": "#ffffff", "1": MARGIN_FILL}
TERM_COLORS = {Term.PULL: COLORS["anchor"], Term.PUSH: COLORS["negative"], Term.NONE: "#8a8d96"}
BADGES = {term.value: (term.label, TERM_COLORS[term]) for term in Term}


def live(margin: float, similar: bool) -> LiveLoss:
    """What the browser computes while a point moves, and the term badges it shows."""
    return LiveLoss(kind="pair", margin=margin, similar=similar, badges=BADGES)


def reading_json(reading: PairReading) -> dict[str, object]:
    """The server's read-out of a pair, in the names ``mirror.js``'s ``readPair`` uses."""
    return {"d": reading.d, "loss": reading.loss, "term": reading.term.value}


def arrows(
    reading: PairReading, points: Mapping[str, Point], bounds: tuple[float, float]
) -> tuple[dict[str, Point], float]:
    """Each point's arrow, ``-gradient * scale``, and the scale.

    As on the triplet plane (the longest at most 15% of the plane), and also at most 45% of
    the gap between the points, so that a pulled pair's arrows do not cross each other.
    """
    scale = arrow_scale(reading.gradients, bounds[1] - bounds[0])
    (x1, y1), (x2, y2) = points["X1"], points["X2"]
    gap = math.hypot(x2 - x1, y2 - y1)
    longest = max(math.hypot(gx, gy) for gx, gy in reading.gradients)
    if gap > 0 and longest * scale > 0.45 * gap:
        scale = 0.45 * gap / longest
    drawn = {
        name: (-gx * scale, -gy * scale)
        for name, (gx, gy) in zip(POINT_NAMES, reading.gradients, strict=True)
    }
    return drawn, scale


@functools.lru_cache(maxsize=64)
def margin_grid(x1: Point, settings: LossSettings, bounds: tuple[float, float]) -> Regions:
    """Where X2 would be inside the margin of X1, as cells: for a typed distance; built once
    per X1 and settings in the process (frozen: shared by every session)."""
    cells = margin_cells(x1, settings, bounds, REGION_RESOLUTION)
    return Regions(size=REGION_RESOLUTION, cells=cells, palette=MARGIN_PALETTE, opacity=0.3)


def regions(x1: Point, settings: LossSettings, bounds: tuple[float, float]) -> dict[str, object]:
    """The plane's ``shapes`` or ``regions``: the margin around X1, exact for a built-in
    distance, else the cell grid."""
    balls = margin_outline(x1, settings)
    if balls is None:
        return {"regions": margin_grid(x1, settings, bounds)}
    return {"shapes": margin_shapes(balls)}


def pair_plane(
    *,
    key: str,
    points: ScenePoints,
    scene: ContrastiveScene,
    reading: PairReading,
    settings: LossSettings,
    arrows_of: PairReading | None = None,
    height_px: int = 520,
    download_name: str = "lossviz-pair",
) -> float:
    """Show the pair plane for ``scene``; returns the arrows' scale. ``reading`` is the
    core's reading of the pair (the read-out; its ``similar`` is the scene's label);
    ``arrows_of`` another reading whose gradients the arrows show instead (the inverted
    snippet's)."""
    view = SceneView.of(key, points.of(scene), points.bounds, settings, CAPTION, height_px,
                        download_name=download_name)  # fmt: skip
    spec, scale = pair_spec(view, reading, arrows_of or reading)
    show(spec, points)
    return scale


@functools.lru_cache(maxsize=256)
def pair_spec(
    view: SceneView, reading: PairReading, arrows_of: PairReading
) -> tuple[PlaneSpec, float]:
    """The pair plane ``view`` asks for, ``reading``'s numbers, ``arrows_of``'s arrows, and
    the arrows' scale; built once per scene in the process (the last 256 kept)."""
    named, settings = view.named, view.settings
    drawn, scale = arrows(arrows_of, named, view.bounds)
    background = regions(named["X1"], settings, view.bounds)
    spec = view.spec(background, drawn, live(settings.margin, reading.similar),
                     reading_json(reading), LABELS)  # fmt: skip
    return spec, scale


__all__ = ["BADGES", "LABELS", "arrows", "live", "pair_plane", "reading_json", "regions"]
