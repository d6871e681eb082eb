"""A shared training run, shown wherever the app shows one: computed once per server,
watched by many.

Pressing **Train** (or opening a link with ``autostart=1``) asks the process-wide
:class:`~lossviz.training.run_registry.RunRegistry` for the run of the settings: the first
session starts it in the registry's worker thread, every other session with the same
settings attaches to it, live while it computes and as a replay when it is done. The
session's script run then only waits and forwards the frames the worker publishes
(encoded once per run) to the browser's player, which animates them itself. Playback
(pause, step, scrub, restart) lives in each browser and never touches the computation.
A viewer holds a lease on the run it watches (released when its tab closes), the presets'
runs go first in a lane of their own, and :func:`prewarm` trains them at start-up.
The collapse page and the lesson's training steps show runs through :func:`show`.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import RerunException, get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check

from lossviz.core.device import describe_device
from lossviz.scenes.scene import CollapseScene
from lossviz.scenes.simclr_scenes import priority_keys as simclr_priority_keys
from lossviz.scenes.training_scenes import configs, priority_keys
from lossviz.training.collapse import load_points, train
from lossviz.training.frame_codec import encode_meta, frame_json
from lossviz.training.run_registry import (
    Lease,
    Progress,
    RegistryBusyError,
    RunKey,
    RunRegistry,
    SharedRun,
    run_id,
)
from lossviz.ui.components.player import feed, player
from lossviz.ui.inert import inert
from lossviz.ui.instruments.gif_download import gif_download

PLAYER = "collapse"


PUSH_SECONDS = 0.25  # while a run computes: at most one feed of new frames per this


PREVIEWS = 64  # step-0 pictures kept per process


@dataclass(frozen=True)
class RunView:
    """One place in the app that shows a shared run: its player and its session keys.

    ``player``: the player's name (one mounted per script run). ``watch_key``: the run id
    this session asked to train; ``play_key``: grows with every Train press (the browser
    starts playing); ``request_key``: set by the Train button's callback.
    """

    player: str

    @property
    def watch_key(self) -> str:
        return f"{self.player}.watching"

    @property
    def play_key(self) -> str:
        return f"{self.player}.play"

    @property
    def request_key(self) -> str:
        return f"{self.player}.train_requested"


COLLAPSE_VIEW = RunView(PLAYER)


@st.cache_resource(show_spinner=False)
def registry() -> RunRegistry:
    """The process's runs. Rebuilt if a client clears the cache: runs are recomputed."""
    return RunRegistry()


def prewarm(runs: RunRegistry | None = None) -> int:
    """Queue every priority run (start-up), the collapse page's and then the SimCLR page's: the
    worker trains them in the background, before any custom run, so the class's links open
    trained. Returns how many it asked for."""
    runs = registry() if runs is None else runs
    keys = (*priority_keys(), *simclr_priority_keys())
    for key in keys:
        runs.start(key, priority=True)
    return len(keys)


def viewer_id() -> str:
    """This browser session's id (the registry's viewer), or "" outside a script run."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else ""


def session_connected() -> bool:
    """Whether this script run's browser tab is still connected.

    Checked against Streamlit 1.67: a closed tab's session leaves the session
    manager's active sessions at once (``Runtime.is_active_session``) while it is
    kept ``server.disconnectedSessionTTL`` for a reconnect, and its script run would
    go on. True outside a server (bare mode; AppTest's runtime is a stand-in).
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return True
    return bool(Runtime.instance().is_active_session(ctx.session_id))


def keep_watching() -> bool:
    """False once the tab closed; raises Streamlit's stop or rerun exception when one is
    pending, as the next ``st`` call would (``get_run_yield_check``, Streamlit 1.67)."""
    check = get_run_yield_check()
    if check is not None:
        check()
    return session_connected()


@functools.lru_cache(maxsize=PREVIEWS)
def preview(key: RunKey) -> tuple[dict, bytes]:
    """``(meta, frame 0)`` of a configuration: the encoders before training (~20 ms, cached).

    The same numbers as the shared run's first frame (``train`` is deterministic),
    without starting it.
    """
    first = tuple(next(train(config)) for config in key)
    names = load_points(key[0].dataset).names
    return encode_meta(key, first, names), frame_json(first, first)


def request_training(view: RunView = COLLAPSE_VIEW) -> None:
    """The Train button's callback: the script starts (or joins) the run after the widgets."""
    st.session_state[view.request_key] = True


def watching(key: RunKey, view: RunView = COLLAPSE_VIEW) -> bool:
    """Whether this session asked for the run of ``key`` (and has not changed settings since)."""
    if st.session_state.pop(view.request_key, False):
        st.session_state[view.watch_key] = run_id(key)
        st.session_state[view.play_key] = st.session_state.get(view.play_key, 0) + 1
    return st.session_state.get(view.watch_key) == run_id(key)


def show(scene: CollapseScene, view: RunView = COLLAPSE_VIEW, gif: bool = True) -> SharedRun | None:
    """Status, the player and the feeds: the run if this session asked for it, else step 0.

    While the run computes, this script run holds a lease on it, waits and forwards
    new frames at most every ``PUSH_SECONDS``; it returns once the run ends or the tab
    closed. Returns the run this session watched (None while it shows the preview);
    ``gif``: offer the finished run as a GIF.
    """
    key = tuple(configs(scene))
    meta, first = preview(key)
    status = st.empty()
    alerts = st.container()  # above the player: a stopped run's message is seen first
    lease = ask(key, status, view) if watching(key, view) else None
    if lease is None:
        registry().unwatch(viewer_id())  # a queued run this tab left for a preview goes
        player(view.player, f"preview-{run_id(key)}", meta, [first], True, note=PREVIEW_NOTE,
               preview=True)  # fmt: skip
        return None
    progress = follow(lease, meta, status, view)
    run = lease.run
    if not progress.ended:
        return run  # the tab closed: nobody sees the rest
    if progress.state == "dropped":
        status.warning(DROPPED_TEXT, icon=":material/hourglass_disabled:")
        return run
    status.caption(done_text(run, progress))
    if progress.error:
        alerts.error(
            f"The training could not be computed ({inert(progress.error)}). Try other settings."
        )
    for message in stopped_messages(run):
        alerts.error(inert(message), icon=":material/warning:")
    if progress.finished and not progress.error and gif:
        gif_download(run)
    return run


PREVIEW_NOTE = "Step 0: the encoder before training. Press Train to watch it learn."


DROPPED_TEXT = "This training left the queue: this page asked for other settings since."


def ask(
    key: RunKey, status, view: RunView = COLLAPSE_VIEW, priority: bool | None = None
) -> Lease | None:
    """This session's lease on the run of ``key``, or None (and a warning) when the server is
    busy; the presets and the default scene are never refused (``priority``; by default the
    collapse page's :func:`priority_keys`)."""
    if priority is None:
        priority = key in priority_keys()
    try:
        return registry().watch(key, viewer_id(), priority=priority)
    except RegistryBusyError as busy:
        st.session_state.pop(view.watch_key, None)
        status.warning(str(busy), icon=":material/hourglass_top:")
        return None


def follow(lease: Lease, meta: dict, status, view: RunView = COLLAPSE_VIEW) -> Progress:
    """Mount the player and forward the run's frames while holding ``lease``; release it after.

    A rerun of this tab (an exception raised at a yield point) lets a queued run keep
    its place for the next script run; a stop or a closed tab releases it for good.
    """
    with holding(lease) as run:
        progress = run.progress()
        play = st.session_state.get(view.play_key, 0)
        player(view.player, run.id, meta, run.encoded(0, progress.frames), progress.finished, play)
        return forward_frames(run, progress, status, view.player)


@contextlib.contextmanager
def holding(lease: Lease) -> Iterator[SharedRun]:
    """Hold ``lease`` while the block runs; release it after. A rerun of this tab (an
    exception raised at a yield point) lets a queued run keep its place for the next
    script run; a stop or a closed tab releases it for good."""
    rerun = False
    try:
        yield lease.run
    except RerunException:
        rerun = True
        raise
    finally:
        lease.release(keep=rerun)


def forward_frames(
    run: SharedRun, progress: Progress, status, player_name: str | None = PLAYER
) -> Progress:
    """Feed the browser every frame published after ``progress``, until the run ends.

    ``player_name`` None: no player to feed, only the status follows the run.
    Returns early (the run not ended) once the tab is closed (:func:`keep_watching`).
    Each feed is a new element in a 1-pixel box: feeds replacing each other in one slot
    could be merged by the front end before the first was drawn, and its frames lost.
    """
    box = st.container(height=1, border=False) if player_name is not None else None
    sent = progress.frames
    shown = ""
    while not progress.ended:
        text = live_text(run, progress)
        if text != shown:
            status.info(text, icon=":material/model_training:")
            shown = text
        if not keep_watching():
            return progress
        pushed = time.monotonic()
        progress = run.wait(sent, timeout=PUSH_SECONDS)
        if progress.frames > sent and not progress.ended:
            time.sleep(max(0.0, PUSH_SECONDS - (time.monotonic() - pushed)))
            progress = run.progress()  # frames that came during the pause go in this feed
        if box is not None and (progress.frames > sent or progress.finished):
            with box:
                feed(player_name, run.id, sent, run.encoded(sent, progress.frames),
                     progress.finished)  # fmt: skip
        sent = progress.frames
    return progress


def live_text(run: SharedRun, progress: Progress) -> str:
    """The status while the run computes: queued (how many before it), paused or training."""
    if progress.state == "queued":
        return (
            f"Queued on this server: {progress.ahead} training(s) before this one. "
            "It starts by itself; keep the page open (closing it leaves the queue)."
        )
    frames = run.frames(progress.frames - 1, progress.frames) if progress.frames else []
    step = max((s.step for s in frames[0]), default=0) if frames else 0
    if progress.state == "paused":
        return (
            f"Paused on this server at step {step} of {run.key[0].steps} while "
            f"{progress.ahead} preset training(s) go first. It goes on by itself; keep the "
            "page open."
        )
    turns = f", taking turns with {progress.sharing} other training(s)" if progress.sharing else ""
    return (
        f"Training on the server{turns}: step {step} of {run.key[0].steps}. It runs once for "
        "everyone who opens these settings; your view follows it."
    )


def done_text(run: SharedRun, progress: Progress) -> str:
    speed = progress.steps_per_second
    speed = f", {speed:,.0f} training steps per second" if speed else ""
    return (
        f"Trained once on this server ({describe_device()}{speed}) and shared by everyone who "
        f"opens these settings. Pause, the step buttons and the slider move only your view; "
        f"▶ Replay plays it again."
    )


def stopped_messages(run: SharedRun) -> list[str]:
    """The guard's message for every run it stopped (from the last frame)."""
    last = run.frames(-1) if run.progress().frames else []
    return [s.stopped for s in last[0] if s.stopped] if last else []
