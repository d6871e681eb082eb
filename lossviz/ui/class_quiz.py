"""The class quiz's views: open a room (teacher), join and answer (student), live results.

Which view a link opens (:func:`read_link`): no ``room`` -> open or join a room; ``room``
alone -> the student's view; ``room`` and ``key`` -> the teacher's results. The rooms
live in SQLite (:mod:`lossviz.rooms`); this session keeps only its student tokens
(``class_quiz.tokens``: room code -> token) and question positions
(``class_quiz.positions``) in ``st.session_state``, so a reloaded tab joins again.

Nicknames are shown as text only (``st.text``, ``st.dataframe``), never in Markdown or
HTML; the only value put into HTML is a room code that :func:`~lossviz.rooms.parse_code`
accepted (uppercase letters and digits).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import pandas as pd
import streamlit as st

from lossviz.quiz import QuizError, explain
from lossviz.rooms import (
    AccessDeniedError,
    ClassResults,
    ConfigError,
    RateLimitedError,
    Room,
    RoomConfig,
    RoomError,
    RoomNotFoundError,
    RoomStore,
    UnknownStudentError,
    parse_code,
)
from lossviz.scene import QuizScene
from lossviz.triplets import Kind
from lossviz.ui import quiz as qz
from lossviz.ui.readouts import kind_badge
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(QuizScene, "class_quiz", qz.FIELDS)
PAGE_PATH = "/class_quiz"  # the link's path when the browser's URL is unknown
ROOM_PARAM, KEY_PARAM = "room", "key"
POLL_S = 2.0  # the teacher's results re-read the database this often
TOKENS_KEY = "class_quiz.tokens"
POSITIONS_KEY = "class_quiz.positions"
FLASH_KEY = "class_quiz.flash"  # (level, message) a callback leaves for the next run
NICKNAME_KEY = "class_quiz.nickname"
CODE_KEY = "class_quiz.code"
EXAMPLE_CODE = "K7QX2M"
UNAVAILABLE = "The rooms file cannot be read or written just now: try again in a moment"


@dataclass(frozen=True)
class Link:
    """What the page's address asks for."""

    view: Literal["start", "student", "teacher", "bad"]
    code: str | None = None
    key: str | None = None


def _param(name: str) -> str | None:
    values = st.query_params.get_all(name)
    return values[-1] if values else None


def read_link() -> Link:
    raw_room, key = _param(ROOM_PARAM), _param(KEY_PARAM)
    if raw_room is None:
        return Link("start")
    code = parse_code(raw_room)
    if code is None:
        return Link("bad")
    return Link("student", code) if key is None else Link("teacher", code, key)


# --------------------------------------------------------------------------- store


@st.cache_resource(show_spinner=False)
def _store(path: str, ttl_minutes: float, max_students: int, interval_s: float) -> RoomStore:
    """A store per configuration: it holds only the path and the limits, no room."""
    config = RoomConfig(path, ttl_minutes, max_students, interval_s)
    return RoomStore(config.db_path, config)


def store() -> RoomStore:
    """The store the environment configures (``RoomConfig.from_env``)."""
    c = RoomConfig.from_env()
    return _store(str(c.db_path), c.ttl_minutes, c.max_students, c.answer_interval_s)


def store_or_notice() -> RoomStore | None:
    """The store (the file is created on first use), or None after a notice saying why not."""
    try:
        return store()
    except ConfigError as problem:
        st.error(f"Class rooms are switched off by a bad setting: {problem}.")
    except (OSError, sqlite3.Error) as problem:
        st.error(f"Class rooms are unavailable: the rooms file cannot be opened ({problem}).")
    return None


def guarded(view: Callable[..., None]) -> Callable[..., None]:
    """A view that shows a notice, not an exception, when the rooms file fails it."""

    @functools.wraps(view)
    def run(*args: object) -> None:
        try:
            view(*args)
        except sqlite3.Error as problem:
            st.error(f"{UNAVAILABLE} ({problem}).")

    return run


def check_config() -> bool:
    """Whether the environment's room settings are good (a notice if not); opens no file."""
    try:
        RoomConfig.from_env()
    except ConfigError as problem:
        st.error(f"Class rooms are switched off by a bad setting: {problem}.")
        return False
    return True


def _flash(level: Literal["info", "warning", "error"], message: str) -> None:
    st.session_state[FLASH_KEY] = (level, message)


def show_flash() -> None:
    """The message a callback left (a refused answer, a taken nickname), once."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is not None:
        level, message = flash
        getattr(st, level)(message)


def scene_of(room: Room) -> QuizScene:
    return QuizScene.from_query(room.settings)


def _page_url() -> str:
    """This page's address as the browser reaches it (behind a proxy too), else its path.

    From the websocket's ``Origin`` and the server's base path, not ``st.context.url``:
    Streamlit 1.67 trims another page's name off it ("quiz" from ".../class_quiz").
    """
    origin = st.context.headers.get("Origin", "")
    if not origin.startswith(("http://", "https://")) or "?" in origin or "#" in origin:
        return PAGE_PATH
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{origin.rstrip('/')}{'/' + base if base else ''}{PAGE_PATH}"


def student_link(code: str) -> str:
    return f"{_page_url()}?{ROOM_PARAM}={code}"


def teacher_link(code: str, key: str) -> str:
    return f"{student_link(code)}&{KEY_PARAM}={key}"  # token_urlsafe: nothing to escape


# --------------------------------------------------------------------------- start


def _create_room() -> None:
    scene = BINDING.commit()
    try:
        answer_key = [int(q.kind) for q in qz.round_for(scene)]
        room, secret = store().create_room(scene.to_query(), answer_key)
    except (QuizError, RoomError) as problem:
        _flash("error", f"No room was opened: {problem}")
        return
    except (ConfigError, OSError, sqlite3.Error) as problem:
        _flash("error", f"No room was opened: the rooms file is unavailable ({problem}).")
        return
    st.query_params.from_dict({ROOM_PARAM: room.code, KEY_PARAM: secret})


def _go_to_room() -> None:
    code = parse_code(st.session_state.get(CODE_KEY, ""))
    if code is None:
        _flash("warning", f"That is not a room code: 6 letters and digits, like {EXAMPLE_CODE}.")
        return
    st.query_params.from_dict({ROOM_PARAM: code})


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
        qz.round_controls(BINDING)
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
    hours = RoomConfig.from_env().ttl_minutes / 60
    st.warning(
        f"There is no room {code}: check the code, or the room has closed (rooms close "
        f"{hours:g} hours after they open)."
    )
    code_form()


# --------------------------------------------------------------------------- student


def _tokens() -> dict[str, str]:
    return st.session_state.setdefault(TOKENS_KEY, {})


def _positions() -> dict[str, int]:
    return st.session_state.setdefault(POSITIONS_KEY, {})


def _join(code: str) -> None:
    try:
        _tokens()[code] = store().join(code, st.session_state.get(NICKNAME_KEY, ""))
    except RoomError as problem:
        _flash("error", str(problem))
    except sqlite3.Error as problem:
        _flash("error", f"{UNAVAILABLE} ({problem})")
    else:
        _positions()[code] = 0


def _answer(code: str, question: int, kind: int) -> None:
    try:
        store().answer(code, _tokens().get(code), question, kind)
    except RateLimitedError as problem:
        _flash("warning", str(problem))
    except RoomError as problem:
        _flash("error", str(problem))
    except sqlite3.Error as problem:
        _flash("error", f"{UNAVAILABLE} ({problem})")


def _next(code: str) -> None:
    _positions()[code] = _positions().get(code, 0) + 1


def join_form(code: str) -> None:
    with st.form("class_quiz.join", border=True):
        st.text_input(
            "Nickname", key=NICKNAME_KEY, max_chars=24, placeholder="a name for this quiz",
            help="1 to 24 characters. Only your teacher sees it.",
        )  # fmt: skip
        st.form_submit_button("Join", on_click=_join, args=(code,), type="primary")
    st.caption(
        "No account and nothing personal: your teacher sees your nickname and your answers, "
        "other students see neither. This tab is your seat: if you reload it, join again "
        "with another nickname."
    )


@guarded
def student_view(rooms: RoomStore, code: str) -> None:
    room = rooms.room(code)
    if room is None:
        missing_room(code)
        return
    st.subheader(f"Room {room.code}")
    show_flash()
    token = _tokens().get(room.code)
    try:
        mine = rooms.my_answers(room.code, token) if token else None
    except (UnknownStudentError, RoomNotFoundError):
        mine = None
    if mine is None:
        join_form(room.code)
        return
    st.text(f"You joined as: {mine.nickname}")
    questions = qz.round_for(scene_of(room))
    key = [Kind(k) for k in room.answer_key]
    position = _positions().get(room.code, 0)
    given = mine.answers
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
        st.dataframe(qz.confusion_table(confusion), width="content")
        return
    question = questions[position]
    answered = position in given
    left, right = st.columns([3, 2], gap="large")
    with left:
        qz.show_plane(question, revealed=answered)
    with right:
        if not answered:
            qz.answer_buttons(_answer, (room.code, position), "class_quiz")
        else:
            qz.feedback(question, Kind(given[position]), Kind(key[position]))
            last = position + 1 == room.length
            st.button(
                "See my score" if last else "Next question", on_click=_next,
                args=(room.code,), type="primary", icon=":material/arrow_forward:",
                key="class_quiz.next",
            )  # fmt: skip


# --------------------------------------------------------------------------- teacher


def _new_room() -> None:
    st.query_params.clear()


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
    scene = scene_of(room)
    swap = "with swap" if scene.swap else "no swap"
    closes = datetime.fromtimestamp(room.expires, UTC).strftime("%H:%M UTC")
    return (
        f"Seed {scene.seed}, {scene.difficulty}, {scene.distance}, margin {scene.margin:g}, "
        f"{swap}. The room closes at {closes}."
    )


@guarded
def teacher_view(rooms: RoomStore, code: str, key: str) -> None:
    try:
        results = rooms.results(code, key)
    except RoomNotFoundError:
        missing_room(code)
        return
    except AccessDeniedError:
        st.error(
            "This teacher's link is not valid: its key does not open this room's results. "
            "Students: use the link without `key`."
        )
        return
    room = results.room
    top = st.columns(2, gap="large")
    with top[0]:
        big_code(room.code)
        st.caption(settings_line(room))
    with top[1]:
        st.markdown("**Students' link** (or the code above, on this page)")
        st.code(student_link(room.code), language=None)
        with st.expander("Your teacher's link: keep it private", icon=":material/key:"):
            st.caption("It opens these results; bookmark it to come back.")
            st.code(teacher_link(room.code, key), language=None)
        st.button("Open another room", on_click=_new_room, key="class_quiz.new_room")
    live_results(code, key)


@st.fragment(run_every=POLL_S)
def live_results(code: str, key: str) -> None:
    """The class's results, re-read from the database every ``POLL_S`` seconds."""
    try:
        results = store().results(code, key)
    except RoomError as problem:
        st.warning(str(problem))
        return
    except sqlite3.Error as problem:
        st.warning(f"{UNAVAILABLE} ({problem}); trying again in {POLL_S:g} s.")
        return
    show_results(results)


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


def show_results(results: ClassResults) -> None:
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
        st.table(qz.confusion_table(results.confusion))
    with st.expander(f"Students ({results.joined})", icon=":material/group:"):
        st.dataframe(students_frame(results), hide_index=True)
    missed = results.most_missed
    if missed is None:
        st.info("The question most got wrong shows here once someone answers wrong.")
        return
    question = qz.round_for(scene_of(room))[missed]
    st.subheader(
        f"Most missed: question {missed + 1} "
        f"({results.wrong[missed]} of {results.answered[missed]} wrong)"
    )
    left, right_column = st.columns([3, 2], gap="large")
    with left:
        qz.show_plane(question, revealed=True)
    with right_column:
        kind_badge(Kind(room.answer_key[missed]))
        st.markdown(explain(question))
