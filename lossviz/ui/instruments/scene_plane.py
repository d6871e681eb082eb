"""What the triplet plane and the pair plane share: a scene's points as a plane.

A page asks for its plane with a :class:`SceneView` (hashable: the key of each
instrument's per-scene cache, so the plane's description and its JSON are built once
per scene and settings in the process and shared by every session), the instrument adds
what it shows (regions, arrows, live read-out, labels) with :meth:`SceneView.spec`, and
:func:`show` mounts it with the scene's animation, the points' moves written back to
the scene (:class:`~lossviz.ui.points.ScenePoints`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from lossviz.core.loss_settings import LossSettings
from lossviz.ui.components.plane import LiveLoss, PlaneSpec, plane, preview_metric
from lossviz.ui.points import ScenePoints

Point = tuple[float, float]


@dataclass(frozen=True)
class SceneView:
    """A scene's plane as a page asks for it: the element's ``key``, the points (name,
    (x, y)) in order, the plane's ``bounds`` (lo, hi), the loss ``settings`` (the preview's
    distance), the caption, the height in pixels, whether the points are fixed
    (``static``) and the downloads' file stem."""

    key: str
    points: tuple[tuple[str, Point], ...]
    bounds: tuple[float, float]
    settings: LossSettings
    caption: str
    height_px: int
    static: bool
    download_name: str

    @classmethod
    def of(cls, key: str, points: Mapping[str, Point], bounds: tuple[float, float],
           settings: LossSettings, caption: str, height_px: int, static: bool = False,
           download_name: str = "lossviz-plane") -> SceneView:  # fmt: skip
        return cls(key, tuple(points.items()), bounds, settings, caption, height_px, static,
                   download_name)  # fmt: skip

    @property
    def named(self) -> dict[str, Point]:
        """name -> (x, y)."""
        return dict(self.points)

    def spec(self, background: Mapping[str, object], arrows: Mapping[str, Point],
             live: LiveLoss, reading: Mapping[str, object], labels: Mapping[str, str],
             show_pn: bool = False) -> PlaneSpec:  # fmt: skip
        """The plane: these points and what an instrument adds, ``background`` being its
        ``{"shapes": ...}`` or ``{"regions": ...}``; the lines labelled (live) with the
        settings' distance (and P-N too with ``show_pn``)."""
        settings = self.settings
        metric = preview_metric(settings.distance, settings.p, settings.eps, show_pn=show_pn)
        return PlaneSpec(
            key=self.key, points=self.named, bounds=self.bounds, **background, arrows=arrows,
            metric=metric, live=live, reading=reading, labels=labels, caption=self.caption,
            height_px=self.height_px, static=self.static, download_name=self.download_name,
        )  # fmt: skip


def show(spec: PlaneSpec, points: ScenePoints) -> None:
    """Mount ``spec`` with the points' descent animation (if one is playing); a drop moves
    the scene's points."""
    trajectory = points.trajectory()
    if trajectory is not None:
        spec = dataclasses.replace(spec, trajectory=trajectory)
    plane(spec, on_change=points.move)


__all__ = ["SceneView", "show"]
