"""A class in a quiz room: 60 students answer a ten-question round on one server.

Usage::

    python -m bench.quiz_rooms                       # 60 students -> the results file
    python -m bench.quiz_rooms --students 10 --think 0.5

What is measured, plainly:

- The server is app.py started as ``make run`` starts it (``start_streamlit``, i.e.
  ``deploy.serve``), with ``LOSSVIZ_ROOMS_DB`` at a temporary file and the default
  limits (an answer at least 0.5 s after the student's previous one, 100 students).
- The room is opened through ``RoomStore.create_room`` with the settings and answer key
  the teacher's "Open a room" button stores (the click itself is covered by
  ``tests/browser/test_class_quiz_browser.py``).
- Every student is one tab speaking Streamlit's websocket protocol (``bench.loadtest``'s
  client: cookies, handshake, ``rerun_script``, the message cache), pressing the page's
  own widgets as a browser does: it opens the students' link, sends the Nickname field's
  text with the Join button's trigger, then for each question presses an answer (a
  seeded random kind) and "Next question" by the button ids the page sent. Before each
  press a student pauses 0.5 to 1.5 times ``--think`` seconds (reading), so the whole
  round takes about 21 x think seconds plus the server's time.
- One teacher tab reruns the teacher's link every 2 s during the load: a full rerun of
  the page, more work than its live fragment (which re-runs the results only).
- Latency: from sending a press (or the first visit) to the run's ``script_finished``.
- Errors: a tab that stopped (connect, timeout, disconnect), a page exception, a refused
  action (a message "Too fast", "Join the room first", "no room" ...), a button the page
  should have shown and did not, a join not confirmed.
- Afterwards the rooms file is read with sqlite3: answers stored, duplicates per
  (student, question) (the table's key makes them impossible; counted anyway), stored
  kinds that differ from the pressed ones, and the teacher's last "Answers" figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import streamlit
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection

from bench.common import markdown_table
from bench.loadtest import Rerun, TabState, fetch_cookies, open_tab, percentile

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "quiz_rooms-cpu.md"
PAGE = "class_quiz"
SEED = 11
KIND_LABELS = ("easy", "semi-hard", "hard")  # lossviz.triplets.Kind 0, 1, 2
TEACHER_EVERY_S = 2.0
TIMEOUT_S = 60.0
CAP_S = 300.0
REFUSALS = ("Too fast", "Join the room first", "There is no room", "not a room code", "full")


class Tab(TabState):
    """A tab that also remembers the last run's buttons, text field, messages and metrics."""

    def __init__(self, base_url: str, page: str, query: str) -> None:
        super().__init__(base_url, page, query)
        self.new_run()

    def new_run(self) -> None:
        self.buttons: dict[str, str] = {}  # label -> widget id
        self.inputs: dict[str, str] = {}
        self.texts: list[str] = []  # alerts and st.text bodies
        self.metrics: dict[str, str] = {}

    def absorb(self, msg: ForwardMsg, rerun: Rerun) -> bool:
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            kind = element.WhichOneof("type")
            if kind == "button":
                self.buttons[element.button.label] = element.button.id
            elif kind == "text_input":
                self.inputs[element.text_input.label] = element.text_input.id
            elif kind in ("alert", "text"):
                self.texts.append(getattr(element, kind).body)
            elif kind == "metric":
                self.metrics[element.metric.label] = element.metric.body
        return super().absorb(msg, rerun)

    def refused(self) -> list[str]:
        return [t for t in self.texts if any(r in t for r in REFUSALS)]


async def press(
    ws: ClientConnection, tab: Tab, states: list[WidgetState] = (), timeout_s: float = TIMEOUT_S
) -> Rerun:
    """One rerun carrying ``states`` (a text's value, a button's trigger), as a browser sends."""
    result = Rerun(latency_s=math.nan)
    message: BackMsg = tab.rerun_message()
    message.rerun_script.widget_states.widgets.extend(states)
    tab.new_run()
    start = time.perf_counter()
    await ws.send(message.SerializeToString())
    async with asyncio.timeout(timeout_s):
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await ws.recv())
            if tab.absorb(msg, result):
                break
    result.latency_s = time.perf_counter() - start
    return result


def trigger(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


@dataclass
class StudentReport:
    nickname: str
    pressed: dict[int, int] = field(default_factory=dict)  # question -> kind pressed
    latencies_s: list[float] = field(default_factory=list)
    answer_latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def student(index: int, base_url: str, code: str, think_s: float, report: StudentReport):
    rng = random.Random(index)
    ws = None

    async def act(tab: Tab, states: list[WidgetState] = ()) -> Rerun:
        await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
        rerun = await press(ws, tab, states)
        report.latencies_s.append(rerun.latency_s)
        if rerun.error:
            report.errors.append(f"page {rerun.error}")
        report.errors.extend(f"refused: {t[:60]}" for t in tab.refused())
        return rerun

    try:
        cookies = await asyncio.to_thread(fetch_cookies, base_url, TIMEOUT_S)
        ws = await open_tab(base_url, TIMEOUT_S, cookies)
        tab = Tab(base_url, PAGE, f"room={code}")
        await act(tab)
        if "Nickname" not in tab.inputs or "Join" not in tab.buttons:
            report.errors.append("no join form")
            return
        name = WidgetState(id=tab.inputs["Nickname"], string_value=report.nickname)
        await act(tab, [name, trigger(tab.buttons["Join"])])
        if f"You joined as: {report.nickname}" not in tab.texts:
            report.errors.append("join not confirmed")
            return
        for question in range(10):
            kind = rng.randrange(3)
            label = KIND_LABELS[kind]
            if label not in tab.buttons:
                report.errors.append(f"no answer button on question {question + 1}")
                return
            rerun = await act(tab, [trigger(tab.buttons[label])])
            report.answer_latencies_s.append(rerun.latency_s)
            report.pressed[question] = kind
            onward = "See my score" if question == 9 else "Next question"
            if onward not in tab.buttons:
                report.errors.append(f"no {onward!r} after question {question + 1}")
                return
            await act(tab, [trigger(tab.buttons[onward])])
    except TimeoutError:
        report.errors.append("timeout")
    except (OSError, ConnectionError) as error:
        report.errors.append(f"connection: {type(error).__name__}")
    except Exception as error:  # noqa: BLE001 - any other failure is an error of this client
        report.errors.append(f"{type(error).__name__}: {error}")
    finally:
        if ws is not None:
            await ws.close()


async def teacher(base_url: str, code: str, key: str, done: asyncio.Event) -> dict:
    """Rerun the teacher's link every 2 s until ``done``, then once more; its figures."""
    ws = await open_tab(base_url, TIMEOUT_S)
    tab = Tab(base_url, PAGE, f"room={code}&key={key}")
    latencies, errors = [], 0
    try:
        while True:
            finished = done.is_set()
            rerun = await press(ws, tab)
            latencies.append(rerun.latency_s)
            errors += bool(rerun.error)
            if finished:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), TEACHER_EVERY_S)
    finally:
        await ws.close()
    return {"latencies_s": latencies, "errors": errors, "metrics": tab.metrics}


async def drive_class(base_url: str, code: str, key: str, students: int, think_s: float):
    reports = [StudentReport(f"student {i:02d}") for i in range(students)]
    done = asyncio.Event()
    teacher_task = asyncio.create_task(teacher(base_url, code, key, done))
    start = time.perf_counter()
    async with asyncio.timeout(CAP_S):
        await asyncio.gather(
            *(student(i, base_url, code, think_s, r) for i, r in enumerate(reports))
        )
    wall = time.perf_counter() - start
    done.set()
    return reports, await teacher_task, wall


def stored(path: Path, code: str) -> dict:
    """What the rooms file holds for the room, read back with plain sqlite3."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT s.nickname, a.question, a.kind FROM answers a "
            "JOIN students s ON s.id = a.student WHERE s.room = ?",
            (code,),
        ).fetchall()
        joined = db.execute("SELECT COUNT(*) FROM students WHERE room = ?", (code,)).fetchone()
    pairs = [(name, question) for name, question, _ in rows]
    return {"rows": rows, "joined": joined[0], "duplicates": len(pairs) - len(set(pairs))}


def run(students: int, think_s: float) -> dict:
    from lossviz.quiz import make_round
    from lossviz.rooms import DB_ENV, RoomStore
    from lossviz.scene import QuizScene
    from tests.browser.conftest import start_streamlit

    with tempfile.TemporaryDirectory(prefix="lossviz-rooms-") as folder:
        path = Path(folder) / "rooms.sqlite3"
        saved = os.environ.get(DB_ENV)
        os.environ[DB_ENV] = str(path)  # the server copies our environment
        try:
            scene = QuizScene(seed=SEED)
            answer_key = [int(q.kind) for q in make_round(SEED)]
            room, key = RoomStore.from_env().create_room(scene.to_query(), answer_key)
            with start_streamlit("app.py", "streamlit-quiz-rooms") as base_url:
                reports, teacher_figures, wall = asyncio.run(
                    drive_class(base_url, room.code, key, students, think_s)
                )
        finally:
            if saved is None:
                os.environ.pop(DB_ENV, None)
            else:
                os.environ[DB_ENV] = saved
        held = stored(path, room.code)
    pressed = {(r.nickname, q): k for r in reports for q, k in r.pressed.items()}
    kept = {(name, q): k for name, q, k in held["rows"]}
    return {
        "students": students,
        "think_s": think_s,
        "expected": students * 10,
        "pressed": len(pressed),
        "stored": len(held["rows"]),
        "joined": held["joined"],
        "duplicates": held["duplicates"],
        "mismatched": sum(kept.get(pair) != kind for pair, kind in pressed.items()),
        "errors": [e for r in reports for e in r.errors],
        "latencies_s": [x for r in reports for x in r.latencies_s],
        "answer_latencies_s": [x for r in reports for x in r.answer_latencies_s],
        "wall_s": wall,
        "teacher": teacher_figures,
    }


def ms(values: list[float], q: float) -> str:
    return f"{percentile([v * 1e3 for v in values], q):,.0f}"


def report(result: dict) -> str:
    teacher_figures = result["teacher"]
    header = ["clients", "answers expected", "stored", "duplicates", "stored != pressed",
              "errors", "press p50 / p95 ms", "answer p50 / p95 ms", "teacher rerun p50 / p95 ms",
              "wall time s", "teacher's last 'Answers'"]  # fmt: skip
    row = [
        f"{result['students']} students + 1 teacher",
        str(result["expected"]),
        str(result["stored"]),
        str(result["duplicates"]),
        str(result["mismatched"]),
        str(len(result["errors"]) + teacher_figures["errors"]),
        f"{ms(result['latencies_s'], 50)} / {ms(result['latencies_s'], 95)}",
        f"{ms(result['answer_latencies_s'], 50)} / {ms(result['answer_latencies_s'], 95)}",
        f"{ms(teacher_figures['latencies_s'], 50)} / {ms(teacher_figures['latencies_s'], 95)}",
        f"{result['wall_s']:.1f}",
        teacher_figures["metrics"].get("Answers", "-"),
    ]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Quiz rooms (`python -m bench.quiz_rooms`), {when}, streamlit {streamlit.__version__}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end. One "
        f"server (app.py as `make run` serves it), rooms in a temporary SQLite file; each "
        f"student a websocket tab pressing the page's buttons (join, then answer and next "
        f"for 10 questions, {result['think_s']:g} s think time on average before each "
        f"press); the teacher's link rerun every {TEACHER_EVERY_S:g} s.",
        "",
        markdown_table(header, [row]),
    ]
    if result["errors"]:
        shown = sorted(set(result["errors"]))[:10]
        lines += ["", "Errors: " + "; ".join(shown)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds before a press")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not 1 <= args.students <= 100:
        parser.error("--students must be 1..100 (a room's default maximum)")
    result = run(args.students, max(0.0, args.think))
    text = report(result)
    if not args.no_save and args.students == 60:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)
    ok = result["stored"] == result["expected"] and not result["errors"]
    sys.exit(0 if ok and result["duplicates"] == 0 and result["mismatched"] == 0 else 1)


if __name__ == "__main__":
    main()
