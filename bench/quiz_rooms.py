"""Class-quiz rooms under load and under faults: a class round, join bursts, comebacks after a
reload and a restart, a worker killed, two hosts on one PostgreSQL, PostgreSQL restarted.

Usage::

    python -m bench.quiz_rooms                        # every part -> the results file
    python -m bench.quiz_rooms --only burst           # one part (its section is replaced)
    python -m bench.quiz_rooms --only comeback,failover
    python -m bench.quiz_rooms --only round --students 10 --think 0.5   # printed only
    python -m bench.quiz_rooms --check                # exit status 1 if a target is NOT met

Every part writes its section of ``bench/results/quiz_rooms-cpu.md`` (the other parts'
sections are kept): its date, the machine's load average (1 / 5 / 15 min) before and
after it, what was done, and a table of figures with their targets and "met" / "NOT met"
("-": a figure without a target); with a ``--think`` other than 1, or ``--students``
other than 60 for ``round``, the part is printed only. The exit status is 0 once the
report is written (``make bench`` runs this module with ``check=True``), unless ``--check``
is given.

Every app process is app.py started as ``make run`` starts it (``deploy.serve``; two workers
behind nginx as ``make serve WORKERS=2`` starts them), with the default room limits (an
answer at least 0.5 s after the student's previous one, a join attempt at least 0.5 s
after the previous attempt from the same address to the room, 100 students). Each server
is visited once before anything is timed (imports and caches done). Every client is a
scripted browser (``bench.quiz_kit``): a cookie jar that keeps the cookies the page's
``cookies`` element writes (the seat cookie ``lossviz_seat``, the teacher's key), a source
address of its own per student (``127.0.X.N``, of the loopback network) unless said
otherwise, and tabs that speak
Streamlit's websocket protocol and press the page's own widgets. A student thinks 0.5 to
1.5 x THINK s (1 s) before each press (join, answer, "Next question"), so a round takes
about 21 x THINK s plus the server's time. An answer is *acknowledged* when a run of the
page showed its feedback ("Right: ..." / "Not quite: you said ..."); *lost* when it is
then missing from the database or stored with another kind. Stored answers, duplicates
per (student, question) (impossible by the table's key; counted anyway) and seats are read
from the database with plain SQL after the part. Errors: a page exception, a run without
an answer within 60 s, a closed websocket the student did not expect, a refusal ("Too
fast", a room's refusal), a notice the part does not expect, a page without a way on.

Parts (``--only``, comma-separated; default: all, in this order):

- ``round``: one server, rooms in SQLite; the teacher's link rerun every 2 s; 60 students
  (each its own address and cookies) join and answer the ten questions. Measured: stored
  answers, duplicates, stored kinds that differ from the pressed ones, acknowledged
  answers lost, errors, press and answer latency (sending a press to the run's end), the
  teacher's rerun latency and last "Answers" figure, the wall time (target: a minute).
- ``burst``: one server, rooms in SQLite, a room per case. (a) One browser (one cookie jar,
  one address): its first tab receives the seat cookie, then 99 more tabs of it are
  opened (each shows the join form: nobody has joined yet); then Join is pressed in the
  100 tabs in turn with 100 nicknames, each press sent when the previous one's run ended.
  Seats held (target 1). (b) 100 fresh sessions without cookies from ONE address: the 100
  tabs are opened (each shows the join form), then the 100 presses of Join are sent at
  once. Seats held (target at most 1) and the time from the first press sent to the last
  run's end. (b2) The same 100 fresh sessions back to back (open, press Join, close, the
  next): seats held, against the per-address limit's bound (one seat per join interval
  of the time taken, plus one). (b3) The same, a Join press every 0.6 s (the join
  interval + 0.1 s): seats held (no target: it shows the limit is a rate). (c) 30
  students behind one school router (one address, each its own cookies): tabs open, then
  each presses Join at a random moment in the first 10 s and, when told to wait, again 1
  to 3 s later, until seated or 60 s. Seated after 60 s and the time until the last one
  was (no target: the per-address limit's trade-off).
- ``comeback``: one server, rooms in SQLite. 30 students join and answer 5 questions; then
  each reloads (a new websocket session with the same cookies): seated again ("You joined
  as" their nickname, "Question" 6 of 10)? Then the server is stopped (SIGTERM) and started
  again on the same port and rooms file; each student's page, whose websocket closed,
  reconnects every 0.5 s until a new session's first run ends: seated again, on question
  6? Then they answer the 5 remaining questions. Targets: 30 of 30 kept across the reload
  and across the restart, 300 answers stored, 0 duplicates, 0 acknowledged answers lost.
- ``failover``: two workers behind nginx (``deploy.serve.cluster(2)``), rooms in one
  SQLite file; the teacher (its link, rerun every 2 s) and 30 students through nginx, each
  browser with its cookies (nginx's worker cookie included). Once half of the 300 answers
  are acknowledged, worker 1 is killed (``kill -9``; the supervisor restarts it). A page
  whose websocket closed reconnects every 0.5 s with its cookies (nginx sends it to the
  live worker, whose number the cookie then carries), and carries on where the page puts
  it. Measured: errors seen by worker 2's students (target 0), the time from the kill
  until the killed worker answers its health check again (target within 10 s), its
  students' time from noticing the closed websocket to their new session's first run,
  acknowledged answers lost (target 0), answers stored (target 300), duplicates.
- ``hosts``: one PostgreSQL server started for the bench (``tests/postgres_server.py``)
  and two app "hosts": two separate app processes on this machine, each started as ``make
  run`` starts it with ``LOSSVIZ_ROOMS_URL`` at that database, sharing nothing but it; no
  nginx. The teacher's link on host 1, rerun every 2 s; 60 students, even-numbered on host
  1, odd-numbered on host 2, 10 answers each. Targets: 600 stored, 0 duplicates, 0 errors,
  0 acknowledged answers lost; the teacher's last "Answers" figure is reported.
- ``pg_restart``: as ``hosts`` with 30 students; once half of the 300 answers are
  acknowledged, PostgreSQL is restarted (``pg_ctl restart -m immediate``: every server
  process killed, then crash recovery). A student whose page shows the "unavailable"
  notice presses again 1 s later (an answer again, or a plain rerun when the page shows
  only the notice). Measured: acknowledged answers lost (target 0), stored answers (target
  300), errors other than the expected "unavailable" notices (target 0), the notices seen,
  how long ``pg_ctl restart`` took, and how long the store was unavailable to a probe
  (``RoomStore.room`` every 50 ms from the bench: from its first failure to its next
  success) and to the students (their first to last notice), and the notices on runs sent
  after the probe saw the store back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import streamlit

from bench.common import markdown_table
from bench.quiz_kit import (
    TARGET_HEADER,
    Browser,
    Page,
    answers_check,
    app_servers,
    class_of,
    error_summary,
    ms,
    new_room,
    notice_kind,
    row,
    run_class,
    sqlite_env,
    stored,
    text_value,
    trigger,
    view_of,
    warm,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "quiz_rooms-cpu.md"
PARTS = ("round", "burst", "comeback", "failover", "hosts", "pg_restart")
THINK_S = 1.0
ROUND_STUDENTS = 60
ROUND_TARGET_S = 60.0
ATTEMPTS = 100  # burst (a), (b), (b2)
PACE_MARGIN_S = 0.1  # burst (b3): a press every join interval + this
ROUTER_STUDENTS = 30  # burst (c)
ROUTER_SPREAD_S = 10.0
ROUTER_WINDOW_S = 60.0
OPENING = 10  # tabs opened at a time before a burst


# --------------------------------------------------------------------------- round


def round_part(students: int = ROUND_STUDENTS, think_s: float = THINK_S) -> dict:
    """See the module docstring (``round``)."""
    with tempfile.TemporaryDirectory(prefix="lossviz-rooms-") as folder:
        env = sqlite_env(Path(folder) / "rooms.sqlite3")
        code, key = new_room(env)
        pupils = class_of(students, "127.0.1")
        with app_servers("quiz-rooms-round", env) as (server,):
            asyncio.run(warm(server.url))
            run = asyncio.run(run_class([server.url], server.url, code, key, pupils, think_s))
        check = answers_check(pupils, stored(env, code))
    teacher_figures = run["teacher"]
    errors = [e for p in pupils for e in p.errors] + teacher_figures["errors"]
    latencies = [x for p in pupils for x in p.latencies_s]
    answers = [x for p in pupils for x in p.answer_latencies_s]
    expected = students * 10
    header = ["clients", "answers expected", "stored", "duplicates", "stored != pressed",
              "errors", "press p50 / p95 ms", "answer p50 / p95 ms", "teacher rerun p50 / p95 ms",
              "wall time s", "teacher's last 'Answers'"]  # fmt: skip
    figures = [
        f"{students} students + 1 teacher", str(expected), str(check["stored"]),
        str(check["duplicates"]), str(check["mismatched"]), str(len(errors)), ms(latencies),
        ms(answers), ms(teacher_figures["latencies_s"]), f"{run['wall_s']:.1f}",
        teacher_figures["metrics"].get("Answers", "-"),
    ]  # fmt: skip
    targets = [
        row("answers stored", str(expected), check["stored"], check["stored"] == expected),
        row("duplicates", "0", check["duplicates"], check["duplicates"] == 0),
        row("acknowledged answers lost", "0", check["lost"], check["lost"] == 0),
        row("errors (students and teacher)", "0", len(errors), not errors),
        row("wall time", f"within {ROUND_TARGET_S:.0f} s", f"{run['wall_s']:.1f} s",
            run["wall_s"] <= ROUND_TARGET_S),
    ]  # fmt: skip
    return {
        "title": f"round: {students} students answer a round in one room",
        "setup": (
            f"One server (app.py as `make run` serves it), rooms in a temporary SQLite file; "
            f"{students} students, each its own browser and address, join and answer the ten "
            f"questions ({think_s:g} s think time on average before each press); the "
            f"teacher's link rerun every 2 s."
        ),
        "tables": [(header, [figures]), (TARGET_HEADER, targets)],
        "notes": [f"Errors: {error_summary(errors)}"] if errors else [],
        "ok": all(r[-1] != "NOT met" for r in targets),
    }


# --------------------------------------------------------------------------- burst


async def gather_limited(coroutines, limit: int = OPENING) -> list:
    """Await ``coroutines`` at most ``limit`` at a time; results (or exceptions) in order."""
    gate = asyncio.Semaphore(limit)

    async def one(coroutine):
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)


def join_states(page: Page, nickname: str) -> list:
    tab = page.tab
    return [text_value(tab.inputs["Nickname"], nickname), trigger(tab.buttons["Join"])]


async def close_all(pages: list[Page]) -> None:
    await asyncio.gather(*(page.close() for page in pages))


def outcome(pages: list[Page], results: list) -> dict:
    """What the join presses got: seated (the page said "You joined as"), told to wait,
    other notices, failures."""
    joined: Counter = Counter()
    notices: Counter = Counter()
    failures: list[str] = []
    for page, result in zip(pages, results, strict=True):
        if isinstance(result, BaseException):
            failures.append(type(result).__name__)
            continue
        if result.error:
            failures.append(f"page {result.error}")
        view = view_of(page.tab)
        if view.joined_as is not None:
            joined[view.joined_as] += 1
        notices.update(k for k in map(notice_kind, view.notices) if k is not None)
    return {"joined": joined, "notices": notices, "failures": failures}


async def one_browser(url: str, code: str) -> dict:
    """Burst (a): one cookie jar, 100 tabs, Join pressed in each in turn."""
    browser = Browser(address="127.0.2.1")
    first = Page(browser, url, f"room={code}")
    await first.open()  # the page's cookies element gives the browser its seat cookie
    seat = browser.seat_cookie
    pages = [first] + [Page(browser, url, f"room={code}") for _ in range(ATTEMPTS - 1)]
    opened = await gather_limited([page.open() for page in pages[1:]])
    forms = sum(view_of(p.tab).join_form for p in pages)
    results = []
    start = time.perf_counter()
    for i, page in enumerate(pages):
        if not view_of(page.tab).join_form:
            results.append(RuntimeError("no join form"))
            continue
        try:
            results.append(await page.run(join_states(page, f"browser a {i:03d}")))
        except Exception as error:  # noqa: BLE001 - counted as a failure of this press
            results.append(error)
    elapsed = time.perf_counter() - start
    await close_all(pages)
    opened_failed = sum(isinstance(r, BaseException) for r in opened)
    return {**outcome(pages, results), "forms": forms, "elapsed_s": elapsed,
            "same_cookie": seat is not None and browser.seat_cookie == seat,
            "open_failures": opened_failed}  # fmt: skip


async def fresh_at_once(url: str, code: str) -> dict:
    """Burst (b): 100 cookieless sessions from one address, the Join presses sent at once."""
    pages = [Page(Browser(address="127.0.2.2", keeps_cookies=False), url, f"room={code}")
             for _ in range(ATTEMPTS)]  # fmt: skip
    opened = await gather_limited([page.open() for page in pages])
    ready = [p for p, r in zip(pages, opened, strict=True)
             if not isinstance(r, BaseException) and view_of(p.tab).join_form]  # fmt: skip
    start = time.perf_counter()
    results = await asyncio.gather(
        *(page.run(join_states(page, f"fresh b {i:03d}")) for i, page in enumerate(ready)),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - start
    await close_all(pages)
    return {**outcome(ready, results), "forms": len(ready), "elapsed_s": elapsed}


async def fresh_sessions(
    url: str, code: str, address: str, label: str, every_s: float | None = None
) -> dict:
    """Bursts (b2) and (b3): 100 cookieless sessions from one address, one after the other:
    each opens, presses Join (with ``every_s``: at ``start + i * every_s``) and closes."""
    pages, results = [], []
    start = time.perf_counter()
    for i in range(ATTEMPTS):
        page = Page(Browser(address=address, keeps_cookies=False), url, f"room={code}")
        try:
            await page.open()
            if every_s is not None:
                await asyncio.sleep(max(0.0, start + i * every_s - time.perf_counter()))
            results.append(await page.run(join_states(page, f"{label} {i:03d}")))
        except Exception as error:  # noqa: BLE001 - counted as a failure of this session
            results.append(error)
        pages.append(page)
        await page.close()
    return {**outcome(pages, results), "elapsed_s": time.perf_counter() - start}


async def router_class(url: str, code: str) -> dict:
    """Burst (c): 30 browsers behind one address join over 10 s, retrying after 1 to 3 s."""
    pages = [Page(Browser(address="127.0.2.4"), url, f"room={code}")
             for _ in range(ROUTER_STUDENTS)]  # fmt: skip
    await gather_limited([page.open() for page in pages])
    start = time.monotonic()

    async def student(i: int, page: Page) -> dict:
        rng = random.Random(1000 + i)
        me = {"seated_s": None, "attempts": 0, "waits": 0, "errors": []}
        await asyncio.sleep(rng.uniform(0, ROUTER_SPREAD_S))
        while time.monotonic() - start < ROUTER_WINDOW_S:
            view = view_of(page.tab)
            if not view.join_form:
                me["errors"].append("no join form")
                return me
            me["attempts"] += 1
            try:
                await page.run(join_states(page, f"router {i:02d}"))
            except Exception as error:  # noqa: BLE001 - an error of this student
                me["errors"].append(type(error).__name__)
                return me
            view = view_of(page.tab)
            if view.joined_as is not None:
                me["seated_s"] = time.monotonic() - start
                return me
            kinds = [k for k in map(notice_kind, view.notices) if k is not None]
            if "join wait" in kinds:
                me["waits"] += 1
            else:
                me["errors"].append("; ".join(kinds) or "neither seated nor told to wait")
            await asyncio.sleep(rng.uniform(1.0, 3.0))
        return me

    students = await asyncio.gather(*(student(i, p) for i, p in enumerate(pages)))
    await close_all(pages)
    return {"students": students}


async def burst_run(url: str, codes: dict[str, str], every_s: float) -> dict:
    await warm(url)
    return {
        "a": await one_browser(url, codes["a"]),
        "b": await fresh_at_once(url, codes["b"]),
        "b2": await fresh_sessions(url, codes["b2"], "127.0.2.3", "fresh b2"),
        "b3": await fresh_sessions(url, codes["b3"], "127.0.2.5", "paced b3", every_s),
        "c": await router_class(url, codes["c"]),
    }


def burst_part() -> dict:
    """See the module docstring (``burst``)."""
    from lossviz.rooms import RoomConfig

    config = RoomConfig.from_env()
    interval = config.join_interval_s
    every_s = interval + PACE_MARGIN_S
    with tempfile.TemporaryDirectory(prefix="lossviz-rooms-") as folder:
        env = sqlite_env(Path(folder) / "rooms.sqlite3")
        codes = {case: new_room(env)[0] for case in ("a", "b", "b2", "b3", "c")}
        with app_servers("quiz-rooms-burst", env) as (server,):
            runs = asyncio.run(burst_run(server.url, codes, every_s))
        seats = {case: stored(env, code)["joined"] for case, code in codes.items()}
    a, b, b2, b3, c = runs["a"], runs["b"], runs["b2"], runs["b3"], runs["c"]
    bound = 1 + int(b2["elapsed_s"] // interval) if interval > 0 else ATTEMPTS
    seated = sorted(s["seated_s"] for s in c["students"] if s["seated_s"] is not None)
    all_seated = len(seated) == ROUTER_STUDENTS
    attempts = sum(s["attempts"] for s in c["students"])
    c_errors = [e for s in c["students"] for e in s["errors"]]
    a_names = ", ".join(f"{name!r} x {n}" for name, n in a["joined"].most_common(3)) or "none"
    targets = [
        row("(a) one browser, 100 tabs, 100 nicknames, Join pressed in turn: seats held", "1",
            seats["a"], seats["a"] == 1),
        row("(a) presses answered with the same seat ('You joined as')",
            f"{ATTEMPTS}", f"{sum(a['joined'].values())} ({a_names})", None),
        row("(a) time for the 100 presses", "-", f"{a['elapsed_s']:.1f} s", None),
        row("(b) 100 cookieless sessions, one address, Join pressed at once: seats held",
            "at most 1", seats["b"], seats["b"] <= 1),
        row("(b) from the first press sent to the last run's end", "-",
            f"{b['elapsed_s']:.1f} s ({b['notices'].get('join wait', 0)} told to wait)", None),
        row("(b2) 100 cookieless sessions, one address, back to back: seats held",
            f"at most {bound} (1 per {interval:g} s of the {b2['elapsed_s']:.1f} s, + 1)",
            seats["b2"], seats["b2"] <= bound),
        row(f"(b3) 100 cookieless sessions, one address, a Join press every {every_s:g} s: "
            "seats held", "- (the limit is a rate)",
            f"{seats['b3']} in {b3['elapsed_s']:.1f} s (room maximum {config.max_students})",
            None),
        row(f"(c) {ROUTER_STUDENTS} students, one address: seated after "
            f"{ROUTER_WINDOW_S:.0f} s", "- (trade-off)", f"{len(seated)} of {ROUTER_STUDENTS}",
            None),
        row("(c) time until the last one was seated", "-",
            f"{seated[-1]:.1f} s" if all_seated and seated else
            f"not all within {ROUTER_WINDOW_S:.0f} s", None),
        row("(c) Join presses, of which told to wait", "-",
            f"{attempts}, {sum(s['waits'] for s in c['students'])}", None),
    ]  # fmt: skip
    notes = []
    if seated:
        marks = ", ".join(f"{sum(t <= m for t in seated)} by {m:.0f} s" for m in (5, 10, 20, 60))
        notes.append(f"(c) seated over time: {marks} (the presses began at random moments "
                     f"in the first {ROUTER_SPREAD_S:.0f} s).")  # fmt: skip
    failures = a["failures"] + b["failures"] + b2["failures"] + b3["failures"] + c_errors
    if a["forms"] != ATTEMPTS or b["forms"] != ATTEMPTS or not a["same_cookie"]:
        notes.append(f"Setup: (a) {a['forms']} tabs with the join form, seat cookie kept: "
                     f"{a['same_cookie']}; (b) {b['forms']} with the join form.")  # fmt: skip
    if failures:
        notes.append(f"Failures: {error_summary(failures)}")
    return {
        "title": "burst: one scripted client tries 100 joins of one room",
        "setup": (
            "One server (app.py as `make run` serves it), rooms in a temporary SQLite file, "
            f"a fresh room per case, the default join interval ({interval:g} s per address "
            "and room: one seat per interval; an address trying at a script's rate, more "
            "than about 16 tries a second, is blocked until it stops for one interval). "
            "(a) one browser: its "
            "first tab received the seat cookie from the page, 99 more tabs of the same "
            "browser were opened, then Join was pressed in each tab in turn (each press "
            "sent when the previous run ended) with 100 nicknames. (b) 100 sessions without "
            "cookies, one address: all 100 tabs opened first, then the 100 Join presses "
            "sent **at once**. (b2) the same, **back to back** (open, press Join, close, "
            f"next). (b3) the same, one Join press every {every_s:g} s (just over the join "
            f"interval). (c) {ROUTER_STUDENTS} browsers behind one address (a school router): "
            f"each pressed Join at a random moment in the first {ROUTER_SPREAD_S:.0f} s and, "
            "when told to wait, again after 1 to 3 s."
        ),
        "tables": [(TARGET_HEADER, targets)],
        "notes": notes,
        "ok": all(r[-1] != "NOT met" for r in targets),
    }


# --------------------------------------------------------------------------- the results file


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def section(part: str, result: dict, began: datetime, load_before: str, elapsed_s: float) -> str:
    lines = [
        f"<!-- quiz_rooms:{part} -->",
        f"## {result['title']}",
        "",
        f"Run {began:%Y-%m-%d %H:%M} UTC (`python -m bench.quiz_rooms --only {part}`), "
        f"{elapsed_s:.0f} s; load average (1 / 5 / 15 min) {load_before} before, "
        f"{load_average()} at the end.",
        "",
        result["setup"],
    ]
    for header, rows in result["tables"]:
        lines += ["", markdown_table(header, rows)]
    for note in result["notes"]:
        lines += ["", note]
    lines.append(f"<!-- /quiz_rooms:{part} -->")
    return "\n".join(lines)


def header_text() -> str:
    return "\n".join([
        "# Class-quiz rooms under load and faults (`python -m bench.quiz_rooms`)",
        "",
        f"streamlit {streamlit.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores shared with other work (each part gives the load average). "
        "Every app process is app.py started as `make run` (or `make serve`) starts it; "
        "every client is a scripted browser (`bench/quiz_kit.py`: cookies, a loopback "
        "address 127.0.X.N, Streamlit's websocket protocol) pressing the page's own buttons. Each "
        "part was run on its own (`--only PART`), one after the other; what each one "
        "measures is in `bench/quiz_rooms.py`'s docstring.",
    ])  # fmt: skip


def merged(existing: str, sections: dict[str, str]) -> str:
    """The results file: the header, then every part's section in ``PARTS`` order, the new
    ones from ``sections``, the others as ``existing`` had them."""
    kept = {}
    for part in PARTS:
        pattern = rf"<!-- quiz_rooms:{part} -->.*?<!-- /quiz_rooms:{part} -->"
        if found := re.search(pattern, existing, re.DOTALL):
            kept[part] = found[0]
    kept.update(sections)
    return "\n\n".join([header_text(), *(kept[p] for p in PARTS if p in kept)]) + "\n"


def run_part(part: str, args: argparse.Namespace) -> dict:
    if part == "round":
        return round_part(args.students, args.think)
    if part == "burst":
        return burst_part()
    from bench import quiz_faults

    return getattr(quiz_faults, f"{part}_part")(think_s=args.think)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--students", type=int, default=ROUND_STUDENTS, help="round only")
    parser.add_argument("--think", type=float, default=THINK_S, help="mean seconds before a press")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is NOT met")
    args = parser.parse_args(argv)
    parts = [part for part in args.only.split(",") if part]
    if unknown := sorted(set(parts) - set(PARTS)):
        parser.error(f"unknown parts: {unknown} (parts: {', '.join(PARTS)})")
    if not 1 <= args.students <= 100:
        parser.error("--students must be 1..100 (a room's default maximum)")
    args.think = max(0.0, args.think)
    sections, ok = {}, True
    for part in PARTS:
        if part not in parts:
            continue
        print(f"quiz_rooms: {part} ...", file=sys.stderr, flush=True)
        began, load_before, start = datetime.now(UTC), load_average(), time.monotonic()
        result = run_part(part, args)
        text = section(part, result, began, load_before, time.monotonic() - start)
        print(text, flush=True)
        ok &= result["ok"]
        standard = args.think == THINK_S and (part != "round" or args.students == ROUND_STUDENTS)
        if standard and not args.no_save:
            sections[part] = text
            RESULTS.parent.mkdir(exist_ok=True)
            existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
            RESULTS.write_text(merged(existing, sections), encoding="utf-8")
    sys.exit(1 if args.check and not ok else 0)


if __name__ == "__main__":
    main()
