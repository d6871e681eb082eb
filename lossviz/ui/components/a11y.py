"""The page-wide accessibility element: tab stops for formulas and code that scroll, and the theme
on ``<html data-lv-theme>`` for the app's own styles (``assets/a11y.js``).

A Custom Components v2 element that renders nothing, mounted once per script run by
app.py through :func:`accessibility_fixes`; its JS watches the page once per tab.
"""

from __future__ import annotations

from lossviz.ui.components.component import asset_component

_mount = asset_component("a11y")


def accessibility_fixes() -> None:
    """Mount the element (keyed: mounted again on every run, it keeps its one watcher)."""
    _mount(key="lossviz-a11y", data={}, height="content")


__all__ = ["accessibility_fixes"]
