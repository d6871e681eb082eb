"""SideBySide: lockstep runs equal separate runs; advancing in any chunks, padding, flags."""

from __future__ import annotations

import pytest
import torch

from lossviz.training import side_by_side as collapse_run
from lossviz.training.collapse import Snapshot, TrainConfig, train
from lossviz.training.side_by_side import FRAMES_TARGET, SideBySide, record_interval

SMALL = TrainConfig(dataset="blobs", steps=40, record_every=5, eval_size=60, batch_size=32)


def same(a: Snapshot, b: Snapshot) -> bool:
    return (a.step, a.loss, a.spread, a.shares, a.stopped) == (
        b.step, b.loss, b.spread, b.shares, b.stopped
    ) and torch.equal(a.embeddings, b.embeddings)  # fmt: skip


def test_lockstep_runs_equal_separate_runs():
    left, right = SMALL, SMALL.replace(loss="batch_hard_fix")
    run = SideBySide([left, right])
    while not run.finished:
        run.advance(2)
    for config, history in zip((left, right), run.history, strict=True):
        alone = list(train(config))
        assert len(alone) == len(history) == 9
        assert all(same(a, b) for a, b in zip(alone, history, strict=True))
    assert [[s.step for s in frame] for frame in run.frames()] == [[s, s] for s in range(0, 41, 5)]
    assert run.step == 40 and run.steps_per_second > 0


def test_advancing_in_any_chunks_changes_nothing():
    straight = SideBySide([SMALL])
    straight.advance(100)
    paused = SideBySide([SMALL])
    paused.advance()
    paused.advance(3)
    while not paused.finished:
        paused.advance()
    assert all(same(a, b) for a, b in zip(straight.history[0], paused.history[0], strict=True))
    assert len(paused.history[0]) == len(straight.history[0])


def test_advance_after_the_end_does_nothing():
    run = SideBySide([SMALL])
    run.advance(100)
    before = len(run.history[0])
    run.advance(5)
    assert len(run.history[0]) == before and run.finished


def fake_train(stop_at: int | None):
    """A stand-in for ``train``: snapshots every 10 steps to 30, or a stop at ``stop_at``."""

    def runs(config, device=None):
        for step in range(0, config.steps + 1, config.record_every):
            stopped = "too big" if step == stop_at else None
            yield Snapshot(step, 1.0, 1.0 / (1 + step**2 / 5), torch.zeros(2, 2),
                           torch.tensor([0, 1]), (1.0, 0.0, 0.0), stopped)  # fmt: skip
            if stopped:
                return

    return runs


def test_a_stopped_run_is_padded_and_reported(monkeypatch):
    calls = iter([fake_train(None), fake_train(10)])
    monkeypatch.setattr(collapse_run, "train", lambda c, d=None: next(calls)(c, d))
    config = TrainConfig(steps=30, record_every=10)
    run = SideBySide([config, config.replace(loss="batch_hard_fix")])
    run.advance(10)
    assert [len(h) for h in run.history] == [4, 2]
    assert [[s.step for s in frame] for frame in run.frames()] == [[0, 0], [10, 10], [20, 10],
                                                                   [30, 10]]  # fmt: skip
    assert run.stopped() == ["too big"]
    assert run.collapsed() == [True, False]  # 1/181 of the start vs 1/21


def test_configs_must_agree_on_steps():
    with pytest.raises(ValueError, match="same steps"):
        SideBySide([SMALL, SMALL.replace(steps=50)])
    with pytest.raises(ValueError, match="one or two"):
        SideBySide([SMALL] * 3)


@pytest.mark.parametrize(("steps", "every"), [(10, 1), (60, 1), (300, 5), (2000, 33)])
def test_record_interval_gives_about_the_target_frames(steps, every):
    assert record_interval(steps) == every
    assert steps // every <= 2 * FRAMES_TARGET
