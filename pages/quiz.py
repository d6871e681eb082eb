"""Quiz: is this triplet easy, semi-hard or hard? Ten questions a round, shared by seed."""

import streamlit as st

from lossviz.quiz import ROUND_LENGTH
from lossviz.snippets import triplet_snippet
from lossviz.triplets import Kind
from lossviz.ui import quiz as qz
from lossviz.ui.copy_code import copy_as_code
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = qz.BINDING
scene = binding.load()
st.title("Quiz: easy, semi-hard or hard?")
st.caption(
    "Look at the anchor **A**, the positive **P** and the negative **N**, then answer. "
    "Everyone who opens this page's link gets the same questions."
)
binding.warn_about_link()

with st.sidebar:
    st.subheader("Quiz")
    qz.round_controls(binding)
    st.button("New round", on_click=qz.new_round, icon=":material/refresh:", key="quiz.new_side")
scene = binding.commit()
with st.sidebar:
    class_link("pages/quiz.py", scene.to_query())
qz.follow(scene)

questions = qz.round_for(scene)
position = qz.position()
given = qz.answers()
result = qz.summary(questions)
missing = {k.label for k in qz.KINDS} - {q.kind.label for q in questions}
if missing:
    st.info(
        f"No {' or '.join(sorted(missing))} triplet fits these settings (try a smaller margin)."
    )

counters = st.columns(3)
counters[0].metric("Question", f"{min(position + 1, ROUND_LENGTH)} of {len(questions)}")
counters[1].metric("Score", f"{result.score} / {len(given)}")
counters[2].metric("Streak", result.streak, help=f"Best streak: {result.best_streak}")

if position >= len(questions):
    st.subheader(f"Round over: {result.score} of {result.total} right")
    st.write(f"Best streak: **{result.best_streak}**. Rows: the right kind; columns: your answer.")
    st.dataframe(qz.confusion_frame(result), width="content")
    buttons = st.columns([1, 1, 3])
    buttons[0].button("New round", on_click=qz.new_round, type="primary", key="quiz.new_end")
    buttons[1].button("Try this round again", on_click=qz.restart_round)
else:
    question = questions[position]
    answered = position < len(given)
    left, right = st.columns([3, 2], gap="large")
    with left:
        qz.show_plane(question, revealed=answered)
    with right:
        if not answered:
            qz.answer_buttons(qz.answer, (), "quiz")
        else:
            qz.feedback(question, Kind(given[position]))
            copy_as_code(
                lambda: triplet_snippet(question.points, question.settings),
                "This question's triplet and its loss",
                key="quiz.show_code",
            )
            last = position + 1 == len(questions)
            st.button(
                "See the summary" if last else "Next question", on_click=qz.next_question,
                type="primary", icon=":material/arrow_forward:", key="quiz.next",
            )  # fmt: skip

qz.definitions_note()
