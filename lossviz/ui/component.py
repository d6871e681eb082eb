"""How lossviz registers its Custom Components v2 elements: inline JS and CSS, no build step."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

MIRROR_JS = Path(__file__).with_name("mirror.js")  # the core's definitions, in the browser


def component_js(stem: Path, preludes: Sequence[Path] = ()) -> str:
    """``stem``.js with each prelude's source in front: one ES module (an inline component
    cannot import another file, so shared code is prepended and its exports are the
    module's too)."""
    parts = [*preludes, stem.with_suffix(".js")]
    return "\n".join(path.read_text(encoding="utf-8") for path in parts)


def inline_component(name: str, stem: Path, preludes: Sequence[Path] = ()):
    """The element ``name`` from ``stem``.js (after ``preludes``) and ``stem``.css.

    No iframe and no build step; styles isolated in a shadow root (our CSS stays out of
    the page and the page's out of ours). Returns the mount function.
    """
    return st.components.v2.component(
        name,
        js=component_js(stem, preludes),
        css=stem.with_suffix(".css").read_text(encoding="utf-8"),
        isolate_styles=True,
    )
