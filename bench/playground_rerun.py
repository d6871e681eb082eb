"""Server CPU of one rerun of the playground and of the contrastive page (target: median
<= 15 ms each) and of the InfoNCE page (target: no more than the playground's), this
checkout against an older commit, alternated.

Usage::

    python -m bench.playground_rerun                       # against 6642107 -> results file
    python -m bench.playground_rerun --against HEAD~3 --repeats 5 --reruns 20
    python -m bench.playground_rerun --against none        # this checkout only

Each tree is served as ``make run`` serves it (``deploy.serve``'s command and environment,
the tree's own ``.streamlit/config.toml``; the older one from ``git archive <commit>`` in a
temporary folder, first on its ``PYTHONPATH``), both servers at once. One client
(``bench.loadtest``'s, Streamlit's own protocol over the websocket, no browser) opens a
session on a page, warms it up, then sends ``--reruns`` reruns one after the other; the
figure is the server process's CPU time (user + system, ``/proc/<pid>/stat``) over those
reruns, divided by their number: the script, Streamlit's bookkeeping and the messages'
serialisation and sending. Two kinds of rerun:

- *page*: the whole page again, nothing changed (a student pressing R, or a sidebar
  widget: what ``bench.loadtest`` and ``bench.classroom`` measure);
- *drop*: the plane's value with N (playground), X2 (contrastive) or N1 (InfoNCE, on the
  unit circle) dropped at a new spot, as the browser sends it: the plane's state and the
  id of the fragment it sits in, so only that fragment reruns. Every drop goes to a spot
  not seen before in the run (the per-process reading caches do not help).

The InfoNCE page has no distance (it is measured once per kind, "–" in the distance
column); a page the older tree lacks (``pages/<name>.py``) is measured in this checkout
only ("–" in the old column).

Each measured block is one session of one tree, page, distance and kind; a repeat runs
every block of both trees, the trees' order alternating between repeats, so background
load hits both alike. The medians over the repeats are reported, with the machine's
1-minute load average at each repeat's start. (No latencies: this client's are about
48 ms whatever the page, the server's small frames waiting on TCP acknowledgements.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import streamlit
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection

from bench.common import markdown_table
from bench.loadtest import Rerun, TabState, cpu_seconds, open_tab
from deploy.serve import app_command, app_env, free_port, wait_healthy

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "playground_rerun-cpu.md"
ARTIFACTS = REPO / "test-artifacts"
DEFAULT_AGAINST = "6642107"
TARGET_MS = 15.0
TIMEOUT_S = 60.0
FINISHED = (
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
)
PLANE = "lossviz.plane"


@dataclass(frozen=True)
class Page:
    """A page, its plane's points (the scene's defaults), the one a drop moves, the
    distances it is measured with ("": none, no query) and whether drops stay on the unit
    circle."""

    name: str
    points: dict[str, tuple[float, float]]
    moved: str
    distances: tuple[str, ...] = ("euclidean", "custom")  # built-in (exact outlines); typed
    circle: bool = False


PAGES = (
    Page("playground", {"A": (0.0, 0.0), "P": (1.0, 0.5), "N": (1.5, -1.0)}, "N"),
    Page("contrastive", {"X1": (0.0, 0.0), "X2": (1.0, 0.5)}, "X2"),
    Page(
        "infonce",
        {"A": (1.0, 0.0), "P": (0.866, 0.5), "N1": (-0.1855, 0.9826), "N2": (-0.1499, -0.9887),
         "N3": (-0.9514, 0.3079), "N4": (0.7961, -0.6052)},
        "N1", distances=("",), circle=True,
    ),  # lossviz.scenes.scene.InfoNCEScene's defaults (k = 4)
)  # fmt: skip
KINDS = ("page", "drop")
BASELINE = "playground"  # the InfoNCE page's target: its rerun costs no more than this one's


# --------------------------------------------------------------------------- servers


@contextlib.contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """``git archive <commit>`` of this repository, unpacked in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="lossviz-bench-") as folder:
        archive = subprocess.run(
            ["git", "archive", commit], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


@contextlib.contextmanager
def serve(tree: Path, name: str) -> Iterator[tuple[str, int]]:
    """``tree``'s app.py served as ``make run`` serves it, its lossviz first on the path;
    yields (base url, server pid)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = app_env(LOSSVIZ_PREWARM="0")
    env["PYTHONPATH"] = str(tree)
    with open(ARTIFACTS / f"bench-rerun-{name}-{port}.log", "wb") as log:
        process = subprocess.Popen(
            app_command("127.0.0.1", port), cwd=tree, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_healthy(base_url, process, TIMEOUT_S)
        yield base_url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- one session


@dataclass
class Session:
    """A tab on one page: its websocket, what it remembers, and where the plane is."""

    ws: ClientConnection
    tab: TabState
    plane_id: str = ""
    fragment_id: str = ""
    seq: int = 0
    exceptions: list[str] = field(default_factory=list)


async def send_rerun(session: Session, drop: dict | None = None) -> None:
    """One rerun (with ``drop``: the plane's new value, in its fragment), to its end."""
    msg = session.tab.rerun_message()
    if drop is not None:
        session.seq += 1
        state = WidgetState(id=session.plane_id)
        state.json_value = json.dumps({"points": {**drop, "seq": session.seq}})
        msg.rerun_script.widget_states.widgets.append(state)
        msg.rerun_script.fragment_id = session.fragment_id
    result = Rerun(latency_s=math.nan)
    await session.ws.send(msg.SerializeToString())
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await session.ws.recv())
            session.tab.absorb(forward, result)
            _note_plane(session, forward)
            if (
                forward.WhichOneof("type") == "script_finished"
                and forward.script_finished in FINISHED
            ):
                break
    session.exceptions += result.exceptions


def _note_plane(session: Session, msg: ForwardMsg) -> None:
    """Remember the plane's element id and its fragment's id when ``msg`` draws it."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return
    element = msg.delta.new_element
    if element.WhichOneof("type") == "bidi_component" and (
        element.bidi_component.component_name == PLANE
    ):
        session.plane_id = element.bidi_component.id
        session.fragment_id = msg.delta.fragment_id


def drop_spot(page: Page, index: int) -> dict[str, list[float]]:
    """The plane's value after the ``index``-th drop: the moved point on a spiral (on the
    unit circle for a circle page; never the same spot twice in a run), the others where
    the scene has them."""
    angle = index * 2.399963  # the golden angle: spots spread evenly, none repeated
    radius = 1.0 if page.circle else 1.0 + 1.5 * ((index * 0.618034) % 1.0)
    points = {name: list(xy) for name, xy in page.points.items()}
    points[page.moved] = [round(radius * math.cos(angle), 6), round(radius * math.sin(angle), 6)]
    return points


async def block(
    base_url: str, pid: int, page: Page, distance: str, kind: str, reruns: int, start: int
) -> float:
    """One measured session of ``reruns`` reruns of ``kind`` (drops at spots ``start``,
    ``start + 1``, ...): the server's CPU ms per rerun."""
    query = f"distance={distance}" if distance else ""
    ws = await open_tab(base_url, TIMEOUT_S)
    try:
        session = Session(ws, TabState(base_url, page.name, query))
        for _ in range(2):  # the session's first run, and one more (caches, message cache)
            await send_rerun(session)
        if kind == "drop" and not (session.plane_id and session.fragment_id):
            raise RuntimeError(f"no plane in a fragment on {page.name}")
        drops = [drop_spot(page, start + i) if kind == "drop" else None for i in range(reruns)]
        cpu = cpu_seconds(pid)
        for drop in drops:
            await send_rerun(session, drop)
        cpu = cpu_seconds(pid) - cpu
        if session.exceptions:
            raise RuntimeError(f"{page.name} showed {session.exceptions[:3]}")
    finally:
        await ws.close()
    return cpu * 1e3 / reruns


# --------------------------------------------------------------------------- the run


def has_page(tree: Path, page: Page) -> bool:
    return (tree / "pages" / f"{page.name}.py").is_file()


def measure(trees: dict[str, Path], repeats: int, reruns: int) -> tuple[dict, list[float]]:
    """Every block of every tree, ``repeats`` times, alternated: (CPU ms per rerun of each
    block by (tree, page, distance, kind), the 1-minute load average at each repeat). A
    page a tree lacks is skipped there."""
    figures: dict[tuple, list[float]] = {}
    loads = []
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(serve(tree, name)) for name, tree in trees.items()}
        for name, (url, pid) in servers.items():  # imports, caches: not measured
            for page in PAGES:
                for distance in page.distances if has_page(trees[name], page) else ():
                    asyncio.run(block(url, pid, page, distance, "drop", 3, 10_000))
        blocks = [(p, d, k) for p in PAGES for d in p.distances for k in KINDS]
        for repeat in range(repeats):
            loads.append(os.getloadavg()[0])
            order = list(servers) if repeat % 2 == 0 else list(reversed(servers))
            for number, (page, distance, kind) in enumerate(blocks):
                start = (repeat * len(blocks) + number) * reruns  # fresh drop spots
                for name in order:
                    if not has_page(trees[name], page):
                        continue
                    url, pid = servers[name]
                    cpu = asyncio.run(block(url, pid, page, distance, kind, reruns, start))
                    figures.setdefault((name, page.name, distance, kind), []).append(cpu)
            print(f"repeat {repeat + 1}/{repeats} done", file=sys.stderr)
    return figures, loads


def report(figures: dict, trees: list[str], against: str, args, loads: list[float]) -> str:
    """The results as Markdown: a row per page, kind and distance, a column per tree."""
    header = ["page", "rerun", "distance", *(f"{name}: server CPU ms / rerun" for name in trees)]
    if len(trees) == 2:
        header.append(f"{trees[0]} / {trees[1]}")
    rows, held, versus = [], [], []
    for page in PAGES:
        for kind in KINDS:
            for distance in page.distances:
                cpus = [_median(figures, (n, page.name, distance, kind)) for n in trees]
                ratio = []
                if len(cpus) == 2:
                    ratio = ["–" if None in cpus else f"{cpus[0] / cpus[1]:.2f}"]
                shown = ["–" if c is None else f"{c:.1f}" for c in cpus]
                rows.append([page.name, kind, distance or "–", *shown, *ratio])
                if page.name == "infonce":
                    versus.append(_versus(figures, trees[0], page.name, kind, cpus[0]))
                    continue
                verdict = "met" if cpus[0] <= TARGET_MS else "**NOT met**"
                held.append(f"{page.name} {kind} ({distance}) {verdict}")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Server CPU per rerun (`python -m bench.playground_rerun`), {when}, streamlit "
        f"{streamlit.__version__}, {os.cpu_count()} cores; medians of {args.repeats} repeats "
        f"of {args.reruns} reruns each, trees alternated. Load average (1 min) at the repeats' "
        f"starts: {', '.join(f'{load:.1f}' for load in loads)}.",
        "",
        markdown_table(header, rows),
        "",
    ]
    if against:
        lines.append(f"old: `git archive {against}`; new: this checkout.")
    lines.append(f"Target: median <= {TARGET_MS:g} ms of server CPU per rerun: " + "; ".join(held))
    if versus:
        lines.append(
            f"Target: the InfoNCE page's rerun costs no more than the {BASELINE}'s (same kind "
            f"of rerun, {trees[0]}, measured in this run): " + "; ".join(versus)
        )
    return "\n".join(lines) + "\n"


def _median(figures: dict, block_key: tuple) -> float | None:
    """The median of a block's figures; None for a block not measured (a page the tree
    lacks)."""
    cpus = figures.get(block_key)
    return statistics.median(cpus) if cpus else None


def _versus(figures: dict, tree: str, page: str, kind: str, cpu: float) -> str:
    """``page``'s median (``cpu``) against the baseline's, with each of its distances."""
    base = next(p for p in PAGES if p.name == BASELINE)
    parts = []
    for distance in base.distances:
        other = _median(figures, (tree, BASELINE, distance, kind))
        verdict = "met" if cpu <= other else "**NOT met**"
        parts.append(f"{cpu:.1f} vs {other:.1f} ms ({distance}, {cpu / other:.2f}×) {verdict}")
    return f"{page} {kind}: " + ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--against", default=DEFAULT_AGAINST,
        help="the older commit to alternate with ('none': this checkout only)",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--reruns", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    against = "" if args.against == "none" else args.against
    with contextlib.ExitStack() as stack:
        trees = {"new": REPO}
        if against:
            trees["old"] = stack.enter_context(checkout(against))
        figures, loads = measure(trees, args.repeats, args.reruns)
    text = report(figures, list(trees), against, args, loads)
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
