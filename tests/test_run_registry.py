"""RunRegistry: a run computed once per configuration in a worker thread, bit for bit the run
``train`` gives; shared by every caller; bounded; fair between runs; failures reported; leases
(a queued run nobody watches is dropped, one queued run per viewer); the priority lane."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time

import pytest
import torch

from lossviz.training import side_by_side
from lossviz.training.collapse import Snapshot, TrainConfig, train
from lossviz.training.frame_codec import encode_frame
from lossviz.training.run_registry import (
    Progress,
    RegistryBusyError,
    RunRegistry,
    SharedRun,
    run_id,
)
from lossviz.training.side_by_side import SideBySide

SMALL = TrainConfig(dataset="blobs", steps=20, record_every=5, batch_size=32, eval_size=60)
PAIR = (SMALL, SMALL.replace(loss="batch_hard_fix"))
# Blobs, classic batch-hard, SGD at lr 10: distances overflow float32 within a few steps.
DIVERGING = SMALL.replace(optimizer="sgd", lr=10.0, steps=60, record_every=2)


BLOCKER_SEED = 777
BLOCKER = SMALL.replace(seed=BLOCKER_SEED)


class Gate:
    """Holds the worker inside ``advance`` of runs with the ``held`` seeds until opened, so a
    queue can be read as it stands; ``order``: the seed of every advance, in order."""

    def __init__(self, monkeypatch, *held: int):
        self.held = set(held)
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.order: list[int] = []
        original = SideBySide.advance

        def advance(side, snapshots=1):
            seed = side.configs[0].seed
            self.order.append(seed)
            if seed in self.held:
                self.entered.set()
                self.opened.wait(120)
            original(side, snapshots)

        monkeypatch.setattr(SideBySide, "advance", advance)

    def open(self) -> None:
        self.opened.set()


@contextlib.contextmanager
def held_registry(monkeypatch, **settings):
    """A registry whose worker is held in the first frame of a run asked for without a viewer
    (``BLOCKER``, computing); yields (registry, blocker, gate)."""
    gate = Gate(monkeypatch, BLOCKER_SEED)
    registry = RunRegistry(**settings)
    try:
        blocker = registry.start((BLOCKER,))
        assert gate.entered.wait(60)
        yield registry, blocker, gate
    finally:
        gate.open()
        registry.close()


def ask(registry: RunRegistry, key, how: str) -> SharedRun:
    """The run of ``key`` asked for without a viewer, by a viewer, or in the priority lane."""
    if how == "watch":
        return registry.watch(key, "tab").run
    return registry.start(key, priority=how == "priority")


@pytest.fixture
def registry():
    reg = RunRegistry()
    yield reg
    reg.close()


def finish(run, timeout: float = 120.0) -> Progress:
    deadline = time.monotonic() + timeout
    progress = run.progress()
    while not progress.finished:
        assert time.monotonic() < deadline, "the run did not finish"
        progress = run.wait(progress.frames, timeout=1.0)
    return progress


def same(a: Snapshot, b: Snapshot) -> bool:
    loss_equal = a.loss == b.loss or (math.isnan(a.loss) and math.isnan(b.loss))
    return (
        loss_equal
        and (a.step, a.spread, a.shares, a.stopped) == (b.step, b.spread, b.shares, b.stopped)
        and torch.equal(a.embeddings, b.embeddings)
        and torch.equal(a.labels, b.labels)
    )


@pytest.mark.parametrize("how", ["start", "watch", "priority"])
@pytest.mark.parametrize(
    "key",
    [(SMALL,), PAIR, (DIVERGING, DIVERGING.replace(loss="batch_hard_fix"))],
    ids=["one run", "both losses", "diverging beside the fix"],
)
def test_a_shared_run_is_bit_for_bit_the_core_run(registry, key, how):
    run = ask(registry, key, how)
    progress = finish(run)
    assert progress.error is None and progress.frames == len(run.frames())
    frames = run.frames()
    for r, config in enumerate(key):
        alone = list(train(config))
        recorded = [frame[r] for frame in frames][: len(alone)]
        assert all(same(a, b) for a, b in zip(alone, recorded, strict=True))
        # A run the guard stopped repeats its last snapshot while the other goes on.
        assert all(frame[r] is recorded[-1] for frame in frames[len(alone) :])
    if key[0] is DIVERGING:
        assert frames[-1][0].stopped and frames[-1][1].stopped is None
    encoded = [json.loads(frame) for frame in run.encoded()]  # strict JSON bytes
    assert encoded == [encode_frame(frame, frames[0]) for frame in frames]


def test_everyone_asking_at_once_gets_one_run(registry, monkeypatch):
    made = []
    original = SideBySide.__init__

    def counting(self, configs, device=None):
        made.append(tuple(configs))
        original(self, configs, device)

    monkeypatch.setattr(SideBySide, "__init__", counting)
    got: list = []
    barrier = threading.Barrier(20)

    def ask():
        barrier.wait()
        got.append(registry.start(PAIR))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 20 and all(run is got[0] for run in got)
    assert made == [PAIR]
    finish(got[0])
    assert registry.start(PAIR) is got[0] and registry.get(PAIR) is got[0]
    assert made == [PAIR]  # a finished run is replayed, not computed again


def test_different_configurations_never_share(registry):
    runs = {registry.start((SMALL.replace(seed=seed),)).id for seed in range(3)} | {
        registry.start(PAIR).id,
        registry.start((SMALL.replace(margin=0.3),)).id,
    }
    assert len(runs) == 5
    assert run_id(PAIR) == run_id(tuple(PAIR)) != run_id(PAIR[::-1])
    assert registry.get((SMALL.replace(seed=99),)) is None


def test_the_caps_hold_under_a_stream_of_distinct_configurations():
    registry = RunRegistry(max_runs=4, max_active=2, max_waiting=2)
    try:
        for seed in range(30):
            run = registry.start((SMALL.replace(seed=seed, steps=10),))
            finish(run)
            stats = registry.stats()
            assert stats["runs"] <= 4, (seed, stats)
        # The most recent ones are kept, the oldest dropped; a dropped one comes back equal.
        assert registry.get((SMALL.replace(seed=29, steps=10),)) is not None
        assert registry.get((SMALL.replace(seed=0, steps=10),)) is None
        again = registry.start((SMALL.replace(seed=0, steps=10),))
        finish(again)
        alone = list(train(SMALL.replace(seed=0, steps=10)))
        assert all(same(a, f[0]) for a, f in zip(alone, again.frames(), strict=True))
    finally:
        registry.close()


def test_a_run_counts_its_tensors_and_encoded_frames():
    registry = RunRegistry()
    try:
        run = registry.start((SMALL,))
        finish(run)
        frames, encoded = run.frames(), run.encoded()
        points = sum(s.embeddings.numel() * 4 for frame in frames for s in frame)
        assert run.nbytes == points + sum(map(len, encoded)) + len(frames) * (
            side_by_side._OVERHEAD
        )
    finally:
        registry.close()


def test_the_byte_cap_drops_the_least_recently_used(monkeypatch):
    sizes = RunRegistry()
    try:  # every run of SMALL's shape records as many bytes, give or take a few per frame
        sized = sizes.start((SMALL.replace(seed=9),))
        finish(sized)
        one_run = sized.nbytes
    finally:
        sizes.close()
    registry = RunRegistry(max_bytes=int(2.5 * one_run))
    try:
        keys = [(SMALL.replace(seed=seed),) for seed in range(4)]
        for key in keys[:2]:
            finish(registry.start(key))
        assert registry.get(keys[0]) is not None  # now the most recently used
        finish(registry.start(keys[2]))
        assert registry.get(keys[1]) is None and registry.get(keys[0]) is not None
        assert registry.stats()["bytes"] <= 2.5 * one_run
    finally:
        registry.close()


def test_too_many_unfinished_runs_are_refused_with_a_message():
    registry = RunRegistry(max_active=1, max_waiting=1)
    try:
        long = SMALL.replace(steps=2000, record_every=33)
        first = registry.start((long,))
        second = registry.start((long.replace(seed=1),))
        with pytest.raises(RegistryBusyError, match="The server is busy: 2 trainings"):
            registry.start((long.replace(seed=2),))
        assert registry.start((long,)) is first  # joining an existing run is always fine
        assert second.progress().state == "queued" and second.progress().ahead == 1
    finally:
        registry.close()


def test_runs_take_turns_so_a_short_run_is_not_stuck_behind_a_long_one(registry):
    long = registry.start((SMALL.replace(steps=2000, record_every=10),))
    while long.progress().frames < 2:
        long.wait(long.progress().frames, timeout=1.0)
    short = registry.start((SMALL,))
    finish(short)
    assert not long.progress().finished  # the short one finished while the long one ran
    assert long.progress().state == "training"


def test_wait_returns_on_new_frames_or_after_its_timeout(registry):
    run = registry.start((SMALL.replace(steps=200, record_every=5),))
    start = time.monotonic()
    progress = run.wait(0, timeout=30.0)
    assert progress.frames >= 1 and time.monotonic() - start < 30.0
    done = finish(run)
    start = time.monotonic()
    assert run.wait(done.frames, timeout=0.2).finished  # a finished run returns at once
    assert time.monotonic() - start < 0.2
    assert done.steps_per_second > 0 and done.state == "done"


def test_a_failing_computation_is_reported_and_the_worker_goes_on(registry, monkeypatch):
    broken = (SMALL.replace(seed=5),)
    original = SideBySide.advance

    def advance(self, snapshots=1):
        if self.configs == broken:
            raise MemoryError("out of memory")
        original(self, snapshots)

    monkeypatch.setattr(SideBySide, "advance", advance)
    failed = registry.start(broken)
    fine = registry.start((SMALL,))
    progress = finish(failed)
    assert progress.error == "MemoryError: out of memory" and progress.frames == 0
    assert finish(fine).error is None and fine.progress().frames == 5


def test_configurations_that_cannot_run_side_by_side_are_refused(registry):
    with pytest.raises(ValueError, match="same steps"):
        registry.start((SMALL, SMALL.replace(steps=40)))
    assert registry.stats()["runs"] == 0


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        RunRegistry(max_runs=0)
    with pytest.raises(ValueError):
        RunRegistry(handover_s=-1.0)


# --------------------------------------------------------------------------- leases


def test_a_queued_run_nobody_watches_any_more_is_dropped_before_it_starts(monkeypatch):
    with held_registry(monkeypatch, max_active=1, max_waiting=1) as (registry, blocker, gate):
        lease = registry.watch((SMALL,), "tab-1")
        run = lease.run
        assert run.progress() == Progress(frames=0, state="queued", ahead=1)
        with pytest.raises(RegistryBusyError):
            registry.watch((SMALL.replace(seed=1),), "tab-2")
        lease.release()
        progress = run.progress()
        assert progress.state == "dropped" and progress.ended and not progress.finished
        assert run.wait(0, timeout=60).state == "dropped"  # no reader is left waiting
        assert registry.get((SMALL,)) is None
        assert registry.stats() | {"bytes": 0} == {
            "runs": 1, "bytes": 0, "priority": 0, "active": 1, "waiting": 0, "viewers": 0
        }  # fmt: skip
        other = registry.watch((SMALL.replace(seed=1),), "tab-2")  # its place is free
        lease.release()  # releasing twice changes nothing
        assert other.run.progress().state == "queued" and not other.released
        gate.open()
        finish(other.run)
        assert finish(blocker).error is None
    assert SMALL.seed not in gate.order  # the dropped run never computed a frame


def test_a_run_watched_by_two_sessions_survives_one_leaving(monkeypatch):
    with held_registry(monkeypatch, max_active=1) as (registry, _, _gate):
        first = registry.watch((SMALL,), "tab-a")
        second = registry.watch((SMALL,), "tab-b")
        assert first.run is second.run and registry.stats()["viewers"] == 2
        first.release()
        assert second.run.progress().state == "queued" and registry.get((SMALL,)) is second.run
        with second as run:  # a lease is a context manager: released on leaving
            assert run is first.run
        assert second.released and run.progress().state == "dropped"


def test_runs_that_started_or_were_asked_for_without_a_viewer_are_never_dropped(monkeypatch):
    with held_registry(monkeypatch, max_active=1) as (registry, blocker, gate):
        computing = registry.watch((BLOCKER,), "tab")
        assert computing.run is blocker
        computing.release()
        assert blocker.progress().state == "training"
        pinned = registry.start((SMALL,))
        registry.watch((SMALL,), "tab").release()
        registry.unwatch("tab")
        assert pinned.progress().state == "queued" and registry.get((SMALL,)) is pinned
        gate.open()
        assert finish(pinned).error is None and finish(blocker).error is None


def test_a_session_holds_at_most_one_queued_run(monkeypatch):
    with held_registry(monkeypatch, max_active=1, max_waiting=1) as (registry, _, _gate):
        first = registry.watch((SMALL,), "tab")
        with pytest.raises(RegistryBusyError):
            registry.watch((SMALL.replace(seed=1),), "another tab")
        second = registry.watch((SMALL.replace(seed=1),), "tab")  # takes the first one's place
        assert first.released and first.run.progress().state == "dropped"
        assert second.run.progress() == Progress(frames=0, state="queued", ahead=1)
        again = registry.watch((SMALL.replace(seed=1),), "tab")  # the same run: kept
        assert again.run is second.run and not second.released
        assert registry.stats()["viewers"] == 2


def test_a_session_keeps_its_run_that_computes_when_it_asks_for_another(monkeypatch):
    with held_registry(monkeypatch, max_active=1) as (registry, blocker, _gate):
        computing = registry.watch((BLOCKER,), "tab")
        queued = registry.watch((SMALL,), "tab")
        assert not computing.released and blocker.progress().state == "training"
        assert queued.run.progress().state == "queued"


def test_a_rerun_of_the_same_tab_takes_its_queued_run_back_in_its_place(monkeypatch):
    now = [0.0]
    settings = {"max_active": 1, "handover_s": 10.0, "clock": lambda: now[0]}
    with held_registry(monkeypatch, **settings) as (registry, _, _gate):
        mine = registry.watch((SMALL,), "tab")
        theirs = registry.watch((SMALL.replace(seed=1),), "another tab")
        mine.release(keep=True)  # the tab reruns: its next script run asks again
        assert mine.run.progress().state == "queued"
        again = registry.watch((SMALL,), "tab")
        assert again.run is mine.run and again.run.progress().ahead == 1
        assert theirs.run.progress().ahead == 2
        again.release(keep=True)
        now[0] = 10.0  # the tab never asked again
        registry.stats()
        assert mine.run.progress().state == "dropped"
        theirs.release(keep=True)
        registry.unwatch("another tab")  # it shows a preview now: no handover
        assert theirs.run.progress().state == "dropped"


# --------------------------------------------------------------------------- priority lane


def test_priority_runs_go_before_custom_ones_and_are_never_refused(monkeypatch):
    with held_registry(monkeypatch, max_active=1, max_waiting=1) as (registry, blocker, gate):
        custom = registry.watch((SMALL.replace(seed=3),), "tab-3").run
        with pytest.raises(RegistryBusyError):
            registry.start((SMALL.replace(seed=4),))
        first = registry.start((SMALL.replace(seed=1),), priority=True)
        second = registry.watch((SMALL.replace(seed=2),), "tab-2", priority=True).run
        assert first.progress() == Progress(frames=0, state="training", sharing=1)
        assert blocker.progress() == Progress(frames=0, state="paused", ahead=2)
        assert custom.progress() == Progress(frames=0, state="queued", ahead=3)
        assert registry.stats() | {"bytes": 0} == {
            "runs": 4, "bytes": 0, "priority": 2, "active": 1, "waiting": 1, "viewers": 2
        }  # fmt: skip
        gate.open()
        for run in (first, second, custom, blocker):
            assert finish(run).error is None
    held, *rest = gate.order
    assert held == BLOCKER_SEED
    # The two priority runs take turns (5 frames each) before anything else goes on.
    assert rest[:10] == [1, 2] * 5 and {1, 2}.isdisjoint(rest[10:])


def test_a_custom_run_asked_for_with_priority_moves_to_the_priority_lane(monkeypatch):
    with held_registry(monkeypatch, max_active=1, max_waiting=0) as (registry, blocker, gate):
        with pytest.raises(RegistryBusyError):
            registry.start((SMALL,))
        registry.start((SMALL,), priority=True)
        custom = registry.get((SMALL,))
        assert custom.priority and custom.progress().state == "training"
        registry.start((SMALL,))  # asked for again as a custom run: stays in the priority lane
        assert registry.stats()["priority"] == 1 and registry.stats()["waiting"] == 0


def test_priority_runs_are_never_evicted():
    registry = RunRegistry(max_runs=2)  # a priority run counts: one custom run fits beside it
    try:
        preset = registry.start((SMALL,), priority=True)
        finish(preset)
        for seed in range(1, 4):
            finish(registry.start((SMALL.replace(seed=seed),)))
        assert registry.get((SMALL,)) is preset
        assert registry.get((SMALL.replace(seed=3),)) is not None  # the newest custom one
        assert registry.get((SMALL.replace(seed=1),)) is None
    finally:
        registry.close()
