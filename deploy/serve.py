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
Ctrl-C stops everything this started.

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
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = "app.py"
START_TIMEOUT_S = 60.0

# Large freed tensors (the mining page's distance matrices) go back to the system at once
# instead of staying in glibc's arenas after the page is left.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576"}
COOKIE_SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"

WORKER_COOKIE = "lossviz_worker"
NGINX_CONF = """\
# Written by deploy/serve.py for this run; the recipe with TLS is deploy/nginx.conf.
worker_processes 1;
daemon off;
error_log {tmp}/error.log;
pid {tmp}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    log_format sticky '$upstream_addr "$cookie__streamlit_xsrf" "$cookie_{cookie}" "$request"';
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

    A browser's first request goes to the next process in turn (round robin: a class
    spreads evenly, where a hash of 60 cookies split 35 / 25); the response sets
    ``cookie`` to that process's number, and every later request of the browser (its
    websocket, a reload, an upload) goes to the process its cookie names. Only the
    listed numbers map to an address: a forged cookie falls back to round robin.
    """
    servers = "\n".join(f"        server {address};" for address in upstreams)
    pinned = "\n".join(f"        {i} {address};" for i, address in enumerate(upstreams, 1))
    numbers = "\n".join(f"        {address} {i};" for i, address in enumerate(upstreams, 1))
    return (
        f"    upstream lossviz {{\n{servers}\n    }}\n"
        f"    map $cookie_{cookie} $lossviz_pinned {{\n        default lossviz;\n{pinned}\n    }}\n"
        f'    map $upstream_addr $lossviz_worker {{\n        default "";\n{numbers}\n    }}'
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


def wait_healthy(base_url: str, process: subprocess.Popen, timeout_s: float = START_TIMEOUT_S):
    """Poll ``/_stcore/health`` until it answers ``ok``; RuntimeError if the process dies first."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as reply,
        ):
            if reply.read().decode().strip() == "ok":
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


@dataclass
class Cluster:
    """What :func:`cluster` started: the public URL, the workers and nginx's access log."""

    url: str
    workers: list[subprocess.Popen] = field(default_factory=list)
    worker_urls: list[str] = field(default_factory=list)
    proxy: subprocess.Popen | None = None
    access_log: Path | None = None


@contextlib.contextmanager
def cluster(
    workers: int,
    host: str = "127.0.0.1",
    port: int = 0,
    log_dir: Path | None = None,
    script: str = APP,
) -> Iterator[Cluster]:
    """``workers`` app processes, and nginx on ``host:port`` when there is more than one.

    ``port`` 0 picks free ports. Worker logs go to ``log_dir`` (default: inherited
    output). Everything is stopped on exit, by process handle.
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
    env = app_env(**{COOKIE_SECRET_ENV: secrets.token_hex(32)})
    started = Cluster(url=f"http://{_connect_host(host)}:{port}")
    with contextlib.ExitStack() as stack:
        for index, worker_port in enumerate(ports):
            output = subprocess.DEVNULL if log_dir else None
            if log_dir:
                log_dir.mkdir(parents=True, exist_ok=True)
                output = stack.enter_context(open(log_dir / f"worker-{index + 1}.log", "wb"))
            process = subprocess.Popen(
                app_command(worker_host, worker_port, script),
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if log_dir else None,
            )
            stack.callback(stop, process)
            started.workers.append(process)
            started.worker_urls.append(f"http://{_connect_host(worker_host)}:{worker_port}")
        for url, process in zip(started.worker_urls, started.workers, strict=True):
            wait_healthy(url, process)
        if nginx is not None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lossviz-nginx-")))
            sticky = sticky_blocks([f"127.0.0.1:{p}" for p in ports])
            conf = tmp / "nginx.conf"
            listen = f"{host}:{port}" if host not in ("0.0.0.0", "") else str(port)
            conf.write_text(
                NGINX_CONF.format(tmp=tmp, sticky=sticky, listen=listen, cookie=WORKER_COOKIE)
            )
            proxy = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf)],
                                     stdin=subprocess.DEVNULL)  # fmt: skip
            stack.callback(stop, proxy)
            started.proxy = proxy
            try:
                wait_healthy(started.url, proxy, timeout_s=15)
            except RuntimeError as error:
                log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start: {error}\n{log}") from None
            started.access_log = tmp / "access.log"
        yield started


def websocket_upstreams(access_log: Path, by: str = "page") -> dict[str, set[str]]:
    """From a cluster's nginx log: the processes that served each websocket group.

    ``by="page"``: one group per page load (Streamlit's XSRF cookie, new at every load);
    ``by="worker"``: one group per worker cookie value, i.e. per process a browser was
    pinned to (a reload keeps it). Sticky means one process per group.
    """
    served: dict[str, set[str]] = collections.defaultdict(set)
    for line in access_log.read_text().splitlines():
        upstream, xsrf, worker, request = line.split(" ", 3)
        key = (xsrf if by == "page" else worker).strip('"')
        if "/_stcore/stream" in request and key:
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
            print(f"lossviz: {args.workers} workers behind nginx at {served.url}", flush=True)
            while all(p.poll() is None for p in served.workers):
                time.sleep(1)
            print("lossviz: a worker stopped; shutting down", file=sys.stderr)
    except RuntimeError as error:
        raise SystemExit(f"lossviz: {error}") from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
