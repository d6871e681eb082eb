"""Quiz: is this triplet easy, semi-hard or hard? Ten questions a round, shared by seed."""

import streamlit as st

from lossviz.core.triplets import Kind
from lossviz.teaching.quiz_rounds import ROUND_LENGTH
from lossviz.teaching.snippets import triplet_snippet
from lossviz.ui import quiz_page
from lossviz.ui.copy_code import copy_as_code
from lossviz.ui.instruments import quiz_question
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = quiz_page.BINDING
scene = binding.load()
st.title("Quiz: easy, semi-hard or hard?")
st.caption(
    "Look at the anchor **A**, the positive **P** and the negative **N**, then answer. "
    "Everyone who opens this page's link gets the same questions."
)
binding.warn_about_link()

with st.sidebar:
    st.subheader("Quiz")
    quiz_question.round_controls(binding)
    st.button(
        "New round", on_click=quiz_page.new_round, icon=":material/refresh:", key="quiz.new_side"
    )
scene = binding.commit()
with st.sidebar:
    class_link("pages/quiz.py", scene.to_query())
quiz_page.follow(scene)

questions = quiz_question.round_for(scene)
position = quiz_page.position()
given = quiz_page.answers()
result = quiz_page.summary(questions)
missing = {k.label for k in quiz_question.KINDS} - {q.kind.label for q in questions}
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
    st.dataframe(quiz_page.confusion_frame(result), width="content")
    buttons = st.columns([1, 1, 3])
    buttons[0].button("New round", on_click=quiz_page.new_round, type="primary", key="quiz.new_end")
    buttons[1].button("Try this round again", on_click=quiz_page.restart_round)
else:
    question = questions[position]
    answered = position < len(given)
    left, right = st.columns([3, 2], gap="large")
    with left:
        quiz_question.show_plane(question, revealed=answered)
    with right:
        if not answered:
            quiz_question.answer_buttons(quiz_page.answer, (), "quiz")
        else:
            quiz_question.feedback(question, Kind(given[position]))
            copy_as_code(
                lambda: triplet_snippet(question.points, question.settings),
                "This question's triplet and its loss",
                key="quiz.show_code",
            )
            last = position + 1 == len(questions)
            st.button(
                "See the summary" if last else "Next question", on_click=quiz_page.next_question,
                type="primary", icon=":material/arrow_forward:", key="quiz.next",
            )  # fmt: skip

quiz_question.definitions_note()
