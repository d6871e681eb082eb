"""deploy/serve.py: one way to start the app (make run, make serve, tests, benches), and two
workers behind Debian's nginx that keep every browser on one process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from bench.loadtest import LoadSpec, drive, summarize
from deploy.serve import (
    NO_NGINX,
    WORKER_COOKIE,
    app_command,
    app_env,
    cluster,
    nginx_binary,
    sticky_blocks,
    websocket_upstreams,
)

REPO = Path(__file__).resolve().parents[1]


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
    assert "1 127.0.0.1:8502;" in blocks and "2 127.0.0.1:8503;" in blocks
    assert "default lossviz;" in blocks  # a missing or forged cookie: round robin
    assert "127.0.0.1:8503 2;" in blocks  # the number a response's cookie carries


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
        served.proxy.terminate()  # nginx writes a websocket's log line when it closes
        served.proxy.wait(timeout=10)
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
