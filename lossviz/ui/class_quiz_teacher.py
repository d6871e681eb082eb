"""The teacher's two views of a room: the controls (at the desk) and the board (projected).

- **Teacher** (``?room=CODE&view=teacher``): the code, the students' link, the live
  results with every student's nickname, and the controls: lock or unlock the room,
  remove a student, the teacher's link (with the key, for another device: private).
- **Board** (``?room=CODE&view=board``): what the class sees on the projector: the
  code, large, the students' link and the live results without nicknames, controls or
  key.

Both need this browser to hold the room's key (``browser_identity.teacher_key``), and
neither address carries it. The results are re-read from the store every ``POLL_S``
seconds by a fragment, so the page is never reloaded. Nicknames are shown only as text
(a dataframe's cells, a select box's options).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from lossviz.core.triplets import Kind
from lossviz.rooms import (
    AccessDeniedError,
    ClassResults,
    Room,
    RoomError,
    RoomNotFoundError,
    RoomStore,
    StoreUnavailableError,
    parse_code,
)
from lossviz.teaching.quiz_rounds import explain
from lossviz.ui import browser_identity as identity
from lossviz.ui import class_quiz_page as cq
from lossviz.ui.instruments import quiz_question
from lossviz.ui.navigation import page_address
from lossviz.ui.readouts import kind_badge

PAGE = "pages/class_quiz.py"
POLL_S = 2.0  # the results re-read the store this often
REMOVE_KEY = "class_quiz.remove_choice"  # + the count of removals: a fresh box after each
REMOVALS_KEY = "class_quiz.removals"
NO_KEY = (
    "This browser does not hold this room's teacher key. Open your teacher's link (the one "
    "with the key, from the browser where you opened the room) here once."
)


def student_link(code: str) -> str:
    return f"{page_address(PAGE)}?{cq.ROOM_PARAM}={code}"


def teacher_link(code: str, key: str) -> str:
    return f"{student_link(code)}&{cq.KEY_PARAM}={key}"  # token_urlsafe: nothing to escape


def big_code(code: str) -> None:
    """The room code, large enough to read from the back of a classroom."""
    safe = parse_code(code)  # only A-Z and 2-9 reach the HTML
    if safe is None:
        return
    st.markdown(
        '<div style="font-size:0.9rem">Room code</div>'
        f'<div data-testid="room-code" style="font-size:5rem;font-weight:700;'
        f'letter-spacing:0.3rem;line-height:1.1;white-space:nowrap;font-family:monospace">'
        f"{safe}</div>",
        unsafe_allow_html=True,
    )


def settings_line(room: Room) -> str:
    scene = cq.scene_of(room)
    swap = "with swap" if scene.swap else "no swap"
    closes = datetime.fromtimestamp(room.expires, UTC).strftime("%H:%M UTC")
    return (
        f"Seed {scene.seed}, {scene.difficulty}, {scene.distance}, margin {scene.margin:g}, "
        f"{swap}. The room closes at {closes}."
    )


def _key_or_notice(rooms: RoomStore, code: str) -> str | None:
    """This browser's key of room ``code`` if it opens the room, else None after a notice."""
    if rooms.room(code) is None:
        cq.missing_room(code)
        return None
    key = identity.teacher_key(code)
    if key is None or not rooms.is_teacher(code, key):
        identity.forget_teacher_key(code)
        st.error(NO_KEY, icon=":material/key_off:")
        return None
    return key


# --------------------------------------------------------------------------- controls


def _set_locked(code: str, locked: bool) -> None:
    key = identity.teacher_key(code)
    try:
        cq.store().set_locked(code, key, locked)
    except RoomError as problem:
        cq.flash("error", cq.refusal(problem))
    except StoreUnavailableError as problem:
        cq.flash("error", cq._unavailable(problem))


def _remove(code: str) -> None:
    student_id = st.session_state.get(_remove_key())
    if student_id is None:
        return
    try:
        cq.store().remove_student(code, identity.teacher_key(code), student_id)
    except RoomError as problem:
        cq.flash("error", cq.refusal(problem))
    except StoreUnavailableError as problem:
        cq.flash("error", cq._unavailable(problem))
    else:
        st.session_state[REMOVALS_KEY] = st.session_state.get(REMOVALS_KEY, 0) + 1
        cq.flash("success", "Removed: that seat is gone with its answers, and cannot join again.")


def _remove_key() -> str:
    return f"{REMOVE_KEY}.{st.session_state.get(REMOVALS_KEY, 0)}"


def lock_controls(room: Room) -> None:
    """Lock or unlock the room (students already in keep their seats)."""
    if room.locked:
        st.info("Locked: nobody new can join; students already in keep their seats.",
                icon=":material/lock:")  # fmt: skip
        st.button("Unlock the room", on_click=_set_locked, args=(room.code, False),
                  icon=":material/lock_open:", key="class_quiz.unlock")  # fmt: skip
    else:
        st.button("Lock the room", on_click=_set_locked, args=(room.code, True),
                  icon=":material/lock:", key="class_quiz.lock",
                  help="Once the class has joined: nobody new can join.")  # fmt: skip


@st.fragment
def remove_panel(code: str) -> None:
    """Remove a student: a list of the room's nicknames (as the options' text).

    A fragment of its own, without a timer: the results' polling would close the list
    while the teacher reads it. It reads the room's students when it runs (the page's
    runs, its own button, and "Refresh the list").
    """
    cq.show_flash()  # a lock's or a removal's message (this fragment runs after either)
    try:
        results = cq.store().results(code, identity.teacher_key(code))
    except (RoomError, StoreUnavailableError):
        return  # the results below say why
    names = {s.student_id: s.nickname for s in results.students}
    with st.form("class_quiz.remove", border=False):
        st.selectbox(
            "Remove a student", list(names), format_func=lambda sid: names.get(sid, str(sid)),
            index=None, key=_remove_key(), placeholder="Pick a nickname",
            help="For a seat that is not a student of yours (a joke name, a second seat). "
            "Their answers leave the results and this browser of theirs cannot join again.",
        )  # fmt: skip
        left, right = st.columns(2)
        left.form_submit_button("Remove", on_click=_remove, args=(code,),
                                icon=":material/person_remove:")  # fmt: skip
        right.form_submit_button("Refresh the list", icon=":material/refresh:")


@cq.guarded
def teacher_view(rooms: RoomStore, code: str) -> None:
    key = _key_or_notice(rooms, code)
    if key is None:
        return
    results = rooms.results(code, key)
    room = results.room
    top = st.columns(2, gap="large")
    with top[0]:
        big_code(room.code)
        st.caption(settings_line(room))
        st.button("Show the projector view", on_click=cq.go_to, args=(room.code, cq.BOARD_VIEW),
                  icon=":material/co_present:", key="class_quiz.to_board",
                  help="The code and the class's results, large, without nicknames, "
                  "controls or key: safe to project.")  # fmt: skip
    with top[1]:
        st.markdown("**Students' link** (or the code, on this page)")
        st.code(student_link(room.code), language=None)
        with st.expander("Your teacher's link: keep it private", icon=":material/key:"):
            st.caption(
                "It opens these controls in another browser (your phone, the classroom's "
                "computer); opened once there, that browser keeps the key and the address "
                "bar drops it. Never project it."
            )
            st.code(teacher_link(room.code, key), language=None)
        lock_controls(room)
        remove_panel(room.code)
        st.button("Open another room", on_click=st.query_params.clear, key="class_quiz.new_room")
    live_results(code, with_names=True)


@cq.guarded
def board_view(rooms: RoomStore, code: str) -> None:
    if _key_or_notice(rooms, code) is None:
        return
    top = st.columns([2, 3], gap="large")
    with top[0]:
        big_code(code)
    with top[1]:
        st.markdown("**Join at**")
        st.code(student_link(code), language=None)
        st.caption("Open the link, or open the Class quiz page of lossviz and type the code.")
    live_results(code, with_names=False)
    st.button("Back to the teacher's controls", on_click=cq.go_to,
              args=(code, cq.TEACHER_VIEW), key="class_quiz.to_teacher")  # fmt: skip


# --------------------------------------------------------------------------- results


@st.fragment(run_every=POLL_S)
def live_results(code: str, with_names: bool) -> None:
    """The class's results, re-read from the store every ``POLL_S`` seconds."""
    key = identity.teacher_key(code)
    try:
        results = cq.store().results(code, key)
    except (RoomNotFoundError, AccessDeniedError) as problem:
        st.warning(cq.refusal(problem))
        return
    except StoreUnavailableError as problem:
        st.warning(f"{cq._unavailable(problem)} Trying again in {POLL_S:g} s.")
        return
    show_results(results, with_names)


def per_question(results: ClassResults) -> pd.DataFrame:
    columns = [f"Q{i + 1}" for i in range(results.room.length)]
    right = [a - w for a, w in zip(results.answered, results.wrong, strict=True)]
    return pd.DataFrame(
        [list(results.answered), right, list(results.wrong)],
        index=["answered", "right", "wrong"],
        columns=columns,
    )


def score_histogram(results: ClassResults) -> pd.DataFrame:
    frame = pd.DataFrame({"students": list(results.histogram)})
    frame.index.name = "right answers"
    return frame


def students_frame(results: ClassResults) -> pd.DataFrame:
    return pd.DataFrame(
        [(s.nickname, s.answered, s.score) for s in results.students],
        columns=["nickname", "answered", "right"],
    )


def show_results(results: ClassResults, with_names: bool) -> None:
    room = results.room
    total = results.total_answers
    right = total - sum(results.wrong)
    counters = st.columns(4)
    counters[0].metric("Joined", results.joined)
    counters[1].metric("Answers", f"{total} of {results.joined * room.length}")
    counters[2].metric("Finished", f"{results.finished} of {results.joined}")
    counters[3].metric("Right", f"{round(100 * right / total)}%" if total else "–")
    st.markdown("**Answers per question**")
    st.table(per_question(results))
    left, right_column = st.columns(2, gap="large")
    with left:
        st.markdown("**Scores** (students who answered at least once)")
        st.bar_chart(score_histogram(results), x_label="right answers", y_label="students")
    with right_column:
        st.markdown("**The class's confusion** (rows: the right kind; columns: answered)")
        st.table(quiz_question.confusion_table(results.confusion))
    if with_names:
        with st.expander(f"Students ({results.joined})", icon=":material/group:"):
            st.dataframe(students_frame(results), hide_index=True)
    missed = results.most_missed
    if missed is None:
        st.info("The question most got wrong shows here once someone answers wrong.")
        return
    question = quiz_question.round_for(cq.scene_of(room))[missed]
    st.subheader(
        f"Most missed: question {missed + 1} "
        f"({results.wrong[missed]} of {results.answered[missed]} wrong)"
    )
    left, right_column = st.columns([3, 2], gap="large")
    with left:
        quiz_question.show_plane(question, revealed=True)
    with right_column:
        kind_badge(Kind(room.answer_key[missed]))
        st.markdown(explain(question))


__all__ = ["board_view", "show_results", "student_link", "teacher_link", "teacher_view"]
