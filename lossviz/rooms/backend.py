"""The one interface the store speaks to a database, and the choice of one.

Conventions every backend keeps:

- ``transaction(write)`` is a context manager yielding a :class:`Tx`: one transaction,
  committed when the block ends normally, rolled back when it raises. A ``write``
  transaction may change rows; a read one sees one consistent snapshot.
- SQL is written once, with ``?`` placeholders and no ``%``; ``Tx.execute`` returns a
  cursor with ``fetchone``, ``fetchall`` and ``rowcount``. Booleans are passed as Python
  bools and read back with ``bool()`` (SQLite stores 0/1).
- ``for_update`` is the suffix that makes a ``SELECT`` lock the rows it reads until the
  transaction ends: ``" FOR UPDATE"`` on PostgreSQL; ``""`` on SQLite, where a write
  transaction (``BEGIN IMMEDIATE``) already holds the whole file's write lock.
- Every database failure leaves as :class:`~lossviz.rooms.StoreUnavailableError` (the
  driver's exception as ``__cause__``); any other exception raised inside the block (a
  :class:`~lossviz.rooms.RoomError`) rolls back and passes through unchanged.
- The schema is created (or brought up to date) when the backend is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lossviz.rooms.config import is_postgres_url


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Tx(Protocol):
    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor: ...


@runtime_checkable
class Backend(Protocol):
    name: str
    for_update: str

    def transaction(self, write: bool) -> AbstractContextManager[Tx]: ...

    def close(self) -> None: ...


def open_backend(target: str | Path | Backend, busy_timeout_s: float = 30.0) -> Backend:
    """``target`` itself if it is a backend; PostgreSQL for a ``postgresql://`` URL (the
    driver is imported only then); else the SQLite file at that path."""
    if isinstance(target, Backend):
        return target
    if is_postgres_url(target):
        from lossviz.rooms.postgres_backend import PostgresBackend

        return PostgresBackend(str(target))
    from lossviz.rooms.sqlite_backend import SqliteBackend

    return SqliteBackend(Path(target), busy_timeout_s)
