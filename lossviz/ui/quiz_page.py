"""The quiz page's state and read-outs: the round, the answers, the plane, the summary.

The seed and the settings live in the URL (a :class:`QuizScene`), so a teacher's link
gives every student the same questions; the answers live only in this browser
session's ``st.session_state`` (``quiz.answers``, ``quiz.position``), never in the URL.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lossviz.scenes.scene import QuizScene
from lossviz.teaching.quiz_rounds import (
    Question,
    RoundSummary,
    question_pairs,
    summarize,
)
from lossviz.ui.instruments.quiz_question import FIELDS, confusion_table
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(QuizScene, "quiz", FIELDS)
ANSWERS_KEY = "quiz.answers"  # answered kinds (ints), in question order
POSITION_KEY = "quiz.position"  # the question on screen (== len(answers) until answered)
ROUND_KEY = "quiz.round_for"  # the scene the answers belong to


def answers() -> list[int]:
    return st.session_state.setdefault(ANSWERS_KEY, [])


def position() -> int:
    return st.session_state.setdefault(POSITION_KEY, 0)


def _restart() -> None:
    st.session_state[ANSWERS_KEY] = []
    st.session_state[POSITION_KEY] = 0


def follow(scene: QuizScene) -> None:
    """Start over when the seed or a setting changed since the answers were given."""
    if st.session_state.get(ROUND_KEY) != scene:
        st.session_state[ROUND_KEY] = scene
        _restart()


def answer(kind: int) -> None:
    """An answer button's callback: record the answer to the question on screen, once."""
    given = answers()
    if position() == len(given):
        given.append(int(kind))


def next_question() -> None:
    if position() < len(answers()):
        st.session_state[POSITION_KEY] = position() + 1


def new_round() -> None:
    """The next seed (the same next round for everyone on this link) and no answers."""
    scene = BINDING.load()
    seed_spec = QuizScene.field_spec("seed")
    seed = scene.seed + 1 if scene.seed < seed_spec.hi else int(seed_spec.lo)
    BINDING.set(scene.replace(seed=seed))
    _restart()


def restart_round() -> None:
    _restart()


def summary(questions: list[Question]) -> RoundSummary:
    return summarize(question_pairs(questions, answers()))


def confusion_frame(result: RoundSummary) -> pd.DataFrame:
    """Rows: the true kind; columns: the kind answered; cells: how many questions."""
    return confusion_table(result.confusion)
