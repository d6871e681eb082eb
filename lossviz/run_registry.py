"""Training runs computed once per process and shared by every viewer of the same configuration.

A run is a pure function of its configuration: the one or two
:class:`~lossviz.collapse.TrainConfig` s trained side by side (both losses,
data, seed, every setting). :class:`RunRegistry` keys runs by that tuple. The
first viewer that asks (:meth:`RunRegistry.start`) queues the run; one worker
thread per registry computes it, one recorded frame at a time, taking turns
between at most ``max_active`` runs (so a short run is never stuck behind a
long one); everyone else with the same configuration gets the same
:class:`SharedRun` and reads its published frames: live while it computes, as
a replay once it is done. Nothing a viewer does (pausing, leaving) touches
the computation.

Each published frame is encoded once for the browser, as JSON bytes
(:func:`lossviz.frame_codec.frame_json`), so a viewer costs the bytes it is
sent. The registry keeps at most ``max_runs`` runs and ``max_bytes`` of
recorded data, dropping the least recently used *finished* run first; a
dropped run is computed again (identically) when someone asks for it. At
most ``max_active + max_waiting`` runs may be unfinished at once; beyond
that :meth:`RunRegistry.start` raises :class:`RegistryBusyError`.

Frames are published in order and never change, so a reader holding
``frames(0, n)`` may later read ``frames(n, m)`` and append.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lossviz.collapse import Snapshot, TrainConfig
from lossviz.collapse_run import SideBySide
from lossviz.frame_codec import frame_json

RunKey = tuple[TrainConfig, ...]

MAX_RUNS = 32
MAX_BYTES = 64 * 2**20
MAX_ACTIVE = 4
MAX_WAITING = 12

# Bytes a frame holds besides its points (snapshot objects, the encoded dict's keys).
_FRAME_OVERHEAD = 1024


class RegistryBusyError(RuntimeError):
    """Too many unfinished runs are queued; the message says so in a student's words."""


def run_id(key: RunKey) -> str:
    """A short stable name for a configuration (the same in every process)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Progress:
    """Where a shared run stands, read at one moment.

    ``frames``: frames published so far; ``state``: "queued", "training" or
    "done"; ``ahead``: runs that start before this one (0 unless queued);
    ``sharing``: other runs computing in turns with it; ``error``: why the
    computation failed (an unexpected exception, not the guard), or None.
    """

    frames: int
    state: str
    ahead: int = 0
    sharing: int = 0
    steps_per_second: float = 0.0
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state == "done"


class SharedRun:
    """One configuration's run(s), computed by a registry's worker, read by anyone.

    Only the worker calls :meth:`_advance`; every other method is safe to call
    from any thread at any time.
    """

    def __init__(self, key: RunKey, device: torch.device | str | None = None):
        self.key = key
        self.id = run_id(key)
        self._side: SideBySide | None = SideBySide(key, device)
        self._frames: list[tuple[Snapshot, ...]] = []
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
            ahead=self._ahead if self._state == "queued" else 0,
            sharing=self._sharing if self._state == "training" else 0,
            steps_per_second=speed,
            error=self._error,
        )

    def wait(self, seen: int, timeout: float) -> Progress:
        """Block until more than ``seen`` frames are published, the run ends, or ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._frames) <= seen and self._state != "done":
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self._progress()

    def frames(self, start: int = 0, stop: int | None = None) -> list[tuple[Snapshot, ...]]:
        """Published frames ``[start, stop)``: ``frames()[i][r]`` is run r at the i-th record."""
        with self._changed:
            return self._frames[start:stop]

    def encoded(self, start: int = 0, stop: int | None = None) -> list[bytes]:
        """The same frames as :meth:`frames`, each encoded once as JSON bytes (shared)."""
        with self._changed:
            return self._encoded[start:stop]

    # ----------------------------------------------------------------- worker side

    def _set_queue(self, state: str, ahead: int = 0, sharing: int = 0) -> None:
        with self._changed:
            if self._state != "done":
                self._state, self._ahead, self._sharing = state, ahead, sharing
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
            encoded = [frame_json(frame, first) for frame in new]
            error = None
        except Exception as exc:  # a bug or an exhausted resource: say so, keep serving
            new, encoded = [], []
            error = f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - start
        with self._changed:
            self._frames.extend(tuple(frame) for frame in new)
            self._encoded.extend(encoded)
            self.nbytes += sum(_frame_bytes(frame) for frame in new)
            self._seconds += elapsed
            if error is not None or side.finished:
                self._state, self._error = "done", error
                self._side = None  # free the encoders, optimisers and batch indices
            self._changed.notify_all()
            return self._state == "done"


def _frame_bytes(frame: Sequence[Snapshot]) -> int:
    points = sum(s.embeddings.numel() * s.embeddings.element_size() for s in frame)
    return points + points // 2 + _FRAME_OVERHEAD  # the tensors, their uint16 copy, the rest


class RunRegistry:
    """Process-wide shared runs, computed by one worker thread; see the module docstring."""

    def __init__(
        self,
        max_runs: int = MAX_RUNS,
        max_bytes: int = MAX_BYTES,
        max_active: int = MAX_ACTIVE,
        max_waiting: int = MAX_WAITING,
        device: torch.device | str | None = None,
    ):
        if min(max_runs, max_bytes, max_active) < 1 or max_waiting < 0:
            raise ValueError("registry limits must be positive")
        self.max_runs, self.max_bytes = max_runs, max_bytes
        self.max_active, self.max_waiting = max_active, max_waiting
        self.device = device
        self._runs: collections.OrderedDict[RunKey, SharedRun] = collections.OrderedDict()
        self._waiting: collections.deque[SharedRun] = collections.deque()
        self._active: collections.deque[SharedRun] = collections.deque()
        self._lock = threading.Condition()
        self._current: SharedRun | None = None  # the run the worker is advancing
        self._worker: threading.Thread | None = None
        self._closed = False

    # ----------------------------------------------------------------- public

    def get(self, configs: Sequence[TrainConfig]) -> SharedRun | None:
        """The run of ``configs`` if the registry holds it (marked as recently used)."""
        key = tuple(configs)
        with self._lock:
            self._evict()
            run = self._runs.get(key)
            if run is not None:
                self._runs.move_to_end(key)
            return run

    def start(self, configs: Sequence[TrainConfig]) -> SharedRun:
        """The run of ``configs``: the one already held, else a new one queued for the worker.

        Raises :class:`RegistryBusyError` when ``max_active + max_waiting`` runs are
        unfinished already, and ``ValueError`` for configurations that cannot
        run side by side.
        """
        key = tuple(configs)
        with self._lock:
            if self._closed:
                raise RuntimeError("the registry is closed")
            self._evict()
            run = self._runs.get(key)
            if run is not None:
                self._runs.move_to_end(key)
                return run
            unfinished = self._unfinished()
            if unfinished >= self.max_active + self.max_waiting:
                raise RegistryBusyError(
                    f"The server is busy: {unfinished} trainings are computing or waiting. "
                    "Try again in a few seconds, or pick settings someone already trained."
                )
            run = SharedRun(key, self.device)
            self._runs[key] = run
            self._waiting.append(run)
            self._update_queue()
            self._ensure_worker()
            self._lock.notify_all()
            return run

    def stats(self) -> dict:
        """How many runs are held, unfinished and computing, and their recorded bytes."""
        with self._lock:
            self._evict()
            return {
                "runs": len(self._runs),
                "bytes": sum(run.nbytes for run in self._runs.values()),
                "active": self._unfinished() - len(self._waiting),
                "waiting": len(self._waiting),
            }

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker after its current frame (tests; a server never needs it)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join(timeout)

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
                while not self._closed and not (self._active or self._waiting):
                    self._lock.wait()
                if self._closed:
                    return
                while self._waiting and len(self._active) < self.max_active:
                    self._active.append(self._waiting.popleft())
                run = self._current = self._active.popleft()
                self._update_queue()
            done = run._advance()
            with self._lock:
                self._current = None
                if not done:
                    self._active.append(run)
                self._update_queue()
                if done:
                    self._evict()

    def _unfinished(self) -> int:
        return len(self._active) + len(self._waiting) + (self._current is not None)

    def _update_queue(self) -> None:
        """Tell every unfinished run where it stands (call with the lock held)."""
        computing = [*self._active, *([self._current] if self._current else [])]
        for run in computing:
            run._set_queue("training", sharing=len(computing) - 1)
        for ahead, run in enumerate(self._waiting):
            run._set_queue("queued", ahead=len(computing) + ahead)

    def _evict(self) -> None:
        """Drop least recently used finished runs beyond the caps (call with the lock held).

        Called by the worker when a run ends and by every public method, so a reader
        never sees more than the caps allow once a run has finished.
        """
        total = sum(run.nbytes for run in self._runs.values())
        for key in list(self._runs):
            if len(self._runs) <= self.max_runs and total <= self.max_bytes:
                return
            run = self._runs[key]
            if run.progress().finished:
                del self._runs[key]
                total -= run.nbytes


__all__ = [
    "MAX_ACTIVE",
    "MAX_BYTES",
    "MAX_RUNS",
    "MAX_WAITING",
    "Progress",
    "RegistryBusyError",
    "RunKey",
    "RunRegistry",
    "SharedRun",
    "run_id",
]
