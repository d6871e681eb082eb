"""Small Streamlit read-outs shared by the loss pages: the kind badge, explanations and how a
small number is written."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from lossviz.core.triplets import Kind
from lossviz.figures import KIND_COLORS, ink_on

KIND_SYMBOLS = {Kind.EASY: "✓", Kind.SEMI_HARD: "◐", Kind.HARD: "✗"}


def small_number(value: float) -> str:
    """Three decimals, or three significant digits below 0.001 (a bound of 8.24e-09 is not
    0, and the plane's read-out says 8.24e-9)."""
    return f"{value:.3f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.2e}"


def kind_badge(kind: Kind) -> None:
    """The triplet's kind as a large pill in the kind's colour, with a symbol (not colour alone).

    Only constants reach the HTML: the label and colour come from ``Kind`` and ``KIND_COLORS``.
    The fill reads on light and dark pages alike; its text is the ink that reads on the fill
    (``ink_on``: near-black on every kind's colour, at least 4.8:1).
    """
    st.markdown(
        f'<div style="font-size:0.875rem">kind</div>'
        f'<div data-testid="kind-badge" data-kind="{kind.label}" style="display:inline-block;'
        f"margin-top:0.4rem;padding:0.25rem 0.7rem;border-radius:1rem;font-size:1.25rem;"
        f"font-weight:600;white-space:nowrap;color:{ink_on(KIND_COLORS[kind])};"
        f'background:{KIND_COLORS[kind]}">'
        f"{KIND_SYMBOLS[kind]} {kind.label}</div>",
        unsafe_allow_html=True,
    )


def playground_explainer() -> None:
    with st.expander("What am I looking at?", icon=":material/help:"):
        st.markdown(
            """
**The points.** A is the *anchor*, P a *positive* (same class as A) and N a *negative*
(another class). An encoder should put A near P and far from N.

**The loss.** The triplet loss is `max(d(a,p) − d(a,n) + m, 0)`: zero once N is farther
from A than P is by at least the margin *m*, and growing the closer N gets.

**The kinds.** With δ = d(a,n) − d(a,p): *hard* if δ ≤ 0 (N is as close as P or closer),
*semi-hard* if 0 < δ ≤ m (farther, but inside the margin: the loss is still positive),
*easy* if δ > m (loss 0: this triplet teaches the encoder nothing).

**The background.** Every spot of the plane is coloured by the kind N *would* have there,
with A and P where they are. For a p-norm the borders are the p-balls around A of radius
d(a,p) (hard inside) and d(a,p) + m (easy outside): circles for p = 2, diamonds for p = 1,
squares for p = ∞. With swap on, a second region appears around P.

**The arrows.** The negative gradient of the loss for each point, from torch autograd:
where gradient descent would move it. *Step* takes one step; *Descend* takes 50 and
animates them. An easy triplet has no arrows: its loss is flat zero.

**The heatmap.** The loss itself for every position of N; the white line is where it
reaches zero (the easy border).
"""
        )


def kinds_in_words(counts: Mapping[Kind, int]) -> str:
    """``counts`` as words for a chart's text summary: "12 easy, 30 semi-hard, 4 hard"."""
    return ", ".join(f"{counts.get(kind, 0):,} {kind.label}" for kind in Kind)
