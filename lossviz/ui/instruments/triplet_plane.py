"""The triplet plane, built once for every page that shows a triplet to drag.

The playground and the lesson's triplet steps show the same instrument: A, P and N on
the plane (mouse, touch, keys), the kinds N would have at each spot as regions (exact
outlines for a built-in distance, a grid of cells computed by the core for a typed one),
each point's arrow (the loss's negative gradient, scaled to the plane), the live
read-out the browser computes while a point moves (``mirror.js``) and the server's
numbers at rest, the labels and the SVG / PNG downloads. A page hands it the reading it
computed once (:class:`~lossviz.core.triplet_reading.TripletReading`) and the settings;
the plane's description is built once per scene, reading and settings in the process
(:mod:`~lossviz.ui.instruments.scene_plane`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from lossviz.core.descent import arrow_scale
from lossviz.core.grid import kind_cells
from lossviz.core.loss_settings import LossSettings
from lossviz.core.outlines import triplet_outlines
from lossviz.core.triplet_reading import POINT_NAMES, TripletReading, negative_landscape
from lossviz.core.triplets import Kind
from lossviz.figures import KIND_COLORS
from lossviz.scenes.scene import LossScene
from lossviz.ui.components.plane import KIND_REGION_PALETTE, LiveLoss, PlaneSpec, Regions
from lossviz.ui.instruments.scene_plane import SceneView, show
from lossviz.ui.plane_layers import kind_shapes
from lossviz.ui.points import ScenePoints
from lossviz.ui.readouts import KIND_SYMBOLS

Point = tuple[float, float]
LABELS = {"A": "A anchor", "P": "P positive", "N": "N negative"}
DRAG_CAPTION = "Drag a point, or click it and use the arrow keys."
REGIONS_CAPTION = "Background: the kind N would have at each spot."
REGION_RESOLUTION = 200  # cells a side, for a typed distance
BADGES = {kind.label: (f"{KIND_SYMBOLS[kind]} {kind.label}", KIND_COLORS[kind]) for kind in Kind}


def live(margin: float, swap: bool) -> LiveLoss:
    """What the browser computes while a point moves, and the kind badges it shows."""
    return LiveLoss(kind="triplet", margin=margin, swap=swap, badges=BADGES)


def reading_json(reading: TripletReading) -> dict[str, object]:
    """The server's read-out of a triplet, in the names ``mirror.js``'s ``readTriplet`` uses."""
    return {
        "d_ap": reading.d_ap,
        "d_an": reading.d_an,
        "d_pn": reading.d_pn,
        "d_an_used": reading.d_an_used,
        "swap_used": reading.swap_used,
        "loss": reading.loss,
        "kind": reading.kind.label,
    }


def arrows(reading: TripletReading, bounds: tuple[float, float]) -> tuple[dict[str, Point], float]:
    """Each point's arrow, ``-gradient * scale``, and the scale (the longest at most 15% of
    the plane: :func:`lossviz.core.descent.arrow_scale`)."""
    scale = arrow_scale(reading.gradients, bounds[1] - bounds[0])
    drawn = {
        name: (-gx * scale, -gy * scale)
        for name, (gx, gy) in zip(POINT_NAMES, reading.gradients, strict=True)
    }
    return drawn, scale


@functools.lru_cache(maxsize=64)
def region_grid(
    anchor: Point, positive: Point, settings: LossSettings, bounds: tuple[float, float]
) -> Regions:
    """The kinds as 200 x 200 cells, for a typed distance (no known geometry); built once
    per A, P and settings in the process (frozen: shared by every session)."""
    _, kind = negative_landscape(anchor, positive, settings, bounds, REGION_RESOLUTION)
    return Regions(size=REGION_RESOLUTION, cells=kind_cells(kind), palette=KIND_REGION_PALETTE)


def regions(
    points: Mapping[str, Point], d_ap: float, settings: LossSettings, bounds: tuple[float, float]
) -> dict[str, object]:
    """The plane's background (its ``shapes`` or its ``regions``): exact outlines for a
    built-in distance, else the cell grid."""
    outlines = triplet_outlines(points["A"], points["P"], d_ap, settings)
    if outlines is None:
        return {"regions": region_grid(points["A"], points["P"], settings, bounds)}
    return {"shapes": kind_shapes(outlines)}


def triplet_plane(
    *,
    key: str,
    points: ScenePoints,
    scene: LossScene,
    reading: TripletReading,
    settings: LossSettings,
    caption: str = f"{DRAG_CAPTION} {REGIONS_CAPTION}",
    height_px: int = 520,
    draggable: bool = True,
    download_name: str = "lossviz-triplet",
) -> float:
    """Show the triplet plane for ``scene`` (``points`` maps it to A, P, N); returns the
    arrows' scale (for the page's caption). ``reading`` is the core's reading of these
    points under ``settings``; ``draggable=False`` shows them fixed."""
    view = SceneView.of(key, points.of(scene), points.bounds, settings, caption, height_px,
                        not draggable, download_name)  # fmt: skip
    spec, scale = triplet_spec(view, reading)
    show(spec, points)
    return scale


@functools.lru_cache(maxsize=256)
def triplet_spec(view: SceneView, reading: TripletReading) -> tuple[PlaneSpec, float]:
    """The triplet plane ``view`` asks for, with ``reading``'s arrows and numbers, and the
    arrows' scale; built once per scene in the process (the last 256 kept: every student
    opens the default)."""
    named, settings = view.named, view.settings
    drawn, scale = arrows(reading, view.bounds)
    background = regions(named, reading.d_ap, settings, view.bounds)
    spec = view.spec(background, drawn, live(settings.margin, settings.swap),
                     reading_json(reading), LABELS, show_pn=settings.swap)  # fmt: skip
    return spec, scale


__all__ = ["BADGES", "LABELS", "arrows", "live", "reading_json", "regions", "triplet_plane"]
