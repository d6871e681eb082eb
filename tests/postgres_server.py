"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` on a temporary
directory, listening on 127.0.0.1 only (no Unix socket), trust authentication.

- The binaries: ``$LOSSVIZ_PG_BINDIR`` if set, else ``pg_config --bindir``, else the
  newest ``/usr/lib/postgresql/*/bin`` (Debian's layout), each only if it holds ``initdb``
  and ``pg_ctl``. :func:`find_bin_dir` returns None when there is none: the caller skips (an
  error under ``CI=true``, as the browser tests treat a missing chromium).
- initdb refuses to run as root: as root, every server command runs as the ``postgres``
  user (``runuser -u postgres --``, or ``setpriv`` where runuser is missing) on a
  directory that user owns. Without such a user, as root, there is no server (None).
- The data are throwaway: ``fsync=off`` (a server process killed by ``restart("immediate")``
  loses nothing committed, since the kernel still holds what it wrote; only a power cut
  would). ``max_connections=200``: the concurrency tests open one pool per thread.
- A test gets a fresh schema (:meth:`PostgresServer.fresh_schema`: ~3 ms to make and drop,
  where a fresh database took 100..400 ms here), selected by the URL's ``search_path``.
- :meth:`PostgresServer.stop` is ``pg_ctl stop -m fast``, then SIGKILL of the postmaster's
  pid if it is still there; :meth:`close` stops and deletes the directory. A pytest killed
  with SIGKILL leaves the server running: stop it with ``pg_ctl stop -D
  /tmp/lossviz-pg-*/data`` (as root: ``runuser -u postgres -- <bindir>/pg_ctl ...``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from deploy.serve import free_port

BIN_DIR_ENV = "LOSSVIZ_PG_BINDIR"
SERVER_USER = "postgres"
START_TIMEOUT_S = 60
DATABASE = "postgres"  # the tests' schemas live in the database initdb makes


def _has_binaries(folder: str | Path | None) -> bool:
    if not folder:
        return False
    folder = Path(folder)
    return all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl"))


def _version_key(folder: str) -> tuple[int, ...]:
    version = Path(folder).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_bin_dir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (see the module docstring), or None.

    ``$LOSSVIZ_PG_BINDIR``, when set, is the only place looked at (set it to a folder
    without them to run the tests as on a machine without PostgreSQL).
    """
    chosen = os.environ.get(BIN_DIR_ENV, "").strip()
    if chosen:
        return Path(chosen) if _has_binaries(chosen) else None
    candidates: list[str] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10
        )
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for folder in candidates:
        if _has_binaries(folder):
            return Path(folder)
    return None


def server_user_prefix() -> list[str] | None:
    """The command prefix that runs a server command as a user initdb accepts.

    ``[]`` when not root; ``runuser``/``setpriv`` to ``postgres`` when root; None when
    root and there is no ``postgres`` user (or no way to switch to it).
    """
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return None
    if shutil.which("runuser"):
        return ["runuser", "-u", SERVER_USER, "--"]
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid", SERVER_USER, "--regid", SERVER_USER, "--init-groups"]
    return None


class PostgresServer:
    """One server on 127.0.0.1:``port`` over a fresh data directory; see the module."""

    def __init__(self, bin_dir: Path, prefix: list[str]) -> None:
        self.bin_dir = bin_dir
        self.prefix = prefix
        self.root = Path(tempfile.mkdtemp(prefix="lossviz-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.user = SERVER_USER
        self._admins: dict[str, object] = {}
        try:
            if prefix:
                entry = pwd.getpwnam(SERVER_USER)
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8",
                "--no-locale", "--no-sync", "--no-instructions",
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*self.prefix, str(self.bin_dir / tool), *args]
        done = subprocess.run(
            command,
            cwd=self.root,  # a folder the server's user may enter
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 30,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}\n{self.log_tail()}"
            )
        return done

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def __enter__(self) -> PostgresServer:
        """Started (see :meth:`start`); stopped and deleted on leaving (:meth:`close`)."""
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> None:
        """Start on a free port (a new one only the first time: URLs stay valid)."""
        for attempt in range(3):
            port = self.port or free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
                "-c fsync=off -c max_connections=200"
            )
            done = self._run(
                "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w",
                "-t", str(START_TIMEOUT_S), "-o", options, check=False,
            )  # fmt: skip
            if done.returncode == 0:
                self.port = port
                return
            if self.port or attempt == 2:  # a port taken meanwhile: try another (first start)
                raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{self.log_tail()}")

    def restart(self, mode: str = "immediate") -> None:
        """``pg_ctl restart -m mode``: immediate kills every server process (as a crash)."""
        self._run(
            "pg_ctl", "restart", "-D", str(self.data), "-l", str(self.log), "-m", mode, "-w",
            "-t", str(START_TIMEOUT_S),
        )  # fmt: skip

    def pid(self) -> int | None:
        """The postmaster's pid while it runs, else None."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
            return pid
        return None

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; SIGKILL by pid if the postmaster is still there."""
        pid = self.pid()
        if pid is None:
            return
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", check=False)
        if self.pid() == pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                if self.pid() != pid:
                    break
                time.sleep(0.05)

    def close(self) -> None:
        self._close_admins()
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = DATABASE) -> None:
        """Run ``sql`` (autocommit) as the superuser on ``database``, on a kept connection
        (made again if a restart ended it)."""
        import psycopg

        for attempt in range(2):
            connection = self._admins.get(database)
            if connection is None or connection.closed or connection.broken:
                connection = psycopg.connect(self.url(database), autocommit=True)
                self._admins[database] = connection
            try:
                connection.execute(sql)
                return
            except psycopg.OperationalError:
                connection.close()
                if attempt:
                    raise

    def _close_admins(self) -> None:
        for connection in self._admins.values():
            with contextlib.suppress(Exception):
                connection.close()
        self._admins.clear()

    def fresh_schema(self, name: str) -> str:
        """A new empty schema ``name`` in the :data:`DATABASE` database; the URL of a
        session whose ``search_path`` is that schema and whose ``application_name`` is
        ``name`` (so :meth:`drop_schema` can end the sessions a test left open)."""
        self.admin(f'CREATE SCHEMA "{name}"')
        return f"{self.url()}?application_name={name}&options=-csearch_path%3D{name}"

    def drop_schema(self, name: str) -> None:
        self.admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE application_name = '{name}' AND pid <> pg_backend_pid()"
        )
        self.admin(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
