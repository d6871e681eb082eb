"""Class quiz: a teacher opens a room, students join by code and answer, results live."""

import streamlit as st

from lossviz.ui import class_quiz as cq
from lossviz.ui import class_results as cr
from lossviz.ui import quiz as qz
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

st.title("Class quiz: easy, semi-hard or hard?")
cq.keep_browser_identity()
link = cq.read_link()
if link.view == "start":
    st.caption(
        "A teacher opens a room; students join with its code and a nickname and answer the "
        "same ten questions; the teacher's page shows the class's results as they come in."
    )
    cq.check_config()
    cq.show_flash()
    cq.start_view()
elif link.view == "bad":
    cq.show_flash()
    cq.bad_link_view()
elif (rooms := cq.store_or_notice()) is None:
    pass  # the notice says why
elif link.view == "claim":
    cq.claim_view(rooms, link)
elif link.view == "teacher":
    cr.teacher_view(rooms, link.code)
elif link.view == "board":
    cr.board_view(rooms, link.code)
else:
    cq.student_view(rooms, link.code)

with st.sidebar:  # the students' link: the room's code, never the teacher's key
    class_link("pages/class_quiz.py", {"room": link.code} if link.code else {})
qz.definitions_note()
