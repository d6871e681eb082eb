"""Draggable points kept in a page's scene: the plane's callback, presets, steps, animation.

The playground (A, P, N) and the contrastive page (X1, X2) store each point
as two scene fields; this class is the one place that maps between the two
and keeps the page's lesson and descent animation in session state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from lossviz.core.device import default_device
from lossviz.scenes.scene import Scene
from lossviz.ui.components.plane import Trajectory
from lossviz.ui.state import SceneBinding

Point = tuple[float, float]
DESCENT_STEPS = 50  # what "Descend" animates


class ScenePoints:
    """Points named ``names`` stored in the scene fields ``coords`` ((x field, y field) each).

    ``in_use(scene)``, when given, says how many of them (the first ones) the scene shows
    (InfoNCE's k negatives of 16); the others keep their fields unchanged.
    """

    def __init__(
        self, binding: SceneBinding, names: Sequence[str], coords: Sequence[tuple[str, str]],
        in_use: Callable[[Scene], int] | None = None,
    ):  # fmt: skip
        self.binding = binding
        self.names = tuple(names)
        self.coords = tuple(coords)
        self._in_use = in_use
        self._trajectory_key = f"{binding.page}.trajectory"
        self._lesson_key = f"{binding.page}.lesson"
        spec = binding.scene_cls.field_spec(self.coords[0][0])
        self.bounds = (spec.lo, spec.hi)

    def count(self, scene: Scene) -> int:
        """How many of the points the scene shows."""
        return len(self.names) if self._in_use is None else self._in_use(scene)

    def of(self, scene: Scene) -> dict[str, Point]:
        """name -> (x, y) for a scene (the points it shows)."""
        used = self.count(scene)
        return {
            name: (getattr(scene, fx), getattr(scene, fy))
            for name, (fx, fy) in zip(self.names[:used], self.coords[:used], strict=True)
        }

    def positions(self, scene: Scene) -> list[list[float]]:
        """The points as rows, in ``names`` order (what the core takes)."""
        return [list(xy) for xy in self.of(scene).values()]

    def _fields(self, positions: Sequence[Sequence[float]]) -> dict[str, float]:
        return {
            field: float(value)
            for (fx, fy), (x, y) in zip(self.coords[: len(positions)], positions, strict=True)
            for field, value in ((fx, x), (fy, y))
        }

    def move(self, points: Mapping[str, Point]) -> None:
        """The plane's ``on_change``: the dropped positions become the scene's."""
        current = self.of(self.binding.load())
        self.binding.update(**self._fields([points.get(n, xy) for n, xy in current.items()]))
        st.session_state[self._trajectory_key] = None

    def apply(self, scene: Scene, lesson: str | None = None) -> None:
        """Show ``scene`` (a preset, or the defaults for Reset) with its lesson, no animation."""
        self.binding.set(scene)
        st.session_state[self._trajectory_key] = None
        st.session_state[self._lesson_key] = lesson

    def lesson(self) -> str | None:
        return st.session_state.get(self._lesson_key)

    def follow(self, path: Sequence[Sequence[Sequence[float]]]) -> None:
        """Move to the end of a descent ``path`` (frames x points x 2); animate it if it is long."""
        self.binding.update(**self._fields(path[-1]))
        trajectory = None
        if len(path) > 2:
            previous = self.trajectory()
            frames = [
                {n: (float(x), float(y)) for n, (x, y) in zip(self.names, frame, strict=False)}
                for frame in path
            ]
            animation_id = previous.animation_id + 1 if previous else 1
            trajectory = Trajectory(frames=frames, animation_id=animation_id)
        st.session_state[self._trajectory_key] = trajectory

    def trajectory(self) -> Trajectory | None:
        return st.session_state.get(self._trajectory_key)


def page_header(binding: SceneBinding, title: str, lead: str) -> Scene:
    """A points page's top: the title, ``lead`` (what to drag) and where the core computes,
    and a notice about a bad link; returns the page's scene (``binding.load()``)."""
    scene = binding.load()
    st.title(title)
    st.caption(
        f"{lead} Everything below is recomputed by the PyTorch core on "
        f"**{default_device().type}** as you drop a point."
    )
    binding.warn_about_link()
    return scene


RESET = "reset"  # the presets bar's last pill


def presets_bar(points: ScenePoints, presets: Mapping, on_reset: Callable[[], None]) -> None:
    """The presets as one row of pills (each shows its scene and lesson), Reset last, and the
    chosen preset's lesson. One widget, not a button per preset: a rerun sends one element
    instead of seventeen (the buttons, their columns and rows)."""
    key = f"{points.binding.page}.preset"

    def chosen() -> None:
        name = st.session_state[key]
        st.session_state[key] = None  # a pill here is an action, not a lasting choice
        if name == RESET:
            on_reset()
        elif name in presets:
            points.apply(presets[name].scene, presets[name].lesson)

    st.pills(
        "Presets",
        [*presets, RESET],
        key=key,
        format_func=lambda name: (
            ":material/restart_alt: Reset" if name == RESET else presets[name].title
        ),
        on_change=chosen,
        label_visibility="collapsed",
    )
    if points.lesson():
        st.info(points.lesson(), icon=":material/school:")


def descent_buttons(
    step: Callable[..., None], settings: object, caption: str, widths=(1, 1, 2)
) -> None:
    """Step (one gradient-descent step) and Descend (``DESCENT_STEPS``, animated), and a caption.

    ``step(settings, steps=1)`` is the page's action; it runs as a button callback.
    """
    buttons = st.columns(list(widths))
    buttons[0].button("Step", on_click=step, args=(settings,), icon=":material/skip_next:")
    buttons[1].button(
        f"Descend {DESCENT_STEPS}",
        on_click=step,
        args=(settings, DESCENT_STEPS),
        icon=":material/play_arrow:",
    )
    buttons[2].caption(caption)
