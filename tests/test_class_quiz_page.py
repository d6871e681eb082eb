"""The class quiz page headless (AppTest): open a room, join, answer, the teacher's results,
and links that must show nothing (a student's, a wrong key, malformed codes)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.core.triplets import Kind
from lossviz.rooms import RoomStore
from lossviz.scenes.scene import QuizScene
from lossviz.teaching.quiz_rounds import explain, make_round
from lossviz.ui import browser_identity as identity
from lossviz.ui import class_quiz_page as cq
from lossviz.ui import class_quiz_teacher as cr
from tests import apptest_helpers as helpers
from tests.apptest_helpers import component_data, metric_values, ok

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "class_quiz.py")
KINDS = (Kind.EASY, Kind.SEMI_HARD, Kind.HARD)
HOSTILE = "<script>alert(1)"


@pytest.fixture(autouse=True)
def rooms_db(tmp_path, monkeypatch) -> Path:
    """Every test on its own rooms file; no pause between answers unless a test sets one."""
    path = tmp_path / "rooms.sqlite3"
    monkeypatch.setenv("LOSSVIZ_ROOMS_DB", str(path))
    monkeypatch.setenv("LOSSVIZ_ROOM_ANSWER_INTERVAL_S", "0")
    return path


def store() -> RoomStore:
    return RoomStore.from_env()


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return helpers.open_page(PAGE, query)


def round_of(scene: QuizScene):
    return make_round(scene.seed, scene.difficulty, scene.distance, scene.swap, scene.margin)


def new_room(seed: int = 4):
    scene = QuizScene(seed=seed)
    room, secret = store().create_room(scene.to_query(), [int(q.kind) for q in round_of(scene)])
    return room, secret, round_of(scene)


def join(at: AppTest, nickname: str) -> AppTest:
    at.text_input(key="class_quiz.nickname").input(nickname)
    return ok([b for b in at.button if b.label == "Join"][0].click().run())


def answer(at: AppTest, kind: Kind) -> AppTest:
    return ok(at.button(key=f"class_quiz.answer.{kind.label}").click().run())


def wrong(kind: Kind) -> Kind:
    return KINDS[(KINDS.index(kind) + 1) % 3]


def all_text(at: AppTest) -> str:
    """Every string the page shows in Markdown, alerts, code, text and captions."""
    parts = [e.value for kind in ("markdown", "caption", "text", "code", "success", "error",
                                  "warning", "info", "subheader", "title")  # fmt: skip
             for e in getattr(at, kind)]  # fmt: skip
    parts += [m.label + str(m.value) for m in at.metric]
    parts += [df.value.to_string() for df in [*at.dataframe, *at.table]]
    return "\n".join(parts)


# --------------------------------------------------------------------------- teacher


def test_open_a_room_with_the_chosen_settings(rooms_db):
    at = open_page({"seed": "12", "margin": "0.5"})
    assert set(at.query_params) == set(QuizScene().to_query())
    at.radio(key="class_quiz.difficulty").set_value("boundary")
    at = ok(at.button(key="class_quiz.create").click().run())
    # The address names the room and the view, never the key (it may be projected).
    assert dict(at.query_params) == {"room": at.query_params["room"], "view": "teacher"}
    code = at.query_params["room"]
    key = at.session_state[identity.KEYS_KEY][code]
    room = store().room(code)
    scene = QuizScene(seed=12, margin=0.5, difficulty="boundary")
    assert room.settings == scene.to_query()
    assert room.answer_key == tuple(int(q.kind) for q in round_of(scene))
    assert store().is_teacher(code, key)
    assert rooms_db.exists()
    assert any(f">{code}</div>" in m.value for m in at.markdown)  # the big code
    # The students' link, and the teacher's (with the key) in the private expander.
    assert [c.value for c in at.main.code] == [f"/class_quiz?room={code}",
                                               f"/class_quiz?room={code}&key={key}"]  # fmt: skip
    # This browser keeps the key in a cookie (written by the cookies element).
    (cookies,) = component_data(at, "lossviz.cookies")
    assert {"name": f"lossviz_key_{code}", "value": key} in [
        {k: c[k] for k in ("name", "value")} for c in cookies["cookies"]
    ]
    # The sidebar's "Link for the class" (opened) is the students' link: never the key.
    assert not at.sidebar.code  # closed, it sends nothing
    at.session_state["presenter.link.class_quiz"] = True
    at = ok(at.run())
    assert [c.value for c in at.sidebar.code] == [f"/class_quiz?room={code}"]
    assert metric_values(at) == {"Joined": "0", "Answers": "0 of 0", "Finished": "0 of 0",
                                 "Right": "–"}  # fmt: skip


def teacher_page(code: str, key: str) -> AppTest:
    """The teacher's link opened in a browser: the key is kept, the address drops it."""
    at = open_page({"room": code, "key": key})
    assert dict(at.query_params) == {"room": code, "view": "teacher"}
    return at


def test_the_teachers_view_counts_what_the_store_holds():
    room, secret, questions = new_room()
    rooms = store()
    answers = {"ada": [q.kind for q in questions], "bo": [wrong(q.kind) for q in questions[:4]],
               HOSTILE: [questions[0].kind, wrong(questions[1].kind)], "**cy**": []}  # fmt: skip
    for nickname, given in answers.items():
        token = rooms.join(room.code, nickname).token
        for i, kind in enumerate(given):
            rooms.answer(room.code, token, i, int(kind))
    at = teacher_page(room.code, secret)
    results = rooms.results(room.code, secret)
    assert metric_values(at) == {"Joined": "4", "Answers": f"{results.total_answers} of 40",
                                 "Finished": "1 of 4", "Right": "69%"}  # 11 of 16  # fmt: skip
    per_question, confusion = (table.value for table in at.table)
    (students,) = (df.value for df in at.dataframe)
    assert per_question.loc["answered"].tolist() == list(results.answered)
    assert per_question.loc["wrong"].tolist() == list(results.wrong)
    assert confusion.values.tolist() == [list(r) for r in results.confusion]
    assert students["nickname"].tolist() == list(answers)  # shown literally, as data
    assert students["right"].tolist() == [10, 0, 1, 0]
    markdown = " ".join(m.value for m in at.markdown)
    assert HOSTILE not in markdown and "**cy**" not in markdown
    missed = results.most_missed
    assert missed == 1 and results.wrong[missed] == 2  # bo and the hostile nickname
    assert any(f"Most missed: question {missed + 1}" in s.value for s in at.subheader)
    assert any(explain(questions[missed]) == m.value for m in at.markdown)
    plane = component_data(at, "lossviz.plane")[0]
    assert plane["shapes"] is not None  # revealed
    assert plane["points"]["N"] == list(questions[missed].points[2])
    assert len(at.get("vega_lite_chart")) == 1  # the score distribution


def test_no_wrong_answer_yet_means_no_missed_question():
    room, secret, questions = new_room()
    token = store().join(room.code, "ada").token
    store().answer(room.code, token, 0, int(questions[0].kind))
    at = teacher_page(room.code, secret)
    assert any("once someone answers wrong" in i.value for i in at.info)
    assert not component_data(at, "lossviz.plane")


@pytest.mark.parametrize("key", ["", "wrong", "x" * 5000, "<script>", "%00"])
def test_a_wrong_key_shows_nothing_of_the_room(key):
    room, secret, _ = new_room()
    store().join(room.code, "ada")
    at = open_page({"room": room.code, "key": key})
    assert any("not valid" in e.value for e in at.error)
    assert not at.metric and not at.dataframe and not at.table and not at.main.code
    assert "ada" not in all_text(at) and secret not in all_text(at)
    assert not any("room-code" in m.value for m in at.markdown)


# --------------------------------------------------------------------------- student


def test_a_student_joins_answers_a_round_and_sees_only_their_own():
    room, secret, questions = new_room()
    rooms = store()
    other = rooms.join(room.code, "classmate").token
    rooms.answer(room.code, other, 0, 0)
    at = open_page({"room": room.code})
    assert not at.metric  # not joined yet: a form only
    at = join(at, "  ada  ")
    assert "You joined as: ada" in [t.value for t in at.text]
    right_pattern = [True, False, True, True, False, True, True, True, False, True]
    for i, (question, right) in enumerate(zip(questions, right_pattern, strict=True)):
        assert metric_values(at)["Question"] == f"{i + 1} of 10"
        plane = component_data(at, "lossviz.plane")[0]
        assert plane["shapes"] is None  # hidden until answered
        assert plane["points"]["A"] == list(question.points[0])
        at = answer(at, question.kind if right else wrong(question.kind))
        if right:
            assert any(question.kind.label in s.value for s in at.success)
        else:
            assert any(f"the answer is **{question.kind.label}**" in e.value for e in at.error)
        assert any(explain(question) == m.value for m in at.markdown)
        assert metric_values(at)["Score"] == f"{sum(right_pattern[: i + 1])} / {i + 1}"
        assert not [b for b in at.button if b.key and b.key.startswith("class_quiz.answer")]
        at = ok(at.button(key="class_quiz.next").click().run())
    assert any("Round over: 7 of 10 right" in s.value for s in at.subheader)
    assert at.dataframe[0].value.values.sum() == 10
    results = rooms.results(room.code, secret)
    assert results.joined == 2 and results.total_answers == 11
    assert results.students[1].score == 7
    text = all_text(at)
    assert "classmate" not in text and secret not in text
    assert "Joined" not in metric_values(at)


def test_a_repeated_click_is_not_counted_twice():
    room, secret, questions = new_room()
    at = join(open_page({"room": room.code}), "ada")
    button = at.button(key="class_quiz.answer.easy")
    at = answer(at, Kind.EASY)
    ok(button.click().run())  # a stale second click on the same question
    assert store().results(room.code, secret).total_answers == 1


def test_a_too_fast_answer_gets_a_message(monkeypatch):
    monkeypatch.setenv("LOSSVIZ_ROOM_ANSWER_INTERVAL_S", "60")
    room, secret, questions = new_room()
    at = join(open_page({"room": room.code}), "ada")
    at = answer(at, Kind.EASY)
    at = ok(at.button(key="class_quiz.next").click().run())
    at = answer(at, Kind.HARD)
    assert any("Too fast" in w.value for w in at.warning)
    assert store().results(room.code, secret).total_answers == 1
    assert at.button(key="class_quiz.answer.hard")  # still asking


@pytest.mark.parametrize(
    ("nickname", "message"),
    [("", "Type a nickname"), ("   ", "Type a nickname"), ("bad\u202ename", "invisible"),
     ("tab\there", "invisible"), ("Taken", "already has this nickname")],
)  # fmt: skip
def test_a_refused_nickname_says_why(nickname, message):
    """(The field takes at most 24 characters; the store refuses longer: test_rooms.)"""
    room, _, _ = new_room()
    store().join(room.code, "taken")
    at = join(open_page({"room": room.code}), nickname)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.metric


def test_a_lowercase_code_opens_the_room():
    room, _, _ = new_room()
    at = open_page({"room": room.code.lower()})
    assert any(room.code in s.value for s in at.subheader)


@pytest.mark.parametrize(
    "code",
    ["<script>alert(1)</script>", "A" * 5000, "", "ABC", "ABCDE0", "'; DROP TABLE rooms; --",
     "\u202eABCDEF", "😀" * 6],
)  # fmt: skip
def test_a_malformed_code_shows_a_notice(code):
    for query in ({"room": code}, {"room": code, "key": "x"}):
        at = open_page(query)
        assert any("not a room code" in w.value for w in at.warning)
        assert not at.metric and not at.main.code


def test_an_unknown_or_closed_room_shows_a_notice(monkeypatch):
    at = open_page({"room": "ZZZZZZ"})
    assert any("There is no room ZZZZZZ" in w.value for w in at.warning)
    monkeypatch.setenv("LOSSVIZ_ROOM_TTL_MINUTES", "0.00001")  # closes after 0.6 ms
    room, secret, _ = new_room()
    for query in ({"room": room.code}, {"room": room.code, "key": secret}):
        at = open_page(query)
        assert any(f"There is no room {room.code}" in w.value for w in at.warning)


def test_typing_a_code_goes_to_the_room():
    room, _, _ = new_room()
    at = open_page()
    go = "Go to the room"
    at.text_input(key="class_quiz.code").input("nope")
    at = ok([b for b in at.button if b.label == go][0].click().run())
    assert any("not a room code" in w.value for w in at.warning)
    at.text_input(key="class_quiz.code").input(f" {room.code.lower()} ")
    at = ok([b for b in at.button if b.label == go][0].click().run())
    assert at.query_params["room"] == room.code
    assert any(room.code in s.value for s in at.subheader)


def test_a_bad_setting_is_logged_not_shown(monkeypatch, caplog):
    monkeypatch.setenv("LOSSVIZ_ROOM_MAX_STUDENTS", "lots")
    with caplog.at_level(logging.ERROR, logger="lossviz.rooms"):
        at = open_page()
    assert any("switched off" in e.value for e in at.error)
    assert "LOSSVIZ_ROOM_MAX_STUDENTS" not in all_text(at)  # for the administrator only
    assert "LOSSVIZ_ROOM_MAX_STUDENTS" in caplog.text
    at = ok(at.button(key="class_quiz.create").click().run())
    assert "room" not in at.query_params


def test_an_unusable_rooms_file_gives_a_notice_without_its_path(tmp_path, monkeypatch, caplog):
    folder = tmp_path / "a folder, not a file"
    folder.mkdir()
    monkeypatch.setenv("LOSSVIZ_ROOMS_DB", str(folder))
    with caplog.at_level(logging.ERROR, logger="lossviz.rooms"):
        at = open_page({"room": "ABCDEF"})
    assert any("unavailable" in e.value for e in at.error)
    assert str(tmp_path) not in all_text(at) and "folder" not in all_text(at)
    assert "unavailable" in caplog.text
    at = open_page()
    at = ok(at.button(key="class_quiz.create").click().run())
    assert any("No room was opened" in e.value for e in at.error)
    assert str(tmp_path) not in all_text(at)
    assert "room" not in at.query_params


# --------------------------------------------------------------------------- seats


def test_a_new_session_of_the_same_browser_is_back_in_its_seat(monkeypatch):
    """A reload, a reopened tab or a server restart: a new session, the same cookie."""
    room, secret, questions = new_room()
    first = join(open_page({"room": room.code}), "ada")
    first = answer(first, questions[0].kind)
    first = ok(first.button(key="class_quiz.next").click().run())
    first = answer(first, wrong(questions[1].kind))
    seat = first.session_state[identity.SEAT_KEY]
    (cookies,) = component_data(first, "lossviz.cookies")
    assert cookies["cookies"][0] == {"name": "lossviz_seat", "value": seat,
                                     "max_age": identity.SEAT_MAX_AGE_S, "path": "/"}  # fmt: skip
    monkeypatch.setattr(identity, "_cookie", lambda name: seat if name == "lossviz_seat" else None)
    again = open_page({"room": room.code})  # a fresh session: only the cookie is left
    assert "You joined as: ada" in [t.value for t in again.text]
    assert metric_values(again) == {"Question": "3 of 10", "Score": "1 / 2"}  # the first open
    results = store().results(room.code, secret)
    assert results.joined == 1 and results.total_answers == 2  # no second seat


def test_joining_again_from_the_same_browser_keeps_the_first_seat():
    room, secret, _ = new_room()
    at = join(open_page({"room": room.code}), "ada")
    at.session_state[cq.POSITIONS_KEY] = {}
    seat = at.session_state[identity.SEAT_KEY]
    assert store().join(room.code, "eve", seat=identity_seat(seat, room.code)).rejoined
    assert [s.nickname for s in store().results(room.code, secret).students] == ["ada"]


def identity_seat(secret: str, code: str) -> str:
    """The seat token the page derives from a browser's secret for a room."""
    import hashlib

    return hashlib.sha256(f"{secret}:{code}".encode()).hexdigest()


def test_a_locked_room_takes_no_one_new_but_keeps_its_students():
    room, secret, _ = new_room()
    ada = join(open_page({"room": room.code}), "ada")
    teacher = teacher_page(room.code, secret)
    teacher = ok(teacher.button(key="class_quiz.lock").click().run())
    assert store().room(room.code).locked
    assert any("Locked" in i.value for i in teacher.info)
    late = open_page({"room": room.code})
    assert any("locked" in i.value for i in late.info) and not late.text_input
    assert "You joined as: ada" in [t.value for t in ok(ada.run()).text]  # still seated
    teacher = ok(teacher.button(key="class_quiz.unlock").click().run())
    assert not store().room(room.code).locked
    assert "You joined as: bo" in [t.value for t in join(open_page({"room": room.code}), "bo").text]


def test_the_teacher_removes_a_seat_with_its_answers():
    room, secret, questions = new_room()
    for name in ("ada", HOSTILE):
        seat = store().join(room.code, name)
        store().answer(room.code, seat.token, 0, int(questions[0].kind))
    bot = join(open_page({"room": room.code}), "bot")
    teacher = teacher_page(room.code, secret)
    choice = teacher.selectbox(key=f"{cr.REMOVE_KEY}.0")
    assert [o for o in choice.options] == ["ada", HOSTILE, "bot"]  # nicknames as text
    choice.select_index(2)
    teacher = ok(teacher.button[[b.label for b in teacher.button].index("Remove")].click().run())
    assert any("Removed" in m.value for m in teacher.success)
    results = store().results(room.code, secret)
    assert [s.nickname for s in results.students] == ["ada", HOSTILE]
    assert metric_values(teacher)["Joined"] == "2"
    bot = ok(bot.run())
    assert any("removed you" in e.value for e in bot.error) and not bot.text_input


def test_the_board_shows_the_code_and_results_without_names_or_key():
    room, secret, questions = new_room()
    seat = store().join(room.code, "ada-the-student")
    store().answer(room.code, seat.token, 0, int(wrong(questions[0].kind)))
    teacher = teacher_page(room.code, secret)
    board = ok(teacher.button(key="class_quiz.to_board").click().run())
    assert dict(board.query_params) == {"room": room.code, "view": "board"}
    text = all_text(board)
    assert any(f">{room.code}</div>" in m.value for m in board.markdown)
    assert metric_values(board)["Joined"] == "1"
    assert "ada-the-student" not in text and secret not in text
    assert not board.dataframe and not board.selectbox
    assert not [b for b in board.button if b.key in ("class_quiz.lock", "class_quiz.unlock")]
    assert any("Most missed: question 1" in s.value for s in board.subheader)


@pytest.mark.parametrize("view", ["teacher", "board"])
def test_the_teachers_views_need_the_key_in_this_browser(view):
    room, secret, _ = new_room()
    store().join(room.code, "ada")
    at = open_page({"room": room.code, "view": view})
    assert any("does not hold this room's teacher key" in e.value for e in at.error)
    assert not at.metric and not at.dataframe and "ada" not in all_text(at)
