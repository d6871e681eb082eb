"""Process-wide setup, done once per server process, and the device badge."""

from __future__ import annotations

import gc
import os

import streamlit as st
import torch

from lossviz.core.device import default_device, describe_device
from lossviz.ui.components.a11y import accessibility_fixes

THREADS_ENV_VAR = "LOSSVIZ_TORCH_THREADS"
PREWARM_ENV_VAR = "LOSSVIZ_PREWARM"  # "0" (or "false", "off", "no"): no training at start-up


@st.cache_resource(show_spinner=False)
def configure_process() -> int:
    """Set torch's thread count once, freeze the import-time heap and prewarm the presets.

    ``gc.freeze()`` moves everything allocated so far (torch, streamlit,
    plotly: hundreds of thousands of objects) out of the collector's view,
    so a collection no longer walks them while holding the GIL. Returns the
    thread count in use. Cached: a second call in the same process is free.
    """
    # One intra-op thread by default: a server runs many sessions' work at once, and on
    # a busy 2-core machine two torch threads made training 5-10x slower (bench/collapse_speed).
    threads = int(os.environ.get(THREADS_ENV_VAR, "0") or 0) or 1
    torch.set_num_threads(threads)
    gc.collect()
    gc.freeze()
    prewarm_runs()
    return threads


def prewarm_enabled() -> bool:
    """Whether to train the collapse presets at start-up: yes in a server unless
    ``LOSSVIZ_PREWARM`` says no; never under AppTest (a test process, no class)."""
    if st.config.get_option("global.appTest"):
        return False
    return os.environ.get(PREWARM_ENV_VAR, "1").strip().lower() not in ("0", "false", "off", "no")


def prewarm_runs() -> int:
    """Queue the collapse presets' runs in the run registry's worker (it trains them in the
    background, in its priority lane, before any custom run); how many were queued."""
    if not prewarm_enabled():
        return 0
    from lossviz.ui.instruments.shared_run import prewarm  # loaded only when used

    return prewarm()


def device_badge() -> None:
    """A sidebar badge naming the device the core computes on."""
    device = default_device()
    color = "green" if device.type == "cuda" else "blue"
    st.sidebar.badge(
        f"Computing on {describe_device(device)}", icon=":material/memory:", color=color
    )


def ensure_navigation() -> None:
    """Run a page through app.py, never on its own as a legacy ``pages/`` script.

    Why a private flag (checked against Streamlit 1.67): a server decides once,
    when its first session starts, whether the app is a legacy multipage app, by
    whether a ``pages/`` folder sits beside the entry point
    (``PagesManager.uses_pages_directory``); until app.py has called
    ``st.navigation`` in some session, a deep link (``/playground``) opened first
    runs the page file alone, without the device badge, the wide layout or the
    process setup. Streamlit offers no option to turn the ``pages/`` scan off
    (``client.showSidebarNavigation`` only hides the menu), and the supported way
    out, renaming the folder, would break the layout this project keeps. So this
    clears the same flag ``st.navigation`` itself clears, and reruns: the run goes
    through app.py. A Streamlit upgrade must re-check it (``test_app`` covers a
    deep link opened first on a fresh server).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# Page links wrap their summaries. Small screens (Streamlit stacks columns below 640 px):
# a smaller title, rows of numbers stay rows, and the presets stay one row that scrolls
# sideways, so that a page's instrument starts on a phone's first screen. Desktop
# layouts are untouched.
# Text contrast of at least 4.5:1 (WCAG 1.4.3) where Streamlit's defaults fall short:
# captions (the text at 60% opacity: #828180 on white, 3.88:1; at 80% they keep 6:1 in both
# themes), a disabled widget's label and value (2.26:1; WCAG exempts inactive controls, but a
# student still reads what the setting is), the slider's value and the open tab's name in the
# accent blue on dark (3.14:1), and the code highlighter's colours (keywords 3.8:1 light and
# 4.12:1 dark, numbers 2.62:1 light, comments 3.61:1 light and 4.33:1 dark): every token kind
# gets a colour of at least 5:1 in each theme.
# Per theme: the a11y element writes html[data-lv-theme]; until it has run, the OS's colour
# scheme decides.
_CODE_NAMES = ("code .token.keyword", "code .token.function", "code .token.builtin",
               "code .token.class-name")  # fmt: skip
_CODE_NUMBERS = ("code .token.number", "code .token.boolean", "code .token.constant")
_CODE_STRINGS = ("code .token.string", "code .token.char", "code .token.attr-value")
_CODE_COMMENTS = ("code .token.comment",)
_CODE_PLAIN = ("code .token.operator", "code .token.punctuation")
_DISABLED = ('label[data-testid="stWidgetLabel"][disabled]',
             '[data-testid="stSliderThumbValue"][disabled]')  # fmt: skip
_ACCENTED = (
    '[data-testid="stSliderThumbValue"]',
    '[data-testid="stSliderThumbValue"] *',
    '[role="tab"][aria-selected="true"]',
    '[role="tab"][aria-selected="true"] *',
)
_LIGHT_COLORS = {_DISABLED: "#5c5b58", _CODE_NAMES: "#0060ad", _CODE_NUMBERS: "#00725a",
                 _CODE_STRINGS: "#9c4a00", _CODE_COMMENTS: "#5c5b58",
                 _CODE_PLAIN: "inherit"}  # fmt: skip
_DARK_COLORS = {_ACCENTED: "#6cb8ef", _DISABLED: "#a19f9b", _CODE_NAMES: "#6cb8ef",
                _CODE_NUMBERS: "#5fd4bb", _CODE_STRINGS: "#f5a35c", _CODE_COMMENTS: "#a19f9b",
                _CODE_PLAIN: "inherit"}  # fmt: skip


def _theme_rules(colors: dict[tuple[str, ...], str], html: str) -> str:
    return "\n".join(
        ", ".join(f"{html} {selector}" for selector in selectors) + f" {{ color: {color}; }}"
        for selectors, color in colors.items()
    )


_CONTRAST_CSS = f"""
[data-testid="stCaptionContainer"] {{ opacity: 0.8; }}
{_theme_rules(_LIGHT_COLORS, 'html:not([data-lv-theme="dark"])')}
{_theme_rules(_DARK_COLORS, 'html[data-lv-theme="dark"]')}
@media (prefers-color-scheme: dark) {{
{_theme_rules(_DARK_COLORS, 'html:not([data-lv-theme="light"])')}
}}
"""

_LAYOUT_CSS = """
/* The a11y element draws nothing: its slot takes no gap in the page's column. */
.st-key-lossviz-a11y { display: none; }
/* Keyboard focus always visible (WCAG 2.4.7) where Streamlit shows none or a faint tint:
   the menu's and the pages' links, the main area, a toggle (its input is hidden) and a
   formula or a code block that scrolls. #1c83e1 keeps 3:1 against both themes'
   backgrounds (1.4.11). */
[data-testid="stSidebar"] a:focus-visible,
[data-testid="stPageLink"] a:focus-visible,
.katex-display[tabindex="0"]:focus-visible,
[data-testid="stCode"] pre[tabindex="0"]:focus-visible {
  outline: 2px solid #1c83e1; outline-offset: 2px;
}
[data-testid="stMain"]:focus-visible { outline: 2px solid #1c83e1; outline-offset: -2px; }
[data-testid="stCheckbox"] label:has(input:focus-visible) {
  outline: 2px solid #1c83e1; outline-offset: 2px; border-radius: 0.25rem;
}
/* A page link's summary wraps instead of ending in "…" (home's list of pages). */
[data-testid="stPageLink"] a > span:last-child,
[data-testid="stPageLink"] a > span:last-child * { white-space: normal; }
[data-testid="stPageLink"] a { height: auto; }
[data-testid="stPageLink"] a > span:last-child { height: auto; overflow: visible; }
[data-testid="stPageLink"] a > span:last-child p { line-height: 1.4; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-top: 3.75rem; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 1.85rem; padding-bottom: 0.25rem; }
  /* A row of metrics (and no nested row): four to a line instead of one. */
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]):not(
      :has([data-testid="stHorizontalBlock"])) { gap: 0.5rem; }
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]):not(
      :has([data-testid="stHorizontalBlock"])) > [data-testid="stColumn"] {
    min-width: calc(25% - 0.5rem); flex: 1 1 calc(25% - 0.5rem); width: auto;
  }
  [data-testid="stMetricValue"] { font-size: 1.5rem; }
  [data-testid="stMetricLabel"] p { font-size: 0.8rem; }
  /* The presets: one row of pills that scrolls sideways. */
  .stElementContainer[class*="-preset"] [data-testid="stButtonGroup"] div:has(> button) {
    flex-wrap: nowrap; overflow-x: auto; scrollbar-width: thin;
  }
  .stElementContainer[class*="-preset"] [data-testid="stButtonGroup"] button { flex: none; }
}
"""


def layout_style() -> None:
    """The app's own contrast and layout rules (``_CONTRAST_CSS``, ``_LAYOUT_CSS``) and the
    accessibility element (formulas and code that scroll take focus; the theme for the
    contrast rules), once per run from app.py."""
    st.html(f"<style>{_CONTRAST_CSS}{_LAYOUT_CSS}</style>")
    accessibility_fixes()
