"""The circle plane: an anchor, its positive and k negatives read by InfoNCE.

The InfoNCE page and the lesson's temperature steps show the same instrument: A, P and
N1 ... Nk on the unit circle (or off it, raw dot products), each candidate's softmax
weight as a bar beside it and as its arrow's width, the arrows ``-gradient`` (along the
circle), the live read-out the browser computes while a point moves (``mirror.js``) and
the server's numbers at rest. A page hands it the reading it computed once
(:class:`~lossviz.core.circle_reading.CircleReading`); the plane's description is built
once per scene and reading in the process.
"""

from __future__ import annotations

import dataclasses
import functools

from lossviz.core.circle_reading import CircleReading
from lossviz.core.descent import arrow_scale
from lossviz.figures import COLORS
from lossviz.ui.components.infonce_readout import infonce_reading_json, infonce_weights
from lossviz.ui.components.plane import LiveLoss, PlaneSpec
from lossviz.ui.instruments.scene_plane import show
from lossviz.ui.points import ScenePoints

Point = tuple[float, float]
ON_CIRCLE_BOUNDS = (-1.6, 1.6)
CAPTION_ON = (
    "Drag a point along the circle, or click it and use the arrow keys. Bars: each "
    "candidate's softmax weight (the negatives' are their shares of the push on A)."
)
CAPTION_OFF = (
    "Off the circle: drag a point anywhere (its length counts now), or click it and use the "
    "arrow keys. Bars: each candidate's softmax weight."
)


def colors(names: tuple[str, ...]) -> dict[str, str]:
    """A in the anchor's colour, P in the positive's, every negative in the negative's."""
    palette = {"A": COLORS["anchor"], "P": COLORS["positive"]}
    return {name: palette.get(name, COLORS["negative"]) for name in names}


def arrows(reading: CircleReading, bounds: tuple[float, float]) -> tuple[dict[str, Point], float]:
    """Each point's arrow, ``-gradient * scale``, and the scale (the longest at most 15% of
    the plane, as on the other planes)."""
    scale = arrow_scale(list(reading.gradients.values()), bounds[1] - bounds[0])
    drawn = {name: (-gx * scale, -gy * scale) for name, (gx, gy) in reading.gradients.items()}
    return drawn, scale


@dataclasses.dataclass(frozen=True)
class CircleView:
    """The circle plane as a page asks for it (hashable: the key of the per-process cache).

    ``points``: (name, (x, y)) in order A, P, N1 ...; ``on_circle``: normalised (the unit
    circle drawn and moves kept on it) or raw dot products; ``bounds`` (lo, hi)."""

    key: str
    points: tuple[tuple[str, Point], ...]
    temperature: float
    on_circle: bool
    bounds: tuple[float, float]
    height_px: int = 520
    static: bool = False
    download_name: str = "lossviz-infonce"


@functools.lru_cache(maxsize=256)
def circle_spec(view: CircleView, reading: CircleReading) -> tuple[PlaneSpec, float]:
    """The plane for ``view`` with ``reading``'s numbers, weights and arrows, and the arrows'
    scale; built once per scene in the process (the last 256 kept)."""
    drawn, scale = arrows(reading, view.bounds)
    named = dict(view.points)
    live = LiveLoss(kind="infonce", margin=0.0, badges={}, temperature=view.temperature,
                    on_circle=view.on_circle)  # fmt: skip
    spec = PlaneSpec(
        key=view.key, points=named, bounds=view.bounds, arrows=drawn, live=live,
        reading=infonce_reading_json(reading), labels={n: n for n in named},
        colors=colors(tuple(named)), caption=CAPTION_ON if view.on_circle else CAPTION_OFF,
        height_px=view.height_px, static=view.static, download_name=view.download_name,
        circle=view.on_circle, weights=infonce_weights(reading),
    )  # fmt: skip
    return spec, scale


def circle_plane(view: CircleView, reading: CircleReading, points: ScenePoints) -> float:
    """Show the circle plane (with the scene's descent animation, if one is playing); a
    drop moves the scene's points. Returns the arrows' scale."""
    spec, scale = circle_spec(view, reading)
    show(spec, points)
    return scale


__all__ = ["CircleView", "arrows", "circle_plane", "circle_spec", "colors"]
