"""A quiz question, as the quiz and the class quiz show it: the round a scene stands for,
its settings' controls, the triplet (fixed, with a margin ruler, its regions once
answered), the answer buttons, the feedback, the confusion table and the definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from lossviz.core.outlines import triplet_outlines
from lossviz.core.triplets import Kind
from lossviz.figures import COLORS
from lossviz.scenes.scene import QuizScene
from lossviz.teaching.quiz_rounds import (
    BOUNDS,
    Question,
    explain,
    make_round,
    margin_ruler,
)
from lossviz.ui import widgets
from lossviz.ui.components.plane import Metric, PlaneSpec, Shapes, plane
from lossviz.ui.plane_layers import kind_shapes
from lossviz.ui.readouts import kind_badge
from lossviz.ui.state import SceneBinding

FIELDS = ("seed", "difficulty", "distance", "swap", "margin")


KINDS = (Kind.EASY, Kind.SEMI_HARD, Kind.HARD)


PLANE_KEY = "quiz.plane"


@st.cache_data(max_entries=64, show_spinner=False)
def round_for(scene: QuizScene) -> list[Question]:
    """The round a scene (seed and settings) stands for: the same for every student."""
    return make_round(scene.seed, scene.difficulty, scene.distance, scene.swap, scene.margin)


def round_controls(binding: SceneBinding) -> None:
    """The settings a round is made from (the quiz's sidebar, the class quiz's room form)."""
    widgets.choice(binding, "difficulty", style="radio", horizontal=True)
    widgets.choice(binding, "distance")
    widgets.toggle(binding, "swap")
    widgets.slider(binding, "margin")
    widgets.number(binding, "seed")


def _shapes(question: Question) -> Shapes:
    """The kinds N would have, as exact outlines (a quiz uses built-in distances only)."""
    anchor, positive, _ = question.points
    return kind_shapes(triplet_outlines(anchor, positive, question.d_ap, question.settings))


def show_plane(question: Question, revealed: bool) -> None:
    """The question's triplet, fixed, with a margin ruler; the regions once answered.

    The ruler (a segment as long as the margin, grey, "m = ...") is drawn for the p-norms,
    where a length on the plane is a distance; the cosine distance is an angle, so there
    only the caption gives the margin.
    """
    settings = question.settings
    kind = "cosine" if settings.distance == "cosine" else "lp"
    m = question.margin
    points = question.named_points
    labels = {"A": "A anchor", "P": "P positive", "N": "N negative"}
    lines = [("A", "P"), ("A", "N")] + ([("P", "N")] if settings.swap else [])
    colors = {}
    if kind == "lp":
        start, end = margin_ruler(question.points, m)
        points |= {"m0": start, "m1": end}
        labels |= {"m0": "", "m1": f"m = {m:g}"}
        colors = {"m0": COLORS["margin"], "m1": COLORS["margin"]}
        lines.append(("m0", "m1"))
    if revealed:
        caption = (
            f"Background: the kind N would have at each spot (margin m = {m:g}); "
            "green easy, orange semi-hard, red hard."
        )
    else:
        ruler = " The grey segment is as long as the margin." if kind == "lp" else ""
        caption = f"Margin m = {m:g}.{ruler} The regions appear once you answer."
    spec = PlaneSpec(
        key=PLANE_KEY,
        points=points,
        bounds=BOUNDS,
        shapes=_shapes(question) if revealed else None,
        metric=Metric(kind="none"),  # lines without numbers: the distances sit beside it
        labels=labels,
        colors=colors,
        lines=lines,
        caption=caption,
        height_px=480,
        static=True,  # the browser never sends: no on_change
    )
    plane(spec)


def answer_buttons(on_answer: Callable[..., None], args: tuple, key_prefix: str) -> None:
    """The question and one button per kind; a click calls ``on_answer(*args, kind)``."""
    st.markdown("#### Is this triplet easy, semi-hard or hard?")
    for kind in KINDS:
        st.button(
            kind.label, on_click=on_answer, args=(*args, int(kind)), width="stretch",
            key=f"{key_prefix}.answer.{kind.label}",
        )  # fmt: skip


def feedback(question: Question, chosen: Kind, right: Kind | None = None) -> None:
    """Right or wrong, the kind, the distances and why (``right``: the question's kind)."""
    right = question.kind if right is None else right
    if chosen == right:
        st.success(f"Right: it is **{right.label}**.", icon=":material/check:")
    else:
        st.error(
            f"Not quite: you said {chosen.label}, the answer is **{right.label}**.",
            icon=":material/close:",
        )
    kind_badge(right)
    numbers = st.columns(3 if question.settings.swap else 2)
    numbers[0].metric("d(a, p)", f"{question.d_ap:.3f}")
    numbers[1].metric("d(a, n)", f"{question.d_an:.3f}")
    if question.settings.swap:
        numbers[2].metric("d(p, n)", f"{question.d_pn:.3f}")
    st.markdown(explain(question))


def confusion_table(confusion: Sequence[Sequence[int]]) -> pd.DataFrame:
    """``confusion[true kind][answered kind]`` (``Kind`` values) as the quiz shows it."""
    labels = [k.label for k in KINDS]
    rows = [[int(confusion[int(true)][int(given)]) for given in KINDS] for true in KINDS]
    frame = pd.DataFrame(rows, index=[f"was {x}" for x in labels], columns=labels)
    frame.columns.name = "answered →"
    return frame


def definitions_note() -> None:
    with st.expander("Definitions differ", icon=":material/menu_book:"):
        st.markdown(
            """
Libraries do not agree on which triplets are *semi-hard* (δ = d(a,n) − d(a,p), m the margin):

- **pytorch-metric-learning** (`TripletMarginMiner`): semi-hard if **0 < δ ≤ m**; a tie
  (δ = 0) is hard and δ = m is still semi-hard.
- **The FaceNet paper** and **Olivier Moindrot's blog post** on triplet mining: strictly
  **0 < δ < m**.
- **TensorFlow Addons** (`triplet_semihard_loss`) and **sentence-transformers**
  (`BatchSemiHardTripletLoss`): per anchor and positive, the *nearest negative farther than
  the positive*, with **no margin bound**; when there is none, the *farthest* negative.

**This app uses pytorch-metric-learning's definition**: hard if δ ≤ 0, semi-hard if
0 < δ ≤ m, easy if δ > m. "Boundary" questions come near δ = 0 and δ = m but never land
exactly on them, where pytorch-metric-learning and FaceNet would disagree.
"""
        )
