"""``bench.quiz_rooms``'s parts where a process goes away or there are several:
``comeback`` (a reload, then the server restarted), ``failover`` (a worker killed behind
nginx), ``hosts`` (two app processes on one PostgreSQL) and ``pg_restart`` (PostgreSQL
restarted mid-round). What each one measures is in ``bench.quiz_rooms``'s docstring; run
them with ``python -m bench.quiz_rooms --only comeback`` etc.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
from pathlib import Path

from bench.loadtest import percentile
from bench.quiz_kit import (
    ARTIFACTS,
    TARGET_HEADER,
    AppServer,
    Progress,
    Pupil,
    answers_check,
    app_servers,
    class_of,
    environment,
    error_summary,
    ms,
    new_room,
    play,
    postgres_env,
    reopen,
    row,
    run_class,
    sqlite_env,
    stored,
    view_of,
    warm,
)
from deploy.serve import cluster, nginx_binary

COMEBACK_STUDENTS = 30
HALF = 5  # comeback: questions answered before the reload
KILLED = 0  # failover: worker 1 (cookie "1") is killed
SERVES_AGAIN_TARGET_S = 10.0
FAILOVER_STUDENTS = 30
HOSTS_STUDENTS = 60
PG_RESTART_STUDENTS = 30
PROBE_EVERY_S = 0.05
UNAVAILABLE = frozenset({"unavailable"})


def skipped(title: str, why: str) -> dict:
    return {"title": title, "setup": f"Skipped: {why}.", "tables": [], "notes": [], "ok": True}


def class_errors(pupils: list[Pupil]) -> list[str]:
    return [e for p in pupils for e in p.errors]


def acked_rows(check: dict, expected: int) -> list[list[str]]:
    return [
        row("acknowledged answers lost", "0", f"{check['lost']} of {check['acked']}",
            check["lost"] == 0),
        row("answers stored", str(expected), check["stored"], check["stored"] == expected),
        row("duplicates", "0", check["duplicates"], check["duplicates"] == 0),
        row("stored answers whose feedback the page never showed (a press cut by the fault)",
            "-", check["unacked"], None),
    ]  # fmt: skip


def verdicts_ok(rows: list[list[str]]) -> bool:
    return all(r[-1] != "NOT met" for r in rows)


# --------------------------------------------------------------------------- comeback


def seated_on(pupil, view, question: int) -> bool:
    """The page shows the pupil's own seat on ``question`` (0-based), not yet answered."""
    return view.joined_as == pupil.nickname and view.question == question and view.answer_buttons


async def comeback_run(server: AppServer, code: str, think_s: float) -> dict:
    url = server.url
    await warm(url)
    pupils = class_of(COMEBACK_STUDENTS, "127.0.3")
    await asyncio.gather(*(play(p, url, code, think_s, stop_at=HALF) for p in pupils))
    before = sum(p.page is not None and seated_on(p, view_of(p.page.tab), HALF) for p in pupils)

    async def reload(pupil):
        query = pupil.page.tab.query
        await pupil.page.close()
        pupil.page, first, _ = await reopen(pupil.browser, url, query)
        return seated_on(pupil, pupil.see(first), HALF)

    ready = [p for p in pupils if p.page is not None and not p.errors]
    reloaded = await asyncio.gather(*(reload(p) for p in ready), return_exceptions=True)
    kept_reload = sum(r is True for r in reloaded)

    stopped_at = time.monotonic()

    def restart() -> dict:
        began = time.monotonic()
        server.stop()
        stopped = time.monotonic()
        start_s = server.start()
        return {"stop_s": stopped - began, "start_s": start_s, "down_s": time.monotonic() - began}

    async def come_back(pupil):
        closed = await pupil.page.closed_within(60)
        query = pupil.page.tab.query
        await pupil.page.close()
        pupil.page, first, tries = await reopen(pupil.browser, url, query)
        back_s = time.monotonic() - stopped_at
        return {"closed": closed, "kept": seated_on(pupil, pupil.see(first), HALF),
                "back_s": back_s, "tries": tries}  # fmt: skip

    restarted, *backs = await asyncio.gather(
        asyncio.to_thread(restart), *(come_back(p) for p in ready), return_exceptions=True
    )
    if isinstance(restarted, BaseException):
        raise restarted
    backs = [b for b in backs if not isinstance(b, BaseException)]
    start = time.perf_counter()
    await asyncio.gather(*(play(p, url, code, think_s) for p in ready))
    return {"pupils": pupils, "before": before, "kept_reload": kept_reload,
            "backs": backs, "restart": restarted, "finish_s": time.perf_counter() - start,
            "reload_failures": [type(r).__name__ for r in reloaded
                                if isinstance(r, BaseException)]}  # fmt: skip


def comeback_part(think_s: float) -> dict:
    """See ``bench.quiz_rooms`` (``comeback``)."""
    n = COMEBACK_STUDENTS
    with tempfile.TemporaryDirectory(prefix="lossviz-rooms-") as folder:
        env = sqlite_env(Path(folder) / "rooms.sqlite3")
        code, _ = new_room(env)
        server = AppServer("quiz-rooms-comeback", env)
        server.start()
        try:
            run = asyncio.run(comeback_run(server, code, think_s))
        finally:
            server.stop()
        check = answers_check(run["pupils"], stored(env, code))
    pupils = run["pupils"]
    errors = [e for p in pupils for e in p.errors]
    kept_restart = sum(b["kept"] for b in run["backs"])
    back = [b["back_s"] for b in run["backs"]]
    restart = run["restart"]
    targets = [
        row(f"on question {HALF + 1} after {HALF} answers", f"{n} of {n}", run["before"],
            run["before"] == n),
        row("kept across the reload ('You joined as' own nickname, Question "
            f"{HALF + 1} of 10)", f"{n} of {n}", run["kept_reload"], run["kept_reload"] == n),
        row("kept across the server restart (same checks)", f"{n} of {n}", kept_restart,
            kept_restart == n),
        row("answers stored", f"{n * 10}", check["stored"], check["stored"] == n * 10),
        row("duplicates", "0", check["duplicates"], check["duplicates"] == 0),
        row("acknowledged answers lost", "0", f"{check['lost']} of {check['acked']}",
            check["lost"] == 0),
        row("errors", "0", len(errors), not errors),
        row("server down (SIGTERM until the new process answered its health check)", "-",
            f"{restart['down_s']:.1f} s (stop {restart['stop_s']:.1f} s, start "
            f"{restart['start_s']:.1f} s)", None),
        row("students back in their seats after the stop began: p50 / max", "-",
            f"{ms(back, (50, 100))} ms ({sum(b['closed'] for b in run['backs'])} websockets "
            "closed by the stop)", None),
        row("the 5 remaining questions, all students", "-", f"{run['finish_s']:.1f} s", None),
    ]  # fmt: skip
    notes = [f"Errors: {error_summary(errors)}"] if errors else []
    if run["reload_failures"]:
        notes.append(f"Reloads that failed: {error_summary(run['reload_failures'])}")
    return {
        "title": "comeback: a class reloads, then the server restarts",
        "setup": (
            f"One server (app.py as `make run` serves it), rooms in a temporary SQLite file; "
            f"{n} students, each its own browser (the seat cookie the page wrote) and "
            f"address, joined and answered {HALF} questions ({think_s:g} s think time on "
            "average); then every student reloaded (a new websocket session, same cookies); "
            "then the server was stopped (SIGTERM) and started again on the same port and "
            "rooms file while every page reconnected every 0.5 s; then they answered the "
            f"{10 - HALF} remaining questions."
        ),
        "tables": [(TARGET_HEADER, targets)],
        "notes": notes,
        "ok": all(r[-1] != "NOT met" for r in targets),
    }


# --------------------------------------------------------------------------- failover


async def failover_run(served, code: str, key: str, think_s: float) -> dict:
    for worker_url in served.worker_urls:  # each process imports torch & co. once
        await warm(worker_url)
    pupils = class_of(FAILOVER_STUDENTS, "127.0.4")
    progress = Progress(threshold=FAILOVER_STUDENTS * 10 // 2)
    state: dict = {}

    async def kill() -> None:
        pid = served.kill_worker(KILLED)
        state["killed_at"] = time.monotonic()
        state["acked_at_kill"] = progress.acked
        state["serves_s"] = await asyncio.to_thread(served.wait_serving, KILLED, pid, 60.0)

    run = await run_class([served.url], served.url, code, key, pupils, think_s,
                          come_back=True, progress=progress, disruption=kill)  # fmt: skip
    return {"pupils": pupils, "run": run, **state}


def failover_part(think_s: float) -> dict:
    """See ``bench.quiz_rooms`` (``failover``)."""
    title = f"failover: a worker killed under a class of {FAILOVER_STUDENTS}"
    if nginx_binary() is None:
        return skipped(title, "nginx is not installed")
    log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lossviz-rooms-") as folder:
        env = sqlite_env(Path(folder) / "rooms.sqlite3")
        code, key = new_room(env)
        with (
            environment(**env),
            cluster(2, log_dir=ARTIFACTS / "quiz-rooms-failover", log=log.append) as served,
        ):
            result = asyncio.run(failover_run(served, code, key, think_s))
            restarts = len(served.supervised_workers[KILLED].exits)
            other_restarts = len(served.supervised_workers[1 - KILLED].exits)
        check = answers_check(result["pupils"], stored(env, code))
    pupils, run = result["pupils"], result["run"]
    number = str(KILLED + 1)
    live = [p for p in pupils if p.pinned and p.pinned != number]
    moved = [p for p in pupils if p.pinned == number]
    live_errors = class_errors(live) + ["websocket closed"] * sum(p.drops for p in live)
    back = [r["back_s"] for p in moved for r in p.reconnects]
    teacher_figures = run["teacher"]
    serves = result.get("serves_s")
    targets = [
        row(f"errors seen by worker {2 - KILLED}'s {len(live)} students", "0",
            len(live_errors), not live_errors),
        row(f"killed worker answers its health check again (after the kill, at "
            f"{result.get('acked_at_kill', '-')} acknowledged answers)",
            f"within {SERVES_AGAIN_TARGET_S:.0f} s",
            "-" if serves is None else f"{serves:.1f} s",
            serves is not None and serves <= SERVES_AGAIN_TARGET_S),
        *acked_rows(check, FAILOVER_STUDENTS * 10),
        row(f"worker {number}'s {len(moved)} students: reconnected / cut presses", "-",
            f"{sum(bool(p.reconnects) for p in moved)} / {sum(p.cut for p in moved)}", None),
        row(f"worker {number}'s students: closed websocket noticed -> new session's first "
            "run, p50 / max", "-", ms(back, (50, 100)) + " ms", None),
        row(f"worker {number}'s students: errors", "-", len(class_errors(moved)), None),
        row("teacher: errors / reconnects / last 'Answers'", "-",
            f"{len(teacher_figures['errors'])} / {teacher_figures['reconnects']} / "
            f"{teacher_figures['metrics'].get('Answers', '-')}", None),
        row("round's wall time (all students done)", "-", f"{run['wall_s']:.1f} s", None),
    ]  # fmt: skip
    notes = []
    errors = class_errors(pupils) + teacher_figures["errors"]
    if errors:
        notes.append(f"Errors: {error_summary(errors)}")
    unpinned = sum(not p.pinned for p in pupils)
    notes.append(
        f"The supervisor restarted worker {number} {restarts} time(s) and worker "
        f"{2 - KILLED} {other_restarts} time(s); {unpinned} students without a worker "
        "cookie. Supervisor: " + " | ".join(log[-3:] or ["(nothing logged)"])
    )
    return {
        "title": title,
        "setup": (
            "Two workers behind nginx (`deploy.serve.cluster(2)`, as `make serve WORKERS=2`), "
            f"rooms in one temporary SQLite file; the teacher's link and {FAILOVER_STUDENTS} "
            f"students (each its own browser and address) through nginx, {think_s:g} s think "
            "time on average; once half of the answers were acknowledged, worker "
            f"{number} was killed with `kill -9`; a page whose websocket closed reconnected "
            "every 0.5 s with its cookies and carried on where the page put it."
        ),
        "tables": [(TARGET_HEADER, targets)],
        "notes": notes,
        "ok": verdicts_ok(targets),
    }


# --------------------------------------------------------------------------- PostgreSQL


NO_POSTGRES = "no PostgreSQL server programs (initdb, pg_ctl)"


@contextlib.contextmanager
def postgres():
    """A throwaway PostgreSQL server (``tests/postgres_server.py``) and the environment that
    points an app at it, or None without one."""
    from tests.postgres_server import PostgresServer, find_bin_dir, server_user_prefix

    bin_dir, prefix = find_bin_dir(), server_user_prefix()
    if bin_dir is None or prefix is None:
        yield None
        return
    with PostgresServer(bin_dir, prefix) as server:
        yield server, postgres_env(server.url())


class StoreProbe(threading.Thread):
    """``RoomStore.room(code)`` every ``PROBE_EVERY_S`` from this process: (time, ok) samples."""

    def __init__(self, env: dict[str, str], code: str) -> None:
        from lossviz.rooms import RoomConfig, RoomStore

        super().__init__(name="store-probe", daemon=True)
        self.store = RoomStore(RoomConfig.from_env(env))
        self.code = code
        self.samples: list[tuple[float, bool]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        from lossviz.rooms import StoreUnavailableError

        while not self.halt.is_set():
            try:
                ok = self.store.room(self.code) is not None
            except StoreUnavailableError:
                ok = False
            self.samples.append((time.monotonic(), ok))
            self.halt.wait(PROBE_EVERY_S)
        self.store.close()

    def outage(self) -> tuple[float, float] | None:
        """(first failed sample, next successful one) of the first outage, if any."""
        failed = next((t for t, ok in self.samples if not ok), None)
        if failed is None:
            return None
        back = next((t for t, ok in self.samples if ok and t > failed), self.samples[-1][0])
        return failed, back


async def hosts_run(servers, code: str, key: str, pupils, think_s: float, **class_args) -> dict:
    for server in servers:
        await warm(server.url)
    urls = [server.url for server in servers]
    return await run_class(urls, urls[0], code, key, pupils, think_s, **class_args)


def hosts_part(think_s: float) -> dict:
    """See ``bench.quiz_rooms`` (``hosts``)."""
    n = HOSTS_STUDENTS
    title = f"hosts: two app hosts on one PostgreSQL, {n} students"
    with postgres() as found:
        if found is None:
            return skipped(title, NO_POSTGRES)
        server, env = found
        version = server.bin_dir.parent.name
        code, key = new_room(env)
        pupils = class_of(n, "127.0.5")
        with app_servers("quiz-rooms-host", env, count=2) as hosts:
            run = asyncio.run(hosts_run(hosts, code, key, pupils, think_s))
        check = answers_check(pupils, stored(env, code))
    errors = class_errors(pupils) + run["teacher"]["errors"]
    teacher_figures = run["teacher"]
    by_host = [[x for p in pupils[h::2] for x in p.answer_latencies_s] for h in (0, 1)]
    targets = [
        row("answers stored", str(n * 10), check["stored"], check["stored"] == n * 10),
        row("duplicates", "0", check["duplicates"], check["duplicates"] == 0),
        row("errors (students and teacher)", "0", len(errors), not errors),
        row("acknowledged answers lost", "0", f"{check['lost']} of {check['acked']}",
            check["lost"] == 0),
        row("the teacher's last 'Answers' (host 1)", f"{n * 10} of {n * 10}",
            teacher_figures["metrics"].get("Answers", "-"),
            teacher_figures["metrics"].get("Answers") == f"{n * 10} of {n * 10}"),
        row("answer p50 / p95 ms", "-",
            f"{ms(by_host[0])} (host 1), {ms(by_host[1])} (host 2)", None),
        row("teacher rerun p50 / p95 ms", "-", ms(teacher_figures["latencies_s"]), None),
        row("round's wall time", "-", f"{run['wall_s']:.1f} s", None),
    ]  # fmt: skip
    return {
        "title": title,
        "setup": (
            f"One PostgreSQL {version} server started for the bench (`tests/postgres_server.py`, "
            '127.0.0.1, fsync off) and two app "hosts": two separate app processes **on '
            "this machine**, each started as `make run` starts it with `LOSSVIZ_ROOMS_URL` "
            "at that database, sharing nothing but the database (no nginx; each student "
            f"connects directly to one). The teacher's link on host 1, rerun every 2 s; {n} "
            f"students, even-numbered on host 1, odd-numbered on host 2, {think_s:g} s think "
            "time on average, 10 answers each."
        ),
        "tables": [(TARGET_HEADER, targets)],
        "notes": [f"Errors: {error_summary(errors)}"] if errors else [],
        "ok": verdicts_ok(targets),
    }


async def pg_restart_run(server, hosts, env, code, key, pupils, think_s: float) -> dict:
    progress = Progress(threshold=PG_RESTART_STUDENTS * 10 // 2)
    probe = StoreProbe(env, code)
    state: dict = {}

    async def restart() -> None:
        state["acked_at_restart"] = progress.acked
        state["began"] = time.monotonic()
        await asyncio.to_thread(server.restart, "immediate")
        state["restart_s"] = time.monotonic() - state["began"]

    probe.start()
    try:
        run = await hosts_run(hosts, code, key, pupils, think_s, progress=progress,
                              disruption=restart, expected=UNAVAILABLE)  # fmt: skip
    finally:
        probe.halt.set()
        await asyncio.to_thread(probe.join)
    return {"run": run, "outage": probe.outage(), **state}


def pg_restart_part(think_s: float) -> dict:
    """See ``bench.quiz_rooms`` (``pg_restart``)."""
    n = PG_RESTART_STUDENTS
    title = f"pg_restart: PostgreSQL restarted (immediate) under a class of {n} on two hosts"
    with postgres() as found:
        if found is None:
            return skipped(title, NO_POSTGRES)
        server, env = found
        code, key = new_room(env)
        pupils = class_of(n, "127.0.6", expected=UNAVAILABLE)
        with app_servers("quiz-rooms-pg", env, count=2) as hosts:
            result = asyncio.run(pg_restart_run(server, hosts, env, code, key, pupils, think_s))
        check = answers_check(pupils, stored(env, code))
    run = result["run"]
    teacher_figures = run["teacher"]
    errors = class_errors(pupils) + teacher_figures["errors"]
    began = result.get("began")
    seen = sorted(end - began for p in pupils for _, end in p.notice_times) if began else []
    notices = sum(p.notices["unavailable"] for p in pupils)
    outage = result["outage"]
    probe_text = "no failure seen"
    if outage is not None:
        start = f", from {outage[0] - began:+.2f} s" if began else ""
        probe_text = f"{outage[1] - outage[0]:.2f} s{start} after the restart began"
    restart_s = result.get("restart_s")
    stale = 0
    if outage is not None:
        stale = sum(sent > outage[1] for p in pupils for sent, _ in p.notice_times)
    targets = [
        *acked_rows(check, n * 10),
        row("errors other than the expected 'unavailable' notices (students and teacher)",
            "0", len(errors), not errors),
        row("'unavailable' notices seen: students (of them pressing again) / teacher", "-",
            f"{notices} ({sum(bool(p.notices) for p in pupils)} students) / "
            f"{teacher_figures['notices'].get('unavailable', 0)}", None),
        row(f"`pg_ctl restart -m immediate` took (begun at "
            f"{result.get('acked_at_restart', '-')} acknowledged answers)", "-",
            "-" if restart_s is None else f"{restart_s:.2f} s", None),
        row(f"store unavailable to a probe (RoomStore.room every {PROBE_EVERY_S * 1e3:.0f} ms)",
            "-", probe_text, None),
        row("store unavailable to the students: first / last notice after the restart began",
            "-", f"{seen[0]:.2f} s / {seen[-1]:.2f} s" if seen else "no notice", None),
        row("'unavailable' notices on runs sent after the probe saw the store back", "-",
            "-" if outage is None else stale, None),
        row("teacher's last 'Answers'", "-", teacher_figures["metrics"].get("Answers", "-"),
            None),
        row("round's wall time", "-", f"{run['wall_s']:.1f} s", None),
    ]  # fmt: skip
    notes = [f"Errors: {error_summary(errors)}"] if errors else []
    if seen:
        notes.append(
            "Notices over time (s after the restart began): p50 "
            f"{percentile(seen, 50):.2f}, p95 {percentile(seen, 95):.2f}."
        )
    return {
        "title": title,
        "setup": (
            "As `hosts` (one PostgreSQL for the bench, two app processes on this machine "
            f"sharing nothing but it, no nginx) with {n} students; once half of the answers "
            "were acknowledged, `pg_ctl restart -m immediate` (every PostgreSQL process "
            "killed, then crash recovery); a student whose page showed the 'unavailable' "
            "notice pressed again 1 s later."
        ),
        "tables": [(TARGET_HEADER, targets)],
        "notes": notes,
        "ok": verdicts_ok(targets),
    }


__all__ = ["comeback_part", "failover_part", "hosts_part", "pg_restart_part"]
