"""Compact, JSON-ready frames of a training run, built once and sent to every viewer.

A *frame* is one recorded step of one or two runs trained in lockstep (see
:class:`lossviz.training.side_by_side.SideBySide`). :func:`encode_frame` turns it into
a small dict the browser's player draws without any further work on the
server: per run the step, loss, spread, kind shares, the collapsed flag and
the guard's message, and the evaluation points packed as unsigned 16-bit
integers inside the frame's own bounding box, base64-encoded.

Packing (``encode_points`` / ``decode_points``, mirrored in
``lossviz/ui/components/assets/player.js``):
for points (E, 2) with box ``[x0, y0, x1, y1]`` (the float32 min and max of
each coordinate), ``q = round((x - x0) / (x1 - x0) * 65535)`` (0 where
``x1 == x0``), stored little-endian as ``x, y`` pairs, so a coordinate comes
back within ``(x1 - x0) / 131070`` of its value: far below a pixel at any
zoom of the run's own span. About 2.1 KB per run and frame for 400 points,
against 4.3 KB for base64 float32 and ~13 KB for JSON numbers.

:func:`frame_json` serialises a frame once; a run keeps those bytes and every
viewer's page splices them into its message (no per-viewer serialisation).

Numbers that JSON cannot carry (NaN, infinities: the loss of a run the guard
stopped) are sent as ``None``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from lossviz.training.collapse import LOSS_LABELS, Snapshot, TrainConfig, collapsed

LEVELS = 65535


def finite_or_none(value: float) -> float | None:
    """``value`` as a float, or None when it is NaN or infinite (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def encode_points(points: Tensor) -> dict:
    """(E, 2) finite points -> ``{"box": [x0, y0, x1, y1], "q": base64 of uint16 pairs}``."""
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (E, 2); got {tuple(points.shape)}")
    xy = points.detach().to("cpu", torch.float64)
    if not bool(torch.isfinite(xy).all()):
        raise ValueError("points must be finite")
    lo = xy.min(dim=0).values if xy.shape[0] else torch.zeros(2, dtype=torch.float64)
    hi = xy.max(dim=0).values if xy.shape[0] else torch.zeros(2, dtype=torch.float64)
    width = hi - lo
    scale = torch.where(width > 0, LEVELS / torch.where(width > 0, width, 1.0), 0.0)
    q = torch.round((xy - lo) * scale).clamp_(0, LEVELS).to(torch.int32)
    packed = q.numpy().astype("<u2").tobytes()
    return {
        "box": [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])],
        "q": base64.b64encode(packed).decode("ascii"),
    }


def decode_points(encoded: dict) -> Tensor:
    """The inverse of :func:`encode_points` (what the browser draws), (E, 2) float64."""
    x0, y0, x1, y1 = encoded["box"]
    raw = base64.b64decode(encoded["q"])
    q = torch.frombuffer(bytearray(raw), dtype=torch.int16).to(torch.int32) & 0xFFFF
    q = q.reshape(-1, 2).to(torch.float64)
    lo = torch.tensor([x0, y0], dtype=torch.float64)
    width = torch.tensor([x1 - x0, y1 - y0], dtype=torch.float64)
    return lo + q / LEVELS * width


def encode_frame(frame: Sequence[Snapshot], first: Sequence[Snapshot]) -> dict:
    """One recorded step of each run (``frame[r]``), judged against each run's step 0.

    Returns ``{"step": int, "runs": [{"step", "loss", "spread", "shares",
    "collapsed", "stopped", "box", "q"}, ...]}``; a run the guard stopped
    keeps its last snapshot (its ``step`` stays where it stopped).
    """
    runs = []
    for snapshot, start in zip(frame, first, strict=True):
        runs.append(
            {
                "step": snapshot.step,
                "loss": finite_or_none(snapshot.loss),
                "spread": finite_or_none(snapshot.spread),
                "shares": [round(float(s), 6) for s in snapshot.shares],
                "collapsed": collapsed(start, snapshot),
                "stopped": snapshot.stopped,
                **encode_points(snapshot.embeddings),
            }
        )
    return {"step": max(s.step for s in frame), "runs": runs}


def frame_json(frame: Sequence[Snapshot], first: Sequence[Snapshot]) -> bytes:
    """:func:`encode_frame` as compact JSON bytes: what a run keeps and every viewer is sent."""
    return json.dumps(encode_frame(frame, first), separators=(",", ":"), allow_nan=False).encode()


def encode_meta(
    configs: Sequence[TrainConfig], first: Sequence[Snapshot], class_names: Sequence[str]
) -> dict:
    """What does not change from frame to frame: titles, classes, margin, steps.

    ``labels`` are the evaluation points' classes (indices into ``classes``),
    the same for every frame and run.
    """
    return {
        "titles": [LOSS_LABELS[config.loss] for config in configs],
        "classes": [str(name) for name in class_names],
        "labels": first[0].labels.tolist(),
        "margin": configs[0].margin,
        "steps": configs[0].steps,
    }


__all__ = [
    "LEVELS",
    "decode_points",
    "encode_frame",
    "encode_meta",
    "encode_points",
    "finite_or_none",
    "frame_json",
]
