"""Two trainings of one configuration side by side, advanced in lockstep, a frame at a time.

:class:`lossviz.training.run_registry.SharedRun` advances a :class:`SideBySide` one
recorded frame at a time and publishes each frame to everyone watching. Both
runs share seed, initial weights and batch order (``train`` guarantees it);
they differ in the loss.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from lossviz.training.collapse import COLLAPSE_RATIO, Snapshot, TrainConfig, collapsed, train

FRAMES_TARGET = 60  # recorded snapshots per run: enough for a smooth replay


def record_interval(steps: int) -> int:
    """Steps between snapshots so that a run records about ``FRAMES_TARGET`` of them."""
    return max(1, steps // FRAMES_TARGET)


class SideBySide:
    """Runs of ``configs`` (1 or 2) in lockstep: their i-th snapshots are taken at one step.

    ``history[r]`` lists run r's snapshots so far. A run the guard stopped
    keeps its last snapshot while the other goes on; :meth:`frames` pads it.
    """

    def __init__(self, configs: Sequence[TrainConfig], device: torch.device | str | None = None):
        if not 1 <= len(configs) <= 2:
            raise ValueError("SideBySide runs one or two configurations")
        steps = {(c.steps, c.record_every) for c in configs}
        if len(steps) != 1:
            raise ValueError("side-by-side runs need the same steps and record interval")
        self.configs = tuple(configs)
        self.history: list[list[Snapshot]] = [[] for _ in configs]
        self.seconds = 0.0  # time spent computing (not waiting or drawing)
        self._runs = [train(config, device) for config in configs]
        self._done = [False] * len(configs)

    @property
    def finished(self) -> bool:
        return all(self._done)

    @property
    def step(self) -> int:
        """The latest step any run has reached (0 before the first advance)."""
        return max((h[-1].step for h in self.history if h), default=0)

    @property
    def steps_per_second(self) -> float:
        """Training steps per second of compute, over all runs together."""
        return self.step * len(self._runs) / self.seconds if self.seconds > 0 else 0.0

    def advance(self, snapshots: int = 1) -> None:
        """Take up to ``snapshots`` more snapshots of every run that is still going."""
        start = time.perf_counter()
        for _ in range(snapshots):
            if self.finished:
                break
            for index, run in enumerate(self._runs):
                if self._done[index]:
                    continue
                snapshot = next(run, None)
                if snapshot is None:
                    self._done[index] = True
                    continue
                self.history[index].append(snapshot)
                if snapshot.stopped or snapshot.step == self.configs[index].steps:
                    self._done[index] = True
        self.seconds += time.perf_counter() - start

    def frames(self) -> list[list[Snapshot]]:
        """``frames[i][r]``: run r at the i-th recorded step (a stopped run repeats its last)."""
        length = max(len(h) for h in self.history)
        return [[h[min(i, len(h) - 1)] for h in self.history] for i in range(length) if length]

    def stopped(self) -> list[str]:
        """The guard's messages, one per run it stopped."""
        return [h[-1].stopped for h in self.history if h and h[-1].stopped]

    def collapsed(self) -> list[bool]:
        """Per run: has its spread fallen to ``COLLAPSE_RATIO`` of its start?"""
        return [bool(h) and collapsed(h[0], h[-1]) for h in self.history]


__all__ = ["COLLAPSE_RATIO", "FRAMES_TARGET", "SideBySide", "record_interval"]
