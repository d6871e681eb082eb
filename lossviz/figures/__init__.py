"""Plotly figures (data in, ``go.Figure`` out; no Streamlit, no tensor maths) and the colours.

The one colour table every page uses lives here: ``KIND_COLORS`` (keyed by
:class:`~lossviz.triplets.Kind`; Okabe-Ito, safe for the common forms of colour
blindness), ``COLORS`` for roles and lines (its kind entries are ``KIND_COLORS``'s),
``CLASS_COLORS`` for the classes of a data set, ``RUN_COLORS`` for the collapse
page's two runs. The figures are in ``curves`` (loss against delta, contrastive
curves) and ``mining`` (the batch's scatter, histogram and margin sweep); kinds
reach them already classified by the core.
"""

from __future__ import annotations

from lossviz.triplets import Kind

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

# Classes (mining page): Paul Tol's "muted" scheme, colour-blind safe, 10 colours; cycled.
# Ordered so the first classes are far from the anchor / positive blues.
CLASS_COLORS: tuple[str, ...] = ("#117733", "#CC6677", "#DDCC77", "#882255", "#44AA99",
                                 "#999933", "#AA4499", "#332288", "#88CCEE", "#DDDDDD")  # fmt: skip

# Left run, right run (curves): neither is a kind colour, so "hard" is never read as a run.
RUN_COLORS: tuple[str, ...] = ("#CC79A7", "#0072B2")


def class_color(label: int) -> str:
    return CLASS_COLORS[label % len(CLASS_COLORS)]
