"""Load test: N websocket clients rerun one page of lossviz, in Streamlit's own protocol.

Usage::

    python -m bench.loadtest                      # the standard scenarios -> results file
    python -m bench.loadtest --scenario playground-30
    python -m bench.loadtest --page mining --query source=digits --clients 10 --reruns 3
    python -m bench.loadtest --url http://127.0.0.1:8501 --page playground --clients 5

No browser: each client is one "tab" that speaks the front end's protocol over
``ws://HOST/_stcore/stream`` (binary protobuf frames, see ``streamlit.proto``):

1. ``GET /_stcore/health`` sets the ``_streamlit_xsrf`` cookie (and, behind ``make serve``'s
   nginx, the worker cookie), as for a browser; every later request sends them back.
2. The websocket handshake sends ``Origin: http://HOST`` (the server rejects an Origin
   that is not the Host or an allowed origin), the cookie, and the subprotocols
   ``["streamlit", <xsrf cookie value>]``; the server selects ``streamlit`` and opens a
   session (its script does not run yet).
3. A rerun is one ``BackMsg.rerun_script`` (a ``ClientState``): the query string, on the
   first run ``page_name`` (the url path) and then the ``page_script_hash`` the server
   named in ``navigation``, the hashes of the cacheable messages this client holds (the
   server then sends a small ``ref_hash`` instead of an unchanged chart) and the browser
   context (timezone, locale, url). No widget states: every rerun recomputes the page's
   default scene, as when a student presses R.
4. The server answers ``session_status_changed``, ``new_session`` (once per script run),
   ``navigation``, ``page_info_changed`` (the scene's query string, sent back by the
   next rerun), the ``delta`` elements and ``script_finished``. A page's own
   ``st.rerun()`` ends a run with ``FINISHED_EARLY_FOR_RERUN`` and starts another; the
   rerun ends at ``FINISHED_SUCCESSFULLY`` (or ``FINISHED_WITH_COMPILE_ERROR``).

The client library is ``websockets`` (a dependency of streamlit 1.67, which serves with
uvicorn and starlette; tornado is not installed). By default all clients connect, then
start together and rerun back to back; ``--ramp S`` spreads their connections over S
seconds (each then starts at once) and ``--think S`` pauses S seconds between a client's
answer and its next rerun.

Measured per rerun: the latency from sending ``rerun_script`` to receiving the final
``script_finished``. Each client's first rerun (its session's first script run: session
state, navigation, every element sent in full) is reported apart from the steady-state
reruns 2..R. Errors: reruns whose page showed an exception (a ``delta`` holding an
``exception`` element), a compile error or ``page_not_found``; reruns without an answer
within ``--timeout``; clients whose connection failed or dropped, or that were cut by the
overall time cap. Throughput: completed reruns over the wall time from the moment all
clients are connected until the last one is done.

For a server it starts itself (the default; ``--url`` targets a running one instead) the
tool also reads the server's resident memory (``VmRSS`` in ``/proc/<pid>/status``):
before any session (cold), after one warm-up visit of the page (idle: torch and the page
imported, caches filled), its high-water mark ``VmHWM`` during the load (peak), and
after all clients disconnected, every 5 s for up to 2 minutes until it is back within
100 MB of idle (``server.disconnectedSessionTTL`` keeps a closed session 30 s). With one
client, it also reads the RSS after each rerun (growth: rerun 20 against the last), and
the server's CPU time over the load (``/proc/<pid>/stat``).

Hard caps: at most 200 clients, 200 reruns each and 10 minutes of load per run
(``--cap``; the memory recovery adds at most 2 minutes).
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
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import streamlit
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.common import markdown_table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "loadtest-cpu.md"

MAX_CLIENTS = 200
MAX_RERUNS = 200
MAX_SECONDS = 600.0
DEFAULT_TIMEOUT_S = 60.0  # one rerun's answer

XSRF_COOKIE = "_streamlit_xsrf"
MAX_MESSAGE_BYTES = 64 * 2**20
FINAL_STATUSES = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)

RECOVERY_MARGIN_MB = 100.0
RECOVERY_WINDOW_S = 120.0
RECOVERY_EVERY_S = 5.0
GROWTH_FROM = 20  # the growth figure compares the RSS after rerun 20 with the last

# Error kinds, in the order they are printed.
ERROR_KINDS = ("exception", "compile", "not found", "timeout", "disconnect", "connect", "cap")


# --------------------------------------------------------------------------- pure parts


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def cookies_from(set_cookie_headers: list[str]) -> dict[str, str]:
    """name -> value of every cookie a response's ``Set-Cookie`` headers set."""
    cookies = {}
    for header in set_cookie_headers:
        name, _, rest = header.partition("=")
        if name.strip():
            cookies[name.strip()] = rest.split(";", 1)[0].strip()
    return cookies


def xsrf_token(set_cookie_headers: list[str]) -> str | None:
    """The ``_streamlit_xsrf`` value from a response's ``Set-Cookie`` headers, if any."""
    return cookies_from(set_cookie_headers).get(XSRF_COOKIE)


def handshake(base_url: str, cookies: dict[str, str]) -> dict:
    """Arguments for ``websockets.connect`` that make the handshake a same-origin browser's.

    ``cookies``: what the browser holds for the site (Streamlit's XSRF cookie, and e.g.
    the worker cookie of ``make serve``'s nginx), all sent back as a browser would.
    """
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/")
    xsrf = cookies.get(XSRF_COOKIE)
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return {
        "uri": f"{scheme}://{parts.netloc}{path}/_stcore/stream",
        "origin": f"{parts.scheme}://{parts.netloc}",
        # The front end's tokens: the subprotocol, then the XSRF cookie's value.
        "subprotocols": ["streamlit", xsrf or "PLACEHOLDER_AUTH_TOKEN"],
        "additional_headers": {"Cookie": header} if header else {},
    }


def build_rerun(
    page: str, query: str, page_script_hash: str, cached_hashes: list[str], url: str
) -> BackMsg:
    """The ``BackMsg`` the front end sends to (re)run its page.

    Before the server has named the page's script hash, the page goes by its url path
    (``page_name``); afterwards by ``page_script_hash``, as in the front end.
    """
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query
    if page_script_hash:
        state.page_script_hash = page_script_hash
    else:
        state.page_name = page
    state.cached_message_hashes.extend(cached_hashes)
    state.widget_states.SetInParent()
    info = state.context_info
    info.timezone = "UTC"
    info.timezone_offset = 0
    info.locale = "en-US"
    info.url = url
    info.is_embedded = False
    info.color_scheme = "light"
    return msg


def exceptions_in(msg: ForwardMsg) -> list[str]:
    """Exceptions a ForwardMsg shows on the page (their type; the message may be hidden)."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return []
    element = msg.delta.new_element
    if element.WhichOneof("type") != "exception":
        return []
    return [element.exception.type or element.exception.message or "exception"]


def text_of(msg: ForwardMsg) -> str:
    """The text an alert, Markdown or caption element shows ("" for anything else)."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return ""
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    if kind == "alert":
        return element.alert.body
    return element.markdown.body if kind == "markdown" else ""


@dataclass
class Rerun:
    """One rerun as a client saw it."""

    latency_s: float
    runs: int = 0  # script runs it took (a page's own st.rerun() adds one)
    received_bytes: int = 0
    exceptions: list[str] = field(default_factory=list)
    compile_error: bool = False
    not_found: bool = False
    seen: set[str] = field(default_factory=set)  # the watched texts the page showed

    @property
    def error(self) -> str | None:
        if self.exceptions:
            return "exception"
        if self.compile_error:
            return "compile"
        return "not found" if self.not_found else None


class TabState:
    """What a browser tab remembers between reruns: page hash, query and message cache.

    The cache follows the front end's ``ForwardMsgCache``: cacheable messages are kept by
    hash with the run count when last used, and dropped once older than the server's
    ``max_cached_message_age`` runs.
    """

    def __init__(self, base_url: str, page: str, query: str, watch: tuple[str, ...] = ()) -> None:
        self.base_url = base_url.rstrip("/")
        self.page = page
        self.query = query
        self.watch = watch
        self.page_script_hash = ""
        self.session_id = ""
        self.max_cache_age = 2
        self.run_count = 0
        self.cache: dict[str, int] = {}

    def rerun_message(self) -> BackMsg:
        url = f"{self.base_url}/{self.page}" + (f"?{self.query}" if self.query else "")
        return build_rerun(self.page, self.query, self.page_script_hash, list(self.cache), url)

    def absorb(self, msg: ForwardMsg, rerun: Rerun) -> bool:
        """Update the tab and ``rerun`` from one ForwardMsg; True once the rerun is over."""
        kind = msg.WhichOneof("type")
        if msg.metadata.cacheable and msg.hash:
            self.cache.setdefault(msg.hash, self.run_count)
        if kind == "ref_hash" and msg.ref_hash in self.cache:
            self.cache[msg.ref_hash] = self.run_count
        elif kind == "new_session":
            rerun.runs += 1
            self._new_session(msg)
        elif kind == "navigation" and msg.navigation.page_script_hash:
            self.page_script_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            rerun.not_found = True
        elif kind == "script_finished":
            return self._finished(msg.script_finished, rerun)
        rerun.exceptions += exceptions_in(msg)
        if self.watch:
            rerun.seen.update(w for w in self.watch if w in text_of(msg))
        return False

    def _new_session(self, msg: ForwardMsg) -> None:
        session = msg.new_session
        if session.page_script_hash:
            self.page_script_hash = session.page_script_hash
        if session.HasField("initialize"):
            self.session_id = session.initialize.session_id
        if session.config.max_cached_message_age:
            self.max_cache_age = session.config.max_cached_message_age

    def _finished(self, status: int, rerun: Rerun) -> bool:
        self.run_count += 1
        expired = [
            h for h, used in self.cache.items() if self.run_count - used > self.max_cache_age
        ]
        for key in expired:
            del self.cache[key]
        rerun.compile_error |= status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR
        return status in FINAL_STATUSES


# --------------------------------------------------------------------------- server memory


def _proc_status_mb(pid: int, key: str) -> float:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def rss_mb(pid: int) -> float:
    """Resident memory of a process now, in MB."""
    return _proc_status_mb(pid, "VmRSS")


def hwm_mb(pid: int) -> float:
    """The kernel's high-water mark of the process's resident memory, in MB."""
    return _proc_status_mb(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pid_on_port(port: int) -> int:
    """The pid of this process's child started with ``--server.port <port>``.

    ``start_streamlit`` yields only the URL; the server is our direct child, so look for
    it among our children by its command line (never by a name across the system).
    """
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if parent == me and _port_argument(argv) == str(port).encode():
                return int(entry.name)
    raise LookupError(f"no child process of {me} serves port {port}")


def _port_argument(argv: list[bytes]) -> bytes | None:
    """The value after ``--server.port`` in a command line, if any."""
    if b"--server.port" not in argv[:-1]:
        return None
    return argv[argv.index(b"--server.port") + 1]


async def await_recovery(pid: int, idle_mb: float, watch_s: float = 0.0) -> dict:
    """Sample the RSS every 5 s for up to 2 minutes until it is within 100 MB of idle.

    Returns ``recovery_s`` (seconds until it was, None if not within the window) and
    ``after_mb`` (that sample, or the last one). With ``watch_s``, sampling goes on that
    long even after recovery (e.g. past ``server.disconnectedSessionTTL``), and
    ``watched_mb`` is the last sample.
    """
    start = time.monotonic()
    result: dict = {"recovery_s": None}
    while True:
        now_mb = rss_mb(pid)
        elapsed = time.monotonic() - start
        if result["recovery_s"] is None:
            result["after_mb"] = now_mb
            if now_mb <= idle_mb + RECOVERY_MARGIN_MB:
                result["recovery_s"] = elapsed
        done = result["recovery_s"] is not None and elapsed >= watch_s
        if done or elapsed + RECOVERY_EVERY_S > RECOVERY_WINDOW_S:
            if watch_s:
                result["watched_s"], result["watched_mb"] = elapsed, now_mb
            return result
        await asyncio.sleep(RECOVERY_EVERY_S)


def growth(rss_by_rerun: list[float]) -> dict:
    """RSS after rerun 20 against the last, and the fitted slope between, per 100 reruns.

    Empty with fewer than 20 + 2 reruns.
    """
    tail = rss_by_rerun[GROWTH_FROM - 1 :]
    if len(tail) < 3:
        return {}
    reruns = list(range(GROWTH_FROM, GROWTH_FROM + len(tail)))
    slope = statistics.linear_regression(reruns, tail).slope
    return {
        "growth_reruns": (GROWTH_FROM, reruns[-1]),
        "growth_mb": tail[-1] - tail[0],
        "growth_mb_per_100": slope * 100,
    }


# --------------------------------------------------------------------------- clients


@dataclass
class LoadSpec:
    """One load: which page, how many clients and reruns, within which limits."""

    page: str = "playground"
    query: str = ""
    clients: int = 30
    reruns: int = 5
    timeout_s: float = DEFAULT_TIMEOUT_S
    cap_s: float = MAX_SECONDS
    ramp_s: float = 0.0
    think_s: float = 0.0  # a client's pause between an answer and its next rerun
    watch_s: float = 0.0  # keep sampling the server's RSS this long after the load
    script: str = "app.py"  # what the server runs (bench/apps/bare.py: the floor)
    warm_query: str | None = None  # the warm-up visit's query (default: ``query``)
    watch: tuple[str, ...] = ()  # texts to look for in each rerun's alerts and Markdown
    leave_after_s: float | None = None  # close the tab this long after the first rerun starts
    reconnect_every: int = 0  # >0: a new websocket (same cookie) after every N reruns
    queries: tuple[str, ...] = ()  # one query per client (overrides ``query``), e.g. seeds

    def checked(self) -> LoadSpec:
        """This spec, or ValueError when it exceeds the hard caps."""
        if not 1 <= self.clients <= MAX_CLIENTS:
            raise ValueError(f"clients must be 1..{MAX_CLIENTS}, not {self.clients}")
        if not 1 <= self.reruns <= MAX_RERUNS:
            raise ValueError(f"reruns must be 1..{MAX_RERUNS}, not {self.reruns}")
        if not 0 < self.cap_s <= MAX_SECONDS or not 0 < self.timeout_s <= self.cap_s:
            raise ValueError(f"need 0 < timeout <= time cap <= {MAX_SECONDS:.0f} s")
        return self


@dataclass
class ClientReport:
    """A client's reruns in order, and why it stopped early (an error kind), if it did."""

    reruns: list[Rerun] = field(default_factory=list)
    stopped: str | None = None
    connect_s: float = math.nan
    session_id: str = ""
    left: bool = False  # closed its tab on purpose (``leave_after_s``)
    cookies: dict[str, str] = field(default_factory=dict)


STOPS = (TimeoutError, ConnectionClosed, asyncio.CancelledError)


def stop_reason(stop: BaseException) -> str:
    """Why a client stopped early, in a report's words: "timeout" (no answer in time),
    "disconnect" (the server closed the websocket) or "cap" (the whole load ran out)."""
    if isinstance(stop, TimeoutError):
        return "timeout"
    return "disconnect" if isinstance(stop, ConnectionClosed) else "cap"


def fetch_cookies(base_url: str, timeout_s: float) -> dict[str, str]:
    """``GET /_stcore/health`` as the front end does first; returns the cookies it sets."""
    with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=timeout_s) as reply:
        return cookies_from(reply.headers.get_all("Set-Cookie") or [])


async def open_tab(
    base_url: str, timeout_s: float, cookies: dict[str, str] | None = None
) -> ClientConnection:
    """Open a session: the health request (unless the tab has its cookies), then the websocket."""
    if cookies is None:
        cookies = await asyncio.to_thread(fetch_cookies, base_url, timeout_s)
    return await connect(
        **handshake(base_url, cookies),
        proxy=None,
        max_size=MAX_MESSAGE_BYTES,
        open_timeout=timeout_s,
    )


async def rerun(ws: ClientConnection, tab: TabState, timeout_s: float) -> Rerun:
    """Send one ``rerun_script`` and read the answer up to its final ``script_finished``."""
    result = Rerun(latency_s=math.nan)
    start = time.perf_counter()
    await ws.send(tab.rerun_message().SerializeToString())
    async with asyncio.timeout(timeout_s):
        while True:
            data = await ws.recv()
            result.received_bytes += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            if tab.absorb(msg, result):
                break
    result.latency_s = time.perf_counter() - start
    return result


async def run_client(
    index: int,
    base_url: str,
    spec: LoadSpec,
    barrier: asyncio.Barrier | None,
    report: ClientReport,
    on_rerun: Callable[[int, int], None],
) -> None:
    """One client: connect (after its ramp delay), wait for the others, rerun R times.

    Stops at the first timeout or dropped connection (the session's state is then
    unknown); the kind is left in ``report.stopped``. A page error is counted and the
    client goes on.
    """
    await asyncio.sleep(index * spec.ramp_s / spec.clients)
    ws = None
    query = spec.queries[index % len(spec.queries)] if spec.queries else spec.query
    try:
        try:
            start = time.perf_counter()
            report.cookies = await asyncio.to_thread(fetch_cookies, base_url, spec.timeout_s)
            ws = await open_tab(base_url, spec.timeout_s, report.cookies)
            report.connect_s = time.perf_counter() - start
        except (OSError, InvalidHandshake, TimeoutError):
            report.stopped = "connect"
        finally:
            if barrier is not None:
                await barrier.wait()
        if ws is None:
            return
        tab = TabState(base_url, spec.page, query, spec.watch)
        for i in range(spec.reruns):
            if i and spec.think_s:
                await asyncio.sleep(spec.think_s)
            if i and spec.reconnect_every and i % spec.reconnect_every == 0:
                # A reload: a new websocket and session, the same browser (cookie).
                await ws.close()
                ws = await open_tab(base_url, spec.timeout_s, report.cookies)
                tab = TabState(base_url, spec.page, tab.query, spec.watch)
            if spec.leave_after_s is not None:
                try:
                    async with asyncio.timeout(spec.leave_after_s):
                        report.reruns.append(await rerun(ws, tab, spec.timeout_s))
                except TimeoutError:
                    report.left = True
                    return
            else:
                report.reruns.append(await rerun(ws, tab, spec.timeout_s))
            report.session_id = tab.session_id
            on_rerun(index, i)
    except STOPS as stop:
        report.stopped = stop_reason(stop)
        if isinstance(stop, asyncio.CancelledError):
            raise
    finally:
        if ws is not None:
            await ws.close()


async def drive(
    base_url: str, spec: LoadSpec, on_rerun: Callable[[int, int], None] = lambda c, r: None
) -> tuple[list[ClientReport], float]:
    """Run the load; returns each client's report and the wall time of the rerun phase.

    Without a ramp, all clients connect first and start rerunning together.
    """
    reports = [ClientReport() for _ in range(spec.clients)]
    barrier = asyncio.Barrier(spec.clients + 1) if spec.ramp_s == 0 else None
    tasks = [
        asyncio.create_task(run_client(i, base_url, spec, barrier, reports[i], on_rerun))
        for i in range(spec.clients)
    ]
    start = time.perf_counter()
    try:
        async with asyncio.timeout(spec.cap_s):
            if barrier is not None:
                await barrier.wait()
                start = time.perf_counter()
            await asyncio.gather(*tasks)
    except TimeoutError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return reports, time.perf_counter() - start


# --------------------------------------------------------------------------- summary


def error_counts(reports: list[ClientReport]) -> Counter:
    """Errors by kind: per rerun for page errors, per client for stops."""
    counts: Counter = Counter()
    for report in reports:
        counts.update(r.error for r in report.reruns if r.error)
        if report.stopped:
            counts[report.stopped] += 1
    return counts


def summarize(reports: list[ClientReport], wall_s: float, spec: LoadSpec) -> dict:
    """Latency percentiles (ms) of first and steady reruns, throughput and errors."""
    first = [r.reruns[0].latency_s * 1e3 for r in reports if r.reruns]
    steady = [x.latency_s * 1e3 for r in reports for x in r.reruns[1:]]
    done = sum(len(r.reruns) for r in reports)
    runs = [x.runs for r in reports for x in r.reruns]
    steady_bytes = [x.received_bytes for r in reports for x in r.reruns[1:]]
    return {
        "page": spec.page,
        "query": spec.query,
        "clients": spec.clients,
        "reruns": spec.reruns,
        "completed": done,
        "first_ms": {q: percentile(first, q) for q in (50, 95, 100)},
        "steady_ms": {q: percentile(steady, q) for q in (50, 95, 100)},
        "all_ms": {q: percentile(first + steady, q) for q in (50, 95, 100)},
        "throughput": done / wall_s if wall_s > 0 else math.nan,
        "wall_s": wall_s,
        "errors": dict(error_counts(reports)),
        "script_runs_per_rerun_max": max(runs, default=0),
        "first_kb": statistics.median([r.reruns[0].received_bytes for r in reports if r.reruns])
        / 1024
        if first
        else math.nan,
        "steady_kb": statistics.median(steady_bytes) / 1024 if steady_bytes else math.nan,
        "connect_p95_ms": percentile([r.connect_s * 1e3 for r in reports if r.reruns], 95),
        "sessions": len({r.session_id for r in reports if r.session_id}),
        # Clients whose page showed each watched text at least once, and those that left.
        "seen": {w: sum(any(w in x.seen for x in r.reruns) for r in reports) for w in spec.watch},
        "left": sum(r.left for r in reports),
    }


# --------------------------------------------------------------------------- one run


@contextlib.contextmanager
def own_server(script: str = "app.py") -> Iterator[tuple[str, int]]:
    """``script`` served as ``make run`` serves app.py (deploy.serve); yields (url, pid)."""
    from tests.browser.conftest import start_streamlit

    with start_streamlit(script, "streamlit-loadtest") as base_url:
        yield base_url, child_pid_on_port(urlsplit(base_url).port)


async def warm_up(base_url: str, spec: LoadSpec) -> float:
    """One visit of the page (one rerun), so imports and caches are done; its latency in ms."""
    query = spec.query if spec.warm_query is None else spec.warm_query
    warm = LoadSpec(spec.page, query, clients=1, reruns=1, timeout_s=spec.cap_s)
    reports, _ = await drive(base_url, warm)
    if not reports[0].reruns or error_counts(reports):
        raise RuntimeError(f"the warm-up visit failed: {error_counts(reports)}")
    return reports[0].reruns[0].latency_s * 1e3


async def measured_load(base_url: str, pid: int, spec: LoadSpec) -> dict:
    """Warm up, run the load while watching the server's memory and CPU, await recovery."""
    memory = {"cold_mb": rss_mb(pid), "cold_first_run_ms": await warm_up(base_url, spec)}
    idle = memory["idle_mb"] = rss_mb(pid)
    by_rerun: list[float] = []

    def on_rerun(client: int, index: int) -> None:
        if client == 0:
            by_rerun.append(rss_mb(pid))

    cpu_before, client_cpu = cpu_seconds(pid), time.process_time()
    reports, wall = await drive(base_url, spec, on_rerun)
    summary = summarize(reports, wall, spec)
    server_cpu = cpu_seconds(pid) - cpu_before
    summary["server_cpu_ms_per_rerun"] = server_cpu * 1e3 / max(summary["completed"], 1)
    summary["server_cores"] = server_cpu / wall if wall > 0 else math.nan
    summary["client_cores"] = (time.process_time() - client_cpu) / wall if wall > 0 else math.nan
    memory["peak_mb"] = hwm_mb(pid)
    memory.update(await await_recovery(pid, idle, spec.watch_s))
    if spec.clients == 1:
        memory.update(growth(by_rerun))
    return {**summary, "memory": memory}


def run_load(spec: LoadSpec, url: str | None = None) -> dict:
    """One load against ``url``, or against a server started (and stopped) for it."""
    spec.checked()
    load_before = os.getloadavg()[0]
    if url:
        reports, wall = asyncio.run(drive(url.rstrip("/"), spec))
        result = summarize(reports, wall, spec)
    else:
        with own_server(spec.script) as (base_url, pid):
            result = asyncio.run(measured_load(base_url, pid, spec))
    result["load"] = (load_before, os.getloadavg()[0])
    return result


# --------------------------------------------------------------------------- scenarios

WATCH_S = 45.0  # after the 60 sessions: past server.disconnectedSessionTTL (30 s)


@dataclass(frozen=True)
class Scenario:
    """A standard load and its name in the tables."""

    name: str
    spec: LoadSpec
    title: str


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("playground-30", LoadSpec("playground", clients=30), "playground, 30 x 5"),
        Scenario(
            "playground-60",
            LoadSpec("playground", clients=60, watch_s=WATCH_S),
            "playground, 60 x 5",
        ),
        Scenario("mining-30", LoadSpec("mining", clients=30), "mining (blobs), 30 x 5"),
        Scenario(
            "growth-200", LoadSpec("playground", clients=1, reruns=200), "playground, 1 x 200"
        ),
        Scenario(
            "paced-30",
            LoadSpec("playground", clients=30, ramp_s=2.0, think_s=2.0),
            "playground, 30 x 5 paced (2 s ramp, 2 s think)",
        ),
    )
}


@dataclass(frozen=True)
class Target:
    """One of the issue's targets: a figure of a scenario's run and its upper limit."""

    scenario: str
    text: str
    figure: Callable[[dict], float]
    limit: float
    unit: str = " ms"


def total_errors(result: dict) -> float:
    return float(sum(result["errors"].values()))


def recovery_s(result: dict) -> float:
    """Seconds until the RSS was back within 100 MB of idle; inf if not within 2 minutes."""
    seconds = result["memory"]["recovery_s"]
    return math.inf if seconds is None else seconds


TARGETS = (
    Target("playground-30", "p50 <= 300 ms (steady)", lambda r: r["steady_ms"][50], 300),
    Target("playground-30", "p95 <= 600 ms (steady)", lambda r: r["steady_ms"][95], 600),
    Target("playground-30", "p50 <= 300 ms (all 5 reruns)", lambda r: r["all_ms"][50], 300),
    Target("playground-30", "p95 <= 600 ms (all 5 reruns)", lambda r: r["all_ms"][95], 600),
    Target("playground-30", "0 errors", total_errors, 0, ""),
    Target("playground-60", "0 errors", total_errors, 0, ""),
    Target(
        "playground-60",
        "after 60 sessions: RSS within 100 MB of idle within 2 min",
        recovery_s,
        RECOVERY_WINDOW_S,
        " s",
    ),
    Target(
        "growth-200",
        f"no per-session growth: RSS(200) - RSS({GROWTH_FROM}) <= 20 MB",
        lambda r: r["memory"]["growth_mb"],
        20,
        " MB",
    ),
)


def median_of(results: list[dict], figure: Callable[[dict], float]) -> float:
    """The median of a figure over repeated runs (NaN when no run has it)."""
    values = []
    for result in results:
        with contextlib.suppress(KeyError, TypeError):
            values.append(figure(result))
    return statistics.median(values) if values else math.nan


def fmt(value: float, unit: str = "", digits: int = 0) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value:.{digits}f}{unit}"


def percentiles_cell(results: list[dict], key: str) -> str:
    """``p50 / p95 / max`` in ms, each the median over the runs."""
    return " / ".join(fmt(median_of(results, lambda r, q=q: r[key][q])) for q in (50, 95, 100))


def errors_cell(result: dict) -> str:
    """Total errors, with their kinds when there are any."""
    errors = result["errors"]
    if not errors:
        return "0"
    kinds = ", ".join(f"{kind} {errors[kind]}" for kind in ERROR_KINDS if kind in errors)
    return f"{sum(errors.values())} ({kinds})"


def memory_cell(results: list[dict]) -> str:
    """RSS idle / peak / after in MB, medians; with the later sample when one was taken."""
    figures = [median_of(results, lambda r, k=k: r["memory"][k]) for k in MEMORY_KEYS]
    cell = " / ".join(fmt(v) for v in figures)
    watched = median_of(results, lambda r: r["memory"]["watched_mb"])
    if not math.isnan(watched):
        cell += f"; {WATCH_S:.0f} s later {fmt(watched)}"
    return cell


MEMORY_KEYS = ("idle_mb", "peak_mb", "after_mb")


def scenario_row(scenario: Scenario, results: list[dict]) -> list[str]:
    """One line of the main table: medians over the scenario's runs."""
    return [
        f"`{scenario.name}`",
        scenario.title,
        percentiles_cell(results, "first_ms"),
        percentiles_cell(results, "steady_ms"),
        fmt(median_of(results, lambda r: r["throughput"]), digits=1),
        ", ".join(errors_cell(r) for r in results),
        fmt(median_of(results, lambda r: r["server_cpu_ms_per_rerun"]))
        + f" ({fmt(median_of(results, lambda r: r['server_cores']), digits=2)})",
        memory_cell(results),
        fmt(median_of(results, recovery_s), " s"),
        ", ".join(f"{r['load'][0]:.1f}" for r in results),
    ]


MAIN_HEADER = [
    "scenario",
    "load",
    "first run p50 / p95 / max (ms)",
    "steady p50 / p95 / max (ms)",
    "reruns/s",
    "errors (each run)",
    "server CPU ms / rerun (cores used)",
    "server RSS idle / peak / after (MB)",
    "back within 100 MB of idle after",
    "load average before (each run)",
]


def target_rows(runs: dict[str, list[dict]]) -> list[list[str]]:
    """Each target: the median figure, met or not, and in how many single runs it held."""
    rows = []
    for target in TARGETS:
        results = runs.get(target.scenario)
        if not results:
            continue
        value = median_of(results, target.figure)
        held = sum(target.figure(r) <= target.limit for r in results)
        verdict = "**met**" if value <= target.limit else "**NOT met**"
        rows.append(
            [
                f"`{target.scenario}`: {target.text}",
                fmt(value, target.unit, 1 if target.unit == " MB" else 0),
                verdict,
                f"{held}/{len(results)}",
            ]
        )
    return rows


def detail_row(name: str, index: int, result: dict) -> list[str]:
    """One single run's figures."""
    mem = result["memory"]
    growth_mb = mem.get("growth_mb")
    return [
        f"`{name}` #{index}",
        percentiles_cell([result], "first_ms"),
        percentiles_cell([result], "steady_ms"),
        f"{result['throughput']:.1f}",
        errors_cell(result),
        f"{result['server_cores']:.2f} / {result['client_cores']:.2f}",
        f"{result['first_kb']:.0f} / {result['steady_kb']:.0f}",
        " / ".join(f"{mem[k]:.0f}" for k in ("cold_mb", *MEMORY_KEYS)),
        "-" if growth_mb is None else f"{growth_mb:+.1f} ({mem['growth_mb_per_100']:+.2f})",
        f"{mem['cold_first_run_ms']:.0f}",
        f"{result['load'][0]:.1f} / {result['load'][1]:.1f}",
    ]


DETAIL_HEADER = [
    "run",
    "first p50 / p95 / max (ms)",
    "steady p50 / p95 / max (ms)",
    "reruns/s",
    "errors",
    "cores used: server / clients",
    "KB received per rerun: first / steady",
    "RSS cold / idle / peak / after (MB)",
    f"RSS growth {GROWTH_FROM} -> last (MB; fitted MB per 100 reruns)",
    "server's first script run (ms)",
    "load average before / after",
]

NOTES = """\
How it is measured (`bench/loadtest.py`): websocket clients in one asyncio process speak
Streamlit's own protocol (no browser) to a fresh `streamlit run app.py` per run. The
server's very first visit (torch and page imports) is a warm-up, not counted; idle RSS is
taken after it. A rerun is the time from sending `BackMsg.rerun_script` to the final
`ForwardMsg.script_finished`. *First run*: each client's first rerun (its session's
first script run; every element sent in full). *Steady*: its reruns 2..R (unchanged
charts come back as `ref_hash`, as for a browser's message cache). Unless paced, the
clients connect, then all start together and rerun back to back with no pause, so the
runs of all sessions queue in one server process. Errors: an `exception` element on the
page, a compile error or page not found (per rerun), a rerun unanswered in 60 s, a
refused or dropped connection (per client). Server RSS: `VmRSS` of the server process;
peak = `VmHWM`; after = the first sample (every 5 s, up to 2 min) within 100 MB of idle,
else the last. CPU: the server's user + system time over the load, per completed rerun,
and the cores it used on average; the clients' own CPU is shown per run. The machine has
2 cores and was shared with other work: the 1-minute load average is shown per run.

Reading the latencies: the server runs every session's script in one process, and the
GIL lets it use about one core at most (see *cores used*). Back to back, N clients then
wait about N x (server CPU per rerun) / (cores used) each: the median is set by the
server's CPU per rerun, not by the network or the clients. "45 s later": the RSS once
the closed sessions are past `server.disconnectedSessionTTL` (30 s).
"""


def report(runs: dict[str, list[dict]], elapsed_s: float) -> str:
    """The markdown written to ``bench/results/loadtest-cpu.md``."""
    repeats = max(len(results) for results in runs.values())
    lines = [
        f"Load test: {len(runs)} scenarios x {repeats} runs (`python -m bench.loadtest`), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, streamlit {streamlit.__version__}, "
        f"{os.cpu_count()} cores; took {elapsed_s / 60:.1f} min. Medians over the runs.",
        "",
        markdown_table(MAIN_HEADER, [scenario_row(SCENARIOS[n], r) for n, r in runs.items()]),
        "",
        markdown_table(["target (issue)", "median", "", "held in runs"], target_rows(runs)),
        "",
        "Every run:",
        "",
        markdown_table(
            DETAIL_HEADER,
            [
                detail_row(name, i, result)
                for name, results in runs.items()
                for i, result in enumerate(results, 1)
            ],
        ),
        "",
        NOTES,
    ]
    return "\n".join(lines)


def run_standard(names: list[str], repeats: int) -> dict[str, list[dict]]:
    """Run the named scenarios ``repeats`` times, interleaved (so load drifts hit all)."""
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names:
            print(f"[{repeat + 1}/{repeats}] {name} ...", file=sys.stderr, flush=True)
            result = run_load(SCENARIOS[name].spec)
            print(json.dumps(result, default=str), file=sys.stderr, flush=True)
            runs[name].append(result)
    return runs


def print_single(result: dict) -> None:
    """A plain summary of one load, then its JSON."""
    scene = result["query"] or "default scene"
    print(f"{result['page']} ({scene}): {result['clients']} clients x {result['reruns']} reruns")
    for label, key in (("first run", "first_ms"), ("steady", "steady_ms"), ("all", "all_ms")):
        print(f"  {label:9}  p50 / p95 / max: {percentiles_cell([result], key)} ms")
    print(
        f"  throughput {result['throughput']:.1f} reruns/s over {result['wall_s']:.1f} s; "
        f"errors {errors_cell(result)}"
    )
    memory = result.get("memory")
    if memory:
        print(
            f"  server RSS: cold {memory['cold_mb']:.0f} MB, idle {memory['idle_mb']:.0f} MB, "
            f"peak {memory['peak_mb']:.0f} MB, after {memory['after_mb']:.0f} MB (within "
            f"100 MB of idle after {fmt(recovery_s(result), ' s')}); server CPU "
            f"{result['server_cpu_ms_per_rerun']:.0f} ms per rerun"
        )
    print(
        f"  load average (1 min) before / after: {result['load'][0]:.1f} / {result['load'][1]:.1f}"
    )
    print(json.dumps(result, default=str))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="one standard scenario")
    parser.add_argument("--page", help="url path of the page (e.g. playground, mining)")
    parser.add_argument("--query", default="", help="query string, e.g. source=digits")
    parser.add_argument("--clients", type=int, default=30, help=f"<= {MAX_CLIENTS}")
    parser.add_argument("--reruns", type=int, default=5, help=f"per client, <= {MAX_RERUNS}")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds one rerun may take before it counts as a timeout",
    )
    parser.add_argument(
        "--cap",
        type=float,
        default=MAX_SECONDS,
        help=f"seconds the whole load may take, <= {MAX_SECONDS:.0f}",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=0.0,
        help="spread the clients' connections over this many seconds",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each client waits between an answer and its next rerun",
    )
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each standard scenario")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.page:
        spec = LoadSpec(args.page, args.query, args.clients, args.reruns, args.timeout)
        spec.cap_s, spec.ramp_s, spec.think_s = args.cap, args.ramp, args.think
        print_single(run_load(spec, args.url))
        return
    if args.scenario:
        print_single(run_load(SCENARIOS[args.scenario].spec, args.url))
        return
    start = time.monotonic()
    runs = run_standard(list(SCENARIOS), max(1, args.repeats))
    text = report(runs, time.monotonic() - start)
    RESULTS.write_text(text)
    print(text)
    print(f"written to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
