"""The pieces of ``bench.quiz_rooms``: scripted class-quiz clients, the servers and the stores.

Clients. Everything speaks Streamlit's own websocket protocol through ``bench.loadtest``'s pieces
(``handshake``, ``TabState``, ``Rerun``) and presses the page's own widgets by the ids the
page sent, as a browser does:

- :class:`Browser`: a cookie jar and a network address. Its health request (``GET
  /_stcore/health``, which sets Streamlit's XSRF cookie and, behind ``make serve``'s nginx,
  the worker cookie) and its websockets leave from ``address`` (``127.0.X.N``, of the
  loopback network: the server sees one client address per browser) and send every cookie it
  holds. It keeps what the page's ``cookies`` element writes (``lossviz_seat``, the
  teacher's ``lossviz_key_<CODE>``), as the element's script does in a browser, unless it
  was made with ``keeps_cookies=False``.
- :class:`Page`: one tab of a browser on the class-quiz page: one websocket session;
  :meth:`Page.run` is one rerun carrying widget states (a text's value, a button's
  trigger) and returns when its run ends (``script_finished``).
- :func:`view_of`: what a run showed, read from its elements (the "Question k of N"
  metric, the answer and onward buttons, the answer's feedback, the join form, notices).
- :class:`Pupil` and :func:`play`: a student who joins and answers a planned kind per
  question, pausing 0.5 to 1.5 times ``think_s`` before each press; optionally coming back
  by itself (a new session with the same cookies) when its websocket closes.
- :func:`teacher`: the teacher's link, rerun every ``every_s`` seconds.

An answer is *acknowledged* when a run of the page showed its feedback ("Right: it is
X." / "Not quite: you said X, ...") for that question; the kind shown is recorded.

Servers and stores:

- :class:`AppServer`: app.py started as ``make run`` starts it (``deploy.serve``'s
  ``app_command`` and ``app_env``, i.e. ``streamlit run app.py`` with the repository's
  ``.streamlit/config.toml``) on 127.0.0.1 and a port that stays the same across
  :meth:`AppServer.stop` and :meth:`AppServer.start`; extra environment variables (where
  the rooms live) are given to it only, and its output goes to ``test-artifacts/``.
- :func:`environment`: variables set in this process for a while (``deploy.serve.cluster``
  copies our environment into its workers).
- :func:`new_room`: a room opened through ``RoomStore.create_room`` with the settings and
  answer key the teacher's "Open a room" button stores (the click itself is covered by
  ``tests/browser/test_class_quiz_browser.py``).
- :func:`stored`: what the database holds for a room, read with plain ``sqlite3`` or
  ``psycopg``, not through the app's store.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import http.client
import json
import math
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.loadtest import MAX_MESSAGE_BYTES, Rerun, TabState, cookies_from, handshake
from deploy.serve import (
    START_TIMEOUT_S,
    WORKER_COOKIE,
    app_command,
    app_env,
    free_port,
    stop,
    wait_healthy,
)

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
SEED = 11  # the quiz scene's seed: the room's ten questions

PAGE = "class_quiz"
KIND_LABELS = ("easy", "semi-hard", "hard")  # lossviz.core.triplets.Kind 0, 1, 2
ONWARD = ("Next question", "See my score")
TIMEOUT_S = 60.0  # one run's answer
RECONNECT_EVERY_S = 0.5  # a page whose websocket closed tries again about this often
RECONNECT_TIMEOUT_S = 120.0

# The cookies the page's `cookies` element writes (lossviz.ui.browser_identity).
SEAT_COOKIE = "lossviz_seat"
COOKIES_ELEMENT = "lossviz.cookies"

# What the page says (lossviz.ui.class_quiz_page, lossviz.rooms.store, lossviz.ui.quiz_page).
JOINED_AS = "You joined as: "
UNAVAILABLE = "Class rooms are unavailable just now"
JOIN_WAIT = ("Someone on your network joined a moment ago", "Too many tries to join from")
REJOINED = "This browser already has a seat here"
ROUND_OVER = "Round over"
FEEDBACK = re.compile(
    r"^(?:Right: it is \*\*(?P<right>[a-z-]+)\*\*|Not quite: you said (?P<said>[a-z-]+),)"
)
REFUSALS = ("Too fast", "Join the room first", "There is no room", "not a room code", "full",
            "removed", "locked", "not valid", "nickname")  # fmt: skip

CONNECTION_ERRORS = (OSError, http.client.HTTPException, InvalidHandshake, ConnectionClosed)


def plain(markdown: str) -> str:
    """A message's characters without ``inert``'s escapes (backslashes, word joiners)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def trigger(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


def text_value(widget_id: str, value: str) -> WidgetState:
    return WidgetState(id=widget_id, string_value=value)


class Tab(TabState):
    """A tab that also remembers its last run's buttons, text fields, texts, metrics,
    headings and the cookies the page's ``cookies`` element asked the browser to keep."""

    def __init__(self, base_url: str, page: str, query: str) -> None:
        super().__init__(base_url, page, query)
        self.new_run()

    def new_run(self) -> None:
        self.buttons: dict[str, str] = {}  # label -> widget id
        self.inputs: dict[str, str] = {}
        self.texts: list[str] = []  # alerts and st.text bodies, in order
        self.metrics: dict[str, str] = {}
        self.headings: list[str] = []
        self.cookies_written: dict[str, str] = {}

    def absorb(self, msg: ForwardMsg, rerun: Rerun) -> bool:
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            kind = element.WhichOneof("type")
            if kind == "button":
                self.buttons[element.button.label] = element.button.id
            elif kind == "text_input":
                self.inputs[element.text_input.label] = element.text_input.id
            elif kind in ("alert", "text"):
                self.texts.append(plain(getattr(element, kind).body))
            elif kind == "metric":
                self.metrics[element.metric.label] = element.metric.body
            elif kind == "heading":
                self.headings.append(element.heading.body)
            elif kind == "bidi_component":
                self._cookies(element.bidi_component)
        return super().absorb(msg, rerun)

    def _cookies(self, component) -> None:
        if component.component_name != COOKIES_ELEMENT or component.WhichOneof("data") != "bytes":
            return
        with contextlib.suppress(ValueError, TypeError, KeyError):
            for cookie in json.loads(component.bytes)["cookies"]:
                self.cookies_written[str(cookie["name"])] = str(cookie["value"])


async def press(
    ws: ClientConnection, tab: Tab, states: Sequence[WidgetState] = (), timeout_s: float = TIMEOUT_S
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


# --------------------------------------------------------------------------- browsers and tabs


def health(base_url: str, cookies: dict[str, str], address: str | None, timeout_s: float):
    """``GET /_stcore/health`` from ``address`` with the browser's cookies; the cookies set."""
    parts = urlsplit(base_url)
    source = (address, 0) if address else None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s,
                                      source_address=source)  # fmt: skip
    try:
        header = "; ".join(f"{name}={value}" for name, value in cookies.items())
        conn.request("GET", f"{parts.path.rstrip('/')}/_stcore/health",
                     headers={"Cookie": header} if header else {})  # fmt: skip
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            raise ConnectionError(f"health answered {reply.status}")
        return cookies_from(reply.headers.get_all("Set-Cookie") or [])
    finally:
        conn.close()


@dataclass
class Browser:
    """A cookie jar and the address its requests leave from (see the module docstring)."""

    address: str | None = None
    keeps_cookies: bool = True
    cookies: dict[str, str] = field(default_factory=dict)

    async def connect(self, base_url: str, timeout_s: float = TIMEOUT_S) -> ClientConnection:
        """The health request, then the websocket, both with this browser's cookies."""
        fresh = await asyncio.to_thread(health, base_url, self.cookies, self.address, timeout_s)
        self.cookies.update(fresh)
        extra = {"local_addr": (self.address, 0)} if self.address else {}
        return await connect(
            **handshake(base_url, self.cookies),
            proxy=None,
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=timeout_s,
            **extra,
        )

    def keep(self, written: dict[str, str]) -> None:
        if self.keeps_cookies:
            self.cookies.update(written)

    @property
    def seat_cookie(self) -> str | None:
        return self.cookies.get(SEAT_COOKIE)


class Page:
    """One tab of ``browser`` on the class-quiz page at ``query``: one websocket session."""

    def __init__(self, browser: Browser, base_url: str, query: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.tab = Tab(base_url, PAGE, query)
        self.ws: ClientConnection | None = None

    async def open(self, timeout_s: float = TIMEOUT_S) -> Rerun:
        """Connect and run the page once (a page load); returns that first run."""
        self.ws = await self.browser.connect(self.base_url, timeout_s)
        return await self.run(timeout_s=timeout_s)

    async def run(self, states: Sequence[WidgetState] = (), timeout_s: float = TIMEOUT_S) -> Rerun:
        rerun = await press(self.ws, self.tab, states, timeout_s)
        self.browser.keep(self.tab.cookies_written)
        return rerun

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def closed_within(self, seconds: float) -> bool:
        """Wait ``seconds``; True at once if the websocket closes meanwhile (as a page sees it)."""
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await self.ws.wait_closed()
        except TimeoutError:
            return False
        return True


async def reopen(
    browser: Browser, base_url: str, query: str, timeout_s: float = RECONNECT_TIMEOUT_S
) -> tuple[Page, Rerun, int]:
    """A new session of ``browser`` at ``query`` (a reload, or the front end reconnecting),
    tried every ``RECONNECT_EVERY_S`` until its first run ends; the page, run and tries."""
    deadline = time.monotonic() + timeout_s
    tries = 0
    while True:
        tries += 1
        page = Page(browser, base_url, query)
        try:
            return page, await page.open(), tries
        except CONNECTION_ERRORS:
            await page.close()
            if time.monotonic() > deadline:
                raise TimeoutError("no reconnect") from None
            await asyncio.sleep(RECONNECT_EVERY_S)


# --------------------------------------------------------------------------- what a run showed


@dataclass
class View:
    """What one run of the student's page showed."""

    joined_as: str | None = None
    question: int | None = None  # 0-based position from the "Question k of N" metric
    length: int | None = None
    answer_buttons: bool = False
    onward: str | None = None  # "Next question" / "See my score"
    feedback: int | None = None  # the kind the feedback says was given
    join_form: bool = False
    over: bool = False
    notices: list[str] = field(default_factory=list)  # every other alert or text


def view_of(tab: Tab) -> View:
    view = View()
    if (shown := tab.metrics.get("Question")) and (m := re.fullmatch(r"(\d+) of (\d+)", shown)):
        view.question, view.length = int(m[1]) - 1, int(m[2])
    view.answer_buttons = all(label in tab.buttons for label in KIND_LABELS)
    view.onward = next((label for label in ONWARD if label in tab.buttons), None)
    view.join_form = "Nickname" in tab.inputs and "Join" in tab.buttons
    view.over = any(h.startswith(ROUND_OVER) for h in tab.headings)
    for text in tab.texts:
        if text.startswith(JOINED_AS):
            view.joined_as = text.removeprefix(JOINED_AS)
        elif m := FEEDBACK.match(text):
            view.feedback = KIND_LABELS.index(m["right"] or m["said"])
        else:
            view.notices.append(text)
    return view


def notice_kind(text: str) -> str | None:
    """``unavailable``, ``join wait``, ``rejoined``, ``refused: ...`` or None (not a notice)."""
    if text.startswith(UNAVAILABLE):
        return "unavailable"
    if text.startswith(JOIN_WAIT):
        return "join wait"
    if text.startswith(REJOINED):
        return "rejoined"
    if any(word in text for word in REFUSALS):
        return f"refused: {text[:60]}"
    return None


# --------------------------------------------------------------------------- students


@dataclass
class Progress:
    """Acknowledged answers of a whole class so far; ``reached`` is set at ``threshold``."""

    threshold: int = 0
    acked: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self) -> None:
        self.acked += 1
        if self.threshold and self.acked >= self.threshold:
            self.reached.set()


@dataclass
class Pupil:
    """A student: its browser, nickname and planned kinds, and what happened to it."""

    index: int
    nickname: str
    browser: Browser
    plan: list[int]  # the kind it presses for each question
    rng: random.Random
    expected: frozenset[str] = frozenset()  # notice kinds that are no error here
    page: Page | None = None
    pressed: dict[int, int] = field(default_factory=dict)  # question -> kind last pressed
    acked: dict[int, int] = field(default_factory=dict)  # question -> kind the feedback showed
    first_joined_as: str | None = None
    done: bool = False  # the page said the round is over
    latencies_s: list[float] = field(default_factory=list)
    answer_latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: Counter = field(default_factory=Counter)  # expected notices seen, by kind
    # (run sent, run ended), time.monotonic(), of each run that showed an expected notice
    notice_times: list[tuple[float, float]] = field(default_factory=list)
    drops: int = 0  # websockets that closed under it
    cut: int = 0  # presses whose answer a closed websocket cut off
    reconnects: list[dict] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    pinned: str | None = None  # behind nginx: the worker cookie after the first page load

    def see(self, rerun: Rerun, progress: Progress | None = None) -> View:
        """Record what a run showed: its latency, an acknowledged answer, notices, errors."""
        view = view_of(self.page.tab)
        self.latencies_s.append(rerun.latency_s)
        self.sessions.add(self.page.tab.session_id)
        if rerun.error:
            self.errors.append(f"page {rerun.error}")
        if view.joined_as is not None and self.first_joined_as is None:
            self.first_joined_as = view.joined_as
        if view.joined_as is not None and view.joined_as != self.nickname:
            self.errors.append(f"seat of {view.joined_as!r}, not {self.nickname!r}")
        if view.feedback is not None and view.question is not None:
            if view.question not in self.acked and progress is not None:
                progress.add()
            self.acked[view.question] = view.feedback
        self.done |= view.over
        for text in view.notices:
            kind = notice_kind(text)
            if kind is None:
                continue
            if kind in self.expected:
                self.notices[kind] += 1
                now = time.monotonic()
                sent = now - (0.0 if math.isnan(rerun.latency_s) else rerun.latency_s)
                self.notice_times.append((sent, now))
            else:
                self.errors.append(kind)
        return view


def plan_for(index: int, questions: int = 10) -> tuple[list[int], random.Random]:
    """A student's planned kinds (seeded by its index) and its think-time generator."""
    rng = random.Random(index)
    return [rng.randrange(3) for _ in range(questions)], rng


async def play(
    pupil: Pupil,
    base_url: str,
    code: str,
    think_s: float,
    stop_at: int | None = None,
    come_back: bool = False,
    progress: Progress | None = None,
    retry_s: float = 1.0,
) -> None:
    """Drive ``pupil``'s page until the round is over, or until it shows question ``stop_at``
    (0-based) unanswered; opens the page first if the pupil has none.

    Each step reads the last run: the join form -> type the nickname and press Join; an
    unanswered question -> press the planned kind; an answered one -> "Next question" (or
    "See my score"); only a notice (the store unavailable) -> run the page again after
    ``retry_s``. Before a press the pupil thinks 0.5 to 1.5 x ``think_s`` (``retry_s`` after
    an expected notice). With ``come_back``, a websocket that closes (seen while thinking, or
    cutting a press) is followed by a new session with the same cookies, as the front end
    reconnects; without it, that is an error and the pupil stops.
    """
    try:
        if pupil.page is None:
            pupil.page, first, _ = await reopen(pupil.browser, base_url, f"room={code}", TIMEOUT_S)
            pupil.pinned = pupil.browser.cookies.get(WORKER_COOKIE)
            view = pupil.see(first, progress)
        else:
            view = view_of(pupil.page.tab)
        while not pupil.done:
            if stop_at is not None and view.answer_buttons and view.question == stop_at:
                return
            notices = {notice_kind(t) for t in view.notices} & pupil.expected
            pause = retry_s if notices else think_s * pupil.rng.uniform(0.5, 1.5)
            states: list[WidgetState] = []
            tab = pupil.page.tab
            answering = None
            if view.join_form:
                states = [text_value(tab.inputs["Nickname"], pupil.nickname),
                          trigger(tab.buttons["Join"])]  # fmt: skip
            elif view.answer_buttons and view.question is not None:
                answering = view.question
                states = [trigger(tab.buttons[KIND_LABELS[pupil.plan[answering]]])]
            elif view.onward:
                states = [trigger(tab.buttons[view.onward])]
            elif not notices:
                shown = "; ".join(view.notices)[:120] or "nothing to press"
                pupil.errors.append(f"no way on (question {view.question}): {shown}")
                return
            if await pupil.page.closed_within(pause):
                view = await _come_back(pupil, base_url, progress, come_back, cut=False)
                continue
            try:
                rerun = await pupil.page.run(states)
            except ConnectionClosed:
                view = await _come_back(pupil, base_url, progress, come_back, cut=True)
                continue
            if answering is not None:
                pupil.pressed[answering] = pupil.plan[answering]
                pupil.answer_latencies_s.append(rerun.latency_s)
            view = pupil.see(rerun, progress)
    except _StoppedError:
        return
    except TimeoutError:
        pupil.errors.append("timeout")
    except CONNECTION_ERRORS as error:
        pupil.errors.append(f"connection: {type(error).__name__}")
    except Exception as error:  # noqa: BLE001 - any other failure is an error of this client
        pupil.errors.append(f"{type(error).__name__}: {error}")


class _StoppedError(Exception):
    """The pupil's websocket closed and it does not come back (already counted)."""


async def _come_back(
    pupil: Pupil, base_url: str, progress: Progress | None, come_back: bool, cut: bool
) -> View:
    pupil.drops += 1
    pupil.cut += cut
    if not come_back:
        pupil.errors.append("disconnect")
        raise _StoppedError
    noticed = time.monotonic()
    query = pupil.page.tab.query
    await pupil.page.close()
    pupil.page, first, tries = await reopen(pupil.browser, base_url, query)
    pupil.reconnects.append({"noticed": noticed, "back_s": time.monotonic() - noticed,
                             "tries": tries, "cut": cut})  # fmt: skip
    return pupil.see(first, progress)


def class_of(students: int, network: str, expected: frozenset[str] = frozenset()) -> list[Pupil]:
    """``students`` pupils "student 00", "student 01", ..., each its own browser (cookie jar)
    at its own address ``<network>.<10 + i>`` (``network``: three octets, e.g. 127.0.1)."""
    pupils = []
    for i in range(students):
        plan, rng = plan_for(i)
        browser = Browser(address=f"{network}.{10 + i}")
        pupils.append(Pupil(i, f"student {i:02d}", browser, plan, rng, expected))
    return pupils


async def run_class(
    urls: Sequence[str],
    teacher_url: str,
    code: str,
    key: str,
    pupils: list[Pupil],
    think_s: float,
    come_back: bool = False,
    progress: Progress | None = None,
    disruption=None,
    expected: frozenset[str] = frozenset(),
    cap_s: float = 300.0,
) -> dict:
    """A class round: the teacher's link rerun every 2 s (:func:`teacher`) while every pupil
    plays the whole round (:func:`play`) on ``urls[i % len(urls)]``. ``disruption``: a
    coroutine function awaited once ``progress`` reaches its threshold (cancelled if the
    class finishes first); its result is returned as ``disruption``. ``wall_s``: from the
    start until the last pupil stopped (at most ``cap_s``)."""
    done = asyncio.Event()
    teacher_task = asyncio.create_task(
        teacher(teacher_url, code, key, done, come_back=come_back, expected=expected)
    )
    disrupt_task = None
    if disruption is not None:

        async def when_reached():
            await progress.reached.wait()
            return await disruption()

        disrupt_task = asyncio.create_task(when_reached())
    start = time.perf_counter()
    plays = [play(p, urls[i % len(urls)], code, think_s, come_back=come_back, progress=progress)
             for i, p in enumerate(pupils)]  # fmt: skip
    capped = False
    try:
        async with asyncio.timeout(cap_s):
            await asyncio.gather(*plays)
    except TimeoutError:
        capped = True
    wall = time.perf_counter() - start
    done.set()
    result = {"wall_s": wall, "capped": capped, "teacher": await teacher_task, "disruption": None}
    if disrupt_task is not None:
        if not progress.reached.is_set():
            disrupt_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            result["disruption"] = await disrupt_task
    return result


# --------------------------------------------------------------------------- teacher


async def teacher(
    base_url: str,
    code: str,
    key: str,
    done: asyncio.Event,
    every_s: float = 2.0,
    come_back: bool = False,
    expected: frozenset[str] = frozenset(),
) -> dict:
    """Open the teacher's link (``room=CODE&key=KEY``: the page keeps the key in the browser
    and goes to ``view=teacher``), then rerun it every ``every_s`` seconds until ``done``,
    and once more. With ``come_back`` a closed websocket is followed by a new session with
    the browser's cookies (the key's cookie included) at the page's address. Returns its
    run latencies, errors, reconnects and the last run's metrics."""
    browser = Browser()
    latencies: list[float] = []
    errors: list[str] = []
    notices: Counter = Counter()
    reconnects = 0
    page = None
    try:
        page, first, _ = await reopen(browser, base_url, f"room={code}&key={key}", TIMEOUT_S)
        latencies.append(first.latency_s)
        while True:
            finished = done.is_set()
            try:
                rerun = await page.run()
            except ConnectionClosed:
                if not come_back:
                    errors.append("disconnect")
                    break
                reconnects += 1
                query = page.tab.query
                await page.close()
                page, rerun, _ = await reopen(browser, base_url, query)
            latencies.append(rerun.latency_s)
            if rerun.error:
                errors.append(f"page {rerun.error}")
            for text in page.tab.texts:
                kind = notice_kind(text)
                if kind in expected:
                    notices[kind] += 1
                elif kind is not None:
                    errors.append(kind)
            if finished:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), every_s)
    except TimeoutError:
        errors.append("timeout")
    except CONNECTION_ERRORS as error:
        errors.append(f"connection: {type(error).__name__}")
    finally:
        if page is not None:
            await page.close()
    metrics = page.tab.metrics if page is not None else {}
    return {"latencies_s": latencies, "errors": errors, "notices": dict(notices),
            "reconnects": reconnects, "metrics": dict(metrics)}  # fmt: skip


# --------------------------------------------------------------------------- servers and stores


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM if the bench itself is killed (no stray servers)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM


class AppServer:
    """app.py as ``make run`` serves it, on 127.0.0.1:``port`` (see the module docstring)."""

    def __init__(self, name: str, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = app_env(**env)
        self.log_path = ARTIFACTS / f"{name}-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> float:
        """Start it and wait for ``/_stcore/health``; the seconds that took."""
        began = time.monotonic()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab" if self.starts else "wb") as log:
            self.process = subprocess.Popen(
                app_command("127.0.0.1", self.port),
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        self.starts += 1
        wait_healthy(self.url, self.process, START_TIMEOUT_S)
        return time.monotonic() - began

    def stop(self) -> None:
        """SIGTERM (Streamlit's own shutdown), SIGKILL after 10 s; by the process handle."""
        if self.process is not None:
            stop(self.process)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


@contextlib.contextmanager
def app_servers(name: str, env: dict[str, str], count: int = 1) -> Iterator[list[AppServer]]:
    """``count`` started :class:`AppServer` s with ``env``; all stopped on exit."""
    servers: list[AppServer] = []
    try:
        for i in range(count):
            servers.append(AppServer(f"{name}-{i + 1}", env))
            servers[-1].start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """``values`` set in ``os.environ`` for the block, the previous values restored after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def sqlite_env(path: Path) -> dict[str, str]:
    """Rooms in the SQLite file ``path`` (and no PostgreSQL URL inherited from us)."""
    from lossviz.rooms import DB_ENV, URL_ENV

    return {DB_ENV: str(path), URL_ENV: ""}


def postgres_env(url: str) -> dict[str, str]:
    from lossviz.rooms import URL_ENV

    return {URL_ENV: url}


def new_room(env: dict[str, str]) -> tuple[str, str]:
    """A room in the store ``env`` names, opened as the teacher's button opens one: its code
    and the teacher's key. The store is closed again (the servers use their own)."""
    from lossviz.rooms import RoomConfig, RoomStore
    from lossviz.scenes.scene import QuizScene
    from lossviz.teaching.quiz_rounds import make_round

    store = RoomStore(RoomConfig.from_env(env))
    try:
        answer_key = [int(q.kind) for q in make_round(SEED)]
        room, key = store.create_room(QuizScene(seed=SEED).to_query(), answer_key)
    finally:
        store.close()
    return room.code, key


def stored(env: dict[str, str], code: str) -> dict:
    """What the database ``env`` names holds for room ``code``, read with plain SQL:
    ``rows`` (nickname, question, kind) of every answer, ``joined`` (students' rows) and
    ``duplicates`` (answers beyond one per student and question; the table's key makes them
    impossible, they are counted anyway)."""
    from lossviz.rooms import DB_ENV, URL_ENV

    answers = ("SELECT s.nickname, a.question, a.kind FROM answers a "
               "JOIN students s ON s.id = a.student WHERE s.room = ?")  # fmt: skip
    students = "SELECT COUNT(*) FROM students WHERE room = ?"
    if env.get(URL_ENV):
        import psycopg

        with psycopg.connect(env[URL_ENV], autocommit=True) as db:
            rows = db.execute(answers.replace("?", "%s"), (code,)).fetchall()
            joined = db.execute(students.replace("?", "%s"), (code,)).fetchone()[0]
    else:
        with contextlib.closing(sqlite3.connect(env[DB_ENV])) as db:
            rows = db.execute(answers, (code,)).fetchall()
            joined = db.execute(students, (code,)).fetchone()[0]
    pairs = [(name, question) for name, question, _ in rows]
    return {"rows": [tuple(r) for r in rows], "joined": joined,
            "duplicates": len(pairs) - len(set(pairs))}  # fmt: skip


def answers_check(pupils: list[Pupil], held: dict) -> dict:
    """The class's answers against the database: ``stored``, ``duplicates``, ``lost``
    (acknowledged answers missing from it or stored with another kind), ``unacked`` (stored
    answers whose feedback the student's page never showed), ``mismatched`` (stored kinds
    that differ from the last kind the student pressed for that question)."""
    kept = {(name, q): k for name, q, k in held["rows"]}
    acked = {(p.nickname, q): k for p in pupils for q, k in p.acked.items()}
    pressed = {(p.nickname, q): k for p in pupils for q, k in p.pressed.items()}
    return {
        "stored": len(held["rows"]),
        "joined": held["joined"],
        "duplicates": held["duplicates"],
        "acked": len(acked),
        "lost": sum(kept.get(pair) != kind for pair, kind in acked.items()),
        "unacked": sum(pair not in acked for pair in kept),
        "mismatched": sum(pair in kept and kept[pair] != k for pair, k in pressed.items()),
    }


async def warm(base_url: str) -> None:
    """One visit of the class-quiz page (imports and caches done before anything is timed)."""
    page = Page(Browser(), base_url, "")
    try:
        await page.open()
    finally:
        await page.close()


# --------------------------------------------------------------------------- reporting

TARGET_HEADER = ["measured", "target", "result", "verdict"]


def verdict(ok: bool | None) -> str:
    """``met``, ``NOT met``, or ``-`` for a figure without a target."""
    return "-" if ok is None else ("met" if ok else "NOT met")


def row(what: str, target: str, result: object, ok: bool | None) -> list[str]:
    return [what, target, str(result), verdict(ok)]


def ms(values: Sequence[float], qs: Sequence[int] = (50, 95)) -> str:
    """Percentiles of ``values`` (seconds) in ms: ``"p50 / p95"``."""
    from bench.loadtest import percentile

    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    return " / ".join(f"{percentile([v * 1e3 for v in values], q):,.0f}" for q in qs)


def error_summary(errors: Sequence[str], shown: int = 8) -> str:
    """``kind x count`` of the most frequent errors."""
    counts = Counter(errors)
    return "; ".join(f"{kind} x {n}" for kind, n in counts.most_common(shown))


__all__ = ["KIND_LABELS", "PAGE", "SEAT_COOKIE", "TARGET_HEADER", "answers_check", "app_servers",
           "AppServer", "Browser", "class_of", "environment", "error_summary", "health", "ms",
           "new_room", "notice_kind", "Page", "plan_for", "play", "postgres_env", "press",
           "Progress", "Pupil", "reopen", "row", "run_class", "sqlite_env", "stored", "Tab",
           "teacher", "text_value", "trigger", "verdict", "View", "view_of", "warm"]  # fmt: skip
