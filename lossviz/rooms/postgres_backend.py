"""Rooms in a PostgreSQL database through psycopg 3: see :mod:`lossviz.rooms.backend`.

- Connections: a small pool per backend (at most ``max_connections`` open, idle ones kept
  for the next operation). Measured against a local server on a 2-core machine: ``room()``
  took ~0.5 ms on a pooled connection and ~12 ms with a connection per call (the server
  starts a process for each); SQLite's connection per call took ~2 ms. Callers beyond
  ``max_connections`` wait up to ``wait_s``, then get StoreUnavailableError.
- A lost connection (server restarted, network cut) is closed and every idle connection is
  dropped with it, so the next call connects afresh: one failure never poisons later
  calls. A reused connection that fails on its very first statement (``BEGIN``: nothing was
  done) is replaced once without an error; any later failure raises
  :class:`~lossviz.rooms.StoreUnavailableError`, whose outcome is unknown for a ``COMMIT``
  (the caller was not told it was done, so nothing acknowledged is lost).
- Transactions: explicit ``BEGIN`` on autocommit connections. A write is READ COMMITTED and
  serialises on a row lock (``SELECT ... FOR UPDATE`` of the room row for joins and teacher
  operations, of the student row for answers), so two joins cannot both take the last
  seat. A read is ``REPEATABLE READ READ ONLY``: one snapshot.
- The schema is created under a transaction-level advisory lock (several servers may
  start at once); its tables live in the connection's ``search_path`` (pick a schema with
  ``?options=-csearch_path%3Dlossviz`` in the URL).
- The URL may hold a password: it is never put in a message or a ``repr``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from lossviz.rooms.errors import StoreUnavailableError
from lossviz.rooms.transactions import committed

SCHEMA_LOCK = 0x6C6F7373  # pg_advisory_xact_lock key while creating the schema ("loss")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    answer_key TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    salt TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS students (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    nickname TEXT NOT NULL,
    nickname_key TEXT NOT NULL,
    nickname_fold TEXT NOT NULL,
    joined DOUBLE PRECISION NOT NULL,
    last_answer DOUBLE PRECISION,
    removed DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS students_key ON students (room, nickname_key);
CREATE INDEX IF NOT EXISTS students_fold ON students (room, nickname_fold);
CREATE TABLE IF NOT EXISTS answers (
    student BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    question INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    answered DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (student, question)
);
CREATE TABLE IF NOT EXISTS join_attempts (
    room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    address_hash TEXT NOT NULL,
    attempted DOUBLE PRECISION NOT NULL,
    seat_at DOUBLE PRECISION,
    level DOUBLE PRECISION NOT NULL,
    blocked_until DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (room, address_hash)
);
CREATE INDEX IF NOT EXISTS rooms_expires ON rooms (expires);
ALTER TABLE join_attempts ADD COLUMN IF NOT EXISTS seat_at DOUBLE PRECISION;
ALTER TABLE join_attempts ADD COLUMN IF NOT EXISTS level DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE join_attempts ADD COLUMN IF NOT EXISTS blocked_until DOUBLE PRECISION NOT NULL
    DEFAULT 0;
"""

READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
WRITE = "BEGIN ISOLATION LEVEL READ COMMITTED"


@functools.lru_cache(maxsize=256)
def to_pyformat(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg's ``%s`` (the store's SQL has no ``%``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Tx:
    """A transaction's connection, speaking the store's placeholder style."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> psycopg.Cursor:
        return self._connection.execute(to_pyformat(sql), params)


class Pool:
    """At most ``max_size`` connections from ``connect``; idle ones are reused (LIFO)."""

    def __init__(
        self, connect: Callable[[], psycopg.Connection], max_size: int, wait_s: float
    ) -> None:
        self._connect = connect
        self._max_size = max_size
        self._wait_s = wait_s
        self._slots = threading.BoundedSemaphore(max_size)
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self.opened = 0  # connections made so far (for tests and benches)

    def get(self) -> tuple[psycopg.Connection, bool]:
        """A connection and whether it was reused; raises psycopg.Error if none can be made."""
        if not self._slots.acquire(timeout=self._wait_s):
            raise StoreUnavailableError(
                f"PostgreSQL rooms store: all {self._max_size} connections busy for "
                f"{self._wait_s:g} s"
            )
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        try:
            connection = self._connect()
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self.opened += 1
        return connection, False

    def put(self, connection: psycopg.Connection) -> None:
        """Give back a connection: kept if it is healthy and outside a transaction."""
        try:
            if connection.closed or connection.broken:
                self.flush()  # the server went away: the idle ones are dead too
            elif connection.info.transaction_status == pq.TransactionStatus.IDLE:
                with self._lock:
                    self._idle.append(connection)
                return
            with contextlib.suppress(Exception):
                connection.close()
        finally:
            self._slots.release()

    def flush(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                connection.close()


class PostgresBackend:
    """The PostgreSQL database at ``url`` (libpq syntax); its tables made if missing."""

    name = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        max_connections: int = 8,
        connect_timeout_s: int = 5,
        wait_s: float = 30.0,
    ) -> None:
        connect = functools.partial(
            psycopg.connect, url, autocommit=True, connect_timeout=connect_timeout_s
        )  # not a bound method: the pool holds no reference back to this backend
        self.pool = Pool(connect, max_connections, wait_s)
        self._create()

    def __repr__(self) -> str:
        return "PostgresBackend(<url not shown>)"

    @staticmethod
    def _unavailable(error: BaseException) -> StoreUnavailableError:
        kind = type(error).__name__
        return StoreUnavailableError(f"PostgreSQL rooms store: {kind}: {error}".strip())

    def _create(self) -> None:
        with self.transaction(write=True) as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)

    def _begin(self, begin: str) -> psycopg.Connection:
        """A pooled connection inside a fresh transaction; a stale one is replaced once."""
        for attempt in range(2):
            try:
                connection, reused = self.pool.get()
            except psycopg.Error as error:
                raise self._unavailable(error) from error
            try:
                connection.execute(begin)
            except psycopg.Error as error:
                self.pool.put(connection)  # closed, and the idle ones with it
                if reused and attempt == 0:
                    continue  # died while idle (a restart): nothing was done, try anew
                raise self._unavailable(error) from error
            return connection
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def transaction(self, write: bool) -> Iterator[Any]:
        """See :mod:`lossviz.rooms.backend`."""
        connection = self._begin(WRITE if write else READ)
        try:
            with committed(connection.execute, psycopg.Error, lambda: not connection.broken):
                yield _Tx(connection)
        except psycopg.Error as error:
            raise self._unavailable(error) from error
        finally:
            self.pool.put(connection)

    def close(self) -> None:
        """Close the idle connections (one in use goes back to the pool when its call ends;
        the store keeps working and connects again when it needs to)."""
        self.pool.flush()
