"""A page's scene in ``st.session_state``, bound to its widgets and to the URL.

State flow on a rerun: the URL is read on a
session's first run only; the scene lives in session state; each widget is
keyed by its field name and seeded from the scene; after the widgets run,
the scene is rebuilt from them and written back to the URL, beside the presenter
parameters (``hide``, ``present``: :mod:`lossviz.ui.presenter`), which it keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import streamlit as st

from lossviz.scenes.scene import Scene
from lossviz.ui.inert import inert_list
from lossviz.ui.presenter import PRESENTER_PARAMS

S = TypeVar("S", bound=Scene)


class SceneBinding(Generic[S]):
    """One page's scene: ``load`` it, build widgets on ``widget_key``s, then ``commit``."""

    def __init__(self, scene_cls: type[S], page: str, widget_fields: Iterable[str]):
        self.scene_cls = scene_cls
        self.page = page
        self.widget_fields = tuple(widget_fields)
        self.scene_key = f"{page}.scene"
        self.notes_key = f"{page}.link_notes"

    def widget_key(self, field: str) -> str:
        return f"{self.page}.{field}"

    def load(self) -> S:
        """The scene: from the URL on the session's first run, then from session state.

        Widget keys that Streamlit dropped (the widget was not shown on the
        last run, e.g. after visiting another page) are re-seeded from the scene.
        """
        state = st.session_state
        if self.scene_key not in state:
            query = {key: st.query_params.get_all(key) for key in st.query_params}
            scene, notes = self.scene_cls.parse_query(query)
            state[self.scene_key] = scene
            state[self.notes_key] = notes
        scene = state[self.scene_key]
        for field in self.widget_fields:
            key = self.widget_key(field)
            # Re-assigned on every run, not only when missing: a widget hidden for a run or
            # two (e.g. blob sliders while real data is shown) otherwise comes back showing a
            # stale value and sends it with the next interaction.
            state[key] = state[key] if key in state else getattr(scene, field)
        return scene

    def link_notes(self) -> list[str]:
        """What was wrong with the link this session opened (empty when nothing was)."""
        return st.session_state.get(self.notes_key, [])

    def warn_about_link(self) -> None:
        """One warning listing the bad values of the link this session opened (defaults used)."""
        notes = self.link_notes()
        if notes:
            values = "a bad value" if len(notes) == 1 else f"{len(notes)} bad values"
            st.warning(
                f"This link had {values}, so defaults are used:\n\n{inert_list(notes)}",
                icon=":material/link_off:",
            )

    def set(self, scene: S) -> None:
        """Replace the scene and the widgets' values (for callbacks: presets, reset, steps)."""
        st.session_state[self.scene_key] = scene
        for field in self.widget_fields:
            st.session_state[self.widget_key(field)] = getattr(scene, field)

    def update(self, **changes: Any) -> None:
        """Change fields that have no widget (e.g. dragged points)."""
        st.session_state[self.scene_key] = st.session_state[self.scene_key].replace(**changes)

    def commit(self, **overrides: Any) -> S:
        """Rebuild the scene from the widgets (plus ``overrides``), store it, write the URL.

        The URL becomes the scene's fields and the presenter parameters it already had
        (``PRESENTER_PARAMS``): a teacher's ``?hide=...&present=1`` outlives every change."""
        values = {field: st.session_state[self.widget_key(field)] for field in self.widget_fields}
        scene = st.session_state[self.scene_key].replace(**values, **overrides)
        st.session_state[self.scene_key] = scene
        current = st.query_params.to_dict()
        kept = {name: current[name] for name in PRESENTER_PARAMS if name in current}
        query = {**scene.to_query(), **kept}
        if current != query:
            st.query_params.from_dict(query)
        return scene


class SessionSceneBinding(SceneBinding[S]):
    """A scene in session state only: it starts as ``preset`` and never touches the URL.

    For an instrument inside a page whose link says something else (a lesson step's
    scene: the lesson's link holds only the step). Widgets, ``set`` and ``update`` work
    as for :class:`SceneBinding`.
    """

    def __init__(self, preset: S, page: str, widget_fields: Iterable[str]):
        super().__init__(type(preset), page, widget_fields)
        self.preset = preset

    def load(self) -> S:
        """The scene (the preset on the session's first run); widget keys re-seeded."""
        st.session_state.setdefault(self.scene_key, self.preset)
        return super().load()

    def link_notes(self) -> list[str]:
        return []

    def commit(self, **overrides: Any) -> S:
        """Rebuild the scene from the widgets (plus ``overrides``) and store it."""
        values = {field: st.session_state[self.widget_key(field)] for field in self.widget_fields}
        scene = st.session_state[self.scene_key].replace(**values, **overrides)
        st.session_state[self.scene_key] = scene
        return scene
