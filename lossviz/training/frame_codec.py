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

Each run also carries its *triplet diagram* (Xuan et al., ECCV 2020, Fig. 1; the mining
page draws it with :mod:`lossviz.figures.triplet_diagram`): every valid triplet of the
first ``DIAGRAM_POINTS`` (200) evaluation points at ``(d(a, p), d(a, n))``, Euclidean,
counted exactly in a ``DIAGRAM_BINS`` x ``DIAGRAM_BINS`` (24 x 24) grid by
:func:`frame_density`. The evaluation points are class-stratified
(:func:`lossviz.training.collapse.evaluation_indices`), so that prefix holds every class
equally, and it is the prefix the kind ``shares`` are counted on (``SHARES_SIZE``): 200
points cost ~0.6 ms per run and frame on one CPU thread (a frame of two runs of 400 points
took 1.7 ms to encode instead of 0.27 ms), where all 400 would cost about four times as
much. The grid
spans ``[0, d_max]`` on both axes, ``d_max`` the largest pairwise distance of the same
prefix at the run's step 0 (1 when that is 0), the same in every frame, so that a
collapse shows as the triplets sliding into the cell at ``(0, 0)``; a distance beyond
``d_max`` (a run that spreads) counts in the last bin. The counts travel as one byte per
cell (``encode_density`` / ``decode_density``, mirrored in player.js): 0 for an empty
cell, else ``1 + round(254 * ln(count) / ln(total))`` (255 when ``total`` is 1), so a
cell comes back as ``total ** ((code - 1) / 254)``, within half a level: 2.7% of its count
at the 684,000 triplets of 200 digits (10 classes of 20), a lone triplet and the whole
total exactly. 576 bytes, 768 base64 characters (~830 bytes of JSON with ``d_max`` and
``total``) per run and frame, against 3 KB of base64 for exact uint32 counts; the player
shades the cells on a log scale anyway, and ``total`` is exact.

Numbers that JSON cannot carry (NaN, infinities: the loss of a run the guard
stopped) are sent as ``None``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from lossviz.training.collapse import LOSS_LABELS, SHARES_SIZE, Snapshot, TrainConfig, collapsed

LEVELS = 65535
DIAGRAM_POINTS = SHARES_SIZE  # the evaluation prefix of the triplet diagram (200)
DIAGRAM_BINS = 24
DENSITY_LEVELS = 254  # a cell's code: 0 (empty) or 1 + 0..254 along ln(count) / ln(total)


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


def prefix_distances(embeddings: Tensor) -> np.ndarray:
    """Euclidean ``(n, n)`` float64 distances of the first ``DIAGRAM_POINTS`` rows (E, 2)."""
    return np.sqrt(_squared_distances(embeddings))


def _squared_distances(embeddings: Tensor) -> np.ndarray:
    xy = embeddings[:DIAGRAM_POINTS].detach().to("cpu", torch.float64).numpy()
    x, y = xy[:, 0], xy[:, 1]
    dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
    return dx * dx + dy * dy  # 8x faster than summing an (n, n, 2) array's last axis


def diagram_range(start: Snapshot) -> float:
    """The triplet diagram's axis end for a run: the largest pairwise distance of the
    diagram's prefix at ``start`` (the run's step 0); 1 if there is none or it is 0."""
    squared = _squared_distances(start.embeddings)
    # sqrt is monotonic and correctly rounded: the largest of prefix_distances, exactly.
    d_max = math.sqrt(float(squared.max())) if squared.size else 0.0
    return d_max if math.isfinite(d_max) and d_max > 0 else 1.0


def frame_density(
    snapshot: Snapshot, d_max: float, bins: int = DIAGRAM_BINS
) -> tuple[np.ndarray, int]:
    """``(counts, total)``: every valid triplet of the diagram's prefix of ``snapshot``.

    ``counts`` ``(bins, bins)`` int64: ``counts[i, j]`` triplets ``(a, p, n)`` (``a != p``
    of one class, ``n`` of another) with ``d(a, p)`` in bin ``i`` and ``d(a, n)`` in bin
    ``j``, a distance ``d`` in bin ``min(floor(d * bins / d_max), bins - 1)``; ``total``:
    their number (the counts' sum). Exact, ``O(n^2)``: an anchor's triplets are the outer
    product of its positives' and its negatives' histograms (as
    :func:`lossviz.batches.triplet_diagram.triplet_density`, without its picks).
    """
    dist = prefix_distances(snapshot.embeddings)
    labels = snapshot.labels[:DIAGRAM_POINTS].numpy()
    n = labels.shape[0]
    same = labels[:, None] == labels[None, :]
    cell = np.floor(dist * bins / d_max)
    np.minimum(cell, bins - 1, out=cell)
    cell += (np.arange(n) * bins)[:, None]  # one histogram row per anchor
    flat = cell.astype(np.intp).ravel()
    every = np.bincount(flat, minlength=n * bins).reshape(n, bins)
    positives = np.bincount(flat[same.ravel()], minlength=n * bins).reshape(n, bins)
    positives[:, 0] -= 1  # the anchor itself (at distance 0) is no positive
    negatives = every - positives - 1 * (np.arange(bins) == 0)
    # Integer-valued float64 (every partial sum below 2^53): exact, and 8x int64's speed.
    counts = np.rint(positives.T.astype(np.float64) @ negatives).astype(np.int64)
    return counts, int(positives.sum(axis=1) @ negatives.sum(axis=1))


def encode_density(counts: np.ndarray, total: int) -> str:
    """``counts`` (B, B) summing to ``total`` -> base64 of one byte per cell, row-major
    (``counts[i, j]`` at ``i * B + j``): 0 for an empty cell, else
    ``1 + round(254 * ln(count) / ln(total))`` (255 when ``total`` is 1)."""
    counts = np.asarray(counts, dtype=np.float64)
    if total > 1:
        with np.errstate(divide="ignore"):
            level = np.rint(DENSITY_LEVELS * np.log(counts) / math.log(total))
        codes = np.where(counts > 0, 1 + np.clip(level, 0, DENSITY_LEVELS), 0)
    else:
        codes = np.where(counts > 0, 1 + DENSITY_LEVELS, 0)
    return base64.b64encode(codes.astype(np.uint8).tobytes()).decode("ascii")


def decode_density(encoded: dict) -> np.ndarray:
    """The counts a run's ``diagram`` carries (what the player shades): ``(bins, bins)``
    float64, each within half a level of its count (see :func:`encode_density`)."""
    bins, total = encoded["bins"], encoded["total"]
    codes = np.frombuffer(base64.b64decode(encoded["c"]), dtype=np.uint8).astype(np.float64)
    counts = np.where(codes > 0, float(total) ** ((codes - 1) / DENSITY_LEVELS), 0.0)
    return counts.reshape(bins, bins)


def encode_diagram(snapshot: Snapshot, start: Snapshot) -> dict:
    """A run's triplet diagram at ``snapshot``, on the axes of its step 0 ``start``:
    ``{"bins": 24, "d_max": float, "total": int, "c": base64 codes}``."""
    d_max = diagram_range(start)
    counts, total = frame_density(snapshot, d_max)
    return {"bins": DIAGRAM_BINS, "d_max": d_max, "total": total,
            "c": encode_density(counts, total)}  # fmt: skip


def encode_frame(frame: Sequence[Snapshot], first: Sequence[Snapshot]) -> dict:
    """One recorded step of each run (``frame[r]``), judged against each run's step 0.

    Returns ``{"step": int, "runs": [{"step", "loss", "spread", "shares",
    "collapsed", "stopped", "box", "q", "diagram"}, ...]}``; a run the guard stopped
    keeps its last snapshot (its ``step`` stays where it stopped). ``box`` and ``q``:
    :func:`encode_points`; ``diagram``: :func:`encode_diagram` (the triplet diagram of
    the run's first ``DIAGRAM_POINTS`` evaluation points, on axes from 0 to their largest
    distance at step 0).
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
                "diagram": encode_diagram(snapshot, start),
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
    the same for every frame and run; ``diagram_points``: how many of them (the first)
    each frame's triplet diagram counts.
    """
    return {
        "titles": [LOSS_LABELS[config.loss] for config in configs],
        "classes": [str(name) for name in class_names],
        "labels": first[0].labels.tolist(),
        "diagram_points": min(DIAGRAM_POINTS, len(first[0].labels)),
        "margin": configs[0].margin,
        "steps": configs[0].steps,
    }


__all__ = [
    "DENSITY_LEVELS",
    "DIAGRAM_BINS",
    "DIAGRAM_POINTS",
    "LEVELS",
    "decode_density",
    "decode_points",
    "diagram_range",
    "encode_density",
    "encode_diagram",
    "encode_frame",
    "encode_meta",
    "encode_points",
    "finite_or_none",
    "frame_density",
    "frame_json",
    "prefix_distances",
]
