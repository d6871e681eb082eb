"""A Plotly figure built once and shared read-only by every session."""

from __future__ import annotations

import functools

import plotly.graph_objects as go


class SharedFigure(go.Figure):
    """A figure built once and shared read-only by every session (never changed after it
    is built): its :meth:`to_dict`, which ``st.plotly_chart`` serialises on every rerun (a
    deep copy of every array and of the theme's template), is computed once. Treat what it
    returns as read-only. ``SharedFigure(figure)`` shares a figure built elsewhere (one
    copy, when it is made)."""

    @functools.cached_property
    def _shared_dict(self) -> dict:
        return super().to_dict()

    def to_dict(self) -> dict:
        return self._shared_dict


class PrebuiltFigure(go.Figure):
    """A figure given as the dict ``st.plotly_chart`` sends (never validated again): for
    figures assembled from parts built once, such as an animation's frames. ``spec`` holds
    ``data``, ``layout`` and optionally ``frames``, as :meth:`go.Figure.to_dict` writes them
    (typed arrays allowed); shared read-only."""

    def __init__(self, spec: dict):
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec


__all__ = ["PrebuiltFigure", "SharedFigure"]
