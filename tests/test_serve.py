"""deploy/serve.py: one way to start the app (make run, make serve, tests, benches), two
workers behind Debian's nginx that keep every browser on one process, and the supervisor
that brings a dead worker (or nginx) back while nginx sends its browsers to a live one.

Conventions: worker ``i`` (0-based in ``Cluster.workers``) has cookie number ``i + 1``. The
only time limit asserted is the generous deadline for a killed worker to serve again
(``SERVES_AGAIN_S`` from the kill); every other wait is a deadline that only fails a test
when something never happens.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from bench.loadtest import (
    LoadSpec,
    TabState,
    cookies_from,
    drive,
    fetch_cookies,
    open_tab,
    rerun,
    summarize,
)
from deploy.serve import (
    COOKIE_SECRET_ENV,
    NO_NGINX,
    WORKER_COOKIE,
    Supervisor,
    answers_health,
    app_command,
    app_env,
    cluster,
    free_port,
    nginx_binary,
    nginx_conf,
    sticky_blocks,
    stop,
    wait_healthy,
    websocket_upstreams,
)

REPO = Path(__file__).resolve().parents[1]
BARE = "bench/apps/bare.py"  # a one-button page: the serving machinery without torch imports
SERVES_AGAIN_S = 10.0  # a killed worker answers its health check again within this of the kill
NEVER_S = 30.0  # a deadline for something that must happen (only a bug reaches it)


def test_make_run_and_make_serve_use_the_one_launcher():
    for target, extra in (("run", ""), ("serve", " --workers 2")):
        out = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert re.search(rf"\.venv/bin/python -m deploy\.serve --host \S+ --port \d+{extra}\n",
                         out.stdout), out.stdout  # fmt: skip


def test_the_server_settings_do_not_watch_files():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["headless"] is True
    assert config["runner"]["postScriptGC"] is False


def test_the_command_and_environment():
    command = app_command("0.0.0.0", 8600, python="py")
    assert command == ["py", "-m", "streamlit", "run", "app.py",
                       "--server.address", "0.0.0.0", "--server.port", "8600"]  # fmt: skip
    env = app_env({"PATH": "/bin", "PYTHONPATH": "/x"})
    assert env["MALLOC_MMAP_THRESHOLD_"] == "1048576"
    assert env["PYTHONPATH"] == f"{REPO}{os.pathsep}/x" and env["PATH"] == "/bin"


def test_the_sticky_blocks_map_only_our_workers():
    blocks = sticky_blocks(["127.0.0.1:8502", "127.0.0.1:8503"])
    assert f"map $cookie_{WORKER_COOKIE} $lossviz_pinned" in blocks
    assert "1 lossviz_1;" in blocks and "2 lossviz_2;" in blocks
    assert "default lossviz;" in blocks  # a missing or forged cookie: round robin
    assert "127.0.0.1:8503 2;" in blocks  # the number a response's cookie carries
    # Pinned to worker 1: it first, the other as a backup while it is down.
    pinned = blocks.split("upstream lossviz_1 {")[1].split("}")[0]
    assert re.findall(r"server (\S+) [^;]*?(backup)?;", pinned) == [
        ("127.0.0.1:8502", ""),
        ("127.0.0.1:8503", "backup"),
    ]


def _directives(text: str) -> set[str]:
    """An nginx text's directive lines, without comments and surrounding blanks."""
    return {line.split("#", 1)[0].strip() for line in text.splitlines()} - {""}


def test_the_tls_recipe_pins_and_fails_over_as_serve_does():
    """deploy/nginx.conf holds every line of what serve.py writes for ports 8502 and 8503."""
    recipe = _directives((REPO / "deploy" / "nginx.conf").read_text())
    written = _directives(sticky_blocks(["127.0.0.1:8502", "127.0.0.1:8503"]))
    assert written <= recipe, sorted(written - recipe)
    location = nginx_conf(Path("/tmp"), ["127.0.0.1:8502"], "8501").split("location / {")[1]
    failover = {d for d in _directives(location) if d.startswith(("proxy_next", "proxy_conn"))}
    assert len(failover) == 2 and failover <= recipe


class _Backend(http.server.ThreadingHTTPServer):
    """A stand-in worker on a free port: ``/_stcore/health`` says ok, any other path its name."""

    def __init__(self, name: str) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                body = b"ok" if self.path == "/_stcore/health" else name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_port}"


def _get(url: str, cookie: str | None = None) -> tuple[int, str, dict[str, str]]:
    """GET ``url`` sending ``lossviz_worker=cookie``: status, body and the cookies set."""
    headers = {"Cookie": f"{WORKER_COOKIE}={cookie}"} if cookie is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        body = r.read().decode(errors="replace")
        return r.status, body, cookies_from(r.headers.get_all("Set-Cookie") or [])


def test_the_generated_config_fails_over_and_names_who_answered(tmp_path):
    """serve.py's nginx in front of two live stand-ins and a dead port: a browser pinned to
    the dead one is answered by a live one whose number the cookie then carries (nginx's
    ``$upstream_addr`` is "dead, live"); a forged cookie gets round robin."""
    _nginx_or_skip()
    backends = [_Backend("A"), _Backend("B")]
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(tmp_path, [b.address for b in backends] + [dead], str(port)))
    proxy = subprocess.Popen([nginx_binary(), "-p", str(tmp_path), "-c", str(conf)])
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proxy, timeout_s=15)
        for pinned, name in (("1", "A"), ("2", "B")):
            assert _get(f"{url}/", pinned) == (200, name, {WORKER_COOKIE: pinned})
        status, name, cookies = _get(f"{url}/", "3")  # pinned to the dead one
        assert status == 200 and cookies == {WORKER_COOKIE: {"A": "1", "B": "2"}[name]}
        for forged in ("7", "../1", ""):  # round robin: both live ones answer in turn
            answered = {_get(f"{url}/page", forged)[1] for _ in range(4)}
            assert answered == {"A", "B"}, forged
    finally:
        stop(proxy)
        for backend in backends:
            backend.shutdown()
    log = (tmp_path / "access.log").read_text()  # each line ends with every address tried
    assert any(f'"{dead}, {b.address}"' in log for b in backends)


def test_the_back_off_doubles_and_is_capped():
    supervisor = Supervisor(first_s=0.5, max_s=30)
    assert [supervisor.backoff(k) for k in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def _wait_for(condition: Callable[[], object], what: str, timeout_s: float = NEVER_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.05)


@pytest.fixture
def supervisor_log() -> Iterator[tuple[Supervisor, list[str]]]:
    """A supervisor with short waits (0.1 s doubling to 0.4 s) whose lines go to a list."""
    lines: list[str] = []
    supervisor = Supervisor(lines.append, first_s=0.05, max_s=0.4, poll_s=0.02)
    try:
        yield supervisor, lines
    finally:
        supervisor.stop()


def test_a_crash_looping_process_is_backed_off(supervisor_log):
    supervisor, lines = supervisor_log
    start = time.monotonic()
    entry = supervisor.add("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    supervisor.start()
    _wait_for(lambda: len(entry.exits) >= 5, "five exits")
    elapsed = time.monotonic() - start
    supervisor.stop()
    assert [e.returncode for e in entry.exits[:5]] == [3] * 5
    # Each wait doubles up to the cap: not a busy loop (the waits really passed).
    assert [e.delay_s for e in entry.exits[:5]] == [0.1, 0.2, 0.4, 0.4, 0.4]
    assert elapsed >= 0.1 + 0.2 + 0.4 + 0.4
    assert entry.starts <= len(entry.exits) + 1
    crash_loop = [line for line in lines if "crash-looping" in line]
    assert crash_loop and "exit code 3" in crash_loop[0] and "doubles" in crash_loop[0]


def test_a_killed_process_comes_back_with_its_environment(tmp_path, supervisor_log):
    supervisor, lines = supervisor_log
    seen, child = tmp_path / "seen", tmp_path / "child.py"
    child.write_text(
        "import os, time\n"
        "with open(os.environ['SEEN'], 'a') as f:\n"
        "    f.write(f\"{os.getpid()} {os.environ['SECRET']}\\n\")\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "SEEN": str(seen), "SECRET": "s3cret"}
    entry = supervisor.add("sleeper", [sys.executable, str(child)], env=env)
    supervisor.start()
    # A whole line, not just the file (the child creates it before writing its line).
    _wait_for(lambda: seen.exists() and seen.read_text().endswith("\n"), "the first start")
    first = entry.pid
    os.kill(first, signal.SIGKILL)
    _wait_for(lambda: len(seen.read_text().splitlines()) == 2, "the restart")
    assert seen.read_text().splitlines() == [f"{first} s3cret", f"{entry.pid} s3cret"]
    assert entry.exits[0].returncode == -signal.SIGKILL and "SIGKILL" in lines[0]
    supervisor.stop()
    assert entry.process.poll() is not None and entry.starts == 2  # stopped, not restarted


def test_several_workers_need_nginx(monkeypatch):
    monkeypatch.setattr("deploy.serve.nginx_binary", lambda: None)
    with pytest.raises(RuntimeError, match="nginx is needed"), cluster(2):
        pass
    assert "make run" in NO_NGINX


def _nginx_or_skip() -> None:
    if nginx_binary() is None:
        if os.environ.get("CI", "").lower() in {"1", "true"}:
            pytest.fail("nginx is missing (make test installs Debian's nginx when root)")
        pytest.skip("needs Debian's nginx (sudo apt-get install nginx)")


@pytest.mark.slow
def test_two_workers_behind_nginx_keep_each_browser_on_one_process():
    _nginx_or_skip()
    with cluster(2) as served:
        # Six browsers, each reloading once (a new websocket with the same cookies).
        spec = LoadSpec("", clients=6, reruns=2, reconnect_every=1, timeout_s=120)
        # Its own thread: after the browser tests, Playwright's sync API leaves an event loop
        # running in this one, and asyncio.run refuses to nest.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            reports, wall = pool.submit(asyncio.run, drive(served.url, spec)).result()
        result = summarize(reports, wall, spec)
        assert result["errors"] == {} and result["completed"] == 12
        assert all(r.cookies.get(WORKER_COOKIE) in {"1", "2"} for r in reports)
        served.stop_proxy()  # nginx writes a websocket's log line when it closes
        upstreams = websocket_upstreams(served.access_log)
        pinned = websocket_upstreams(served.access_log, by="worker")
    assert len(upstreams) == 6
    assert all(len(u) == 1 for u in upstreams.values())  # sticky through the reload
    per_process = sorted(sum(1 for u in upstreams.values() if w in u) for w in
                         {next(iter(u)) for u in upstreams.values()})  # fmt: skip
    assert per_process == [3, 3]  # round robin: an even split
    assert sorted(pinned) == ["1", "2"] and all(len(u) == 1 for u in pinned.values())


def test_nginx_is_found_where_debian_puts_it():
    found = nginx_binary()
    assert found is None or Path(found).name == "nginx"
    assert found is None or shutil.which(found) or os.access(found, os.X_OK)


def test_the_tls_recipe_is_a_valid_nginx_configuration(tmp_path):
    """deploy/nginx.conf with a throwaway certificate passes ``nginx -t``."""
    _nginx_or_skip()
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs openssl to make a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=lossviz.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    recipe = (REPO / "deploy" / "nginx.conf").read_text()
    recipe = recipe.replace("/etc/ssl/certs/lossviz.pem", str(cert))
    recipe = recipe.replace("/etc/ssl/private/lossviz.key", str(key))
    recipe = recipe.replace("listen 443 ssl;", "listen 127.0.0.1:18443 ssl;")
    recipe = recipe.replace("listen 80;", "listen 127.0.0.1:18080;")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{\naccess_log off;\n{recipe}\n}}\n"
    )
    out = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(conf)],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
def test_a_deep_link_opened_first_on_a_fresh_server_runs_through_app_py():
    """The first session of a server opens /playground: app.py's setup runs (its sidebar badge
    is sent), not the page file alone as a legacy pages/ app (see ui.setup.ensure_navigation)."""
    with cluster(1) as served:
        spec = LoadSpec("playground", clients=1, reruns=1, timeout_s=120, watch=("Computing on",))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            reports, wall = pool.submit(asyncio.run, drive(served.url, spec)).result()
        result = summarize(reports, wall, spec)
    assert result["errors"] == {} and result["seen"] == {"Computing on": 1}


def _environ(pid: int) -> dict[str, str]:
    """The environment of a process we started (``/proc/<pid>/environ``)."""
    items = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in items if b"=" in item)


@pytest.mark.slow
def test_a_killed_worker_is_replaced_while_the_other_serves_its_browsers(tmp_path):
    """kill -9 of worker 1 of 2: its browser's websocket closes, its requests are answered by
    worker 2 (the cookie moves there) and its reconnect opens a new session there; the
    supervisor starts worker 1 again on its port with the same cookie secret, which then
    gets its pinned requests back; worker 2 is never touched."""
    _nginx_or_skip()
    with cluster(2, log_dir=tmp_path, script=BARE) as served:
        url, other = served.url, served.workers[1].pid
        secret = _environ(served.workers[0].pid)[COOKIE_SECRET_ENV]

        async def browser_on_worker_1() -> dict:
            cookies = {**fetch_cookies(url, 30), WORKER_COOKIE: "1"}
            ws = await open_tab(url, 30, cookies)
            tab = TabState(url, "", "")
            first = await rerun(ws, tab, 60)
            killed, killed_at = served.kill_worker(0), time.monotonic()
            with pytest.raises(ConnectionClosed):  # the dead worker's websocket closes
                async with asyncio.timeout(NEVER_S):
                    while True:
                        await ws.recv()  # whatever was still on its way, then the close
            pinned = {path: _get(f"{url}{path}", "1") for path in ("/_stcore/health", "/")}
            # The front end reconnects: health check, then a websocket, with the new cookies.
            cookies.update(pinned["/_stcore/health"][2])
            ws = await open_tab(url, 30, cookies)
            again = TabState(url, "", "")
            second = await rerun(ws, again, 60)
            await ws.close()
            return {"killed": killed, "killed_at": killed_at, "pinned": pinned, "reruns":
                    (first, second), "sessions": (tab.session_id, again.session_id)}  # fmt: skip

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            seen = pool.submit(asyncio.run, browser_on_worker_1()).result()
        for path, (status, _body, cookies) in seen["pinned"].items():
            assert status == 200 and cookies[WORKER_COOKIE] == "2", path
        assert seen["pinned"]["/_stcore/health"][1] == "ok"
        assert "<html" in seen["pinned"]["/"][1].lower()  # the page itself
        assert [r.error for r in seen["reruns"]] == [None, None]
        assert len(set(seen["sessions"])) == 2  # a new session on the live worker
        left = SERVES_AGAIN_S - (time.monotonic() - seen["killed_at"])
        served.wait_serving(0, seen["killed"], timeout_s=max(left, 0.1))
        _wait_for(lambda: _get(f"{url}/_stcore/health", "1")[2][WORKER_COOKIE] == "1",
                  "worker 1 gets its pinned requests back")  # fmt: skip
        restarted = served.supervised_workers[0]
        assert [e.returncode for e in restarted.exits] == [-signal.SIGKILL]
        assert served.worker_urls[0].endswith(restarted.command[-1])  # the same port
        assert _environ(restarted.pid)[COOKIE_SECRET_ENV] == secret
        assert served.workers[1].pid == other and served.supervised_workers[1].exits == []
    assert "restart 1" in (tmp_path / "worker-1.log").read_text()


@pytest.mark.slow
def test_nginx_is_restarted_when_it_dies():
    _nginx_or_skip()
    with cluster(2, script=BARE) as served:
        workers, proxy = [w.pid for w in served.workers], served.proxy.pid
        served.proxy.kill()
        _wait_for(lambda: served.proxy.pid != proxy and answers_health(served.url),
                  "nginx answers again")  # fmt: skip
        assert _get(f"{served.url}/_stcore/health", "2")[2][WORKER_COOKIE] == "2"
        assert [w.pid for w in served.workers] == workers
        assert [e.returncode for e in served.supervised_proxy.exits] == [-signal.SIGKILL]
