"""Class-quiz rooms: a teacher's room, students' seats and answers, the results.

One store (:class:`RoomStore`) over SQLite or PostgreSQL; the conventions are in each
module's docstring:

- :mod:`~lossviz.rooms.store`: the operations, their order of checks and transactions;
- :mod:`~lossviz.rooms.backend`: what a database backend does (SQLite:
  :mod:`~lossviz.rooms.sqlite_backend`; PostgreSQL: :mod:`~lossviz.rooms.postgres_backend`,
  imported only when a ``postgresql://`` URL is used);
- :mod:`~lossviz.rooms.config`: the environment variables;
- :mod:`~lossviz.rooms.keys`: room codes, secrets and digests;
- :mod:`~lossviz.rooms.nicknames`: nickname rules and lookalike keys;
- :mod:`~lossviz.rooms.model`: what the store returns, and the recount;
- :mod:`~lossviz.rooms.errors`: refusals (:class:`RoomError`) and database failures
  (:class:`StoreUnavailableError`).

Everything public is importable from here: ``from lossviz.rooms import RoomStore``.
"""

from lossviz.rooms.backend import Backend, open_backend
from lossviz.rooms.config import (
    DB_ENV,
    INTERVAL_ENV,
    JOIN_INTERVAL_ENV,
    MAX_STUDENTS_ENV,
    TTL_ENV,
    URL_ENV,
    RoomConfig,
    default_db_path,
    is_postgres_url,
)
from lossviz.rooms.errors import (
    AccessDeniedError,
    BadAnswerError,
    BadNicknameError,
    BadSeatError,
    ConfigError,
    JoinRateLimitedError,
    NicknameTakenError,
    RateLimitedError,
    RemovedError,
    RoomError,
    RoomFullError,
    RoomLockedError,
    RoomNotFoundError,
    StoreUnavailableError,
    UnknownStudentError,
)
from lossviz.rooms.keys import (
    ALPHABET,
    CODE_LENGTH,
    MAX_SECRET_LENGTH,
    SEAT_MIN_LENGTH,
    digest,
    new_code,
    parse_code,
)
from lossviz.rooms.model import (
    KINDS,
    ClassResults,
    MyAnswers,
    Room,
    Seat,
    StudentResult,
    tally,
)
from lossviz.rooms.nicknames import (
    BLANK_LOOKING,
    HOMOGLYPHS,
    NICKNAME_MAX,
    clean_nickname,
    nickname_fold,
    nickname_key,
    nickname_keys,
)
from lossviz.rooms.sqlite_backend import SCHEMA, SqliteBackend
from lossviz.rooms.store import RoomStore, wait_message

__all__ = [
    "ALPHABET",
    "BLANK_LOOKING",
    "CODE_LENGTH",
    "DB_ENV",
    "HOMOGLYPHS",
    "INTERVAL_ENV",
    "JOIN_INTERVAL_ENV",
    "KINDS",
    "MAX_SECRET_LENGTH",
    "MAX_STUDENTS_ENV",
    "NICKNAME_MAX",
    "SCHEMA",
    "SEAT_MIN_LENGTH",
    "TTL_ENV",
    "URL_ENV",
    "AccessDeniedError",
    "Backend",
    "BadAnswerError",
    "BadNicknameError",
    "BadSeatError",
    "ClassResults",
    "ConfigError",
    "JoinRateLimitedError",
    "MyAnswers",
    "NicknameTakenError",
    "RateLimitedError",
    "RemovedError",
    "Room",
    "RoomConfig",
    "RoomError",
    "RoomFullError",
    "RoomLockedError",
    "RoomNotFoundError",
    "RoomStore",
    "Seat",
    "SqliteBackend",
    "StoreUnavailableError",
    "StudentResult",
    "UnknownStudentError",
    "clean_nickname",
    "default_db_path",
    "digest",
    "is_postgres_url",
    "new_code",
    "nickname_fold",
    "nickname_key",
    "nickname_keys",
    "open_backend",
    "parse_code",
    "tally",
    "wait_message",
]
