""" "Check a reference": copied implementations run on the page's scene beside the core.

Each reference's numbers sit next to the torch core's, a ✓ where they agree (within a
relative 1e-6) and a ✗ with the reason where they do not, so that a student learns to
test a reference before trusting it. The numbers come from :mod:`lossviz.teaching.references`;
the core's side is the reading the page computed and hands over (never read again here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import NonFiniteError
from lossviz.core.pair_reading import PairReading
from lossviz.core.triplet_reading import TripletReading
from lossviz.teaching.references import (
    TUTORIAL_CODE,
    ReferenceCheck,
    compare_pair_readings,
    contrastive_reference_check,
    inverted_snippet_code,
    triplet_reference_check,
)
from lossviz.ui.inert import inert

Point = Sequence[float]


def _number(value: float) -> str:
    return f"{value:.6g}"


def check_table(check: ReferenceCheck, reference_name: str) -> None:
    """The compared numbers as a table (core, reference, verdict) and the reasons below it."""
    if check.message:
        st.caption(check.message)
    if not check.rows:
        return
    lines = [f"| | core (torch) | {reference_name} | |", "|---|---:|---:|---|"]
    for row in check.rows:
        verdict = ":green[✓ agrees]" if row.agree else ":red[**✗ differs**]"
        lines.append(f"| {row.name} | {_number(row.core)} | {_number(row.reference)} | {verdict} |")
    st.markdown("\n".join(lines))
    for reason in dict.fromkeys(row.reason for row in check.rows if not row.agree):
        st.markdown(f":red[✗] {reason}")


def _tutorial(points: Sequence[Point], settings: LossSettings, reading: TripletReading) -> None:
    st.markdown(
        "**1. The NumPy triplet loss of many tutorials**, run on A, P and N with this page's "
        "p, eps and margin:"
    )
    st.code(TUTORIAL_CODE, language="python")
    check = triplet_reference_check(points, settings, reading)
    check_table(check, "tutorial")
    if check.applicable and check.agree and settings.distance != "chebyshev":
        st.caption("It agrees here. Now choose Chebyshev (p = ∞) in the sidebar and look again.")


def _snippet(points: Sequence[Point], settings: LossSettings) -> None:
    st.markdown(
        "**2. A much-copied contrastive-loss snippet**, fed the labels its docstring "
        "promises (1 = similar): A–P as a similar pair, A–N as a dissimilar one."
    )
    st.code(inverted_snippet_code(settings.margin), language="python")
    anchor, positive, negative = points
    for title, pair, similar in (("A–P, similar", [anchor, positive], True),
                                 ("A–N, dissimilar", [anchor, negative], False)):  # fmt: skip
        st.markdown(f"*{title}*")
        check_table(contrastive_reference_check(pair, similar, settings), "snippet")


def triplet_reference_panel(
    points: Sequence[Point],
    settings: LossSettings,
    reading: TripletReading,
    key: str,
    toggle_in: Any = None,
) -> None:
    """The playground's panel behind a toggle (in ``toggle_in``; the panel here), following
    every drop once on: the NumPy tutorial on the triplet (A, P, N: ``points``, rows of
    (x, y)), beside ``reading``, the page's reading of it; the snippet on its pairs."""
    toggle = (toggle_in or st).toggle
    if not toggle("Check a reference", key=key, help="Run two widely copied "
                  "implementations on this scene, beside the PyTorch core."):  # fmt: skip
        return
    with st.container(border=True):
        st.caption(
            "Code copied from a tutorial is not a reference until it is tested. Here two "
            "widely copied implementations run on this scene, beside the PyTorch core."
        )
        try:
            _tutorial(points, settings, reading)
            _snippet(points, settings)
        except NonFiniteError as problem:
            st.warning(inert(problem))


def pair_reference_panel(core: PairReading, snippet: PairReading) -> None:
    """The contrastive page's check: the inverted snippet on the pair, with its label; the
    page's two readings of it (the core's, the snippet's) handed over."""
    label = "similar (1)" if core.similar else "dissimilar (0)"
    st.markdown(f"**Check it.** The snippet, fed this pair as *{label}*, beside the core:")
    check_table(compare_pair_readings(core, snippet), "snippet")


__all__ = ["check_table", "pair_reference_panel", "triplet_reference_panel"]
