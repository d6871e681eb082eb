"""How lossviz registers its Custom Components v2 elements: inline JS and CSS, no build step."""

from __future__ import annotations

from pathlib import Path

import streamlit as st


def inline_component(name: str, stem: Path):
    """The element ``name`` from ``stem``.js and ``stem``.css (the files beside a module).

    No iframe and no build step; styles isolated in a shadow root (our CSS stays out of
    the page and the page's out of ours). Returns the mount function.
    """
    return st.components.v2.component(
        name,
        js=stem.with_suffix(".js").read_text(encoding="utf-8"),
        css=stem.with_suffix(".css").read_text(encoding="utf-8"),
        isolate_styles=True,
    )
