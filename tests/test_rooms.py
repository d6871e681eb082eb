"""Class-quiz rooms on SQLite and PostgreSQL (every ``db`` test runs on both): lifecycle,
recount, expiry, restart, access, limits, hostility, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lossviz.rooms import (
    ALPHABET,
    CODE_LENGTH,
    NICKNAME_MAX,
    AccessDeniedError,
    BadAnswerError,
    BadNicknameError,
    ConfigError,
    NicknameTakenError,
    RateLimitedError,
    RoomConfig,
    RoomFullError,
    RoomNotFoundError,
    RoomStore,
    UnknownStudentError,
    clean_nickname,
    parse_code,
)
from tests.rooms_support import KEY, SETTINGS, Clock, dump, raw, store_at


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    """For what only SQLite has (a file, WAL)."""
    return tmp_path / "deep" / "folder" / "rooms.sqlite3"


def recount(db: Path | str, code: str) -> dict:
    """The results, recounted in plain Python from the rows read back without the store."""
    ((key_json,),) = raw(db, "SELECT answer_key FROM rooms WHERE code = ?", (code,))
    students = raw(
        db, "SELECT id, nickname FROM students WHERE room = ? AND removed IS NULL ORDER BY id",
        (code,),
    )  # fmt: skip
    rows = raw(
        db,
        "SELECT student, question, kind FROM answers WHERE student IN "
        "(SELECT id FROM students WHERE room = ? AND removed IS NULL)",
        (code,),
    )
    key = [int(x) for x in key_json.strip("[]").split(",")]
    answered = [sum(1 for _, q, _ in rows if q == i) for i in range(len(key))]
    wrong = [sum(1 for _, q, k in rows if q == i and k != key[i]) for i in range(len(key))]
    confusion = [[sum(1 for _, q, k in rows if key[q] == t and k == g) for g in range(3)]
                 for t in range(3)]  # fmt: skip
    scores = {sid: sum(1 for s, q, k in rows if s == sid and k == key[q]) for sid, _ in students}
    counts = {sid: sum(1 for s, _, _ in rows if s == sid) for sid, _ in students}
    histogram = [sum(1 for sid in scores if counts[sid] and scores[sid] == s)
                 for s in range(len(key) + 1)]  # fmt: skip
    return {
        "joined": len(students),
        "answered": answered,
        "wrong": wrong,
        "confusion": confusion,
        "histogram": histogram,
        "students": [(name, counts[sid], scores[sid]) for sid, name in students],
        "rows": len(rows),
    }


# --------------------------------------------------------------------------- lifecycle


def test_create_join_answer_and_results_equal_a_recount(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    assert len(room.code) == CODE_LENGTH and set(room.code) <= set(ALPHABET)
    assert not set(room.code) & set("0O1I")
    assert store.room(room.code) == room
    assert room.settings == SETTINGS and room.answer_key == KEY
    tokens = {name: store.join(room.code, name).token for name in ("ada", "bo", "cy", "idle")}
    pattern = {"ada": [k for k in KEY], "bo": [(k + 1) % 3 for k in KEY], "cy": [2, 2, 2]}
    for name, given in pattern.items():
        for question, kind in enumerate(given):
            assert store.answer(room.code, tokens[name], question, kind) is True
    results = store.results(room.code, secret)
    expected = recount(db, room.code)
    assert results.joined == expected["joined"] == 4
    assert list(results.answered) == expected["answered"]
    assert list(results.wrong) == expected["wrong"]
    assert [list(r) for r in results.confusion] == expected["confusion"]
    assert list(results.histogram) == expected["histogram"]
    assert [(s.nickname, s.answered, s.score) for s in results.students] == expected["students"]
    assert results.total_answers == expected["rows"] == 10 + 10 + 3
    assert results.finished == 2
    assert results.answered[0] == 3 and results.answered[5] == 2
    # bo is wrong everywhere, cy right on question 2 only: question 0 and 1 are missed twice.
    assert results.most_missed == 0
    assert store.my_answers(room.code, tokens["cy"]).answers == {0: 2, 1: 2, 2: 2}
    assert store.my_answers(room.code, tokens["cy"]).nickname == "cy"


def test_no_wrong_answer_means_no_most_missed_question(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    assert store.results(room.code, secret).most_missed is None
    store.answer(room.code, token, 3, KEY[3])
    results = store.results(room.code, secret)
    assert results.most_missed is None and results.histogram[1] == 1


def test_the_file_is_wal_and_created_with_its_folders(sqlite_db):
    store_at(sqlite_db)
    assert sqlite_db.exists()
    assert raw(sqlite_db, "PRAGMA journal_mode") == [("wal",)]


def test_secrets_are_stored_only_as_hashes(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    rows = dump(db)
    assert secret not in rows and token not in rows
    assert len(secret) >= 32 and len(token) >= 32


# --------------------------------------------------------------------------- expiry, restart


def test_a_room_expires_after_its_ttl(db):
    clock = Clock()
    store = RoomStore(db, RoomConfig(ttl_minutes=10, answer_interval_s=0), clock)
    room, secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    clock.tick(10 * 60 - 1)
    assert store.room(room.code) is not None
    clock.tick(1)
    assert store.room(room.code) is None
    with pytest.raises(RoomNotFoundError):
        store.join(room.code, "bo")
    with pytest.raises(RoomNotFoundError):
        store.answer(room.code, token, 0, 0)
    with pytest.raises(RoomNotFoundError):
        store.results(room.code, secret)
    assert store.purge_expired() == 1
    assert raw(db, "SELECT COUNT(*) FROM students") == [(0,)]


def test_a_new_store_on_the_same_file_sees_the_room(db):
    first = store_at(db)
    room, secret = first.create_room(SETTINGS, KEY)
    token = first.join(room.code, "ada").token
    first.answer(room.code, token, 0, 1)
    del first
    again = store_at(db)  # as after a server restart
    assert again.room(room.code) == room
    assert again.my_answers(room.code, token).answers == {0: 1}
    assert again.results(room.code, secret).answered[0] == 1


# --------------------------------------------------------------------------- access


def test_results_need_the_teachers_key(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    other, other_secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    for bad in (None, "", "x", secret + "x", secret[:-1], token, other_secret, "a" * 10_000, 42):
        with pytest.raises(AccessDeniedError):
            store.results(room.code, bad)
        assert not store.is_teacher(room.code, bad)
    assert store.is_teacher(room.code, secret)
    assert store.results(room.code, secret).joined == 1
    assert store.results(other.code, other_secret).joined == 0


def test_a_guessed_code_without_the_key_shows_nothing(db):
    store = store_at(db)
    store.create_room(SETTINGS, KEY)
    guessed = "ABCDEF" if store.room("ABCDEF") is None else "GHJKLM"
    with pytest.raises(RoomNotFoundError):
        store.results(guessed, "anything")
    assert store.room(guessed) is None


def test_a_token_is_good_only_for_its_own_room(db):
    store = store_at(db)
    room, _ = store.create_room(SETTINGS, KEY)
    other, _ = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    for bad in (None, "", "nope", token + "x", "t" * 5000):
        with pytest.raises(UnknownStudentError):
            store.answer(room.code, bad, 0, 0)
        with pytest.raises(UnknownStudentError):
            store.my_answers(room.code, bad)
    with pytest.raises(UnknownStudentError):
        store.answer(other.code, token, 0, 0)


# --------------------------------------------------------------------------- limits


def test_a_room_takes_at_most_its_maximum_of_students(db):
    store = store_at(db, RoomConfig(max_students=3, answer_interval_s=0))
    room, secret = store.create_room(SETTINGS, KEY)
    for name in "abc":
        store.join(room.code, name)
    with pytest.raises(RoomFullError, match="full"):
        store.join(room.code, "d")
    assert store.results(room.code, secret).joined == 3


def test_answers_are_rate_limited(db):
    clock = Clock()
    store = RoomStore(db, RoomConfig(answer_interval_s=0.5), clock)
    room, secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    assert store.answer(room.code, token, 0, 0)
    clock.tick(0.2)
    with pytest.raises(RateLimitedError, match="Too fast") as caught:
        store.answer(room.code, token, 1, 0)
    assert caught.value.wait_s == pytest.approx(0.3)
    clock.tick(0.3)
    assert store.answer(room.code, token, 1, 0)
    assert store.results(room.code, secret).total_answers == 2


def test_every_answer_is_stored_once(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    assert store.answer(room.code, token, 4, 0) is True
    assert store.answer(room.code, token, 4, 2) is False  # ignored, not changed
    assert store.my_answers(room.code, token).answers == {4: 0}
    assert store.results(room.code, secret).answered[4] == 1


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        (-1, 0),
        (10, 0),
        (0, 3),
        (0, -1),
        ("0", 0),
        (0, "easy"),
        (True, 0),
        (0, None),
        (1.0, 0),
    ],  # fmt: skip
)
def test_a_bad_answer_is_refused(db, question, kind):
    store = store_at(db)
    room, _ = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    with pytest.raises(BadAnswerError):
        store.answer(room.code, token, question, kind)


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "nickname",
    ["<script>alert(1)", "[x](javascript:alert(1))", "**bold** <b>hi</b>",
     "');DROP TABLE students--", "  spaced  ", "a" * NICKNAME_MAX, "$x$ :red[r]", "ada 😀🎉"],
)  # fmt: skip
def test_markup_and_emoji_nicknames_are_kept_as_data(db, nickname):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, nickname).token
    assert store.my_answers(room.code, token).nickname == nickname.strip()
    assert store.results(room.code, secret).students[0].nickname == nickname.strip()
    assert raw(db, "SELECT COUNT(*) FROM rooms") == [(1,)]


@pytest.mark.parametrize(
    "nickname",
    ["", "   ", "a" * (NICKNAME_MAX + 1), "<script>alert(1)</script>", "x" * 100_000,
     "bad\x00name", "line\nbreak", "tab\tx",
     "\u202egnp.exe", "zero\u200bwidth", "\x1b[31mred", "bell\x07", "\ud800", None, 42, b"ada"],
)  # fmt: skip
def test_bad_nicknames_are_refused_with_a_reason(db, nickname):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    with pytest.raises(BadNicknameError) as caught:
        store.join(room.code, nickname)
    assert str(caught.value)
    assert store.results(room.code, secret).joined == 0


def test_nicknames_are_unique_in_a_room_whatever_the_case(db):
    store = store_at(db)
    room, _ = store.create_room(SETTINGS, KEY)
    other, _ = store.create_room(SETTINGS, KEY)
    store.join(room.code, "Ada")
    for same in ("ada", "ADA", " Ada ", "ａｄａ"):  # fullwidth letters: the same nickname
        with pytest.raises(NicknameTakenError):
            store.join(room.code, same)
    store.join(other.code, "ada")  # another room: fine
    assert clean_nickname("  Ada ") == "Ada"


@pytest.mark.parametrize(
    "raw",
    ["<script>alert(1)</script>", "A" * 5000, "", " ", "ABCDE", "ABCDEFG", "ABCDE0", "OOOOOO",
     "ABC DE", "ABCDE\x00", "'; DROP TABLE rooms; --", None, 123456, "ＡＢＣＤＥＦ"],
)  # fmt: skip
def test_hostile_codes_are_no_codes(db, raw):
    store = store_at(db)
    assert parse_code(raw) is None
    assert store.room(raw) is None
    with pytest.raises(RoomNotFoundError):
        store.join(raw, "ada")
    with pytest.raises(RoomNotFoundError):
        store.results(raw, "x")


def test_a_code_is_read_case_insensitively_and_trimmed(db):
    store = store_at(db)
    room, _ = store.create_room(SETTINGS, KEY)
    assert parse_code(f"  {room.code.lower()} ") == room.code
    assert store.room(room.code.lower()) == room


# --------------------------------------------------------------------------- config


def test_config_comes_from_the_environment(tmp_path):
    env = {"LOSSVIZ_ROOMS_DB": str(tmp_path / "r.db"), "LOSSVIZ_ROOM_TTL_MINUTES": "5",
           "LOSSVIZ_ROOM_MAX_STUDENTS": "7", "LOSSVIZ_ROOM_ANSWER_INTERVAL_S": "0"}  # fmt: skip
    config = RoomConfig.from_env(env)
    assert config == RoomConfig(tmp_path / "r.db", 5.0, 7, 0.0)
    assert RoomConfig.from_env({}) == RoomConfig()
    assert RoomConfig().db_path.name == "rooms.sqlite3"


@pytest.mark.parametrize(
    ("name", "value"),
    [("LOSSVIZ_ROOM_TTL_MINUTES", "0"), ("LOSSVIZ_ROOM_TTL_MINUTES", "nan"),
     ("LOSSVIZ_ROOM_MAX_STUDENTS", "0"), ("LOSSVIZ_ROOM_MAX_STUDENTS", "many"),
     ("LOSSVIZ_ROOM_ANSWER_INTERVAL_S", "-1"), ("LOSSVIZ_ROOM_TTL_MINUTES", "inf")],
)  # fmt: skip
def test_a_bad_config_names_its_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        RoomConfig.from_env({name: value})


# --------------------------------------------------------------------------- concurrency


def test_sixty_students_at_once_every_answer_stored_once(db):
    store = RoomStore(db, RoomConfig(answer_interval_s=0.0))  # the real clock
    room, secret = store.create_room(SETTINGS, KEY)
    start = threading.Barrier(60)
    errors: list[BaseException] = []
    stored: list[bool] = []  # list.append is atomic under the GIL

    def student(i: int) -> None:
        try:
            mine = RoomStore(db, RoomConfig(answer_interval_s=0.0))  # as another process would
            start.wait()
            token = mine.join(room.code, f"student {i}").token
            for question in range(len(KEY)):
                stored.append(mine.answer(room.code, token, question, (i + question) % 3))
                mine.answer(room.code, token, question, 0)  # a double click: ignored
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert stored.count(True) == len(stored) == 600
    results = store.results(room.code, secret)
    assert results.joined == 60 and results.total_answers == 600
    assert results.answered == (60,) * 10
    assert raw(db, "SELECT COUNT(*) FROM answers") == [(600,)]
    distinct = "SELECT COUNT(*) FROM (SELECT DISTINCT student, question FROM answers) AS d"
    assert raw(db, distinct) == [(600,)]
    assert results == store.results(room.code, secret)
    assert [list(r) for r in results.confusion] == recount(db, room.code)["confusion"]


def test_a_deleted_file_is_created_again(sqlite_db):
    store = store_at(sqlite_db)
    store.create_room(SETTINGS, KEY)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_db}{suffix}").unlink(missing_ok=True)
    room, secret = store.create_room(SETTINGS, KEY)  # the same store object, as a server holds
    assert store.results(room.code, secret).joined == 0
