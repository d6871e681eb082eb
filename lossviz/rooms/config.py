"""Where rooms are kept and their limits: :class:`RoomConfig`, read from the environment.

Variables (unset or empty: the default):

- ``LOSSVIZ_ROOMS_URL``: a ``postgresql://`` (or ``postgres://``) URL in libpq's syntax.
  When set, rooms live in that PostgreSQL database and ``LOSSVIZ_ROOMS_DB`` is unused.
- ``LOSSVIZ_ROOMS_DB``: the SQLite file (default ``~/.local/share/lossviz/rooms.sqlite3``).
- ``LOSSVIZ_ROOM_TTL_MINUTES`` (> 0, default 240): a room's life from its creation.
- ``LOSSVIZ_ROOM_MAX_STUDENTS`` (>= 1, default 100): seats per room.
- ``LOSSVIZ_ROOM_ANSWER_INTERVAL_S`` (>= 0, default 0.5): least time between two answers
  of one student (0: no limit).
- ``LOSSVIZ_ROOM_JOIN_INTERVAL_S`` (>= 0, default 0.5): least time between two seats
  taken from one address in one room (0: no limit, and no address digest is stored).

A :class:`ConfigError` names the variable; it never repeats a URL (it may hold a password).
The URL is also left out of the config's ``repr``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lossviz.rooms.errors import ConfigError

URL_ENV = "LOSSVIZ_ROOMS_URL"
DB_ENV = "LOSSVIZ_ROOMS_DB"
TTL_ENV = "LOSSVIZ_ROOM_TTL_MINUTES"
MAX_STUDENTS_ENV = "LOSSVIZ_ROOM_MAX_STUDENTS"
INTERVAL_ENV = "LOSSVIZ_ROOM_ANSWER_INTERVAL_S"
JOIN_INTERVAL_ENV = "LOSSVIZ_ROOM_JOIN_INTERVAL_S"

POSTGRES_SCHEMES = ("postgresql", "postgres")


def default_db_path() -> Path:
    return Path.home() / ".local" / "share" / "lossviz" / "rooms.sqlite3"


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` is a string naming a PostgreSQL database (``postgresql://...``)."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in POSTGRES_SCHEMES


@dataclass(frozen=True)
class RoomConfig:
    """Where rooms are kept and their limits; :meth:`from_env` is the one reader of them.

    The first four fields keep their order (positional construction stays valid).
    ``rooms_url`` set: PostgreSQL, and ``db_path`` is unused.
    """

    db_path: Path = field(default_factory=default_db_path)
    ttl_minutes: float = 240.0
    max_students: int = 100
    answer_interval_s: float = 0.5
    join_interval_s: float = 0.5
    rooms_url: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RoomConfig:
        """The config the environment asks for (see the module docstring for the variables).

        Raises :class:`ConfigError` naming the variable for a bad value.
        """
        env = os.environ if env is None else env
        values: dict = {}
        url = env.get(URL_ENV, "").strip()
        if url:
            values["rooms_url"] = _checked_url(url)
        path = env.get(DB_ENV, "").strip()
        if path:
            values["db_path"] = Path(path).expanduser()
        for name, name_field, kind, lowest, strict in (
            (TTL_ENV, "ttl_minutes", float, 0.0, True),
            (MAX_STUDENTS_ENV, "max_students", int, 1, False),
            (INTERVAL_ENV, "answer_interval_s", float, 0.0, False),
            (JOIN_INTERVAL_ENV, "join_interval_s", float, 0.0, False),
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


def _checked_url(url: str) -> str:
    """``url`` if its scheme is PostgreSQL's; ConfigError (without the URL) if not.

    The rest is libpq's to read (several hosts, query options): a wrong host or password
    shows as :class:`~lossviz.rooms.StoreUnavailableError` when the store first connects.
    """
    if not is_postgres_url(url):
        raise ConfigError(f"{URL_ENV} must be a postgresql:// URL (its value is not shown)")
    return url
