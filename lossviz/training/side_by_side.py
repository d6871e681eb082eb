"""Two trainings side by side, advanced in lockstep, a frame at a time.

:class:`lossviz.training.run_registry.SharedRun` advances a :class:`SideBySide` one
recorded frame at a time and publishes each frame to everyone watching. Two kinds of
training go side by side: the collapse demo's triplet runs
(:class:`~lossviz.training.collapse.TrainConfig`, which share seed, initial weights and
batch order and differ in the loss) and the SimCLR demo's contrastive runs
(:class:`~lossviz.training.contrastive_training.ContrastiveConfig`, which share what
:func:`~lossviz.training.contrastive_training.pair_snapshots` says). Both kinds of
snapshot have ``step`` and ``stopped``; :meth:`SideBySide.encode` and
:meth:`SideBySide.frame_bytes` are the kind's own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from lossviz.training.collapse import COLLAPSE_RATIO, Snapshot, TrainConfig, collapsed, train
from lossviz.training.contrastive_training import (
    ContrastiveConfig,
    ContrastiveSnapshot,
    contrastive_frame_json,
    contrastive_snapshots,
)
from lossviz.training.frame_codec import frame_json

AnyConfig = TrainConfig | ContrastiveConfig
AnySnapshot = Snapshot | ContrastiveSnapshot
_OVERHEAD = 1024  # bytes a frame holds besides its tensors (snapshot objects, JSON keys)

FRAMES_TARGET = 60  # recorded snapshots per run: enough for a smooth replay


def record_interval(steps: int) -> int:
    """Steps between snapshots so that a run records about ``FRAMES_TARGET`` of them."""
    return max(1, steps // FRAMES_TARGET)


class SideBySide:
    """Runs of ``configs`` (1 or 2, of one kind) in lockstep: their i-th snapshots are taken
    at one step.

    ``history[r]`` lists run r's snapshots so far. A run the guard stopped
    keeps its last snapshot while the other goes on; :meth:`frames` pads it.
    """

    def __init__(self, configs: Sequence[AnyConfig], device: torch.device | str | None = None):
        if not 1 <= len(configs) <= 2:
            raise ValueError("SideBySide runs one or two configurations")
        kinds = {type(c) for c in configs}
        if len(kinds) != 1 or not kinds <= {TrainConfig, ContrastiveConfig}:
            raise ValueError("SideBySide runs TrainConfigs or ContrastiveConfigs, not a mix")
        steps = {(c.steps, c.record_every) for c in configs}
        if len(steps) != 1:
            raise ValueError("side-by-side runs need the same steps and record interval")
        if kinds == {ContrastiveConfig} and len({c.seed for c in configs}) != 1:
            raise ValueError("side-by-side contrastive runs need the same seed")
        self.configs = tuple(configs)
        self.contrastive = kinds == {ContrastiveConfig}
        self.history: list[list[AnySnapshot]] = [[] for _ in configs]
        self.seconds = 0.0  # time spent computing (not waiting or drawing)
        trainer = contrastive_snapshots if self.contrastive else train
        self._runs = [trainer(config, device) for config in configs]
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

    def frames(self) -> list[list[AnySnapshot]]:
        """``frames[i][r]``: run r at the i-th recorded step (a stopped run repeats its last)."""
        length = max(len(h) for h in self.history)
        return [[h[min(i, len(h) - 1)] for h in self.history] for i in range(length) if length]

    def stopped(self) -> list[str]:
        """The guard's messages, one per run it stopped."""
        return [h[-1].stopped for h in self.history if h and h[-1].stopped]

    def collapsed(self) -> list[bool]:
        """Per triplet run: has its spread fallen to ``COLLAPSE_RATIO`` of its start?
        (Contrastive runs: all False; their collapse is read from the spectrum.)"""
        if self.contrastive:
            return [False] * len(self.history)
        return [bool(h) and collapsed(h[0], h[-1]) for h in self.history]

    def encode(self, frame: Sequence[AnySnapshot], first: Sequence[AnySnapshot]) -> bytes:
        """A frame as the JSON bytes a run keeps and sends: the player's
        (:func:`~lossviz.training.frame_codec.frame_json`) or the contrastive read-out's
        (:func:`~lossviz.training.contrastive_training.contrastive_frame_json`)."""
        if self.contrastive:
            return contrastive_frame_json(frame)
        return frame_json(frame, first)

    def frame_bytes(self, frame: Sequence[AnySnapshot], encoded: bytes) -> int:
        """How many bytes a recorded frame holds: its tensors, its encoded copy ``encoded``
        (:meth:`encode`'s) and the rest (snapshot objects, ``_OVERHEAD``)."""
        held = sum(t.numel() * t.element_size() for s in frame for t in _tensors(s))
        return held + len(encoded) + _OVERHEAD


def _tensors(snapshot: AnySnapshot) -> list[torch.Tensor]:
    if isinstance(snapshot, ContrastiveSnapshot):
        return [snapshot.points, snapshot.spectrum, snapshot.output_spectrum]
    return [snapshot.embeddings]


__all__ = [
    "COLLAPSE_RATIO",
    "FRAMES_TARGET",
    "AnyConfig",
    "AnySnapshot",
    "SideBySide",
    "record_interval",
]
