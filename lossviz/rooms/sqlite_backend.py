"""Rooms in one SQLite file (stdlib ``sqlite3``): see :mod:`lossviz.rooms.backend`.

WAL, a fresh connection per operation with a busy timeout, so the threads of one server
and several server processes on one machine share the file. A write transaction is
``BEGIN IMMEDIATE`` (the file's write lock from the start: no upgrade from a read lock,
and every check sees the state it writes over). A read is a deferred ``BEGIN``: one
snapshot. A file deleted while a server holds the store is created again on next use.

The schema's version is ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`). A file of the
first version (before seats, locks and join limits) is brought up to date in place: its
rooms gain ``locked`` and a ``salt``, its students table is rebuilt with the two nickname
keys and ``removed``. Its students' tokens no longer match (they were hashed without the
room); their answers stay in the results. A file of version 2 (whose join limits kept only
the last attempt) has its ``join_attempts`` made again: they are a rate limit's memory of
the last seconds, nothing a class needs to keep.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from lossviz.rooms.errors import StoreUnavailableError
from lossviz.rooms.nicknames import nickname_fold, nickname_key
from lossviz.rooms.transactions import committed

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    answer_key TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    locked INTEGER NOT NULL DEFAULT 0,
    salt TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS students (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    nickname TEXT NOT NULL,
    nickname_key TEXT NOT NULL,
    nickname_fold TEXT NOT NULL,
    joined REAL NOT NULL,
    last_answer REAL,
    removed REAL
);
CREATE INDEX IF NOT EXISTS students_key ON students (room, nickname_key);
CREATE INDEX IF NOT EXISTS students_fold ON students (room, nickname_fold);
CREATE TABLE IF NOT EXISTS answers (
    student INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    question INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    answered REAL NOT NULL,
    PRIMARY KEY (student, question)
);
CREATE TABLE IF NOT EXISTS join_attempts (
    room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    address_hash TEXT NOT NULL,
    attempted REAL NOT NULL,
    seat_at REAL,
    level REAL NOT NULL,
    blocked_until REAL NOT NULL,
    PRIMARY KEY (room, address_hash)
);
CREATE INDEX IF NOT EXISTS rooms_expires ON rooms (expires);
"""


class SqliteBackend:
    """The SQLite file at ``path`` (created with its folders if missing)."""

    name = "sqlite"
    for_update = ""

    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.busy_timeout_s = busy_timeout_s
        self._create()

    def __repr__(self) -> str:
        return f"SqliteBackend({str(self.path)!r})"

    def _unavailable(self, error: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(f"SQLite rooms file {self.path}: {error}")

    def _create(self) -> None:
        """The file, its folders and its tables, if missing; an old schema updated."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._unavailable(error) from error
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
            db.execute("PRAGMA foreign_keys=OFF")  # an upgrade drops and refills students
            db.execute("BEGIN IMMEDIATE")
            with committed(db.execute, sqlite3.Error):
                (version,) = db.execute("PRAGMA user_version").fetchone()
                if version < SCHEMA_VERSION:
                    if version == 0 and _has_table(db, "rooms"):
                        _upgrade_from_first_version(db)
                    elif version == 2:
                        db.execute("DROP TABLE IF EXISTS join_attempts")  # then made anew
                        for statement in SCHEMA.split(";"):
                            if statement.strip():
                                db.execute(statement)
                    else:
                        for statement in SCHEMA.split(";"):
                            if statement.strip():
                                db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection to the file for one operation; its failures as StoreUnavailableError."""
        try:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise self._unavailable(error) from error
        try:
            yield db
        except sqlite3.Error as error:
            raise self._unavailable(error) from error
        finally:
            db.close()

    @contextlib.contextmanager
    def transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        """See :mod:`lossviz.rooms.backend`."""
        if not self.path.exists():
            self._create()  # deleted while a server held this store: start afresh
        with self._connection() as db:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            with committed(db.execute, sqlite3.Error):
                yield db

    def close(self) -> None:
        """Nothing to close: a connection lives for one operation."""


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.execute(query, (name,)).fetchone() is not None


def _upgrade_from_first_version(db: sqlite3.Connection) -> None:
    """The first schema (no version) to this one, inside the caller's transaction.

    SQLite cannot drop the old ``UNIQUE (room, nickname_key)``, so students are copied into
    a new table (foreign keys are off on this connection: answers keep their ids).
    """
    db.execute("ALTER TABLE rooms ADD COLUMN locked INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE rooms ADD COLUMN salt TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE rooms SET salt = lower(hex(randomblob(16)))")
    rows = db.execute(
        "SELECT id, room, token_hash, nickname, joined, last_answer FROM students"
    ).fetchall()
    db.execute("DROP TABLE students")
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)  # creates students (and join_attempts); the rest exist
    db.executemany(
        "INSERT INTO students (id, room, token_hash, nickname, nickname_key, nickname_fold, "
        "joined, last_answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(sid, room, token, name, nickname_key(name), nickname_fold(name), joined, last)
         for sid, room, token, name, joined, last in rows],
    )  # fmt: skip
