"""Contrastive runs through the shared machinery: SideBySide in lockstep, the run registry
(bit-identical to training directly), the compact frames, the animated figure."""

from __future__ import annotations

import base64
import dataclasses
import json
import time

import numpy as np
import pytest
import torch

from lossviz.figures.simclr import POINTS_DRAWN, SPECTRUM_FLOOR, TrainingFigure
from lossviz.training.collapse import TrainConfig
from lossviz.training.contrastive_training import (
    Augment,
    ContrastiveConfig,
    contrastive_frame_json,
    probe_labels,
    train_contrastive,
    train_pair,
)
from lossviz.training.run_registry import RunRegistry
from lossviz.training.side_by_side import SideBySide

SMALL = ContrastiveConfig(temperature=0.1, output_dim=2, batch_size=32, steps=20, record_every=5)
WIDE = SMALL.replace(output_dim=16, augment=Augment(noise_std=0.05, dropout=0.0, max_shift=2))


def same_snapshot(a, b) -> bool:
    return (
        a.step == b.step
        and a.loss == b.loss
        and a.nt_xent == b.nt_xent
        and a.alignment == b.alignment
        and a.uniformity == b.uniformity
        and torch.equal(a.points, b.points)
        and torch.equal(a.spectrum, b.spectrum)
        and a.effective_rank == b.effective_rank
        and a.stopped == b.stopped
    )


def finished(side: SideBySide) -> list:
    while not side.finished:
        side.advance()
    return side.frames()


def test_side_by_side_equals_the_pair_trained_directly():
    frames = finished(SideBySide([SMALL, WIDE], "cpu"))
    run_a, run_b = train_pair(SMALL, WIDE, "cpu")
    assert [f[0].step for f in frames] == [0, 5, 10, 15, 20]
    for frame, a, b in zip(frames, run_a.snapshots, run_b.snapshots, strict=True):
        assert same_snapshot(frame[0], a) and same_snapshot(frame[1], b)


def test_a_run_through_the_registry_is_bit_identical_to_training_directly():
    registry = RunRegistry(device="cpu")
    try:
        run = registry.start([SMALL, WIDE])
        deadline = time.monotonic() + 60
        while not run.progress().finished and time.monotonic() < deadline:
            run.wait(run.progress().frames, timeout=1.0)
        assert run.progress().finished and run.progress().error is None
        direct_a, direct_b = train_contrastive(SMALL, "cpu"), train_contrastive(WIDE, "cpu")
        frames = run.frames()
        assert len(frames) == len(direct_a.snapshots) == 5
        for frame, a, b in zip(frames, direct_a.snapshots, direct_b.snapshots, strict=True):
            assert same_snapshot(frame[0], a) and same_snapshot(frame[1], b)
        # Each frame is kept encoded once, as the compact read-out.
        encoded = [json.loads(raw) for raw in run.encoded()]
        assert encoded[-1] == json.loads(contrastive_frame_json(frames[-1]))
        assert encoded[-1]["runs"][1]["effective_rank"] == direct_b.last.effective_rank
        assert run.nbytes > 0 and registry.stats()["runs"] == 1
    finally:
        registry.close()


def test_side_by_side_refuses_mixed_kinds_and_other_seeds():
    with pytest.raises(ValueError, match="not a mix"):
        SideBySide([SMALL, TrainConfig(steps=20, record_every=5)])
    with pytest.raises(ValueError, match="same seed"):
        SideBySide([SMALL, SMALL.replace(seed=1)])
    with pytest.raises(ValueError, match="steps and record interval"):
        SideBySide([SMALL, SMALL.replace(steps=25)])


def test_the_compact_frame_says_null_for_numbers_that_are_not_finite():
    (frame,) = finished(SideBySide([SMALL.replace(steps=1, record_every=1)], "cpu"))[-1:]
    broken = dataclasses.replace(frame[0], loss=float("nan"), nt_xent=float("inf"),
                                 stopped="Training stopped")  # fmt: skip
    decoded = json.loads(contrastive_frame_json((broken,)))
    assert decoded["runs"][0]["loss"] is None and decoded["runs"][0]["stopped"]


def test_the_figure_draws_each_record_and_starts_where_asked():
    frames = finished(SideBySide([SMALL, WIDE], "cpu"))
    labels = probe_labels(SMALL.seed).numpy()
    figure = TrainingFigure(frames, labels, ["A", "B"])
    assert [f["name"] for f in figure.frames] == ["0", "5", "10", "15", "20"]
    spec = figure.at(3).to_dict()
    assert spec["layout"]["sliders"][0]["active"] == 3
    assert figure.base["layout"]["sliders"][0]["active"] == 0  # the shared base is untouched
    # The shown record's points, per digit, for both runs: the first POINTS_DRAWN probes.
    for run in (0, 1):
        points = frames[3][run].points.numpy()[:POINTS_DRAWN]
        shown = labels[:POINTS_DRAWN]
        for digit in range(10):
            trace = spec["data"][figure.animated[run * 10 + digit]]
            x = np.frombuffer(base64.b64decode(trace["x"]["bdata"]), "<f4")
            assert np.array_equal(x, points[shown == digit][:, 0])
    # The spectrum trace of run B is its spectrum at that record (floored for the log axis).
    spectra = [spec["data"][i] for i in figure.animated if spec["data"][i].get("mode") ==
               "lines+markers"]  # fmt: skip
    y = np.frombuffer(base64.b64decode(spectra[1]["y"]["bdata"]), "<f4")
    expected = np.maximum(frames[3][1].spectrum.numpy(), SPECTRUM_FLOOR).astype(np.float32)
    assert np.array_equal(y, expected) and len(y) == 16
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert "A · circle" in titles and "B · PCA" in titles
