"""Helpers of the room-store tests: a hand-moved clock, and raw reads of either database.

``db`` in these tests is what the ``rooms_db`` fixture (tests/conftest.py) gives: a SQLite
file path or a PostgreSQL URL. ``RoomStore(db, ...)`` takes either; :func:`raw` reads rows
back without the store (``?`` placeholders for both).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from lossviz.rooms import RoomConfig, RoomStore

KEY = (0, 1, 2, 1, 0, 2, 1, 2, 0, 1)
SETTINGS = {"seed": "7", "difficulty": "normal", "distance": "euclidean", "swap": "0",
            "margin": "1.0"}  # fmt: skip
FREE = RoomConfig(answer_interval_s=0.0, join_interval_s=0.0)
TABLES = ("rooms", "students", "answers", "join_attempts")


class Clock:
    """A clock the test moves by hand (thread-safe: threads may tick it)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def is_sqlite(db: Path | str) -> bool:
    return isinstance(db, Path)


def store_at(db: Path | str, config: RoomConfig = FREE, clock=None) -> RoomStore:
    return RoomStore(db, config, clock or Clock())


def raw(db: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows of ``sql`` read straight from the database, not through the store."""
    if is_sqlite(db):
        with sqlite3.connect(db) as connection:
            return connection.execute(sql, params).fetchall()
    import psycopg

    with psycopg.connect(db, autocommit=True) as connection:
        return connection.execute(sql.replace("?", "%s"), params).fetchall()


def dump(db: Path | str) -> str:
    """Every row of every table as text (to look for what must not be stored)."""
    return "\n".join(repr(row) for table in TABLES for row in raw(db, f"SELECT * FROM {table}"))
