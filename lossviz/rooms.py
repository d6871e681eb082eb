"""Class-quiz rooms in one SQLite file: a teacher's room, students' answers, the results.

Conventions:

- Storage: one SQLite file (stdlib ``sqlite3``), WAL, a fresh connection per operation
  with a busy timeout, so the threads of one server and several server processes share
  it. Nothing lives in module globals: a :class:`RoomStore` holds only the path, the
  :class:`RoomConfig` and the clock. Every write is one ``BEGIN IMMEDIATE`` transaction
  (the check and the write see the same state: no 101st student, no double answer).
- Room codes: ``CODE_LENGTH`` characters of ``ALPHABET`` (uppercase, no 0/O/1/I);
  :func:`parse_code` reads one typed by hand or found in a link (case-insensitive).
- Secrets: the teacher's key and each student's token are ``secrets.token_urlsafe``
  strings, stored only as SHA-256 hex digests and compared with ``hmac.compare_digest``.
- A room stores the quiz settings (a link's query, ``str -> str``) and the answer key
  (the true kind of each question, ``lossviz.triplets.Kind`` as an int), so results are
  a plain recount of the stored answers against the stored key.
- Times are seconds since the epoch from the injected ``clock``; a room expires
  ``ttl_minutes`` after its creation and is then as good as missing.
- Nicknames: see :func:`clean_nickname`. They are data: never evaluated, and the UI
  shows them as text only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import secrets
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
NICKNAME_MAX = 24
KINDS = 3  # easy, semi-hard, hard: lossviz.triplets.Kind's values 0..2
MAX_SECRET_LENGTH = 200  # longer is no key or token of ours: refused before hashing

DB_ENV = "LOSSVIZ_ROOMS_DB"
TTL_ENV = "LOSSVIZ_ROOM_TTL_MINUTES"
MAX_STUDENTS_ENV = "LOSSVIZ_ROOM_MAX_STUDENTS"
INTERVAL_ENV = "LOSSVIZ_ROOM_ANSWER_INTERVAL_S"

# Control, format (invisible: bidi overrides, zero-width), surrogate, private-use and
# unassigned characters, and line or paragraph separators.
_BAD_NICKNAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_CODE_ATTEMPTS = 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    answer_key TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS students (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    nickname TEXT NOT NULL,
    nickname_key TEXT NOT NULL,
    joined REAL NOT NULL,
    last_answer REAL,
    UNIQUE (room, nickname_key)
);
CREATE TABLE IF NOT EXISTS answers (
    student INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    question INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    answered REAL NOT NULL,
    PRIMARY KEY (student, question)
);
CREATE INDEX IF NOT EXISTS rooms_expires ON rooms (expires);
"""


class RoomError(Exception):
    """Anything a room refuses; the message is fit to show a student or a teacher."""


class RoomNotFoundError(RoomError):
    """No such room, or it has expired."""


class RoomFullError(RoomError):
    """The room has its maximum number of students."""


class BadNicknameError(RoomError):
    """Empty, too long or with control or invisible characters."""


class NicknameTakenError(RoomError):
    """Another student of the room has it (case-insensitive)."""


class UnknownStudentError(RoomError):
    """The token is no student's of this room (e.g. the browser session was reloaded)."""


class BadAnswerError(RoomError):
    """No such question, or no such kind."""


class RateLimitedError(RoomError):
    """An answer came too soon after the student's previous one; ``wait_s`` to go."""

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class AccessDeniedError(RoomError):
    """The teacher's key is missing or wrong."""


class ConfigError(ValueError):
    """An environment variable of :class:`RoomConfig` holds a bad value."""


def default_db_path() -> Path:
    return Path.home() / ".local" / "share" / "lossviz" / "rooms.sqlite3"


@dataclass(frozen=True)
class RoomConfig:
    """Where rooms are kept and their limits; :meth:`from_env` is the one reader of them."""

    db_path: Path = field(default_factory=default_db_path)
    ttl_minutes: float = 240.0
    max_students: int = 100
    answer_interval_s: float = 0.5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RoomConfig:
        """The config the environment asks for (unset or empty variables: the defaults).

        ``LOSSVIZ_ROOMS_DB`` (a file path), ``LOSSVIZ_ROOM_TTL_MINUTES`` (> 0),
        ``LOSSVIZ_ROOM_MAX_STUDENTS`` (>= 1), ``LOSSVIZ_ROOM_ANSWER_INTERVAL_S`` (>= 0).
        Raises :class:`ConfigError` naming the variable for a bad value.
        """
        env = os.environ if env is None else env
        values: dict = {}
        path = env.get(DB_ENV, "").strip()
        if path:
            values["db_path"] = Path(path).expanduser()
        for name, name_field, kind, lowest, strict in (
            (TTL_ENV, "ttl_minutes", float, 0.0, True),
            (MAX_STUDENTS_ENV, "max_students", int, 1, False),
            (INTERVAL_ENV, "answer_interval_s", float, 0.0, False),
        ):
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number") from None
            if not math.isfinite(value) or value < lowest or (strict and value == lowest):
                bound = f"> {lowest}" if strict else f">= {lowest}"
                raise ConfigError(f"{name}={raw!r} must be a finite number {bound}")
            values[name_field] = value
        return cls(**values)


@dataclass(frozen=True)
class Room:
    """A room as stored: its code, quiz settings, answer key and times."""

    code: str
    settings: dict[str, str]
    answer_key: tuple[int, ...]
    created: float
    expires: float

    @property
    def length(self) -> int:
        return len(self.answer_key)


@dataclass(frozen=True)
class StudentResult:
    """One student's line in the teacher's table (``nickname`` is data: show it as text)."""

    nickname: str
    answered: int
    score: int


@dataclass(frozen=True)
class ClassResults:
    """The class's results, recounted from the stored answers and the stored answer key.

    ``answered[q]`` / ``wrong[q]``: students who answered question ``q`` / got it wrong.
    ``histogram[s]``: students with ``s`` right answers, among those who answered at
    least one question. ``confusion[true][given]``: answers of kind ``given`` to questions
    of kind ``true``. ``most_missed``: the question with the most wrong answers (the
    first of a tie), None while no answer is wrong.
    """

    room: Room
    joined: int
    students: tuple[StudentResult, ...]  # in joining order
    answered: tuple[int, ...]
    wrong: tuple[int, ...]
    histogram: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]
    most_missed: int | None

    @property
    def total_answers(self) -> int:
        return sum(self.answered)

    @property
    def finished(self) -> int:
        return sum(s.answered == self.room.length for s in self.students)


@dataclass(frozen=True)
class MyAnswers:
    """What one student may see: their nickname and their own answers (question -> kind)."""

    nickname: str
    answers: dict[int, int]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _matches(secret: object, stored_hash: str) -> bool:
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET_LENGTH:
        return False
    return hmac.compare_digest(digest(secret), stored_hash)


def parse_code(raw: object) -> str | None:
    """The room code ``raw`` stands for (trimmed, uppercased), or None if it is none."""
    if not isinstance(raw, str) or len(raw) > 4 * CODE_LENGTH:
        return None
    code = raw.strip().upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def clean_nickname(raw: object) -> str:
    """The nickname as stored: trimmed, NFC, 1..24 characters, no control or invisible ones.

    Markup (``<b>``, ``**``, ``<script>``) and emoji are kept: a nickname is only ever
    shown as text. Raises :class:`BadNicknameError` with the reason.
    """
    if not isinstance(raw, str):
        raise BadNicknameError("A nickname is text.")
    nickname = unicodedata.normalize("NFC", raw.strip())
    if not nickname:
        raise BadNicknameError("Type a nickname (1 to 24 characters).")
    if len(nickname) > NICKNAME_MAX:
        raise BadNicknameError(f"A nickname has at most {NICKNAME_MAX} characters.")
    if any(unicodedata.category(c) in _BAD_NICKNAME_CATEGORIES for c in nickname):
        raise BadNicknameError("A nickname cannot contain control or invisible characters.")
    return nickname


def nickname_key(nickname: str) -> str:
    """What makes two nicknames the same: compatibility-normalised and case-folded."""
    return unicodedata.normalize("NFKC", nickname).casefold()


class RoomStore:
    """Rooms, students and answers in the SQLite file at ``path``; see the module docstring."""

    def __init__(
        self,
        path: str | Path,
        config: RoomConfig | None = None,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path).expanduser()
        self.config = config or RoomConfig(db_path=self.path)
        self.clock = clock
        self.busy_timeout_s = busy_timeout_s
        self._create()

    def _create(self) -> None:
        """The file, its folders and its tables, if missing (idempotent)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect(create=False) as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
            with self._write(db):
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)

    @classmethod
    def from_env(cls, clock: Callable[[], float] = time.time) -> RoomStore:
        config = RoomConfig.from_env()
        return cls(config.db_path, config, clock)

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _connect(self, create: bool = True) -> Iterator[sqlite3.Connection]:
        if create and not self.path.exists():
            self._create()  # deleted while a server held this store: start afresh
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @staticmethod
    @contextlib.contextmanager
    def _write(db: sqlite3.Connection) -> Iterator[None]:
        """One write transaction, locked from its start (no upgrade from a read lock)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _room_row(self, db: sqlite3.Connection, code: object) -> tuple | None:
        code = parse_code(code)
        if code is None:
            return None
        return db.execute(
            "SELECT code, key_hash, settings, answer_key, created, expires FROM rooms "
            "WHERE code = ? AND expires > ?",
            (code, self.clock()),
        ).fetchone()

    @staticmethod
    def _room_of(row: tuple) -> Room:
        code, _, settings, answer_key, created, expires = row
        return Room(code, json.loads(settings), tuple(json.loads(answer_key)), created, expires)

    def _open_room(self, db: sqlite3.Connection, code: object) -> tuple:
        row = self._room_row(db, code)
        if row is None:
            raise RoomNotFoundError("There is no room with this code (or it has expired).")
        return row

    def _student(self, db: sqlite3.Connection, code: str, token: object) -> tuple:
        if not isinstance(token, str) or not token or len(token) > MAX_SECRET_LENGTH:
            raise UnknownStudentError("Join the room first.")
        row = db.execute(
            "SELECT id, nickname, last_answer FROM students WHERE token_hash = ? AND room = ?",
            (digest(token), code),
        ).fetchone()
        if row is None:
            raise UnknownStudentError("Join the room first.")
        return row

    # ------------------------------------------------------------------ teacher

    def create_room(
        self, quiz_settings: Mapping[str, str], answer_key: Sequence[int]
    ) -> tuple[Room, str]:
        """A new room with a fresh code; returns it and the teacher's key (shown once)."""
        key = tuple(int(k) for k in answer_key)
        if not key or any(not 0 <= k < KINDS for k in key):
            raise BadAnswerError("An answer key is a list of kinds 0..2.")
        settings = {str(k): str(v) for k, v in quiz_settings.items()}
        secret = secrets.token_urlsafe(24)
        self.purge_expired()
        now = self.clock()
        expires = now + self.config.ttl_minutes * 60
        with self._connect() as db:
            for _ in range(_CODE_ATTEMPTS):
                code = new_code()
                try:
                    with self._write(db):
                        db.execute(
                            "INSERT INTO rooms (code, key_hash, settings, answer_key, created, "
                            "expires) VALUES (?, ?, ?, ?, ?, ?)",
                            (code, digest(secret), json.dumps(settings), json.dumps(key), now,
                             expires),
                        )  # fmt: skip
                except sqlite3.IntegrityError:
                    continue  # the code is taken: draw another
                return Room(code, settings, key, now, expires), secret
        raise RoomError("Could not find a free room code; try again.")

    def is_teacher(self, code: object, secret: object) -> bool:
        with self._connect() as db:
            row = self._room_row(db, code)
        return row is not None and _matches(secret, row[1])

    def results(self, code: object, secret: object) -> ClassResults:
        """The class's results; RoomNotFoundError, or AccessDeniedError for a bad key."""
        with self._connect() as db:
            db.execute("BEGIN")  # one snapshot for the room, the students and the answers
            try:
                row = self._open_room(db, code)
                if not _matches(secret, row[1]):
                    raise AccessDeniedError("This link does not open this room's results.")
                room = self._room_of(row)
                students = db.execute(
                    "SELECT id, nickname FROM students WHERE room = ? ORDER BY id", (room.code,)
                ).fetchall()
                answers = db.execute(
                    "SELECT a.student, a.question, a.kind FROM answers a "
                    "JOIN students s ON s.id = a.student WHERE s.room = ?",
                    (room.code,),
                ).fetchall()
            finally:
                db.execute("COMMIT")
        return tally(room, students, answers)

    # ------------------------------------------------------------------ students

    def room(self, code: object) -> Room | None:
        """The room, or None when the code is malformed, unknown or expired."""
        with self._connect() as db:
            row = self._room_row(db, code)
        return None if row is None else self._room_of(row)

    def join(self, code: object, nickname: object) -> str:
        """Join the room under ``nickname``; returns the student's token (their only key)."""
        name = clean_nickname(nickname)
        token = secrets.token_urlsafe(24)
        with self._connect() as db, self._write(db):
            room = self._open_room(db, code)[0]
            (count,) = db.execute(
                "SELECT COUNT(*) FROM students WHERE room = ?", (room,)
            ).fetchone()
            if count >= self.config.max_students:
                raise RoomFullError(
                    f"This room is full ({self.config.max_students} students): ask your teacher."
                )
            try:
                db.execute(
                    "INSERT INTO students (room, token_hash, nickname, nickname_key, joined) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (room, digest(token), name, nickname_key(name), self.clock()),
                )
            except sqlite3.IntegrityError:
                raise NicknameTakenError(
                    "Someone in this room already has this nickname: pick another."
                ) from None
        return token

    def answer(self, code: object, token: object, question: object, kind: object) -> bool:
        """Store the student's answer; True if stored, False if that question was answered.

        Raises RoomNotFoundError, UnknownStudentError, BadAnswerError, or RateLimitedError
        when the previous answer was less than ``answer_interval_s`` ago (nothing stored).
        """
        with self._connect() as db, self._write(db):
            row = self._open_room(db, code)
            room = self._room_of(row)
            if isinstance(question, bool) or not isinstance(question, int):
                raise BadAnswerError("No such question.")
            if not 0 <= question < room.length:
                raise BadAnswerError("No such question.")
            if isinstance(kind, bool) or not isinstance(kind, int) or not 0 <= kind < KINDS:
                raise BadAnswerError("No such answer.")
            student, _, last = self._student(db, room.code, token)
            done = db.execute(
                "SELECT 1 FROM answers WHERE student = ? AND question = ?", (student, question)
            ).fetchone()
            if done:
                return False
            now = self.clock()
            interval = self.config.answer_interval_s
            if last is not None and now - last < interval:
                wait = interval - (now - last)
                raise RateLimitedError(f"Too fast: wait {wait:.1f} s and answer again.", wait)
            db.execute(
                "INSERT INTO answers (student, question, kind, answered) VALUES (?, ?, ?, ?)",
                (student, question, kind, now),
            )
            db.execute("UPDATE students SET last_answer = ? WHERE id = ?", (now, student))
        return True

    def my_answers(self, code: object, token: object) -> MyAnswers:
        """The student's nickname and own answers; RoomNotFoundError or UnknownStudentError."""
        with self._connect() as db:
            room = self._open_room(db, code)[0]
            student, nickname, _ = self._student(db, room, token)
            rows = db.execute(
                "SELECT question, kind FROM answers WHERE student = ?", (student,)
            ).fetchall()
        return MyAnswers(nickname, dict(rows))

    # ------------------------------------------------------------------ upkeep

    def purge_expired(self) -> int:
        """Delete expired rooms with their students and answers; how many rooms went."""
        with self._connect() as db, self._write(db):
            return db.execute("DELETE FROM rooms WHERE expires <= ?", (self.clock(),)).rowcount


def tally(
    room: Room, students: Sequence[tuple[int, str]], answers: Sequence[tuple[int, int, int]]
) -> ClassResults:
    """Results from rows: students ``(id, nickname)``, answers ``(student, question, kind)``."""
    n = room.length
    answered, wrong = [0] * n, [0] * n
    confusion = [[0] * KINDS for _ in range(KINDS)]
    per_student = {sid: [0, 0] for sid, _ in students}  # answered, right
    for sid, question, kind in answers:
        true = room.answer_key[question]
        answered[question] += 1
        confusion[true][kind] += 1
        per_student[sid][0] += 1
        if kind == true:
            per_student[sid][1] += 1
        else:
            wrong[question] += 1
    histogram = [0] * (n + 1)
    for count, right in per_student.values():
        if count:
            histogram[right] += 1
    most = max(range(n), key=lambda q: (wrong[q], -q))
    return ClassResults(
        room=room,
        joined=len(students),
        students=tuple(StudentResult(name, *per_student[sid]) for sid, name in students),
        answered=tuple(answered),
        wrong=tuple(wrong),
        histogram=tuple(histogram),
        confusion=tuple(tuple(row) for row in confusion),
        most_missed=most if wrong[most] else None,
    )
