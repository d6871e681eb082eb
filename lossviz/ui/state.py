"""A page's scene in ``st.session_state``, bound to its widgets and to the URL.

State flow on a rerun: the URL is read on a
session's first run only; the scene lives in session state; each widget is
keyed by its field name and seeded from the scene; after the widgets run,
the scene is rebuilt from them and written back to the URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import streamlit as st

from lossviz.scene import Scene

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
        """One warning per bad value in the link this session opened (the default is used)."""
        for note in self.link_notes():
            st.warning(f"This link had a bad value, so a default is used: {note}")

    def set(self, scene: S) -> None:
        """Replace the scene and the widgets' values (for callbacks: presets, reset, steps)."""
        st.session_state[self.scene_key] = scene
        for field in self.widget_fields:
            st.session_state[self.widget_key(field)] = getattr(scene, field)

    def update(self, **changes: Any) -> None:
        """Change fields that have no widget (e.g. dragged points)."""
        st.session_state[self.scene_key] = st.session_state[self.scene_key].replace(**changes)

    def commit(self, **overrides: Any) -> S:
        """Rebuild the scene from the widgets (plus ``overrides``), store it, write the URL."""
        values = {field: st.session_state[self.widget_key(field)] for field in self.widget_fields}
        scene = st.session_state[self.scene_key].replace(**values, **overrides)
        st.session_state[self.scene_key] = scene
        query = scene.to_query()
        if st.query_params.to_dict() != query:
            st.query_params.from_dict(query)
        return scene
