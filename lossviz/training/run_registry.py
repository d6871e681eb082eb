"""Training runs computed once per process and shared by every viewer of the same configuration.

A run is a pure function of its configuration: the one or two configurations trained
side by side (:class:`~lossviz.training.collapse.TrainConfig` s for the collapse demo,
:class:`~lossviz.training.contrastive_training.ContrastiveConfig` s for the SimCLR demo;
every setting, seed included). :class:`RunRegistry` keys runs by that tuple. The
first caller that asks queues the run; one worker thread per registry computes
it, one recorded frame at a time; everyone else with the same configuration
gets the same :class:`SharedRun` and reads its published frames: live while it
computes, as a replay once it is done. Pausing or scrubbing a view never
touches the computation.

Two lanes. *Priority* runs (``priority=True``: the configurations a whole class
opens, such as the page's presets and the teacher's default link; callers keep
that set small and fixed) are advanced before any other run, taking turns among
themselves; they are never refused, never counted against the limits and never
evicted. *Custom* runs take turns between at most ``max_active`` computing runs
(so a short run is never stuck behind a long one) while at most ``max_waiting``
more wait; beyond that :meth:`RunRegistry.start` and :meth:`RunRegistry.watch`
raise :class:`RegistryBusyError`. While a priority run is unfinished the custom
runs that already started are *paused* (state "paused").

Viewers and leases. A browser session that watches a run holds a :class:`Lease`
on it (:meth:`RunRegistry.watch`) and releases it when it stops watching. A
queued custom run that nobody watches any more is dropped before it starts
(state "dropped"; asked again, it is queued afresh and computes the same
frames). A run once asked for without a viewer (:meth:`RunRegistry.start`:
tests, the start-up prewarm) is never dropped, and a run that started computing
is never dropped either. A viewer (a session id) holds at most one queued run:
watching another configuration releases its leases on queued runs. A lease
released with ``keep=True`` (the same tab runs its script again, e.g. Train
pressed twice) keeps an unwatched queued run in its place for ``handover_s``
seconds, for that viewer's next script run to take back.

Each published frame is encoded once for the browser, as JSON bytes
(:meth:`lossviz.training.side_by_side.SideBySide.encode`), so a viewer costs the bytes it is
sent. The registry keeps at most ``max_runs`` runs and ``max_bytes`` of
recorded data, dropping the least recently used *finished* custom run first; a
dropped run is computed again (identically) when someone asks for it.

Frames are published in order and never change, so a reader holding
``frames(0, n)`` may later read ``frames(n, m)`` and append.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from lossviz.training.side_by_side import AnyConfig, AnySnapshot, SideBySide

RunKey = tuple[AnyConfig, ...]

MAX_RUNS = 32
MAX_BYTES = 64 * 2**20
MAX_ACTIVE = 4
MAX_WAITING = 12
HANDOVER_S = 10.0  # a rerun of the same tab takes its queued run back within this

_ENDED = ("done", "dropped")


class RegistryBusyError(RuntimeError):
    """Too many unfinished runs are queued; the message says so in a student's words."""


def run_id(key: RunKey) -> str:
    """A short stable name for a configuration (the same in every process)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Progress:
    """Where a shared run stands, read at one moment.

    ``frames``: frames published so far; ``state``: "queued" (not started),
    "training", "paused" (started, waiting while priority runs compute), "done"
    or "dropped" (queued, then left by every viewer: it will not compute);
    ``ahead``: runs before this one (queued: every run computing or queued
    ahead of it; paused: the priority runs); ``sharing``: other runs of its lane
    computing in turns with it (training only); ``error``: why the computation
    failed (an unexpected exception, not the guard), or None.
    """

    frames: int
    state: str
    ahead: int = 0
    sharing: int = 0
    steps_per_second: float = 0.0
    error: str | None = None

    @property
    def finished(self) -> bool:
        """Computed to its end (or failed): every frame it will have is published."""
        return self.state == "done"

    @property
    def ended(self) -> bool:
        """Nothing more will be published: done, or dropped before it started."""
        return self.state in _ENDED


class SharedRun:
    """One configuration's run(s), computed by a registry's worker, read by anyone.

    Only the worker calls :meth:`_advance`; only the registry (holding its lock)
    touches ``priority``, ``pinned``, ``watchers`` and ``kept``. Every other
    method is safe to call from any thread at any time.
    """

    def __init__(self, key: RunKey, device: torch.device | str | None = None):
        self.key = key
        self.id = run_id(key)
        self.priority = False  # in the priority lane
        self.pinned = False  # asked for without a viewer: never dropped
        self.watchers = 0  # leases held on it
        self.kept: tuple[str, float] | None = None  # (viewer, until): kept for that viewer
        self._side: SideBySide | None = SideBySide(key, device)
        self._frames: list[tuple[AnySnapshot, ...]] = []
        self._encoded: list[bytes] = []
        self._changed = threading.Condition()
        self._state = "queued"
        self._error: str | None = None
        self._ahead = 0
        self._sharing = 0
        self._seconds = 0.0
        self.nbytes = 0

    # ----------------------------------------------------------------- readers

    def progress(self) -> Progress:
        with self._changed:
            return self._progress()

    def _progress(self) -> Progress:
        steps = max((s.step for s in self._frames[-1]), default=0) if self._frames else 0
        speed = steps * len(self.key) / self._seconds if self._seconds > 0 else 0.0
        return Progress(
            frames=len(self._frames),
            state=self._state,
            ahead=self._ahead if self._state in ("queued", "paused") else 0,
            sharing=self._sharing if self._state == "training" else 0,
            steps_per_second=speed,
            error=self._error,
        )

    def wait(self, seen: int, timeout: float) -> Progress:
        """Block until more than ``seen`` frames are published, the run ends, or ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._frames) <= seen and self._state not in _ENDED:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self._progress()

    def frames(self, start: int = 0, stop: int | None = None) -> list[tuple[AnySnapshot, ...]]:
        """Published frames ``[start, stop)``: ``frames()[i][r]`` is run r at the i-th record."""
        with self._changed:
            return self._frames[start:stop]

    def encoded(self, start: int = 0, stop: int | None = None) -> list[bytes]:
        """The same frames as :meth:`frames`, each encoded once as JSON bytes (shared)."""
        with self._changed:
            return self._encoded[start:stop]

    # ----------------------------------------------------------------- registry side

    def _set_queue(self, state: str, ahead: int = 0, sharing: int = 0) -> None:
        with self._changed:
            if self._state not in _ENDED:
                self._state, self._ahead, self._sharing = state, ahead, sharing
            self._changed.notify_all()

    def _drop(self) -> None:
        """Never compute: free the encoders and wake every reader."""
        with self._changed:
            self._state, self._side = "dropped", None
            self._changed.notify_all()

    def _advance(self) -> bool:
        """Compute one more frame of every run and publish it; True once the run is done."""
        side = self._side
        if side is None:
            return True
        start = time.perf_counter()
        try:
            side.advance()
            new = side.frames()[len(self._frames) :]
            first = new[0] if not self._frames else self._frames[0]
            encoded = [side.encode(frame, first) for frame in new]
            error = None
        except Exception as exc:  # a bug or an exhausted resource: say so, keep serving
            new, encoded = [], []
            error = f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - start
        with self._changed:
            self._frames.extend(tuple(frame) for frame in new)
            self._encoded.extend(encoded)
            self.nbytes += sum(side.frame_bytes(f, e) for f, e in zip(new, encoded, strict=True))
            self._seconds += elapsed
            if error is not None or side.finished:
                self._state, self._error = "done", error
                self._side = None  # free the encoders, optimisers and batch indices
            self._changed.notify_all()
            return self._state == "done"


class Lease:
    """A viewer's hold on a run while it watches it (:meth:`RunRegistry.watch`).

    ``run``: the run held; ``viewer``: who holds it (a browser session's id);
    ``released``: ended, by :meth:`release` or by the same viewer asking for
    another run while this one was queued. Releasing twice is harmless.
    """

    def __init__(self, registry: RunRegistry, run: SharedRun, viewer: str):
        self.run, self.viewer = run, viewer
        self.released = False
        self._registry = registry

    def release(self, keep: bool = False) -> None:
        """Stop watching. ``keep``: the viewer will likely ask again at once (its tab reruns),
        so a queued run nobody else watches keeps its place for the registry's
        ``handover_s``; otherwise such a run is dropped now."""
        self._registry._release(self, keep)

    def __enter__(self) -> SharedRun:
        return self.run

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class RunRegistry:
    """Process-wide shared runs, computed by one worker thread; see the module docstring.

    ``clock``: seconds for ``handover_s`` (tests pass their own).
    """

    def __init__(
        self,
        max_runs: int = MAX_RUNS,
        max_bytes: int = MAX_BYTES,
        max_active: int = MAX_ACTIVE,
        max_waiting: int = MAX_WAITING,
        device: torch.device | str | None = None,
        handover_s: float = HANDOVER_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        if min(max_runs, max_bytes, max_active) < 1 or min(max_waiting, handover_s) < 0:
            raise ValueError("registry limits must be positive")
        self.max_runs, self.max_bytes = max_runs, max_bytes
        self.max_active, self.max_waiting = max_active, max_waiting
        self.device, self.handover_s, self._clock = device, handover_s, clock
        self._runs: collections.OrderedDict[RunKey, SharedRun] = collections.OrderedDict()
        self._priority: collections.deque[SharedRun] = collections.deque()  # unfinished
        self._active: collections.deque[SharedRun] = collections.deque()
        self._waiting: collections.deque[SharedRun] = collections.deque()
        self._leases: dict[str, list[Lease]] = {}  # viewer -> its unreleased leases
        self._lock = threading.Condition()
        self._current: SharedRun | None = None  # the run the worker is advancing
        self._worker: threading.Thread | None = None
        self._closed = False

    # ----------------------------------------------------------------- public

    def get(self, configs: Sequence[AnyConfig]) -> SharedRun | None:
        """The run of ``configs`` if the registry holds it (marked as recently used)."""
        key = tuple(configs)
        with self._lock:
            self._evict()
            run = self._runs.get(key)
            if run is not None:
                self._runs.move_to_end(key)
            return run

    def start(self, configs: Sequence[AnyConfig], priority: bool = False) -> SharedRun:
        """The run of ``configs``: the one already held, else a new one queued for the worker.

        Asked for without a viewer, the run is never dropped. ``priority``: in the
        priority lane (see the module docstring). Raises :class:`RegistryBusyError`
        when a new custom run finds ``max_active + max_waiting`` custom runs
        unfinished, and ``ValueError`` for configurations that cannot run side by side.
        """
        with self._lock:
            run = self._obtain(tuple(configs), priority)
            run.pinned = True
            return run

    def watch(self, configs: Sequence[AnyConfig], viewer: str, priority: bool = False) -> Lease:
        """A lease of ``viewer`` on the run of ``configs`` (held, or queued as by :meth:`start`).

        First releases the viewer's leases on other runs that are still queued (one
        queued run per viewer), so a viewer's new request may take its old one's place.
        Raises as :meth:`start` does.
        """
        key = tuple(configs)
        with self._lock:
            self._forget_queued(viewer, keep_key=key)
            run = self._obtain(key, priority)
            run.watchers += 1
            run.kept = None
            lease = Lease(self, run, viewer)
            self._leases.setdefault(viewer, []).append(lease)
            return lease

    def unwatch(self, viewer: str) -> None:
        """``viewer`` watches nothing now: its queued runs that nobody else watches are dropped."""
        with self._lock:
            self._forget_queued(viewer)

    def stats(self) -> dict:
        """Runs held and their recorded bytes; unfinished runs by lane and state."""
        with self._lock:
            self._expire_kept()
            self._evict()
            return {
                "runs": len(self._runs),
                "bytes": sum(run.nbytes for run in self._runs.values()),
                "priority": len(self._priority_runs()),
                "active": len(self._custom_computing()),
                "waiting": len(self._waiting),
                "viewers": sum(len(leases) for leases in self._leases.values()),
            }

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker after its current frame (tests; a server never needs it)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join(timeout)

    # ----------------------------------------------------------------- queueing (lock held)

    def _obtain(self, key: RunKey, priority: bool) -> SharedRun:
        """The held run of ``key`` (moved to the priority lane if asked so), else a new one."""
        if self._closed:
            raise RuntimeError("the registry is closed")
        self._expire_kept()
        self._evict()
        run = self._runs.get(key)
        if run is not None:
            self._runs.move_to_end(key)
            if priority and not run.priority:
                self._promote(run)
            return run
        if not priority:
            self._check_room()
        run = SharedRun(key, self.device)
        run.priority = priority
        self._runs[key] = run
        (self._priority if priority else self._waiting).append(run)
        self._update_queue()
        self._ensure_worker()
        self._lock.notify_all()
        return run

    def _check_room(self) -> None:
        unfinished = len(self._custom_computing()) + len(self._waiting)
        if unfinished >= self.max_active + self.max_waiting:
            raise RegistryBusyError(
                f"The server is busy: {unfinished} trainings are computing or waiting. "
                "Try again in a few seconds, or pick settings someone already trained."
            )

    def _promote(self, run: SharedRun) -> None:
        """Move an unfinished custom run to the priority lane (the worker re-queues its own)."""
        run.priority = True
        for lane in (self._waiting, self._active):
            if run in lane:
                lane.remove(run)
                self._priority.append(run)
        self._update_queue()
        self._lock.notify_all()

    def _release(self, lease: Lease, keep: bool) -> None:
        with self._lock:
            self._end_lease(lease, keep)

    def _end_lease(self, lease: Lease, keep: bool) -> None:
        if lease.released:
            return
        lease.released = True
        leases = self._leases[lease.viewer]
        leases.remove(lease)
        if not leases:
            del self._leases[lease.viewer]
        run = lease.run
        run.watchers -= 1
        if keep and run.watchers == 0 and self.handover_s > 0:
            run.kept = (lease.viewer, self._clock() + self.handover_s)
        self._drop_if_unwatched(run)

    def _forget_queued(self, viewer: str, keep_key: RunKey | None = None) -> None:
        """Release ``viewer``'s leases on queued runs and its kept runs (but ``keep_key``'s)."""
        for lease in list(self._leases.get(viewer, ())):
            if lease.run.key != keep_key and lease.run in self._waiting:
                self._end_lease(lease, keep=False)
        for run in list(self._waiting):
            if run.kept is not None and run.kept[0] == viewer and run.key != keep_key:
                run.kept = None
                self._drop_if_unwatched(run)

    def _expire_kept(self) -> None:
        now = self._clock()
        for run in list(self._waiting):
            if run.kept is not None and run.kept[1] <= now:
                run.kept = None
                self._drop_if_unwatched(run)

    def _drop_if_unwatched(self, run: SharedRun) -> None:
        """Drop a queued custom run that nobody watches, keeps or asked for without a viewer."""
        if run.pinned or run.watchers or run.kept is not None or run not in self._waiting:
            return
        self._waiting.remove(run)
        if self._runs.get(run.key) is run:
            del self._runs[run.key]
        run._drop()
        self._update_queue()

    # ----------------------------------------------------------------- worker

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._work, name="lossviz-run-registry", daemon=True
            )
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                run = self._take_turn()
                if run is None:
                    return
            done = run._advance()
            with self._lock:
                self._current = None
                if not done:
                    (self._priority if run.priority else self._active).append(run)
                self._update_queue()
                if done:
                    self._evict()

    def _take_turn(self) -> SharedRun | None:
        """The next run to advance, waiting while there is none; None once closed.

        Priority runs first, in turns; else the computing custom runs in turns, topped
        up from the waiting ones in order (a custom run starts only while no priority
        run is unfinished, so it stays droppable until then). Call with the lock held.
        """
        while not self._closed:
            self._expire_kept()
            while not self._priority and self._waiting and len(self._active) < self.max_active:
                self._active.append(self._waiting.popleft())
            lane = self._priority or self._active
            if lane:
                self._current = lane.popleft()
                self._update_queue()
                return self._current
            self._lock.wait()
        return None

    def _priority_runs(self) -> list[SharedRun]:
        current = self._current
        return [*self._priority, *([current] if current and current.priority else [])]

    def _custom_computing(self) -> list[SharedRun]:
        current = self._current
        return [*self._active, *([current] if current and not current.priority else [])]

    def _update_queue(self) -> None:
        """Tell every unfinished run where it stands (call with the lock held)."""
        priority, computing = self._priority_runs(), self._custom_computing()
        for run in priority:
            run._set_queue("training", sharing=len(priority) - 1)
        for run in computing:
            if priority:
                run._set_queue("paused", ahead=len(priority))
            else:
                run._set_queue("training", sharing=len(computing) - 1)
        before = len(priority) + len(computing)
        for ahead, run in enumerate(self._waiting):
            run._set_queue("queued", ahead=before + ahead)

    def _evict(self) -> None:
        """Drop least recently used finished custom runs beyond the caps (lock held).

        Called by the worker when a run ends and by every public method, so a reader
        never sees more than the caps allow once a run has finished. Priority runs
        stay (a small fixed set that a whole class opens).
        """
        total = sum(run.nbytes for run in self._runs.values())
        for key in list(self._runs):
            if len(self._runs) <= self.max_runs and total <= self.max_bytes:
                return
            run = self._runs[key]
            if run.progress().finished and not run.priority:
                del self._runs[key]
                total -= run.nbytes


__all__ = [
    "HANDOVER_S",
    "MAX_ACTIVE",
    "MAX_BYTES",
    "MAX_RUNS",
    "MAX_WAITING",
    "Lease",
    "Progress",
    "RegistryBusyError",
    "RunKey",
    "RunRegistry",
    "SharedRun",
    "run_id",
]
