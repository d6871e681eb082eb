"""Class quiz: a teacher opens a room, students join by code and answer, results live."""

import streamlit as st

from lossviz.ui import class_quiz_page, class_quiz_teacher
from lossviz.ui.instruments import quiz_question
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

st.title("Class quiz: easy, semi-hard or hard?")
class_quiz_page.keep_browser_identity()
link = class_quiz_page.read_link()
if link.view == "start":
    st.caption(
        "A teacher opens a room; students join with its code and a nickname and answer the "
        "same ten questions; the teacher's page shows the class's results as they come in."
    )
    class_quiz_page.check_config()
    class_quiz_page.show_flash()
    class_quiz_page.start_view()
elif link.view == "bad":
    class_quiz_page.show_flash()
    class_quiz_page.bad_link_view()
elif (rooms := class_quiz_page.store_or_notice()) is None:
    pass  # the notice says why
elif link.view == "claim":
    class_quiz_page.claim_view(rooms, link)
elif link.view == "teacher":
    class_quiz_teacher.teacher_view(rooms, link.code)
elif link.view == "board":
    class_quiz_teacher.board_view(rooms, link.code)
else:
    class_quiz_page.student_view(rooms, link.code)

with st.sidebar:  # the students' link: the room's code, never the teacher's key
    class_link("pages/class_quiz.py", {"room": link.code} if link.code else {})
quiz_question.definitions_note()
