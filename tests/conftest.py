"""Shared test setup: the CUDA marker skips cleanly without a GPU; a throwaway PostgreSQL
server and the room stores' databases (``rooms_db``: SQLite, PostgreSQL) for the rooms tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.postgres_server import PostgresServer, find_bin_dir, server_user_prefix

HAS_CUDA = torch.cuda.is_available()

# Parametrize a test over every device this machine has.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


def pytest_collection_modifyitems(config, items):
    if HAS_CUDA:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (none on this machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


# --------------------------------------------------------------------------- PostgreSQL


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (tests/postgres_server.py).

    Skipped with the reason where no server binary (or, as root, no ``postgres`` user)
    exists; under ``CI=true`` that is an error. Stopped and deleted at the session's end.
    """
    bin_dir, prefix = find_bin_dir(), server_user_prefix()
    reason = None
    if bin_dir is None:
        reason = "needs PostgreSQL's initdb and pg_ctl (make postgresql installs them)"
    elif prefix is None:
        reason = "running as root needs a 'postgres' user for initdb (make postgresql)"
    if reason:
        if _in_ci():
            pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)
    with PostgresServer(bin_dir, prefix) as server:
        yield server


_ROOMS_SCHEMAS = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def rooms_db(request, tmp_path) -> Iterator[Path | str]:
    """Where a room store keeps its rooms, once per backend: a SQLite file path (in folders
    still to be made) or the URL of a fresh PostgreSQL schema, dropped afterwards."""
    if request.param == "sqlite":
        yield tmp_path / "deep" / "folder" / "rooms.sqlite3"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"rooms_{os.getpid()}_{next(_ROOMS_SCHEMAS)}"
    url = server.fresh_schema(name)
    try:
        yield url
    finally:
        if server.pid() is None:  # a test stopped it and failed before starting it again
            server.start()
        server.drop_schema(name)


@pytest.fixture
def db(rooms_db: Path | str) -> Path | str:
    """The rooms tests' name for ``rooms_db``: each test runs once on each backend."""
    return rooms_db
