"""The class-quiz room store: a teacher's room, students' seats and answers, the results.

Conventions:

- One class, two databases: :class:`RoomStore` speaks SQL through a backend
  (:mod:`lossviz.rooms.backend`): SQLite (:mod:`~lossviz.rooms.sqlite_backend`) or
  PostgreSQL (:mod:`~lossviz.rooms.postgres_backend`). :meth:`RoomStore.from_env` picks
  one from :class:`~lossviz.rooms.RoomConfig`. Nothing lives in module globals: a store
  holds its backend, its config and its clock.
- Every check and the write it guards are one write transaction that first locks what it
  changes (the room row for joins and teacher operations, the student row for answers):
  no 101st student, no double answer, no two seats from one address within the interval.
- Refusals are :class:`~lossviz.rooms.RoomError` subclasses whose message a student or a
  teacher may read; database failures are :class:`~lossviz.rooms.StoreUnavailableError`
  only (a message for the server's log).
- Secrets are stored as digests only (:mod:`lossviz.rooms.keys`); a client's address as
  an HMAC under the room's salt, kept only until the room's next join after the join
  interval (or the room's end).
- Times are seconds since the epoch from the injected ``clock``; a room expires
  ``ttl_minutes`` after its creation and is then as good as missing.
- A removed student keeps a row (so their seat secret cannot come back) but loses their
  answers and their place: they leave the results, the room's count and the nickname.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lossviz.rooms.backend import Backend, Tx, open_backend
from lossviz.rooms.config import RoomConfig
from lossviz.rooms.errors import (
    AccessDeniedError,
    BadAnswerError,
    BadSeatError,
    JoinRateLimitedError,
    NicknameTakenError,
    RateLimitedError,
    RemovedError,
    RoomError,
    RoomFullError,
    RoomLockedError,
    RoomNotFoundError,
    UnknownStudentError,
)
from lossviz.rooms.keys import (
    address_digest,
    digest,
    is_seat,
    is_secret,
    matches,
    new_code,
    new_salt,
    new_secret,
    parse_code,
    seat_digest,
)
from lossviz.rooms.model import KINDS, ClassResults, MyAnswers, Room, Seat, tally
from lossviz.rooms.nicknames import clean_nickname, nickname_keys

_CODE_ATTEMPTS = 20
_ROOM_COLUMNS = "code, key_hash, settings, answer_key, created, expires, locked, salt"


# A script's join attempts against people's: about the attempts of the last second from one
# address. A class of 30 behind one router, pressing again every 1 to 3 s when told to wait,
# reaches about 8 at its busiest; a script sending joins as fast as the server answers
# passes 16 within 0.4 s (at 50 a second), before its second seat could come.
HAMMER_LEVEL = 16.0
HAMMER_DECAY_S = 1.0


def wait_message(wait_s: float) -> str:
    """``wait_s`` rounded up to the next tenth of a second, at least 0.1: "0.4 s"."""
    tenths = max(1, math.ceil(round(wait_s * 10, 6)))
    return f"{tenths / 10:.1f} s"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class RoomStore:
    """Rooms, seats and answers in one database; see the module docstring.

    ``target``: a :class:`RoomConfig` (its ``rooms_url``, else its ``db_path``; it is then
    the config too), a SQLite file path, a ``postgresql://`` URL, or a backend object.
    ``config``: the limits (default: ``target`` if it is a config, else ``RoomConfig()``).
    ``busy_timeout_s``: SQLite's wait for the file's lock. Raises StoreUnavailableError
    when the database cannot be opened or its tables made.
    """

    def __init__(
        self,
        target: RoomConfig | str | Path | Backend,
        config: RoomConfig | None = None,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 30.0,
    ) -> None:
        if isinstance(target, RoomConfig):
            config = config or target
            target = target.rooms_url or target.db_path
        self.backend = open_backend(target, busy_timeout_s)
        self.config = config or RoomConfig()
        self.clock = clock

    @classmethod
    def from_env(cls, clock: Callable[[], float] = time.time) -> RoomStore:
        """The store ``RoomConfig.from_env()`` describes: PostgreSQL when
        ``LOSSVIZ_ROOMS_URL`` is set, else SQLite at ``LOSSVIZ_ROOMS_DB``."""
        return cls(RoomConfig.from_env(), clock=clock)

    def close(self) -> None:
        """Let go of pooled connections (PostgreSQL); the store still works afterwards."""
        self.backend.close()

    def __repr__(self) -> str:
        return f"RoomStore({self.backend!r})"

    # ------------------------------------------------------------------ plumbing

    def _room_row(self, tx: Tx, code: object, lock: bool = False) -> tuple | None:
        code = parse_code(code)
        if code is None:
            return None
        suffix = self.backend.for_update if lock else ""
        return tx.execute(
            f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE code = ? AND expires > ?{suffix}",
            (code, self.clock()),
        ).fetchone()

    def _open_room(self, tx: Tx, code: object, lock: bool = False) -> tuple:
        row = self._room_row(tx, code, lock)
        if row is None:
            raise RoomNotFoundError("There is no room with this code (or it has expired).")
        return row

    def _teachers_room(self, tx: Tx, code: object, key: object, lock: bool = False) -> tuple:
        row = self._open_room(tx, code, lock)
        if not matches(key, row[1]):
            raise AccessDeniedError("This link does not open this room's results.")
        return row

    @staticmethod
    def _room_of(row: tuple) -> Room:
        code, _, settings, answer_key, created, expires, locked, _ = row
        return Room(
            code,
            json.loads(settings),
            tuple(json.loads(answer_key)),
            created,
            expires,
            bool(locked),
        )

    def _student(self, tx: Tx, code: str, token: object, lock: bool = False) -> tuple:
        """``(id, nickname, last_answer)`` of the token's student; Unknown/RemovedError."""
        if not is_secret(token):
            raise UnknownStudentError("Join the room first.")
        suffix = self.backend.for_update if lock else ""
        row = tx.execute(
            "SELECT id, nickname, last_answer, removed FROM students "
            f"WHERE token_hash = ? AND room = ?{suffix}",
            (seat_digest(code, token), code),
        ).fetchone()
        if row is None:
            raise UnknownStudentError("Join the room first.")
        if row[3] is not None:
            raise RemovedError("Your teacher removed you from this room.")
        return row[:3]

    # ------------------------------------------------------------------ teacher

    def create_room(
        self, quiz_settings: Mapping[str, str], answer_key: Sequence[int]
    ) -> tuple[Room, str]:
        """A new room with a fresh code; returns it and the teacher's key (shown once)."""
        key = tuple(int(k) for k in answer_key)
        if not key or any(not 0 <= k < KINDS for k in key):
            raise BadAnswerError("An answer key is a list of kinds 0..2.")
        settings = {str(k): str(v) for k, v in quiz_settings.items()}
        secret = new_secret()
        self.purge_expired()
        now = self.clock()
        expires = now + self.config.ttl_minutes * 60
        for _ in range(_CODE_ATTEMPTS):
            code = new_code()
            with self.backend.transaction(write=True) as tx:
                inserted = tx.execute(
                    "INSERT INTO rooms (code, key_hash, settings, answer_key, created, expires, "
                    "locked, salt) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
                    (code, digest(secret), json.dumps(settings), json.dumps(key), now, expires,
                     False, new_salt()),
                ).rowcount  # fmt: skip
            if inserted:
                return Room(code, settings, key, now, expires), secret
        raise RoomError("Could not find a free room code; try again.")

    def is_teacher(self, code: object, secret: object) -> bool:
        with self.backend.transaction(write=False) as tx:
            row = self._room_row(tx, code)
        return row is not None and matches(secret, row[1])

    def results(self, code: object, secret: object) -> ClassResults:
        """The class's results; RoomNotFoundError, or AccessDeniedError for a bad key.

        Removed students and their answers are not in them.
        """
        with self.backend.transaction(write=False) as tx:  # one snapshot
            room = self._room_of(self._teachers_room(tx, code, secret))
            students = tx.execute(
                "SELECT id, nickname FROM students WHERE room = ? AND removed IS NULL ORDER BY id",
                (room.code,),
            ).fetchall()
            answers = tx.execute(
                "SELECT a.student, a.question, a.kind FROM answers a "
                "JOIN students s ON s.id = a.student WHERE s.room = ? AND s.removed IS NULL",
                (room.code,),
            ).fetchall()
        return tally(room, [tuple(s) for s in students], [tuple(a) for a in answers])

    def set_locked(self, code: object, key: object, locked: bool) -> Room:
        """Lock (no new student may join; seats still come back) or unlock the room."""
        if not isinstance(locked, bool):
            raise TypeError("locked is a bool")
        with self.backend.transaction(write=True) as tx:
            row = self._teachers_room(tx, code, key, lock=True)
            tx.execute("UPDATE rooms SET locked = ? WHERE code = ?", (locked, row[0]))
        return self._room_of(row[:6] + (locked,) + row[7:])

    def remove_student(self, code: object, key: object, student_id: object) -> None:
        """Remove a student: their answers are deleted, their seat secret cannot rejoin,
        their nickname and seat are free again. Removing them twice is no error;
        UnknownStudentError for an id that is no student's of this room."""
        with self.backend.transaction(write=True) as tx:
            room = self._teachers_room(tx, code, key, lock=True)[0]
            if not _is_int(student_id) or not 0 < student_id < 2**63:
                raise UnknownStudentError("There is no such student in this room.")
            row = tx.execute(
                "SELECT removed FROM students WHERE id = ? AND room = ?", (student_id, room)
            ).fetchone()
            if row is None:
                raise UnknownStudentError("There is no such student in this room.")
            if row[0] is not None:
                return
            tx.execute("UPDATE students SET removed = ? WHERE id = ?", (self.clock(), student_id))
            tx.execute("DELETE FROM answers WHERE student = ?", (student_id,))

    # ------------------------------------------------------------------ students

    def room(self, code: object) -> Room | None:
        """The room, or None when the code is malformed, unknown or expired."""
        with self.backend.transaction(write=False) as tx:
            row = self._room_row(tx, code)
        return None if row is None else self._room_of(row)

    def join(
        self,
        code: object,
        nickname: object,
        seat: object = None,
        address: object = None,
    ) -> Seat:
        """Take a seat in the room, or come back to one.

        ``seat``: the browser's own secret (16..200 characters; None: a fresh one is
        drawn), which becomes the student's token. ``address``: the client's address as
        the caller knows it (None: no join rate limit); only an HMAC of it is stored.

        A seat this room already has comes back (``rejoined=True``, same nickname and
        answers; ``nickname`` is ignored) even when the room is locked or full. Otherwise,
        in this order: RemovedError for a removed seat, RoomLockedError,
        JoinRateLimitedError when ``address`` took a seat less than ``join_interval_s`` ago
        or hammers joins (see :meth:`_too_soon`: a burst holds one seat, students behind one
        router get in one after another),
        RoomFullError, BadNicknameError, NicknameTakenError; then the new seat. Raises
        BadSeatError for a malformed ``seat`` and RoomNotFoundError first of all.
        """
        if seat is not None and not is_seat(seat):
            raise BadSeatError("This browser's seat is not valid: reload the page.")
        token = new_secret() if seat is None else seat
        refusal: RoomError | None = None
        with self.backend.transaction(write=True) as tx:
            row = self._open_room(tx, code, lock=True)
            room, salt, locked = row[0], row[7], bool(row[6])
            token_hash = seat_digest(room, token)
            mine = tx.execute(
                "SELECT id, nickname, removed FROM students WHERE token_hash = ? AND room = ?",
                (token_hash, room),
            ).fetchone()
            if mine is not None:
                if mine[2] is not None:
                    raise RemovedError("Your teacher removed you from this room.")
                return Seat(token, mine[1], rejoined=True, student_id=mine[0])
            if locked:
                raise RoomLockedError("Your teacher has locked this room: no one new can join.")
            now = self.clock()
            refusal = self._too_soon(tx, room, salt, address, now)
            if refusal is None:
                try:
                    name = self._seat_rules(tx, room, nickname)
                except RoomError as problem:
                    refusal = problem  # the attempt above still counts: commit it
                else:
                    (student_id,) = tx.execute(
                        "INSERT INTO students (room, token_hash, nickname, nickname_key, "
                        "nickname_fold, joined) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        (room, token_hash, name, *nickname_keys(name), now),
                    ).fetchone()
                    self._record_seat_taken(tx, room, salt, address, now)
        if refusal is not None:
            raise refusal
        return Seat(token, name, rejoined=False, student_id=student_id)

    def _too_soon(
        self, tx: Tx, room: str, salt: str, address: object, now: float
    ) -> JoinRateLimitedError | None:
        """Record a join attempt from ``address``; the refusal if it must wait.

        Two regimes, per room and address (``interval`` = ``join_interval_s``):

        - people: an address takes at most one seat per interval; a refused attempt does
          not restart it, so a class behind one school router gets in one after another;
        - a script: an address's attempt rate (a level that grows by one per attempt and
          decays by e every ``HAMMER_DECAY_S``: about the attempts of the last second)
          above :data:`HAMMER_LEVEL` blocks it, and every attempt while it is blocked
          restarts the block, so a burst of joins holds one seat however many it tries.

        Rows whose last attempt is older than the interval are deleted first: an address
        digest is kept only until the room's next join attempt after that.
        """
        interval = self.config.join_interval_s
        if address is None or interval <= 0:
            return None
        tx.execute(
            "DELETE FROM join_attempts WHERE room = ? AND attempted <= ?", (room, now - interval)
        )
        who = address_digest(salt, str(address))
        row = tx.execute(
            "SELECT attempted, seat_at, level, blocked_until FROM join_attempts "
            "WHERE room = ? AND address_hash = ?",
            (room, who),
        ).fetchone()
        last, seat_at, level, blocked_until = row or (now, None, 0.0, 0.0)
        level = level * math.exp(-max(0.0, now - last) / HAMMER_DECAY_S) + 1.0
        if blocked_until > now or level > HAMMER_LEVEL:
            blocked_until = now + interval
        tx.execute(
            "INSERT INTO join_attempts (room, address_hash, attempted, seat_at, level, "
            "blocked_until) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (room, address_hash) DO UPDATE SET attempted = excluded.attempted, "
            "level = excluded.level, blocked_until = excluded.blocked_until",
            (room, who, now, seat_at, level, blocked_until),
        )
        if blocked_until > now:
            wait = blocked_until - now
            return JoinRateLimitedError(
                f"Too many tries to join from your network: wait {wait_message(wait)} and "
                "press Join again.",
                wait,
            )
        if seat_at is not None and now - seat_at < interval:
            wait = interval - (now - seat_at)
            return JoinRateLimitedError(
                "Someone on your network joined a moment ago: "
                f"wait {wait_message(wait)} and press Join again.",
                wait,
            )
        return None

    def _record_seat_taken(self, tx: Tx, room: str, salt: str, address: object, now: float) -> None:
        """Remember when ``address`` last took a seat in ``room`` (see :meth:`_too_soon`)."""
        if address is None or self.config.join_interval_s <= 0:
            return
        tx.execute(
            "UPDATE join_attempts SET seat_at = ? WHERE room = ? AND address_hash = ?",
            (now, room, address_digest(salt, str(address))),
        )

    def _seat_rules(self, tx: Tx, room: str, nickname: object) -> str:
        """The cleaned nickname if the room has a seat for it; RoomFull/BadNickname/Taken."""
        (count,) = tx.execute(
            "SELECT COUNT(*) FROM students WHERE room = ? AND removed IS NULL", (room,)
        ).fetchone()
        if count >= self.config.max_students:
            raise RoomFullError(
                f"This room is full ({self.config.max_students} students): ask your teacher."
            )
        name = clean_nickname(nickname)
        key, fold = nickname_keys(name)
        taken = tx.execute(
            "SELECT 1 FROM students WHERE room = ? AND removed IS NULL "
            "AND (nickname_key = ? OR nickname_fold = ?)",
            (room, key, fold),
        ).fetchone()
        if taken:
            raise NicknameTakenError(
                "Someone in this room already has this nickname, or one that looks the same: "
                "pick another."
            )
        return name

    def answer(self, code: object, token: object, question: object, kind: object) -> bool:
        """Store the student's answer; True if stored, False if that question was answered.

        Raises RoomNotFoundError, UnknownStudentError, RemovedError, BadAnswerError, or
        RateLimitedError when the previous answer was less than ``answer_interval_s`` ago
        (nothing stored). True means committed.
        """
        with self.backend.transaction(write=True) as tx:
            room = self._room_of(self._open_room(tx, code))
            if not _is_int(question) or not 0 <= question < room.length:
                raise BadAnswerError("No such question.")
            if not _is_int(kind) or not 0 <= kind < KINDS:
                raise BadAnswerError("No such answer.")
            student, _, last = self._student(tx, room.code, token, lock=True)
            done = tx.execute(
                "SELECT 1 FROM answers WHERE student = ? AND question = ?", (student, question)
            ).fetchone()
            if done:
                return False
            now = self.clock()
            interval = self.config.answer_interval_s
            if last is not None and now - last < interval:
                wait = interval - (now - last)
                raise RateLimitedError(
                    f"Too fast: wait {wait_message(wait)} and answer again.", wait
                )
            tx.execute(
                "INSERT INTO answers (student, question, kind, answered) VALUES (?, ?, ?, ?)",
                (student, question, kind, now),
            )
            tx.execute("UPDATE students SET last_answer = ? WHERE id = ?", (now, student))
        return True

    def my_answers(self, code: object, token: object) -> MyAnswers:
        """The student's nickname and own answers; RoomNotFound, UnknownStudent, Removed."""
        with self.backend.transaction(write=False) as tx:
            room = self._open_room(tx, code)[0]
            student, nickname, _ = self._student(tx, room, token)
            rows = tx.execute(
                "SELECT question, kind FROM answers WHERE student = ?", (student,)
            ).fetchall()
        return MyAnswers(nickname, {question: kind for question, kind in rows})

    # ------------------------------------------------------------------ upkeep

    def purge_expired(self) -> int:
        """Delete expired rooms with their students, answers and join attempts."""
        with self.backend.transaction(write=True) as tx:
            return tx.execute("DELETE FROM rooms WHERE expires <= ?", (self.clock(),)).rowcount
