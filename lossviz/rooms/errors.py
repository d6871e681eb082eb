"""What the room store raises.

Two families, never mixed:

- :class:`RoomError` and its subclasses: a room refuses something. The message is written
  for the student or the teacher who caused it and may be shown to them as it is.
- :class:`StoreUnavailableError`: the database failed (file unreadable, server down or
  restarting, connection lost, lock timeout). The message is for the server's log: it may
  name a file, a host or the database's own words, so a page shows a fixed notice instead.
  It is never a ``sqlite3`` or ``psycopg`` exception: those are wrapped (``__cause__``).

:class:`ConfigError` (a ``ValueError``) is a bad environment variable, named in the message.
"""

from __future__ import annotations


class RoomError(Exception):
    """Anything a room refuses; the message is fit to show a student or a teacher."""


class RoomNotFoundError(RoomError):
    """No such room, or it has expired."""


class RoomFullError(RoomError):
    """The room has its maximum number of students."""


class RoomLockedError(RoomError):
    """The teacher has locked the room: no new student may join (seats may come back)."""


class BadNicknameError(RoomError):
    """Empty, too long, invisible, blank-looking, stacked marks, or no letter or digit."""


class NicknameTakenError(RoomError):
    """Another student of the room has it, or one that looks the same (see nickname_key)."""


class BadSeatError(RoomError):
    """The browser's seat secret is not a string of the accepted length."""


class UnknownStudentError(RoomError):
    """The token is no student's of this room (or the student id is no student's)."""


class RemovedError(RoomError):
    """The teacher removed this student from the room: the seat cannot come back."""


class BadAnswerError(RoomError):
    """No such question, or no such kind."""


class RateLimitedError(RoomError):
    """An answer came too soon after the student's previous one; ``wait_s`` to go.

    ``wait_s`` is exact; the message rounds it up to the next tenth of a second (at least
    0.1 s), so it never says "wait 0.0 s".
    """

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class JoinRateLimitedError(RateLimitedError):
    """A join attempt came too soon after the previous one from the same address."""


class AccessDeniedError(RoomError):
    """The teacher's key is missing or wrong."""


class StoreUnavailableError(Exception):
    """The database cannot be used just now; the message is for the server's log only."""


class ConfigError(ValueError):
    """An environment variable of :class:`~lossviz.rooms.RoomConfig` holds a bad value."""
