"""How lossviz registers its Custom Components v2 elements: JS and CSS files, no build step.

The files live in ``lossviz/ui/components/assets`` (one ES module per element, ``mirror.js`` shared
by ``import``). ``pyproject.toml`` declares that folder as the components' ``asset_dir``
(``[tool.streamlit.component]``), so when lossviz is installed (``make run`` and ``make
test`` install it editable) Streamlit serves the files and each element's delta names
its module instead of carrying it: the plane's ~45 KB of JS then crosses the wire once
per browser, not on every rerun. Where the manifest is not found (lossviz not installed,
or installed from a wheel, which has no ``pyproject.toml``) the same sources are sent
inline, ``mirror.js``'s import resolved by prepending it. No iframe either way; styles
isolated in a shadow root.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager

ASSETS = Path(__file__).with_name("assets")
MIRROR_JS = ASSETS / "mirror.js"  # the core's definitions, in the browser
PACKAGE = "lossviz"  # the manifest's project name: components are "lossviz.<name>"

# `import { a, b } from "./other.js";` on one line: what inline_js resolves.
_LOCAL_IMPORT = re.compile(r'^import\s*\{[^}]*\}\s*from\s*"\./([\w-]+\.js)";\s*$', re.MULTILINE)


def inline_js(path: Path) -> str:
    """``path``'s module with its local imports resolved: each imported file's source in
    front (recursively, once each), the import lines removed. One self-contained module,
    for an inline component and for the tests that import a module from a string."""
    seen: set[Path] = set()

    def expand(file: Path) -> str:
        if file in seen:
            return ""
        seen.add(file)
        source = file.read_text(encoding="utf-8")
        parts = [expand(file.with_name(name)) for name in _LOCAL_IMPORT.findall(source)]
        return "\n".join([*parts, _LOCAL_IMPORT.sub("", source)])

    return expand(path)


def asset_component(name: str) -> Callable[..., Any]:
    """The mount function of element ``lossviz.<name>`` (``assets/<name>.js`` and ``.css``).

    Registered on each Streamlit runtime's component manager the first time it mounts
    there (a server has one; every AppTest makes its own): file-backed when that manager
    knows lossviz's ``asset_dir``, else inline.
    """
    full_name = f"{PACKAGE}.{name}"
    renderers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def mount(**kwargs: Any) -> Any:
        manager = get_bidi_component_manager()
        renderer = renderers.get(manager)
        if renderer is None:
            if manager.get_component_asset_root(full_name) is not None:
                js, css = f"{name}.js", f"{name}.css"
            else:
                js = inline_js(ASSETS / f"{name}.js")
                css = (ASSETS / f"{name}.css").read_text(encoding="utf-8")
            renderer = st.components.v2.component(full_name, js=js, css=css, isolate_styles=True)
            renderers[manager] = renderer
        return renderer(**kwargs)

    return mount


__all__ = ["ASSETS", "MIRROR_JS", "asset_component", "inline_js"]
