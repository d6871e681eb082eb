"""The training queue against a mischievous class: can 17 closed tabs hold the teacher's link?

Usage::

    python -m bench.training_queue                    # 3 repeats -> results file
    python -m bench.training_queue --repeats 1 --label before --no-report

Every server is started as ``make run`` starts it (``deploy.serve`` through
``bench.loadtest.own_server``), with ``LOSSVIZ_PREWARM=0`` so that no preset is
trained before it is asked for: what is measured is the queue, not the start-up
prewarm. The clients are ``bench.loadtest``'s (Streamlit's own websocket protocol).
Each repeat, on fresh servers:

- ``alone``: one warm-up visit of ``/collapse`` (imports, the step-0 picture), then the
  teacher's default link ``/collapse?autostart=1`` alone: the time from the page request
  until the script run ends holding the whole trained run.
- ``abuse``: the same warm-up, then 17 "abusive" clients at once each open a link with
  large distinct settings (2,000 steps, batch 256, both losses, seeds 0..16) and close
  the tab 1.5 s after the request; then the teacher's link is opened. A link refused as
  busy is opened again every 2 s (as a teacher would), so its time runs from the first
  try until the page holds the trained run. Meanwhile (for at least 60 s), every 5 s,
  another student opens a small custom link (blobs, 100 steps, a new seed each) and
  closes the tab once the page says whether the server took it: refused as busy, or
  queued / training; and one student opens a small custom link and keeps the tab open
  until its run is trained.

Reported: medians over the repeats of the teacher's time in each part and their ratio
(target: within 3x), how often the teacher's link and the students were refused and
for how long (the span from the first to the last refused student). ``--before FILE``
adds the rows of an earlier run (``--label before`` of the code before a change, run
from a copy of that code; its raw results go to ``test-artifacts/``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import streamlit
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.common import markdown_table
from bench.loadtest import LoadSpec, Rerun, TabState, drive, open_tab, own_server, warm_up

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "training_queue-cpu.md"
ARTIFACTS = REPO / "test-artifacts"
PREWARM_ENV_VAR = "LOSSVIZ_PREWARM"

TEACHER = "autostart=1"  # the default scene: digits, batch-hard beside the fix, 300 steps
ABUSERS = 17
ABUSE = "steps=2000&batch_size=256&autostart=1&seed={seed}"
LEAVE_AFTER_S = 1.5
STUDENT = "dataset=blobs&steps=100&autostart=1&seed={seed}"
STUDENT_EVERY_S = 5.0
STUDENT_WINDOW_S = 60.0  # students go on at least this long after the abuse
STAYING = "dataset=blobs&steps=100&autostart=1&seed=999"  # a student who keeps the tab
RETRY_S = 2.0
CAP_S = 600.0

TRAINED = "Trained once on this server"
BUSY = "The server is busy"
TAKEN = ("Queued on this server", "Training on the server", "Paused on this server", TRAINED)


# --------------------------------------------------------------------------- clients


async def until_trained(url: str, query: str, cap_s: float = CAP_S) -> dict:
    """Open ``query`` until the page holds the trained run; open it again every 2 s if busy.

    Returns ``seconds`` (from the first request; NaN if never trained within ``cap_s``),
    ``refused`` (tries answered "busy") and ``tries``.
    """
    start = time.monotonic()
    out = {"seconds": math.nan, "refused": 0, "tries": 0}
    while (left := cap_s - (time.monotonic() - start)) > 1:
        spec = LoadSpec("collapse", query, clients=1, reruns=1, timeout_s=left, cap_s=left,
                        watch=(TRAINED, BUSY))  # fmt: skip
        reports, _ = await drive(url, spec)
        out["tries"] += 1
        seen = reports[0].reruns[0].seen if reports[0].reruns else set()
        if TRAINED in seen:
            out["seconds"] = time.monotonic() - start
            return out
        if BUSY not in seen:
            out["error"] = reports[0].stopped or "neither trained nor busy"
            return out
        out["refused"] += 1
        await asyncio.sleep(RETRY_S)
    return out


async def student(url: str, query: str, timeout_s: float = 60.0) -> str:
    """One student opens ``query`` and closes the tab as soon as the page says whether the
    server took the training: "busy", "taken", or "no answer" (nothing within ``timeout_s``).
    """
    ws = await open_tab(url, timeout_s)
    tab = TabState(url, "collapse", query, (BUSY, *TAKEN))
    seen = Rerun(latency_s=math.nan)
    try:
        await ws.send(tab.rerun_message().SerializeToString())
        async with asyncio.timeout(timeout_s):
            while not seen.seen:
                msg = ForwardMsg()
                msg.ParseFromString(await ws.recv())
                if tab.absorb(msg, seen):
                    break
    except TimeoutError:
        return "no answer"
    finally:
        await ws.close()
    if BUSY in seen.seen:
        return "busy"
    return "taken" if seen.seen else "no answer"


async def students(url: str, stop: asyncio.Event) -> list[tuple[float, str]]:
    """A new student every 5 s until ``stop``: (seconds since the first, what the page said)."""
    start = time.monotonic()
    out = []
    seed = 0
    while not stop.is_set():
        out.append((time.monotonic() - start, await student(url, STUDENT.format(seed=seed))))
        seed += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STUDENT_EVERY_S)
    return out


async def abusers(url: str) -> dict:
    """17 tabs open large distinct links at once and close 1.5 s after the request."""
    queries = tuple(ABUSE.format(seed=seed) for seed in range(ABUSERS))
    spec = LoadSpec("collapse", clients=ABUSERS, reruns=1, queries=queries, watch=(BUSY,),
                    leave_after_s=LEAVE_AFTER_S, timeout_s=CAP_S)  # fmt: skip
    reports, _ = await drive(url, spec)
    return {
        "left": sum(r.left for r in reports),
        "refused": sum(any(BUSY in x.seen for x in r.reruns) for r in reports),
    }


# --------------------------------------------------------------------------- parts


async def alone(url: str) -> dict:
    await warm_up(url, LoadSpec("collapse", "", timeout_s=CAP_S))
    return await until_trained(url, TEACHER)


async def abuse(url: str) -> dict:
    await warm_up(url, LoadSpec("collapse", "", timeout_s=CAP_S))
    out = {"abusers": await abusers(url)}
    stop = asyncio.Event()
    probing = asyncio.create_task(students(url, stop))
    window = asyncio.create_task(asyncio.sleep(STUDENT_WINDOW_S))
    staying = asyncio.create_task(until_trained(url, STAYING))
    out["teacher"] = await until_trained(url, TEACHER)
    await window
    stop.set()
    out["students"] = await probing
    out["staying"] = await staying
    return out


def on_fresh_server(part) -> dict:
    os.environ[PREWARM_ENV_VAR] = "0"  # the server inherits it (deploy.serve.app_env)
    with own_server("app.py") as (url, _pid):
        return asyncio.run(part(url))


def prewarm_cost() -> dict | None:
    """What the start-up prewarm costs: every priority run trained by a fresh registry in this
    process with one torch thread (as a server runs it); None for code without a prewarm."""
    import torch

    from lossviz.training.run_registry import RunRegistry
    from lossviz.ui import collapse_page as collapse

    if not hasattr(collapse, "prewarm"):
        return None
    torch.set_num_threads(1)
    registry = RunRegistry()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        collapse.prewarm(registry)
        for key in collapse.priority_keys():
            run = registry.get(key)
            while not run.progress().finished:
                run.wait(run.progress().frames, timeout=1.0)
        return {"runs": len(collapse.priority_keys()), "seconds": time.perf_counter() - start,
                "cpu_s": time.process_time() - cpu}  # fmt: skip
    finally:
        registry.close()


def run(repeats: int) -> list[dict]:
    results = []
    for repeat in range(repeats):
        result = {}
        for name, part in (("alone", alone), ("abuse", abuse)):
            print(f"[{repeat + 1}/{repeats}] {name} ...", file=sys.stderr, flush=True)
            result[name] = on_fresh_server(part)
            print(json.dumps(result[name]), file=sys.stderr, flush=True)
        result["prewarm"] = prewarm_cost()
        results.append(result)
    return results


# --------------------------------------------------------------------------- report


def median(values: list[float]) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def refused_span(answers: list[tuple[float, str]]) -> float:
    """Seconds from the first to the last student refused as busy (0 if one, NaN if none)."""
    times = [t for t, said in answers if said == "busy"]
    return times[-1] - times[0] if times else math.nan


def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def row(label: str, results: list[dict]) -> list[str]:
    alone_s = median([r["alone"]["seconds"] for r in results])
    abuse_s = median([r["abuse"]["teacher"]["seconds"] for r in results])
    answers = [r["abuse"]["students"] for r in results]
    return [
        label,
        fmt(alone_s),
        fmt(abuse_s),
        f"{abuse_s / alone_s:.1f}x" if alone_s > 0 else "-",
        ", ".join(str(r["abuse"]["teacher"]["refused"]) for r in results),
        ", ".join(f"{sum(s == 'busy' for _, s in a)}/{len(a)}" for a in answers),
        fmt(median([refused_span(a) for a in answers])),
        ", ".join(str(r["abuse"]["abusers"]["refused"]) for r in results),
        fmt(median([r["abuse"].get("staying", {}).get("seconds", math.nan) for r in results])),
    ]


HEADER = [
    "code",
    "(a) teacher's link alone (s)",
    "(b) teacher's link after 17 abusive tabs (s)",
    "(b) / (a) (target <= 3x)",
    "teacher refused as busy (tries, each repeat)",
    "students refused / asked (each repeat)",
    "students refused for (s, first to last refusal)",
    "abusive tabs refused (each repeat)",
    "(b) a student who keeps a small custom tab open: time to its trained run (s)",
]


NOTES = f"""\
(a): after one warm-up visit of `/collapse`, the teacher's link `/collapse?{TEACHER}` alone,
from the page request until the page holds the whole trained run. (b): {ABUSERS} tabs at once
open `/collapse?{ABUSE.format(seed="<0..16>")}` and close {LEAVE_AFTER_S} s after the
request; then the teacher's link, opened again every {RETRY_S:.0f} s while refused, timed from
the first try. Students: from then until the teacher's run is trained (and for at least
{STUDENT_WINDOW_S:.0f} s), every {STUDENT_EVERY_S:.0f} s a new tab opens
`/collapse?{STUDENT.format(seed="<n>")}` and closes once the page says whether the server took
it (refused as busy, or queued / training). At the same time as the teacher, one student opens
`/collapse?{STAYING}` and keeps the tab until the run is trained (again every
{RETRY_S:.0f} s while refused).
"""


def prewarm_line(results: list[dict]) -> str:
    costs = [r["prewarm"] for r in results if r.get("prewarm")]
    if not costs:
        return "No start-up prewarm in this code."
    return (
        f"Start-up prewarm (on by default, `{PREWARM_ENV_VAR}=0` turns it off): the server's "
        f"first script run queues the {costs[0]['runs']} priority runs (the default scene, the "
        f"presets, the lesson's training steps) in the worker's priority lane; training them "
        f"all took {fmt(median([c['seconds'] for c in costs]))} s "
        f"({fmt(median([c['cpu_s'] for c in costs]))} CPU s, one torch thread), medians."
    )


def report(rows: list[list[str]], results: list[dict], elapsed_s: float | None) -> str:
    took = "" if elapsed_s is None else f"; took {elapsed_s / 60:.1f} min"
    lines = [
        f"Training queue against a mischievous class (`python -m bench.training_queue`), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, streamlit {streamlit.__version__}, "
        f"{os.cpu_count()} cores (shared with other work), load average "
        f"{os.getloadavg()[0]:.1f} at the end{took}. Medians over "
        f"{len(results)} repeats, each on fresh servers with `{PREWARM_ENV_VAR}=0`.",
        "",
        markdown_table(HEADER, rows),
        "",
        NOTES,
        prewarm_line(results),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="after", help="this code's name in the table")
    parser.add_argument("--before", type=Path, help="an earlier run's raw results (JSON)")
    parser.add_argument("--no-report", action="store_true", help="raw results only")
    parser.add_argument("--results", type=Path, help="report these raw results, measure nothing")
    args = parser.parse_args(argv)
    start = time.monotonic()
    if args.results is not None:
        results = json.loads(args.results.read_text(encoding="utf-8"))
        elapsed_s = None
    else:
        results = run(max(1, args.repeats))
        elapsed_s = time.monotonic() - start
        ARTIFACTS.mkdir(exist_ok=True)
        raw = ARTIFACTS / f"training_queue-{args.label}.json"
        raw.write_text(json.dumps(results, indent=1), encoding="utf-8")
        print(f"raw results: {raw}", file=sys.stderr)
    if args.no_report:
        return
    rows = []
    if args.before is not None:
        rows.append(row("before", json.loads(args.before.read_text(encoding="utf-8"))))
    rows.append(row(args.label, results))
    text = report(rows, results, elapsed_s)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
