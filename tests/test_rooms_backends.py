"""The two backends themselves: failures surface as StoreUnavailableError only, PostgreSQL
stopped and restarted (no acknowledged answer lost, the store works again), the choice
of backend from the environment, and a first-version SQLite file brought up to date."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from deploy.serve import free_port
from lossviz.rooms import (
    ConfigError,
    NicknameTakenError,
    RoomConfig,
    RoomError,
    RoomStore,
    StoreUnavailableError,
    digest,
)
from lossviz.rooms.sqlite_backend import SCHEMA_VERSION
from tests.postgres_server import PostgresServer
from tests.rooms_support import FREE, KEY, SETTINGS, raw, store_at

URL = "postgresql://lossviz:s3cret-password@db.example:5432/rooms"


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh schema on the session's server (restarted here if a test left it down)."""
    name = f"backend_{time.monotonic_ns()}"
    url = postgres_server.fresh_schema(name)
    try:
        yield url
    finally:
        if postgres_server.pid() is None:
            postgres_server.start()
        postgres_server.drop_schema(name)


def assert_unavailable(call) -> StoreUnavailableError:
    """``call()`` raises StoreUnavailableError, never a driver's own exception."""
    with pytest.raises(StoreUnavailableError) as caught:
        call()
    assert not isinstance(caught.value, sqlite3.Error | psycopg.Error | RoomError)
    assert isinstance(caught.value.__cause__, sqlite3.Error | psycopg.Error | OSError)
    return caught.value


# --------------------------------------------------------------------------- SQLite failures


def test_a_sqlite_file_that_cannot_be_opened_is_store_unavailable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    error = assert_unavailable(lambda: RoomStore(blocker / "rooms.sqlite3", FREE))
    assert "a-file" in str(error)  # for the server's log: it says which file
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, just bytes" * 100)
    assert_unavailable(lambda: RoomStore(garbage, FREE))


def test_a_sqlite_file_spoiled_under_a_store_is_store_unavailable(tmp_path):
    path = tmp_path / "rooms.sqlite3"
    store = store_at(path)
    room, secret = store.create_room(SETTINGS, KEY)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 1000)
    assert_unavailable(lambda: store.room(room.code))
    assert_unavailable(lambda: store.join(room.code, "ada"))
    assert_unavailable(lambda: store.results(room.code, secret))


# --------------------------------------------------------------------------- PostgreSQL


def test_a_postgres_server_that_is_not_there_is_store_unavailable():
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/rooms"  # nothing listens there
    assert_unavailable(lambda: RoomStore(url, FREE))


def test_a_stopped_postgres_is_store_unavailable_and_a_restarted_one_serves_again(
    postgres_server, pg_url
):
    store = RoomStore(pg_url, FREE)
    room, secret = store.create_room(SETTINGS, KEY)
    ada = store.join(room.code, "ada")
    postgres_server.stop()
    try:
        assert_unavailable(lambda: store.room(room.code))
        assert_unavailable(lambda: store.answer(room.code, ada.token, 0, 0))
        assert_unavailable(lambda: store.join(room.code, "bo"))
        assert_unavailable(lambda: RoomStore(pg_url, FREE))
    finally:
        postgres_server.start()
    assert store.room(room.code) == room  # the next call connects afresh
    assert store.answer(room.code, ada.token, 0, 0)
    assert store.results(room.code, secret).total_answers == 1


def test_connections_ended_by_the_server_are_replaced_without_an_error(postgres_server, pg_url):
    store = RoomStore(pg_url, FREE)
    room, _ = store.create_room(SETTINGS, KEY)
    opened = store.backend.pool.opened
    for _ in range(20):
        store.room(room.code)
    assert store.backend.pool.opened == opened  # pooled: no new connection per call
    name = pg_url.split("application_name=")[1].split("&")[0]
    postgres_server.admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE application_name = '{name}' AND pid <> pg_backend_pid()"
    )
    assert store.room(room.code) == room  # the dead idle connection is replaced, silently
    assert store.join(room.code, "ada").nickname == "ada"


def test_no_acknowledged_answer_is_lost_across_an_immediate_restart(postgres_server, pg_url):
    """Students answer from threads; half-way, ``pg_ctl restart -m immediate`` kills every
    server process while they go on. A call that fails says StoreUnavailableError and the
    student clicks again; every answer for which ``answer`` returned True is stored."""
    students, questions = 12, 30
    store = RoomStore(pg_url, FREE)
    room, secret = store.create_room(SETTINGS, [q % 3 for q in range(questions)])
    tokens = [store.join(room.code, f"student {i}").token for i in range(students)]
    ids = {tokens[i]: store.my_answers(room.code, tokens[i]).nickname for i in range(students)}
    half = threading.Barrier(students + 1)
    acknowledged: list[tuple[str, int, int]] = []  # (nickname, question, kind)
    errors: list[BaseException] = []

    def student(token: str) -> None:
        try:
            for question in range(questions):
                if question == questions // 2:
                    half.wait()  # the restart starts as the second half starts
                kind = (question + len(ids[token])) % 3
                for _attempt in range(3000):
                    try:
                        stored = store.answer(room.code, token, question, kind)
                    except StoreUnavailableError:  # ~100 of them in a run here
                        time.sleep(0.02)  # the student clicks again
                        continue
                    if stored:
                        acknowledged.append((ids[token], question, kind))
                    break
                else:
                    raise AssertionError(f"question {question} never got through")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=student, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    half.wait()
    before = postgres_server.pid()
    postgres_server.restart("immediate")
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert postgres_server.pid() not in (None, before)
    stored = set(
        raw(
            pg_url,
            "SELECT s.nickname, a.question, a.kind FROM answers a "
            "JOIN students s ON s.id = a.student",
        )
    )
    assert set(acknowledged) <= stored, "an acknowledged answer was lost"
    assert len(stored) == students * questions  # every click went through in the end
    results = store.results(room.code, secret)
    assert results.total_answers == students * questions
    assert store.join(room.code, "after the restart").nickname == "after the restart"


# --------------------------------------------------------------------------- choice


def test_from_env_picks_postgres_for_a_url_and_sqlite_otherwise(monkeypatch, tmp_path, pg_url):
    monkeypatch.setenv("LOSSVIZ_ROOMS_DB", str(tmp_path / "env.sqlite3"))
    monkeypatch.delenv("LOSSVIZ_ROOMS_URL", raising=False)
    assert RoomStore.from_env().backend.name == "sqlite"
    assert (tmp_path / "env.sqlite3").exists()
    monkeypatch.setenv("LOSSVIZ_ROOMS_URL", pg_url)
    monkeypatch.setenv("LOSSVIZ_ROOM_JOIN_INTERVAL_S", "0")
    store = RoomStore.from_env()
    assert store.backend.name == "postgresql" and store.config.join_interval_s == 0
    room, _ = store.create_room(SETTINGS, KEY)
    assert raw(pg_url, "SELECT code FROM rooms") == [(room.code,)]


def test_a_config_alone_says_where_and_how(tmp_path, pg_url):
    on_file = RoomStore(RoomConfig(tmp_path / "c.sqlite3", max_students=3))
    assert on_file.backend.name == "sqlite" and on_file.config.max_students == 3
    assert (tmp_path / "c.sqlite3").exists()
    on_server = RoomStore(RoomConfig(tmp_path / "unused.sqlite3", rooms_url=pg_url))
    assert on_server.backend.name == "postgresql"
    assert not (tmp_path / "unused.sqlite3").exists()


def test_config_reads_the_url_and_the_join_interval(tmp_path):
    env = {"LOSSVIZ_ROOMS_URL": URL, "LOSSVIZ_ROOM_JOIN_INTERVAL_S": "2.5"}
    config = RoomConfig.from_env(env)
    assert config.rooms_url == URL and config.join_interval_s == 2.5
    assert "s3cret" not in repr(config)
    assert RoomConfig.from_env({}).join_interval_s == 0.5
    assert RoomConfig.from_env({}).rooms_url is None
    assert RoomConfig.from_env({"LOSSVIZ_ROOMS_URL": "postgres://h/db"}).rooms_url


@pytest.mark.parametrize(
    ("name", "value"),
    [("LOSSVIZ_ROOMS_URL", "mysql://u:s3cret@h/db"), ("LOSSVIZ_ROOMS_URL", "/var/rooms.db"),
     ("LOSSVIZ_ROOM_JOIN_INTERVAL_S", "-0.5"), ("LOSSVIZ_ROOM_JOIN_INTERVAL_S", "soon"),
     ("LOSSVIZ_ROOM_JOIN_INTERVAL_S", "inf")],
)  # fmt: skip
def test_a_bad_setting_names_its_variable_and_hides_a_url(name, value):
    with pytest.raises(ConfigError, match=name) as caught:
        RoomConfig.from_env({name: value})
    assert "s3cret" not in str(caught.value)


# --------------------------------------------------------------------------- old SQLite file

FIRST_SCHEMA = """
CREATE TABLE rooms (code TEXT PRIMARY KEY, key_hash TEXT NOT NULL, settings TEXT NOT NULL,
    answer_key TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE students (id INTEGER PRIMARY KEY,
    room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE, nickname TEXT NOT NULL, nickname_key TEXT NOT NULL,
    joined REAL NOT NULL, last_answer REAL, UNIQUE (room, nickname_key));
CREATE TABLE answers (student INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    question INTEGER NOT NULL, kind INTEGER NOT NULL, answered REAL NOT NULL,
    PRIMARY KEY (student, question));
CREATE INDEX rooms_expires ON rooms (expires);
"""


def test_a_first_version_sqlite_file_is_brought_up_to_date_with_its_rooms(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # as the previous release left it, mid-class
        old.executescript(FIRST_SCHEMA)
        old.execute(
            "INSERT INTO rooms VALUES ('ABCDEF', ?, '{\"seed\": \"7\"}', '[0, 1, 2]', 1e6, 2e6)",
            (digest("teacher-key"),),
        )
        old.executemany(
            "INSERT INTO students VALUES (?, 'ABCDEF', ?, ?, ?, 1e6, NULL)",
            [(1, digest("t1"), "alice", "alice"), (2, digest("t2"), "Bob", "bob")],
        )
        old.executemany("INSERT INTO answers VALUES (?, ?, ?, 1e6)", [(1, 0, 0), (2, 0, 1)])
    store = store_at(path)  # the clock stands at 1e6: the room is alive
    results = store.results("ABCDEF", "teacher-key")
    assert [(s.nickname, s.answered, s.score, s.student_id) for s in results.students] == [
        ("alice", 1, 1, 1), ("Bob", 1, 0, 2)]  # fmt: skip
    assert not results.room.locked
    with pytest.raises(NicknameTakenError):
        store.join("ABCDEF", "\u0430lice")  # the new keys were computed for old students
    seat = store.join("ABCDEF", "cy")
    assert seat.student_id == 3 and store.answer("ABCDEF", seat.token, 1, 1)
    store.remove_student("ABCDEF", "teacher-key", 1)
    assert store.results("ABCDEF", "teacher-key").joined == 2
    assert raw(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert raw(path, "PRAGMA foreign_key_check") == []
    assert store_at(path).room("ABCDEF") is not None  # opening it again changes nothing


# --------------------------------------------------------------------------- schema 2's joins

# join_attempts as the first release of join limits made it (schema version 2, both
# backends): one attempt per address, no seat time, level or block.
SECOND_JOIN_ATTEMPTS = """
CREATE TABLE IF NOT EXISTS join_attempts (
    room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    address_hash TEXT NOT NULL,
    attempted {real} NOT NULL,
    PRIMARY KEY (room, address_hash)
)"""


def second_schema(schema: str, real: str) -> list[str]:
    """The statements of ``schema`` as version 2 had them (its join_attempts)."""
    statements = []
    for statement in schema.split(";"):
        if not statement.strip() or "ALTER TABLE join_attempts" in statement:
            continue
        if "CREATE TABLE IF NOT EXISTS join_attempts" in statement:
            statement = SECOND_JOIN_ATTEMPTS.format(real=real)
        statements.append(statement)
    return statements


def test_a_version_2_sqlite_file_gets_its_join_limits_back(tmp_path):
    from lossviz.rooms import sqlite_backend

    path = tmp_path / "v2.sqlite3"
    with sqlite3.connect(path) as old:
        for statement in second_schema(sqlite_backend.SCHEMA, "REAL"):
            old.execute(statement)
        old.execute("PRAGMA user_version = 2")
    store = store_at(path)
    room, key = store.create_room(SETTINGS, [0, 1, 2])
    seat = store.join(room.code, "ada", address="10.0.0.1")  # a join limit's attempt kept
    assert store.answer(room.code, seat.token, 0, 0)
    assert store.results(room.code, key).joined == 1
    columns = {row[1] for row in raw(path, "PRAGMA table_info(join_attempts)")}
    assert {"seat_at", "level", "blocked_until"} <= columns
    assert raw(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_a_postgresql_schema_of_version_2_gets_its_join_limits_back(pg_url):
    from lossviz.rooms import postgres_backend

    with psycopg.connect(pg_url, autocommit=True) as connection:
        for statement in second_schema(postgres_backend.SCHEMA, "DOUBLE PRECISION"):
            connection.execute(statement)
    store = RoomStore(pg_url, FREE)
    try:
        room, key = store.create_room(SETTINGS, [0, 1, 2])
        store.join(room.code, "ada", address="10.0.0.1")
        assert store.results(room.code, key).joined == 1
    finally:
        store.close()
