"""Plotly figures (data in, ``go.Figure`` out; no Streamlit, no tensor maths) and the colours.

The one colour table every page uses lives here: ``KIND_COLORS`` (keyed by
:class:`~lossviz.core.triplets.Kind`; Okabe-Ito, safe for the common forms of colour
blindness), ``COLORS`` for roles and lines (its kind entries are ``KIND_COLORS``'s),
``CLASS_COLORS`` for the classes of a data set, ``RUN_COLORS`` for the collapse
page's two runs. The figures are in ``curves`` (loss against delta, contrastive
curves), ``batch`` (the batch's scatter, histogram and margin sweep), ``contrastive`` (the
InfoNCE batch: views, similarity matrix, a row's softmax, loss against temperature) and
``triplet_diagram`` (every triplet at (d(a,p), d(a,n))); kinds reach them already
classified by the core. It may import Plotly, numpy, the loss core and
the standard library; never Streamlit or the UI.
"""

from __future__ import annotations

from lossviz.core.triplets import Kind

KIND_COLORS: dict[Kind, str] = {
    Kind.EASY: "#009E73",  # bluish green
    Kind.SEMI_HARD: "#E69F00",  # orange
    Kind.HARD: "#D55E00",  # vermillion
}
COLORS: dict[str, str] = {
    **{kind.label: color for kind, color in KIND_COLORS.items()},
    "anchor": "#0072B2",  # blue
    "positive": "#56B4E9",  # sky blue
    "negative": "#CC79A7",  # reddish purple
    "loss": "#000000",
    "margin": "#666666",
}

# Plotly figures are drawn by Streamlit in the viewer's theme, light or dark: where a figure
# needs the text's colour or the background's, it names these placeholders, which
# Streamlit's Plotly theme (``st.plotly_chart``'s default ``theme="streamlit"``, checked
# against Streamlit 1.67: ``streamlit.elements.lib.streamlit_plotly_theme``) replaces in
# the browser with the theme's body-text grey, axis-text grey and background. Never black
# or white: a black loss line vanishes on the dark theme.
INK = "#000037"  # Streamlit's GRAY_90: dark grey on light, light grey on dark
MUTED_INK = "#000036"  # Streamlit's GRAY_70: the axes' text colour
BACKGROUND = "#000038"  # Streamlit's BG_COLOR: the page's background


def ink_on(color: str) -> str:
    """Text that reads on a badge filled with ``color`` (``#rrggbb``): near-black
    (``DARK_INK``) or white, whichever contrasts more (WCAG's ratio; near-black on every kind
    colour: 4.9:1 on hard's vermillion, where white has 3.86:1). The same rule as
    ``theme.js``'s ``inkOn``.
    """
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    fill = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return DARK_INK if (fill + 0.05) / (_DARK_INK + 0.05) >= 1.05 / (fill + 0.05) else "#ffffff"


DARK_INK = "#111111"
_DARK_INK = 0.0056  # DARK_INK's relative luminance


# Classes (mining page): Paul Tol's "muted" scheme, colour-blind safe, 10 colours; cycled.
# Ordered so the first classes are far from the anchor / positive blues.
CLASS_COLORS: tuple[str, ...] = ("#117733", "#CC6677", "#DDCC77", "#882255", "#44AA99",
                                 "#999933", "#AA4499", "#332288", "#88CCEE", "#DDDDDD")  # fmt: skip

# Left run, right run (curves): neither is a kind colour, so "hard" is never read as a run.
RUN_COLORS: tuple[str, ...] = ("#CC79A7", "#0072B2")


def class_color(label: int) -> str:
    return CLASS_COLORS[label % len(CLASS_COLORS)]
