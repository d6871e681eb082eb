"""A class on one server: the teacher's collapse link, the playground beside a bare page, two
workers against one, a worker killed mid-class, and bad input at class size. Every server
is started as ``make run`` / ``make serve`` start it (``deploy.serve``); the clients are
``bench.loadtest``'s.

Usage::

    python -m bench.classroom                       # everything, 3 repeats -> results file
    python -m bench.classroom --only collapse --repeats 1
    python -m bench.classroom --only failover --repeats 1   # -> its own results file

Parts (each repeat runs them in this order, each on fresh servers):

- ``collapse``: one server. A warm-up visit without autostart (imports, the step-0
  picture), then one student alone opens ``/collapse?autostart=1&seed=1`` (its time is
  the yardstick), then 30 students open the teacher's link ``/collapse?autostart=1`` at
  once (the run is computed once, in the registry's worker), then 30 more open it once it
  is computed (server CPU per additional student), then 60 open a fresh link
  (``seed=2``) at once. A student's time is from sending the page request until the
  script run ends, which is when the page holds the whole trained run. Then the server's
  memory, after the 120 sessions closed and ``disconnectedSessionTTL`` passed.
- ``playground``: the playground and ``bench/apps/bare.py`` (one button, one metric) on two
  servers, 30 clients x 5 back-to-back reruns each, alternated; then 60 students on the
  playground at a classroom pace (2 s ramp, a drop every 2 s).
- ``workers``: 60 clients x 6 reruns of the playground, back to back, against one process
  (``make run``) and against two behind nginx (``make serve WORKERS=2``); every client
  reloads (a new websocket, the same cookie) after 3 reruns, and nginx's access log shows
  which process served each websocket.
- ``failover``: two workers behind nginx (``make serve WORKERS=2``), 30 students on the
  playground at a classroom pace (2 s ramp, a drop every 2 s, 20 each), each pinned to a
  worker by its cookie (round robin: 15 on each). 10 s into the load worker 1 is killed
  (``kill -9``); the supervisor restarts it. The students reconnect as the front end
  does: a closed websocket is noticed at once (also while thinking), then the health
  request with the browser's cookies (nginx sends it to a live worker, whose number the
  cookie then carries) and a new websocket, a new session, whose first rerun is sent at
  once. Reported: the errors of worker 2's students (target 0) and their latency before
  and after the kill; for worker 1's students, the reruns cut by the kill, the time from
  the kill until their page answered again, and where they ended; the time until the
  killed worker answers its ``/_stcore/health`` again (target within 10 s) and until
  nginx sends it its pinned requests again. A full run writes it with the rest; ``--only
  failover`` writes ``bench/results/classroom-failover-cpu.md``.
- ``simclr``: the SimCLR page as ``collapse`` measures the collapse page, but the class opens
  the teacher's link for a *new* configuration (``/simclr?autostart=1&seed=2``, not among
  the runs trained at start-up): one student alone opens ``seed=1``, then 30 open
  ``seed=2`` at once, 30 more once it is computed, 60 open ``seed=3`` at once. ``--only
  simclr`` writes ``bench/results/classroom-simclr-cpu.md``.
- ``abuse``: 60 students open the largest link (2,000 steps, batch 256, both runs); 30 a
  diverging run; 10 open a fresh link and close the tab after a second, then one more opens
  it; 40 open 40 different seeds at once; then the server must still answer.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import streamlit
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.common import markdown_table
from bench.loadtest import (
    STOPS,
    LoadSpec,
    Rerun,
    TabState,
    await_recovery,
    cookies_from,
    cpu_seconds,
    drive,
    hwm_mb,
    open_tab,
    own_server,
    percentile,
    rerun,
    rss_mb,
    stop_reason,
    summarize,
    warm_up,
)
from deploy.serve import WORKER_COOKIE, Cluster, cluster, websocket_upstreams
from lossviz.training.run_registry import MAX_ACTIVE, MAX_WAITING

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "classroom-cpu.md"
FAILOVER_RESULTS = REPO / "bench" / "results" / "classroom-failover-cpu.md"
SIMCLR_RESULTS = REPO / "bench" / "results" / "classroom-simclr-cpu.md"
ARTIFACTS = REPO / "test-artifacts"
PARTS = ("collapse", "playground", "workers", "failover", "abuse", "simclr")

TEACHER = "autostart=1"  # the default scene: digits, batch-hard beside the fix, 300 steps
LARGEST = "steps=2000&batch_size=256&autostart=1&seed=4"
DIVERGING = "dataset=blobs&loss=batch_hard&compare=none&optimizer=sgd&lr=10&steps=60&autostart=1"
TRAINED = "Trained once on this server"
BUSY = "The server is busy"
STOPPED = "Training stopped at step"
LONG_TIMEOUT_S = 300.0

FAILOVER_LOAD = LoadSpec("playground", clients=30, reruns=20, ramp_s=2.0, think_s=2.0)
KILL_AFTER_S = 10.0  # into the failover load (all students connected, a few reruns each)
KILLED = 0  # the worker killed: index 0, cookie number 1
RECONNECT_EVERY_S = 0.5  # a reconnecting page's tries (the front end's are about as often)
SERVES_AGAIN_TARGET_S = 10.0


# --------------------------------------------------------------------------- measuring


def process_tree_cpu(pids: list[int]) -> float:
    """CPU seconds of these processes and their children (nginx's worker is one)."""
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent in pids:
                    children.add(int(entry.name))
    total = 0.0
    for pid in {*pids, *children}:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


async def load(url: str, pids: list[int], spec: LoadSpec) -> dict:
    """One load: the clients' summary plus the server CPU it cost (total and per client)."""
    before = process_tree_cpu(pids)
    reports, wall = await drive(url, spec)
    result = summarize(reports, wall, spec)
    result["server_cpu_s"] = process_tree_cpu(pids) - before
    result["cpu_s_per_client"] = result["server_cpu_s"] / spec.clients
    result["cpu_ms_per_rerun"] = result["server_cpu_s"] * 1e3 / max(result["completed"], 1)
    return result


def errors(result: dict) -> int:
    return int(sum(result["errors"].values()))


def p(result: dict, q: int, key: str = "first_ms") -> float:
    return result[key][q]


# --------------------------------------------------------------------------- parts


async def training_class(
    url: str, pid: int, page: str, alone: str, teacher: str, fresh: str
) -> dict:
    """One student alone (``alone``), 30 at once on ``teacher``, 30 more on it once computed,
    60 at once on ``fresh``; the server's memory after they all left."""
    await warm_up(url, LoadSpec(page, "", timeout_s=LONG_TIMEOUT_S))
    idle = rss_mb(pid)
    spec = {"page": page, "reruns": 1, "timeout_s": LONG_TIMEOUT_S, "watch": (TRAINED,)}
    out = {"idle_mb": idle}
    out["alone"] = await load(url, [pid], LoadSpec(query=alone, clients=1, **spec))
    out["class30"] = await load(url, [pid], LoadSpec(query=teacher, clients=30, **spec))
    out["late30"] = await load(url, [pid], LoadSpec(query=teacher, clients=30, **spec))
    out["class60"] = await load(url, [pid], LoadSpec(query=fresh, clients=60, **spec))
    out["peak_mb"] = hwm_mb(pid)
    out["memory"] = await await_recovery(pid, idle, watch_s=45.0)
    return out


async def collapse_class(url: str, pid: int) -> dict:
    return await training_class(url, pid, "collapse", "autostart=1&seed=1", TEACHER,
                                "autostart=1&seed=2")  # fmt: skip


async def simclr_class(url: str, pid: int) -> dict:
    return await training_class(url, pid, "simclr", "autostart=1&seed=1", "autostart=1&seed=2",
                                "autostart=1&seed=3")  # fmt: skip


async def playground_pair(playground: tuple[str, int], bare: tuple[str, int], repeats: int) -> dict:
    spec = LoadSpec("playground", clients=30, reruns=5)
    floor = LoadSpec("", clients=30, reruns=5, script="bench/apps/bare.py")
    await warm_up(playground[0], spec)
    await warm_up(bare[0], floor)
    out: dict = {"playground": [], "bare": []}
    for _ in range(repeats):
        out["playground"].append(await load(playground[0], [playground[1]], spec))
        out["bare"].append(await load(bare[0], [bare[1]], floor))
    return out


def playground_part(repeats: int) -> dict:
    with own_server("app.py") as (url, pid), own_server("bench/apps/bare.py") as bare:
        out = asyncio.run(playground_pair((url, pid), bare, repeats))
        paced = LoadSpec("playground", clients=60, reruns=5, ramp_s=2.0, think_s=2.0)
        out["paced60"] = asyncio.run(load(url, [pid], paced))
    return out


def workers_part() -> dict:
    out = {}
    spec = LoadSpec("playground", clients=60, reruns=6, reconnect_every=3)
    for workers in (1, 2):
        with cluster(workers, log_dir=ARTIFACTS / f"classroom-workers-{workers}") as served:
            for worker_url in served.worker_urls:  # each process imports torch & co. once
                asyncio.run(warm_up(worker_url, spec))
            pids = [w.pid for w in served.workers] + ([served.proxy.pid] if served.proxy else [])
            result = asyncio.run(load(served.url, pids, spec))
            if served.access_log is not None:
                time.sleep(0.5)  # nginx writes a websocket's line when it closes
                upstreams = websocket_upstreams(served.access_log)
                result["sticky"] = {
                    "cookies": len(upstreams),
                    "split": sum(len(u) > 1 for u in upstreams.values()),
                    "per_process": dict(
                        collections.Counter(next(iter(u)) for u in upstreams.values())
                    ),
                }
            out[workers] = result
    out["ratio"] = out[2]["throughput"] / out[1]["throughput"]
    return out


async def abuse(url: str, pid: int) -> dict:
    await warm_up(url, LoadSpec("collapse", "", timeout_s=LONG_TIMEOUT_S))
    spec = {"page": "collapse", "reruns": 1, "timeout_s": LONG_TIMEOUT_S}
    out = {}
    out["largest60"] = await load(
        url, [pid], LoadSpec(query=LARGEST, clients=60, watch=(TRAINED,), **spec)
    )
    out["diverging30"] = await load(
        url, [pid], LoadSpec(query=DIVERGING, clients=30, watch=(STOPPED,), **spec)
    )
    left = "autostart=1&seed=3&steps=1000"
    out["left10"] = await load(
        url, [pid], LoadSpec(query=left, clients=10, leave_after_s=1.0, **spec)
    )
    out["after_left"] = await load(
        url, [pid], LoadSpec(query=left, clients=1, watch=(TRAINED,), **spec)
    )
    seeds = tuple(f"autostart=1&seed={100 + i}" for i in range(40))
    out["seeds40"] = await load(
        url, [pid], LoadSpec(clients=40, queries=seeds, watch=(TRAINED, BUSY), **spec)
    )
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as reply:
        out["healthy"] = reply.read().decode().strip() == "ok"
    return out


# --------------------------------------------------------------------------- failover


@dataclass
class Student:
    """One failover client: the worker its cookie pinned it to first, its reruns (start time
    after the load began, rerun), the reruns cut by a closed websocket and its reconnects
    (seconds from the kill until the new session's first answer, tries, the worker after)."""

    pinned: str = ""
    reruns: list[tuple[float, Rerun]] = field(default_factory=list)
    cut: int = 0
    reconnects: list[dict] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    stopped: str | None = None  # an error kind, as in bench.loadtest
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(r.error is not None for _, r in self.reruns) + (self.stopped is not None)


def health_with(url: str, cookies: dict[str, str], timeout_s: float) -> dict[str, str]:
    """``GET /_stcore/health`` sending the browser's cookies; the cookies the answer sets."""
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": header})
    with urllib.request.urlopen(request, timeout=timeout_s) as reply:
        return cookies_from(reply.headers.get_all("Set-Cookie") or [])


async def reconnect(url: str, student: Student, timeout_s: float) -> tuple[ClientConnection, int]:
    """What the front end does when its websocket closed: the health request with the
    browser's cookies, then a new websocket, tried every ``RECONNECT_EVERY_S`` until one
    opens (``timeout_s`` in all); returns it and the tries it took."""
    deadline = time.monotonic() + timeout_s
    tries = 0
    while True:
        tries += 1
        try:
            student.cookies.update(await asyncio.to_thread(health_with, url, student.cookies, 5))
            return await open_tab(url, 5, student.cookies), tries
        except (OSError, urllib.error.URLError, InvalidHandshake, TimeoutError):
            if time.monotonic() > deadline:
                raise TimeoutError("no reconnect") from None
            await asyncio.sleep(RECONNECT_EVERY_S)


async def closed_within(ws: ClientConnection, seconds: float) -> bool:
    """Think ``seconds``; True at once if the websocket closes meanwhile (as a page sees it)."""
    try:
        async with asyncio.timeout(seconds):
            await ws.wait_closed()
    except TimeoutError:
        return False
    return True


async def failover_student(
    index: int, url: str, spec: LoadSpec, t0: float, state: dict, student: Student
) -> None:
    """One student: connect after its ramp delay, then ``spec.reruns`` reruns ``think_s``
    apart; a closed websocket (a cut rerun, or seen while thinking) is reconnected and the
    page rerun at once on its new session."""
    await asyncio.sleep(index * spec.ramp_s / spec.clients)
    ws = None
    try:
        try:
            student.cookies = await asyncio.to_thread(health_with, url, {}, spec.timeout_s)
            ws = await open_tab(url, spec.timeout_s, student.cookies)
        except (OSError, urllib.error.URLError, InvalidHandshake, TimeoutError):
            student.stopped = "connect"
            return
        student.pinned = student.cookies.get(WORKER_COOKIE, "")
        tab = TabState(url, spec.page, spec.query)
        done = 0
        while done < spec.reruns:
            dropped = done and await closed_within(ws, spec.think_s)
            start = time.perf_counter() - t0
            if not dropped:
                try:
                    result = await rerun(ws, tab, spec.timeout_s)
                except ConnectionClosed:
                    student.cut += 1
                    dropped = True
            if dropped:
                ws, tries = await reconnect(url, student, spec.timeout_s)
                tab = TabState(url, spec.page, tab.query)
                start = time.perf_counter() - t0
                result = await rerun(ws, tab, spec.timeout_s)
                killed = state.get("killed_at", time.perf_counter())
                student.reconnects.append({
                    "back_s": time.perf_counter() - killed,
                    "tries": tries,
                    "worker": student.cookies.get(WORKER_COOKIE, ""),
                })  # fmt: skip
            student.reruns.append((start, result))
            student.sessions.add(tab.session_id)
            done += 1
    except STOPS as stop:
        student.stopped = stop_reason(stop)
        if isinstance(stop, asyncio.CancelledError):
            raise
    finally:
        if ws is not None:
            await ws.close()


async def kill_mid_load(served: Cluster, t0: float, state: dict) -> None:
    """``kill -9`` worker ``KILLED`` ``KILL_AFTER_S`` into the load, then time its return:
    its own health check, and nginx sending it its pinned requests again."""
    await asyncio.sleep(KILL_AFTER_S)
    pid = served.kill_worker(KILLED)
    state["killed_at"] = killed = time.perf_counter()
    state["killed_s"] = killed - t0
    await asyncio.to_thread(served.wait_serving, KILLED, pid, LONG_TIMEOUT_S)
    state["health_s"] = time.perf_counter() - killed
    number = str(KILLED + 1)
    while time.perf_counter() - killed < LONG_TIMEOUT_S:
        with contextlib.suppress(OSError, urllib.error.URLError):
            answered = await asyncio.to_thread(health_with, served.url, {WORKER_COOKIE: number}, 5)
            if answered.get(WORKER_COOKIE) == number:
                state["pinned_back_s"] = time.perf_counter() - killed
                return
        await asyncio.sleep(0.1)


async def failover_load(served: Cluster, spec: LoadSpec) -> tuple[list[Student], dict]:
    students = [Student() for _ in range(spec.clients)]
    state: dict = {}
    t0 = time.perf_counter()
    tasks = [
        asyncio.create_task(failover_student(i, served.url, spec, t0, state, students[i]))
        for i in range(spec.clients)
    ]
    killer = asyncio.create_task(kill_mid_load(served, t0, state))
    try:
        async with asyncio.timeout(spec.cap_s):
            await asyncio.gather(*tasks, killer)
    except TimeoutError:
        for task in (*tasks, killer):
            task.cancel()
        await asyncio.gather(*tasks, killer, return_exceptions=True)
    state["wall_s"] = time.perf_counter() - t0
    return students, state


def latency_ms(students: list[Student], keep: Callable[[float], bool]) -> dict[int, float]:
    """p50 / p95 / max (ms) of the students' reruns whose start ``keep`` accepts."""
    values = [r.latency_s * 1e3 for s in students for start, r in s.reruns if keep(start)]
    return {q: percentile(values, q) for q in (50, 95, 100)}


def failover_part() -> dict:
    spec = FAILOVER_LOAD
    number = str(KILLED + 1)
    with cluster(2, log_dir=ARTIFACTS / "classroom-failover") as served:
        for worker_url in served.worker_urls:  # each process imports torch & co. once
            asyncio.run(warm_up(worker_url, spec))
        other_pid = served.workers[1 - KILLED].pid
        students, state = asyncio.run(failover_load(served, spec))
        other_same = served.workers[1 - KILLED].pid == other_pid
        restarts = len(served.supervised_workers[KILLED].exits)
        other_restarts = len(served.supervised_workers[1 - KILLED].exits)
    killed_at = state.get("killed_s", math.inf)
    live = [s for s in students if s.pinned and s.pinned != number]
    moved = [s for s in students if s.pinned == number]
    back = [r["back_s"] for s in moved for r in s.reconnects]
    return {
        "clients": spec.clients,
        "unpinned": sum(not s.pinned for s in students),
        "killed_after_s": killed_at,
        "health_s": state.get("health_s"),
        "pinned_back_s": state.get("pinned_back_s"),
        "restarts": restarts,
        "other_pid_same": other_same and other_restarts == 0,
        "live": {
            "students": len(live),
            "errors": sum(s.errors for s in live),
            "cut": sum(s.cut for s in live),
            "reconnects": sum(len(s.reconnects) for s in live),
            "completed": sum(len(s.reruns) for s in live),
            "before_ms": latency_ms(live, lambda t: t < killed_at),
            "after_ms": latency_ms(live, lambda t: t >= killed_at),
        },
        "moved": {
            "students": len(moved),
            "reconnected": sum(bool(s.reconnects) for s in moved),
            "reconnects": len(back),
            "cut": sum(s.cut for s in moved),
            "back_s": {q: percentile(back, q) for q in (50, 95, 100)},
            "tries_max": max((r["tries"] for s in moved for r in s.reconnects), default=0),
            "errors": sum(s.errors for s in moved),
            "completed": sum(len(s.reruns) for s in moved),
            "sessions": sum(len(s.sessions) for s in moved),
            "ended_on": dict(collections.Counter(s.cookies.get(WORKER_COOKIE) for s in moved)),
            "after_ms": latency_ms(moved, lambda t: t >= killed_at),
        },
        "wall_s": state["wall_s"],
    }


def on_own_server(part: Callable[[str, int], object]) -> dict:
    with own_server("app.py") as (url, pid):
        return asyncio.run(part(url, pid))


# --------------------------------------------------------------------------- report


def median(values: list[float]) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def fmt(value: float, digits: int = 0, unit: str = "") -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}{unit}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def collapse_rows(
    runs: list[dict], teacher: str = "the teacher's link", fresh: str = "seed 2"
) -> tuple[list[list[str]], list[list[str]]]:
    rows = []
    for name, title in (("alone", "1 student alone (seed 1)"),
                        ("class30", f"30 open {teacher} at once"),
                        ("late30", "30 more, the run already computed"),
                        ("class60", f"60 open a fresh link at once ({fresh})")):  # fmt: skip
        results = [run[name] for run in runs]
        rows.append([
            title,
            " / ".join(fmt(median([p(r, q) for r in results])) for q in (50, 95, 100)),
            ", ".join(str(errors(r)) for r in results),
            fmt(median([r["cpu_s_per_client"] for r in results]), 3),
            fmt(median([r["first_kb"] for r in results])),
            ", ".join(f"{r['seen'].get(TRAINED, 0)}/{r['clients']}" for r in results),
        ])  # fmt: skip
    ratio = [r["class30"]["first_ms"][95] / r["alone"]["first_ms"][95] for r in runs]
    p95_30 = [r["class30"]["first_ms"][95] for r in runs]
    late = [r["late30"]["cpu_s_per_client"] for r in runs]
    recovered = [r["memory"]["recovery_s"] is not None for r in runs]
    after = [r["memory"]["watched_mb"] - r["idle_mb"] for r in runs]
    targets = [
        ["30 at once: 0 errors", ", ".join(str(errors(r["class30"])) for r in runs),
         verdict(all(errors(r["class30"]) == 0 for r in runs))],
        ["30 at once: p95 <= 3x one student alone", f"{median(ratio):.2f}x",
         verdict(median(ratio) <= 3)],
        ["30 at once: p95 <= 20 s", fmt(median(p95_30) / 1e3, 1, " s"),
         verdict(median(p95_30) <= 20_000)],
        ["60 at once: 0 errors", ", ".join(str(errors(r["class60"])) for r in runs),
         verdict(all(errors(r["class60"]) == 0 for r in runs))],
        ["server CPU per extra student on a computed run <= 0.3 s", fmt(median(late), 3, " s"),
         verdict(median(late) <= 0.3)],
        ["memory after 120 students left within 100 MB of idle", fmt(median(after), 0, " MB"),
         verdict(all(recovered) and median(after) <= 100)],
    ]  # fmt: skip
    return rows, targets


def playground_rows(parts: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    def row(name: str, results: list[dict]) -> list[str]:
        return [name,
                " / ".join(fmt(median([p(r, q, "all_ms") for r in results])) for q in (50, 95)),
                fmt(median([r["throughput"] for r in results]), 1),
                fmt(median([r["cpu_ms_per_rerun"] for r in results]), 1),
                str(sum(errors(r) for r in results))]  # fmt: skip

    play = [r for part in parts for r in part["playground"]]
    bare = [r for part in parts for r in part["bare"]]
    paced = [part["paced60"] for part in parts]
    rows = [row("playground, 30 x 5 back to back", play),
            row("bare page (one button), 30 x 5 back to back", bare),
            row("playground, 60 at a classroom pace (a drop every 2 s)", paced)]  # fmt: skip
    ratios = {
        q: median([p(r, q, "all_ms") for r in play]) / median([p(r, q, "all_ms") for r in bare])
        for q in (50, 95)
    }
    paced95 = median([p(r, 95, "all_ms") for r in paced])
    targets = [
        ["playground within 1.5x of the bare page (p50 / p95)",
         f"{ratios[50]:.1f}x / {ratios[95]:.1f}x", verdict(max(ratios.values()) <= 1.5)],
        ["60 at a classroom pace: p95 <= 300 ms", fmt(paced95, 0, " ms"), verdict(paced95 <= 300)],
    ]  # fmt: skip
    return rows, targets


def workers_rows(parts: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    rows = []
    for workers, title in (
        (1, "1 process (`make run`)"),
        (2, "2 processes + nginx (`make serve WORKERS=2`)"),
    ):
        results = [part[workers] for part in parts]
        sticky = [r.get("sticky") for r in results]
        rows.append([
            title,
            fmt(median([r["throughput"] for r in results]), 1),
            " / ".join(fmt(median([p(r, q, "all_ms") for r in results])) for q in (50, 95)),
            fmt(median([r["cpu_ms_per_rerun"] for r in results]), 1),
            str(sum(errors(r) for r in results)),
            "-" if not sticky[0] else "; ".join(
                f"{s['cookies']} browsers, {s['split']} split, per process "
                f"{sorted(s['per_process'].values())}" for s in sticky),
        ])  # fmt: skip
    ratio = median([part["ratio"] for part in parts])
    split = sum(part[2]["sticky"]["split"] for part in parts)
    targets = [
        ["2 workers serve >= 1.6x the reruns/s of 1", f"{ratio:.2f}x", verdict(ratio >= 1.6)],
        ["every browser's websockets on one process", f"{split} split", verdict(split == 0)],
    ]
    return rows, targets


def failover_rows(parts: list[dict]) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """The failover table (one row per group of students), its notes and its targets."""

    def ms(results: list[dict], key: str, qs: tuple[int, ...]) -> str:
        return " / ".join(fmt(median([r[key][q] for r in results])) for q in qs)

    live = [part["live"] for part in parts]
    moved = [part["moved"] for part in parts]
    rows = [
        ["worker 2's (never killed)",
         ", ".join(str(r["students"]) for r in live),
         ", ".join(str(r["completed"]) for r in live),
         ", ".join(str(r["errors"]) for r in live),
         ", ".join(f"{r['cut']} / {r['reconnects']}" for r in live),
         ms(live, "before_ms", (50, 95)), ms(live, "after_ms", (50, 95, 100)), "-", "-"],
        ["worker 1's (killed)",
         ", ".join(str(r["students"]) for r in moved),
         ", ".join(str(r["completed"]) for r in moved),
         ", ".join(str(r["errors"]) for r in moved),
         ", ".join(f"{r['cut']} / {r['reconnects']}" for r in moved),
         "-", ms(moved, "after_ms", (50, 95, 100)),
         " / ".join(fmt(median([r["back_s"][q] for r in moved]), 1) for q in (50, 100)),
         "; ".join(", ".join(f"{n} on {w}" for w, n in sorted(r["ended_on"].items()))
                   for r in moved)],
    ]  # fmt: skip
    health = [part["health_s"] for part in parts]

    def each(key: str, digits: int | None = None, unit: str = "") -> str:
        """One figure of every run, comma-separated."""
        values = [part[key] for part in parts]
        return ", ".join(str(v) if digits is None else fmt(v, digits, unit) for v in values)

    notes = [
        f"Worker 1 was killed {each('killed_after_s', 1, ' s')} into the load and answered "
        f"`/_stcore/health` again {each('health_s', 1, ' s')} after the kill (restarts by "
        f"deploy.serve: {each('restarts')}); nginx sent it the requests pinned to it again "
        f"{each('pinned_back_s', 1, ' s')} after the kill. Worker 2's process unchanged: "
        + ", ".join("yes" if part["other_pid_same"] else "NO" for part in parts)
        + ". Worker 1's students came back as new sessions ("
        + ", ".join(f"{r['sessions']} sessions for {r['students']} students" for r in moved)
        + "; reconnect tries at most "
        + ", ".join(str(r["tries_max"]) for r in moved)
        + ") and stay on the worker that took them; the restarted one serves new arrivals. "
        "Reruns cut: in flight when the worker died (sent again on the new session).",
    ]
    live_errors = sum(r["errors"] + r["reconnects"] for r in live)
    moved_back = all(r["reconnected"] == r["students"] and r["errors"] == 0 for r in moved)
    targets = [
        ["failover: 0 errors for the other worker's students", str(live_errors),
         verdict(live_errors == 0)],
        [f"failover: the killed worker answers again within {SERVES_AGAIN_TARGET_S:.0f} s",
         fmt(median([h for h in health if h is not None]), 1, " s"),
         verdict(all(h is not None and h <= SERVES_AGAIN_TARGET_S for h in health))],
        ["failover: every student of the killed worker on a live one again, 0 errors",
         ", ".join(f"{r['reconnected']}/{r['students']}" for r in moved), verdict(moved_back)],
    ]  # fmt: skip
    return rows, notes, targets


def abuse_rows(parts: list[dict]) -> list[list[str]]:
    rows = []
    titles = (("largest60", "60 open the largest link (2,000 steps, batch 256, both)", TRAINED),
              ("diverging30", "30 open a diverging run", STOPPED),
              ("left10", "10 open a fresh 1,000-step link and close the tab after 1 s", None),
              ("after_left", "... then one more opens it", TRAINED),
              ("seeds40", "40 open 40 different seeds at once", TRAINED))  # fmt: skip
    for name, title, shown in titles:
        results = [part[name] for part in parts]
        said = (
            ", ".join(f"{r['seen'].get(shown, 0)}/{r['clients']}" for r in results)
            if shown
            else "-"
        )
        if name == "seeds40":
            said += " trained; busy: " + ", ".join(str(r["seen"].get(BUSY, 0)) for r in results)
        rows.append([
            title,
            " / ".join(fmt(median([p(r, q) for r in results])) for q in (50, 95, 100)),
            ", ".join(str(errors(r)) for r in results),
            said,
        ])  # fmt: skip
    rows.append(["the server still answers afterwards", "", "",
                 ", ".join("yes" if part["healthy"] else "NO" for part in parts)])  # fmt: skip
    return rows


def report(results: dict[str, list], elapsed_s: float) -> str:
    lines = [
        f"Classroom load (`python -m bench.classroom`), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"streamlit {streamlit.__version__}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end; took {elapsed_s / 60:.1f} min. Medians over "
        f"{max(len(v) for v in results.values())} repeats; times in ms.",
        "",
    ]
    targets: list[list[str]] = []
    if results.get("collapse"):
        rows, more = collapse_rows(results["collapse"])
        targets += more
        lines += ["The teacher's collapse link (one process):", "",
                  markdown_table(["who", "time to the trained run p50 / p95 / max", "errors",
                                  "server CPU s per student", "KB sent per student",
                                  "pages showing the trained run"], rows), ""]  # fmt: skip
    if results.get("simclr"):
        rows, more = collapse_rows(results["simclr"], "the teacher's link for a new "
                                   "configuration (seed 2)", "seed 3")  # fmt: skip
        targets += [["SimCLR: " + row[0], *row[1:]] for row in more]
        lines += ["The teacher's SimCLR link (one process; two NT-Xent runs per link):", "",
                  markdown_table(["who", "time to the trained run p50 / p95 / max", "errors",
                                  "server CPU s per student", "KB sent per student",
                                  "pages showing the trained run"], rows), ""]  # fmt: skip
    if results.get("playground"):
        rows, more = playground_rows(results["playground"])
        targets += more
        lines += ["The playground beside a bare Streamlit page (one process each):", "",
                  markdown_table(["load", "p50 / p95", "reruns/s", "server CPU ms / rerun",
                                  "errors"], rows), ""]  # fmt: skip
    if results.get("workers"):
        rows, more = workers_rows(results["workers"])
        targets += more
        lines += ["One process against two behind nginx (playground, 60 clients x 6 reruns, "
                  "a reload after 3):", "",
                  markdown_table(["served by", "reruns/s", "p50 / p95", "server CPU ms / rerun",
                                  "errors", "websockets (nginx log)"], rows), ""]  # fmt: skip
    if results.get("failover"):
        rows, notes, more = failover_rows(results["failover"])
        targets += more
        spec = FAILOVER_LOAD
        lines += [f"A worker killed mid-class (2 workers behind nginx; {spec.clients} students "
                  f"on the playground at a classroom pace, {spec.reruns} reruns each; "
                  f"`kill -9` of worker 1 {KILL_AFTER_S:.0f} s in):", "",
                  markdown_table(["students", "how many", "reruns done", "errors",
                                  "reruns cut / reconnects", "before the kill p50 / p95",
                                  "after the kill p50 / p95 / max",
                                  "page back after the kill p50 / max (s)", "ended on worker"],
                                 rows), "", *notes, ""]  # fmt: skip
    if results.get("abuse"):
        lines += [f"Bad input at class size (one process; at most {MAX_ACTIVE} trainings "
                  f"compute in turns and {MAX_WAITING} wait, more are refused with a message):",
                  "", markdown_table(["load", "p50 / p95 / max", "errors", "pages saying so"],
                                     abuse_rows(results["abuse"])), ""]  # fmt: skip
    if targets:
        lines += ["Targets:", "", markdown_table(["target", "median", ""], targets), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def run(parts: list[str], repeats: int) -> dict[str, list]:
    results: dict[str, list] = {part: [] for part in parts}
    for repeat in range(repeats):
        for part in parts:
            print(f"[{repeat + 1}/{repeats}] {part} ...", file=sys.stderr, flush=True)
            if part == "collapse":
                result = on_own_server(collapse_class)
            elif part == "playground":
                result = playground_part(repeats=1)
            elif part == "workers":
                result = workers_part()
            elif part == "failover":
                result = failover_part()
            elif part == "simclr":
                result = on_own_server(simclr_class)
            else:
                result = on_own_server(abuse)
            print(json.dumps(result, default=str)[:4000], file=sys.stderr, flush=True)
            results[part].append(result)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    args = parser.parse_args(argv)
    parts = [part for part in args.only.split(",") if part]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {sorted(unknown)}")
    start = time.monotonic()
    results = run(parts, max(1, args.repeats))
    text = report(results, time.monotonic() - start)
    RESULTS.parent.mkdir(exist_ok=True)
    if set(parts) == set(PARTS):
        RESULTS.write_text(text + "\n", encoding="utf-8")
    elif parts == ["failover"]:
        FAILOVER_RESULTS.write_text(text + "\n", encoding="utf-8")
    elif parts == ["simclr"]:
        SIMCLR_RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
