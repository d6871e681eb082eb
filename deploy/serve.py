"""Serve lossviz the one way it is served: ``make run`` (one process) and ``make serve WORKERS=N``.

Usage::

    python -m deploy.serve [--host 127.0.0.1] [--port 8501]              # one process
    python -m deploy.serve --workers 2 [--host 0.0.0.0] [--port 8501]    # N behind nginx

One process is ``streamlit run app.py`` on HOST:PORT. With N > 1 workers, N
processes listen on 127.0.0.1 (PORT+1 ... PORT+N) and Debian's nginx listens
on HOST:PORT in front of them, pinning each browser to one process with a
cookie (a session lives in one process's memory; :func:`sticky_blocks`; see
``deploy/nginx.conf`` for the same recipe with TLS). The workers share
one cookie secret, so a cookie set by any of them is valid at all of them.

The workers and nginx are supervised (:class:`Supervisor`): a process that dies, for
any reason, is logged and restarted with the same command and environment (same port,
same cookie secret) after a short wait that doubles while it keeps dying soon after its
start (a crash loop waits up to ``RESTART_MAX_S`` between tries, never spins). While a
worker is down nginx sends its browsers to a live one, whose number the worker cookie
then carries: their websockets reconnect there as new sessions (the front end reconnects
by itself); the other workers' students notice nothing. Ctrl-C or SIGTERM stops
everything this started, by process handle (the children run in their own process
group, so a terminal's Ctrl-C reaches only this process and nothing is restarted
meanwhile).

Everything that starts the app (``make run``, ``make serve``, the browser
tests, the benchmarks) builds its command with :func:`app_command` and its
environment with :func:`app_env`, so what is measured is what a class gets.
The rest of the server's settings (no file watcher, headless, no usage
statistics, ...) are in ``.streamlit/config.toml``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = "app.py"
START_TIMEOUT_S = 60.0

# Large freed tensors (the mining page's distance matrices) go back to the system at once
# instead of staying in glibc's arenas after the page is left.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576"}
COOKIE_SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"
# Set for workers behind nginx: the app then takes a client's address from the last
# X-Forwarded-For entry (the one nginx adds), never from a header a client sent itself.
BEHIND_PROXY_ENV = "LOSSVIZ_BEHIND_PROXY"

# Supervision (see Supervisor): the wait before restarting a process that exited is
# RESTART_FIRST_S, doubled for each exit in a row that came within STABLE_S of its start,
# at most RESTART_MAX_S. The supervisor looks at its processes every WATCH_EVERY_S.
RESTART_FIRST_S = 0.5
RESTART_MAX_S = 30.0
STABLE_S = 30.0
WATCH_EVERY_S = 0.2

# nginx: a worker that refused a connection (or did not accept it within CONNECT_TIMEOUT_S)
# is skipped for FAIL_TIMEOUT_S, then tried again (a restarted worker gets its browsers back).
CONNECT_TIMEOUT_S = 2
FAIL_TIMEOUT_S = 2

WORKER_COOKIE = "lossviz_worker"
NGINX_CONF = """\
# Written by deploy/serve.py for this run; the recipe with TLS is deploy/nginx.conf.
# One process (no master): the process deploy.serve supervises is the one that serves, so
# when it dies the port is free for its restart (a master killed with -9 leaves its worker
# serving the port with nobody to stop it).
master_process off;
daemon off;
error_log {tmp}/error.log;
pid {tmp}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    # The worker that answered (the last address tried), the page's XSRF and worker cookies,
    # the request, its status and every address tried (websocket_upstreams reads it).
    log_format sticky '$lossviz_answered "$cookie__streamlit_xsrf" "$cookie_{cookie}" '
                      '"$request" $status "$upstream_addr"';
    access_log {tmp}/access.log sticky;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{sticky}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}
    server {{
        listen {listen};
        client_max_body_size 6m;
        location / {{
            proxy_pass http://$lossviz_pinned;
            add_header Set-Cookie "{cookie}=$lossviz_worker; Path=/; HttpOnly; SameSite=Lax" always;
            # A worker that is down (refuses the connection): the next one of the upstream.
            proxy_next_upstream error timeout;
            proxy_connect_timeout {connect_timeout}s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 3600s;
            proxy_buffering off;
        }}
    }}
}}
"""


def sticky_blocks(upstreams: list[str], cookie: str = WORKER_COOKIE) -> str:
    """nginx blocks that pin each browser to one of ``upstreams`` (``host:port``) by a cookie.

    A browser's first request goes to the next process in turn (upstream ``lossviz``, round
    robin: a class spreads evenly, where a hash of 60 cookies split 35 / 25); the response
    sets ``cookie`` to the number (1, 2, ...: the position in ``upstreams``) of the process
    that answered, and every later request of the browser (its websocket, a reload, an
    upload) goes to upstream ``lossviz_<number>``: that process, with all the others as
    ``backup``. While it is down (refuses connections: dead, restarting) nginx passes the
    request on to a backup (``proxy_next_upstream`` in the server block), skips the dead
    one for ``FAIL_TIMEOUT_S``, and the response's cookie names the process that answered:
    ``$upstream_addr`` then lists every address tried ("dead, live"), and the last one is
    taken (``$lossviz_answered``). Only the listed numbers map to an upstream: a forged
    cookie falls back to round robin.
    """

    def server(address: str, backup: bool = False) -> str:
        tail = " backup" if backup else ""
        return f"        server {address} max_fails=1 fail_timeout={FAIL_TIMEOUT_S}s{tail};"

    lines = [
        "    # No cookie, or one that names no worker: the next worker in turn.",
        "    upstream lossviz {",
        *(server(address) for address in upstreams),
        "    }",
        "    # Pinned to worker N: it, or while it is down the others (the cookie then moves).",
    ]
    for i, address in enumerate(upstreams, 1):
        others = (server(other, backup=True) for other in upstreams if other != address)
        lines += [f"    upstream lossviz_{i} {{", server(address), *others, "    }"]
    lines += [
        f"    map $cookie_{cookie} $lossviz_pinned {{",
        "        default lossviz;",
        *(f"        {i} lossviz_{i};" for i in range(1, len(upstreams) + 1)),
        "    }",
        '    # Every address tried, "dead, live" after a failover: the last one answered.',
        "    map $upstream_addr $lossviz_answered {",
        '        default "";',
        '        "~(?<lossviz_last>[^ ,]+)$" $lossviz_last;',
        "    }",
        "    map $lossviz_answered $lossviz_worker {",
        '        default "";',
        *(f"        {address} {i};" for i, address in enumerate(upstreams, 1)),
        "    }",
    ]
    return "\n".join(lines)


def nginx_conf(tmp: Path, upstreams: list[str], listen: str, cookie: str = WORKER_COOKIE) -> str:
    """The nginx configuration :func:`cluster` runs: ``listen`` (``[host:]port``) in front of
    ``upstreams`` pinned by ``cookie`` (:func:`sticky_blocks`); logs and temp files in ``tmp``."""
    return NGINX_CONF.format(
        tmp=tmp,
        sticky=sticky_blocks(upstreams, cookie),
        listen=listen,
        cookie=cookie,
        connect_timeout=CONNECT_TIMEOUT_S,
    )


def app_command(host: str, port: int, script: str = APP, python: str | None = None) -> list[str]:
    """The command that serves ``script`` (relative to the repository) on ``host:port``."""
    python = python or venv_python()
    return [python, "-m", "streamlit", "run", script,
            "--server.address", host, "--server.port", str(port)]  # fmt: skip


def app_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment an app process runs with: ``base`` (default: ours) plus the allocator
    setting, the repository on ``PYTHONPATH`` (for scripts in subfolders) and ``extra``."""
    env = dict(os.environ if base is None else base)
    path = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return {**env, **MALLOC_ENV, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}


def venv_python() -> str:
    """The project's virtual environment's python, else the one running us."""
    python = REPO / ".venv" / "bin" / "python"
    return str(python) if python.exists() else sys.executable


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def nginx_binary() -> str | None:
    """Debian's nginx, if installed (``/usr/sbin`` is often not on a user's PATH)."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


NO_NGINX = (
    "nginx is needed to serve several workers on one address, and it is not installed. "
    "Install Debian's package (`sudo apt-get install nginx`; `make serve` does it when run "
    "as root), or serve one process with `make run`."
)


def answers_health(base_url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``base_url``'s ``/_stcore/health`` answers ``ok`` now."""
    with (
        contextlib.suppress(urllib.error.URLError, OSError),
        urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=timeout_s) as reply,
    ):
        return reply.read().decode().strip() == "ok"
    return False


def wait_healthy(base_url: str, process: subprocess.Popen, timeout_s: float = START_TIMEOUT_S):
    """Poll ``/_stcore/health`` until it answers ``ok``; RuntimeError if the process dies first."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        if answers_health(base_url):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.25)


def stop(process: subprocess.Popen) -> None:
    """Terminate a process we started, by its handle; kill it if it does not stop."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --------------------------------------------------------------------------- supervision


@dataclass(frozen=True)
class Exit:
    """One end of a supervised process: its pid, exit status (negative: the signal that
    ended it; None: it could not be started), seconds it ran, and the wait before the
    next start."""

    pid: int | None
    returncode: int | None
    ran_s: float
    delay_s: float


@dataclass
class Supervised:
    """A process the :class:`Supervisor` keeps running: how it is started, the process
    running now (``process``, replaced at each restart) and its ``exits`` so far."""

    name: str
    command: list[str]
    env: dict[str, str] | None = None
    log_path: Path | None = None  # output, appended at each restart (None: inherited)
    process: subprocess.Popen | None = None
    started_at: float = 0.0  # time.monotonic() of the current process's start
    starts: int = 0
    quick_exits: int = 0  # exits in a row, each within STABLE_S of its start
    restart_at: float | None = None  # set while waiting before a restart
    exits: list[Exit] = field(default_factory=list)
    watched: bool = True  # False once released or stopped: never restarted again

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


def _log_stderr(message: str) -> None:
    print(f"lossviz {time.strftime('%H:%M:%S')}: {message}", file=sys.stderr, flush=True)


def describe_exit(returncode: int | None) -> str:
    """``signal SIGKILL``, ``exit code 3``, or ``no start`` (None)."""
    if returncode is None:
        return "no start"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-returncode).name}"
        return f"signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Keeps processes running: one that exits, for any reason, is logged and started again
    with the same command and environment.

    The wait before a restart is ``first_s * 2**k``, at most ``max_s``, where ``k`` counts
    the process's exits in a row that each came within ``stable_s`` of its start: a worker
    killed after running a while is back at once (``first_s``), one killed again soon
    after waits twice as long, and one that exits at every start (a crash loop) is tried
    ever more rarely, with a log line saying so, never in a busy loop. Every exit and
    restart is logged through ``log`` (default: stderr with the time).

    :meth:`add` starts a process (in its own process group: a terminal's Ctrl-C reaches
    only us); :meth:`start` starts the watching thread, which looks every ``poll_s``
    seconds; :meth:`stop` ends it, then stops every process, the last added first, by its
    handle; :meth:`release` stops one process for good.
    """

    def __init__(
        self,
        log: Callable[[str], None] | None = None,
        *,
        first_s: float = RESTART_FIRST_S,
        max_s: float = RESTART_MAX_S,
        stable_s: float = STABLE_S,
        poll_s: float = WATCH_EVERY_S,
    ) -> None:
        self.log = log or _log_stderr
        self.first_s, self.max_s, self.stable_s, self.poll_s = first_s, max_s, stable_s, poll_s
        self.processes: list[Supervised] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def backoff(self, quick_exits: int) -> float:
        """Seconds to wait before a restart after ``quick_exits`` quick exits in a row."""
        return min(self.max_s, self.first_s * 2**quick_exits)

    def add(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> Supervised:
        """Start ``command`` (in the repository) and watch it from :meth:`start` on."""
        entry = Supervised(name, list(command), env, log_path)
        self._spawn(entry)
        with self._lock:
            self.processes.append(entry)
        return entry

    def start(self) -> Supervisor:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching, then stop every process (the last added first), by handle."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            entries = list(reversed(self.processes))
            for entry in entries:
                entry.watched = False
        for entry in entries:
            if entry.process is not None:
                stop(entry.process)

    def release(self, entry: Supervised) -> None:
        """Stop one process for good (it is not restarted)."""
        with self._lock:
            entry.watched, entry.restart_at = False, None
        if entry.process is not None:
            stop(entry.process)

    def check(self) -> None:
        """One look at every process: log and schedule the restart of those that exited,
        restart those whose wait is over."""
        with self._lock:
            for entry in self.processes:
                if not entry.watched or self._stopping.is_set():
                    continue
                now = time.monotonic()
                if entry.restart_at is None and entry.process.poll() is not None:
                    self._exited(entry, entry.process.pid, entry.process.returncode, now)
                if entry.restart_at is not None and now >= entry.restart_at:
                    entry.restart_at = None
                    try:
                        self._spawn(entry)
                    except OSError as error:
                        self.log(f"{entry.name} could not be started: {error}")
                        self._exited(entry, None, None, now)
                    else:
                        self.log(f"{entry.name} restarted (pid {entry.pid})")

    def _exited(self, entry: Supervised, pid: int | None, code: int | None, now: float) -> None:
        ran = now - entry.started_at
        entry.quick_exits = entry.quick_exits + 1 if ran < self.stable_s else 0
        delay = self.backoff(entry.quick_exits)
        entry.exits.append(Exit(pid, code, ran, delay))
        entry.restart_at = now + delay
        status = describe_exit(code)
        if entry.quick_exits >= 2:
            where = f"; its output: {entry.log_path}" if entry.log_path else ""
            self.log(
                f"{entry.name} is crash-looping: it exited {entry.quick_exits} times in a "
                f"row within {self.stable_s:.0f} s of its start (last: pid {pid}, {status}); "
                f"restarting it in {delay:.1f} s (the wait doubles, up to {self.max_s:.0f} s)"
                f"{where}"
            )
        else:
            self.log(
                f"{entry.name} (pid {pid}) exited ({status}) after {ran:.1f} s; "
                f"restarting it in {delay:.1f} s"
            )

    def _spawn(self, entry: Supervised) -> None:
        output = None
        if entry.log_path is not None:
            entry.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = open(entry.log_path, "ab" if entry.starts else "wb")  # noqa: SIM115
            if entry.starts:
                output.write(f"\n--- deploy.serve: restart {entry.starts} ---\n".encode())
                output.flush()
        try:
            entry.process = subprocess.Popen(
                entry.command,
                cwd=REPO,
                env=entry.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                process_group=0,
            )
        finally:
            if output is not None:
                output.close()  # the child holds its own copy
        entry.starts += 1
        entry.started_at = time.monotonic()

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_s):
            try:
                self.check()
            except Exception:  # keep supervising whatever went wrong once
                self.log(f"supervisor error:\n{traceback.format_exc()}")


# --------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """What :func:`cluster` started and keeps running: the public URL, the workers, nginx.

    Worker ``i`` (0-based) listens on ``worker_urls[i]`` and its cookie number is ``i + 1``.
    ``workers`` and ``proxy`` are the processes running now (a restart replaces them);
    ``supervised_workers`` / ``supervised_proxy`` hold their histories (``exits``).
    """

    url: str
    worker_urls: list[str] = field(default_factory=list)
    access_log: Path | None = None
    supervisor: Supervisor = field(default_factory=Supervisor)
    supervised_workers: list[Supervised] = field(default_factory=list)
    supervised_proxy: Supervised | None = None

    @property
    def workers(self) -> list[subprocess.Popen]:
        return [entry.process for entry in self.supervised_workers]

    @property
    def proxy(self) -> subprocess.Popen | None:
        return None if self.supervised_proxy is None else self.supervised_proxy.process

    def kill_worker(self, index: int, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` (default: ``kill -9``) to worker ``index``'s process; returns its pid."""
        process = self.supervised_workers[index].process
        process.send_signal(sig)
        return process.pid

    def wait_serving(self, index: int, old_pid: int, timeout_s: float = START_TIMEOUT_S) -> float:
        """Wait until worker ``index`` is a new process (not ``old_pid``) answering its
        ``/_stcore/health``; returns the seconds waited (RuntimeError after ``timeout_s``)."""
        start = time.monotonic()
        while True:
            pid = self.supervised_workers[index].pid
            if pid not in (None, old_pid) and answers_health(self.worker_urls[index]):
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise RuntimeError(f"worker {index + 1} not serving again in {timeout_s:.0f} s")
            time.sleep(0.1)

    def stop_proxy(self) -> None:
        """Stop nginx for good (not restarted); it then writes its open websockets' log lines."""
        if self.supervised_proxy is not None:
            self.supervisor.release(self.supervised_proxy)


@contextlib.contextmanager
def cluster(
    workers: int,
    host: str = "127.0.0.1",
    port: int = 0,
    log_dir: Path | None = None,
    script: str = APP,
    log: Callable[[str], None] | None = None,
) -> Iterator[Cluster]:
    """``workers`` app processes, and nginx on ``host:port`` when there is more than one.

    ``port`` 0 picks free ports. Worker logs go to ``log_dir`` (default: inherited
    output; a restart appends). Once all answer, every process is supervised: one that
    dies is restarted (:class:`Supervisor`; its lines go to ``log``, default stderr). A
    process that dies before it first answers is an error (RuntimeError). Everything is
    stopped on exit, by process handle.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    nginx = nginx_binary() if workers > 1 else None
    if workers > 1 and nginx is None:
        raise RuntimeError(NO_NGINX)
    requested, port = port, port or free_port(host)
    if workers == 1:
        ports = [port]
    elif requested:
        ports = [port + i for i in range(1, workers + 1)]
    else:
        ports = [free_port() for _ in range(workers)]
    worker_host = host if workers == 1 else "127.0.0.1"
    behind = {BEHIND_PROXY_ENV: "1"} if nginx is not None else {}
    # One secret for every worker (a cookie set by one is valid at all); the environment's
    # own when it has one, so that several machines behind one balancer can share it.
    secret = os.environ.get(COOKIE_SECRET_ENV, "").strip() or secrets.token_hex(32)
    env = app_env(**{COOKIE_SECRET_ENV: secret}, **behind)
    supervisor = Supervisor(log)
    started = Cluster(url=f"http://{_connect_host(host)}:{port}", supervisor=supervisor)
    with contextlib.ExitStack() as stack:
        tmp = None
        if nginx is not None:  # removed after everything stopped (nginx writes there)
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lossviz-nginx-")))
        stack.callback(supervisor.stop)
        for index, worker_port in enumerate(ports):
            entry = supervisor.add(
                f"worker {index + 1} (port {worker_port})",
                app_command(worker_host, worker_port, script),
                env=env,
                log_path=log_dir / f"worker-{index + 1}.log" if log_dir else None,
            )
            started.supervised_workers.append(entry)
            started.worker_urls.append(f"http://{_connect_host(worker_host)}:{worker_port}")
        for url, process in zip(started.worker_urls, started.workers, strict=True):
            wait_healthy(url, process)
        if nginx is not None:
            conf = tmp / "nginx.conf"
            listen = f"{host}:{port}" if host not in ("0.0.0.0", "") else str(port)
            conf.write_text(nginx_conf(tmp, [f"127.0.0.1:{p}" for p in ports], listen))
            started.supervised_proxy = supervisor.add(
                "nginx", [nginx, "-p", str(tmp), "-c", str(conf)]
            )
            try:
                wait_healthy(started.url, started.proxy, timeout_s=15)
            except RuntimeError as error:
                log_text = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start: {error}\n{log_text}") from None
            started.access_log = tmp / "access.log"
        supervisor.start()
        yield started


def websocket_upstreams(access_log: Path, by: str = "page") -> dict[str, set[str]]:
    """From a cluster's nginx log: the processes that served each websocket group.

    ``by="page"``: one group per page load (Streamlit's XSRF cookie, new at every load);
    ``by="worker"``: one group per worker cookie value, i.e. per process a browser was
    pinned to (a reload keeps it). Sticky means one process per group. The process is the
    one that answered (after a failover, the last address tried); a websocket no process
    answered is left out.
    """
    served: dict[str, set[str]] = collections.defaultdict(set)
    for line in access_log.read_text().splitlines():
        upstream, xsrf, worker, request = line.split(" ", 3)
        key = (xsrf if by == "page" else worker).strip('"')
        if "/_stcore/stream" in request and key and upstream not in ("", "-"):
            served[key].add(upstream)
    return served


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--workers", type=int, default=1, help="app processes (>1: nginx)")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    if args.workers <= 1:
        # One process: become the server (Ctrl-C and signals go straight to Streamlit).
        command = app_command(args.host, args.port)
        os.execve(command[0], command, app_env())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with cluster(args.workers, args.host, args.port) as served:
            print(
                f"lossviz: {args.workers} workers behind nginx at {served.url}; a process that "
                "stops is restarted; Ctrl-C stops them all",
                flush=True,
            )
            while True:
                time.sleep(3600)
    except RuntimeError as error:
        raise SystemExit(f"lossviz: {error}") from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
