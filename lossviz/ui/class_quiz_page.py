"""The class quiz's ways in: open a room (teacher), join and answer (student).

Which view a link opens (:func:`read_link`):

- no ``room``: open a room, or go to one by its code;
- ``room`` alone: the student's view (join, then the round);
- ``room`` and ``view=teacher``: the teacher's controls and results; ``view=board``: what
  the teacher projects (the code and the class's results, no nicknames, no controls).
  Both need this browser to hold the room's teacher key (:mod:`browser_identity`);
  neither address carries it;
- ``room`` and ``key``: the teacher's link (bookmarked, or opened on another device). The
  key is kept by this browser and the address becomes ``view=teacher`` at once.

A student's seat belongs to the browser (``browser_identity.seat_for``): a reload, a
closed tab reopened, a server restart or a worker that died puts the student back in the
same seat with their answers, on the first question they have not answered.

Failures of the rooms' storage are logged for the server's administrator
(``logging.getLogger("lossviz.rooms")``) and shown to visitors as a short sentence,
never with a path or a database's message. Nicknames and codes are shown as text only.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from lossviz.core.triplets import Kind
from lossviz.rooms import (
    ConfigError,
    JoinRateLimitedError,
    RateLimitedError,
    RemovedError,
    Room,
    RoomConfig,
    RoomError,
    RoomStore,
    StoreUnavailableError,
    UnknownStudentError,
    parse_code,
)
from lossviz.scenes.scene import QuizScene
from lossviz.teaching.quiz_rounds import QuizError
from lossviz.ui import browser_identity as identity
from lossviz.ui.inert import inert
from lossviz.ui.instruments import quiz_question
from lossviz.ui.state import SceneBinding

LOG = logging.getLogger("lossviz.rooms")
BINDING = SceneBinding(QuizScene, "class_quiz", quiz_question.FIELDS)
ROOM_PARAM, KEY_PARAM, VIEW_PARAM = "room", "key", "view"
TEACHER_VIEW, BOARD_VIEW = "teacher", "board"
POSITIONS_KEY = "class_quiz.positions"
FLASH_KEY = "class_quiz.flash"  # (level, message) a callback leaves for the next run
NICKNAME_KEY = "class_quiz.nickname"
CODE_KEY = "class_quiz.code"
EXAMPLE_CODE = "K7QX2M"
UNAVAILABLE = "Class rooms are unavailable just now: try again in a moment."
SWITCHED_OFF = (
    "Class rooms are switched off on this server by a setting; its administrator can read "
    "why in the server's log."
)


@dataclass(frozen=True)
class Link:
    """What the page's address asks for."""

    view: Literal["start", "student", "teacher", "board", "claim", "bad"]
    code: str | None = None
    key: str | None = None


def _param(name: str) -> str | None:
    values = st.query_params.get_all(name)
    return values[-1] if values else None


def read_link() -> Link:
    raw_room = _param(ROOM_PARAM)
    if raw_room is None:
        return Link("start")
    code = parse_code(raw_room)
    if code is None:
        return Link("bad")
    key = _param(KEY_PARAM)
    if key is not None:
        return Link("claim", code, key)
    view = _param(VIEW_PARAM)
    if view in (TEACHER_VIEW, BOARD_VIEW):
        return Link(view, code)
    return Link("student", code)


def go_to(code: str, view: str | None = None) -> None:
    """Point the address at room ``code`` (a student's view, or ``view``); no secret in it."""
    st.query_params.from_dict({ROOM_PARAM: code, **({VIEW_PARAM: view} if view else {})})


# --------------------------------------------------------------------------- store


@st.cache_resource(show_spinner=False)
def _store(config: RoomConfig) -> RoomStore:
    """A store per configuration: it holds only where rooms live and their limits."""
    return RoomStore(config)


def config() -> RoomConfig:
    """The environment's room settings; ConfigError (logged by the callers) when bad."""
    return RoomConfig.from_env()


def store() -> RoomStore:
    """The store the environment configures (its file or tables are created on first use)."""
    return _store(config())


def _unavailable(problem: Exception) -> str:
    """Log what went wrong for the administrator; the sentence a visitor sees."""
    if isinstance(problem, ConfigError):
        LOG.error("class rooms switched off by a bad setting: %s", problem)
        return SWITCHED_OFF
    LOG.error("class rooms unavailable: %s", problem)
    return UNAVAILABLE


def store_or_notice() -> RoomStore | None:
    """The store, or None after a notice saying (without details) why not."""
    try:
        return store()
    except (ConfigError, StoreUnavailableError) as problem:
        st.error(_unavailable(problem))
    return None


def guarded(view: Callable[..., None]) -> Callable[..., None]:
    """A view that shows a notice, not an exception, when the rooms' storage fails it."""

    @functools.wraps(view)
    def run(*args: object) -> None:
        try:
            view(*args)
        except StoreUnavailableError as problem:
            st.session_state.pop(FLASH_KEY, None)  # an older message would show when it is back
            st.error(_unavailable(problem))

    return run


def check_config() -> bool:
    """Whether the environment's room settings are good (a notice if not); opens nothing."""
    try:
        config()
    except ConfigError as problem:
        st.error(_unavailable(problem))
        return False
    return True


def flash(level: Literal["info", "warning", "error", "success"], message: str) -> None:
    """Leave ``message`` (Markdown of ours; outside text made inert) for the next run."""
    st.session_state[FLASH_KEY] = (level, message)


def show_flash() -> None:
    """The message a callback left (a refused answer, a taken nickname), once."""
    found = st.session_state.pop(FLASH_KEY, None)
    if found is not None:
        level, message = found
        getattr(st, level)(message)


def refusal(problem: RoomError) -> str:
    """A room's refusal as Markdown: its message is text, shown inertly."""
    return inert(problem)


def scene_of(room: Room) -> QuizScene:
    return QuizScene.from_query(room.settings)


def keep_browser_identity() -> None:
    """The cookies that keep seats and teacher keys in this browser (see browser_identity)."""
    try:
        ttl_s = config().ttl_minutes * 60
    except ConfigError:
        ttl_s = 0
    identity.keep(ttl_s)


# --------------------------------------------------------------------------- start


def _create_room() -> None:
    scene = BINDING.commit()
    try:
        answer_key = [int(q.kind) for q in quiz_question.round_for(scene)]
        room, secret = store().create_room(scene.to_query(), answer_key)
    except (QuizError, RoomError) as problem:
        flash("error", f"No room was opened: {refusal(problem)}")
        return
    except (ConfigError, StoreUnavailableError) as problem:
        flash("error", f"No room was opened. {_unavailable(problem)}")
        return
    identity.keep_teacher_key(room.code, secret)
    go_to(room.code, TEACHER_VIEW)


def _go_to_room() -> None:
    code = parse_code(st.session_state.get(CODE_KEY, ""))
    if code is None:
        flash("warning", f"That is not a room code: 6 letters and digits, like {EXAMPLE_CODE}.")
        return
    go_to(code)


def code_form() -> None:
    """A student's way in without a link: type the code the teacher shows."""
    with st.form("class_quiz.code_form", border=False):
        st.text_input("Room code", key=CODE_KEY, max_chars=24, placeholder=EXAMPLE_CODE)
        st.form_submit_button("Go to the room", on_click=_go_to_room, type="primary")


def start_view() -> None:
    """Open a room with the quiz's settings, or go to one by its code."""
    BINDING.load()
    BINDING.warn_about_link()
    # Students first: there are thirty of them, and on a phone the first column is on top.
    student, teacher = st.columns([2, 3], gap="large")
    with student, st.container(border=True):
        st.subheader("Students: join a room")
        st.caption("Open the link your teacher gives you, or type the room's code.")
        code_form()
    with teacher, st.container(border=True):
        st.subheader("Teachers: open a room")
        st.caption("Every student in the room gets the same ten questions, from these settings.")
        quiz_question.round_controls(BINDING)
        st.button(
            "Open a room", on_click=_create_room, type="primary", icon=":material/groups:",
            key="class_quiz.create",
        )  # fmt: skip
    BINDING.commit()


def bad_link_view() -> None:
    st.warning(
        f"This link's room code is not a room code (6 letters and digits, like "
        f"{EXAMPLE_CODE}). Type the code your teacher shows."
    )
    code_form()


def missing_room(code: str) -> None:
    try:
        closes = f"rooms close {config().ttl_minutes / 60:g} hours after they open"
    except ConfigError:
        closes = "rooms close some hours after they open"
    st.warning(f"There is no room {code}: check the code, or the room has closed ({closes}).")
    code_form()


# --------------------------------------------------------------------------- student


def _positions() -> dict[str, int]:
    return st.session_state.setdefault(POSITIONS_KEY, {})


def _join(code: str) -> None:
    nickname = st.session_state.get(NICKNAME_KEY, "")
    try:
        seat = store().join(
            code, nickname, seat=identity.seat_for(code), address=identity.client_address()
        )
    except JoinRateLimitedError as problem:
        flash("warning", refusal(problem))
    except RoomError as problem:
        flash("error", refusal(problem))
    except StoreUnavailableError as problem:
        flash("error", _unavailable(problem))
    else:
        if seat.rejoined:
            flash("info", f"This browser already has a seat here: you are {inert(seat.nickname)}.")


def _answer(code: str, question: int, kind: int) -> None:
    try:
        store().answer(code, identity.seat_for(code), question, kind)
    except RateLimitedError as problem:
        flash("warning", refusal(problem))
    except RoomError as problem:
        flash("error", refusal(problem))
    except StoreUnavailableError as problem:
        flash("error", _unavailable(problem))


def _next(code: str) -> None:
    _positions()[code] = _positions().get(code, 0) + 1


def join_form(room: Room) -> None:
    if room.locked:
        st.info(
            "This room is locked: your teacher is not letting anyone new in. Ask them to "
            "unlock it.",
            icon=":material/lock:",
        )
        return
    with st.form("class_quiz.join", border=True):
        st.text_input(
            "Nickname", key=NICKNAME_KEY, max_chars=24, placeholder="a name for this quiz",
            help="1 to 24 characters, with at least one letter or digit. Only your teacher "
            "sees it.",
        )  # fmt: skip
        st.form_submit_button("Join", on_click=_join, args=(room.code,), type="primary")
    st.caption(
        "No account and nothing personal: your teacher sees your nickname and your answers, "
        "other students see neither. Your seat belongs to this browser: if you reload the "
        "page or come back later, you are back in it with your answers."
    )


def first_unanswered(answered: dict[int, int], length: int) -> int:
    """Where a student who comes back resumes: the first question without an answer."""
    return next((q for q in range(length) if q not in answered), length)


@guarded
def student_view(rooms: RoomStore, code: str) -> None:
    room = rooms.room(code)
    if room is None:
        missing_room(code)
        return
    st.subheader(f"Room {room.code}")
    show_flash()
    try:
        mine = rooms.my_answers(room.code, identity.seat_for(room.code))
    except RemovedError as problem:
        st.error(refusal(problem), icon=":material/person_remove:")
        return
    except UnknownStudentError:
        join_form(room)
        return
    st.text(f"You joined as: {mine.nickname}")
    given = mine.answers
    positions = _positions()
    if room.code not in positions:  # a new session in an old seat: resume where it stopped
        positions[room.code] = first_unanswered(given, room.length)
        if given:
            kept = "your answer is" if len(given) == 1 else f"your {len(given)} answers are"
            st.info(f"Welcome back: {kept} kept, and your score counts them.",
                    icon=":material/event_seat:")  # fmt: skip
    round_view(room, given, positions[room.code])


def round_view(room: Room, given: dict[int, int], position: int) -> None:
    """The question at ``position`` (answered or not), or the round's end."""
    questions = quiz_question.round_for(scene_of(room))
    key = [Kind(k) for k in room.answer_key]
    score = sum(Kind(k) == key[q] for q, k in given.items())
    counters = st.columns(2)
    counters[0].metric("Question", f"{min(position + 1, room.length)} of {room.length}")
    counters[1].metric("Score", f"{score} / {len(given)}")
    if position >= room.length:
        st.subheader(f"Round over: {score} of {room.length} right")
        st.write("Rows: the right kind; columns: your answer.")
        confusion = [[0] * 3 for _ in range(3)]
        for q, k in given.items():
            confusion[key[q]][k] += 1
        st.dataframe(quiz_question.confusion_table(confusion), width="content")
        return
    question = questions[position]
    answered = position in given
    left, right = st.columns([3, 2], gap="large")
    with left:
        quiz_question.show_plane(question, revealed=answered)
    with right:
        if not answered:
            quiz_question.answer_buttons(_answer, (room.code, position), "class_quiz")
        else:
            quiz_question.feedback(question, Kind(given[position]), Kind(key[position]))
            last = position + 1 == room.length
            st.button(
                "See my score" if last else "Next question", on_click=_next,
                args=(room.code,), type="primary", icon=":material/arrow_forward:",
                key="class_quiz.next",
            )  # fmt: skip


# --------------------------------------------------------------------------- teacher's link


def claim_view(rooms: RoomStore, link: Link) -> None:
    """The teacher's link: keep its key in this browser and drop it from the address."""
    if rooms.room(link.code) is None:
        missing_room(link.code)
        return
    if not rooms.is_teacher(link.code, link.key):
        st.error(
            "This teacher's link is not valid: its key does not open this room's results. "
            "Students: open the link without a key."
        )
        return
    identity.keep_teacher_key(link.code, link.key)
    go_to(link.code, TEACHER_VIEW)
    st.rerun()


__all__ = ["BINDING", "Link", "bad_link_view", "check_config", "claim_view", "go_to",
           "keep_browser_identity", "read_link", "show_flash", "start_view", "store",
           "store_or_notice", "student_view"]  # fmt: skip
