"""frame_codec: points packed in their box come back within half a level, in Python and in the
browser's decoder (player.js run by node); frames carry the core's numbers, JSON-safe."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch

from lossviz.training.collapse import LOSS_LABELS, Snapshot, TrainConfig, collapsed, train
from lossviz.training.frame_codec import (
    DENSITY_LEVELS,
    DIAGRAM_BINS,
    DIAGRAM_POINTS,
    LEVELS,
    decode_density,
    decode_points,
    diagram_range,
    encode_density,
    encode_frame,
    encode_meta,
    encode_points,
    finite_or_none,
    frame_density,
)
from lossviz.ui.components.component import ASSETS, inline_js

PLAYER_JS = ASSETS / "player.js"


def point_sets() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(400, 2, generator=g),
        torch.randn(50, 2, generator=g) * 1e-7 + torch.tensor([0.3, -1.2]),  # a collapsed cloud
        torch.randn(50, 2, generator=g) * 1e6,
        torch.tensor([[5.0, 5.0], [5.0, 5.0]]),  # every point equal: a zero-width box
        torch.tensor([[0.0, 1.0], [0.0, 3.0]]),  # zero width in x only
        torch.tensor([[-2.0, 7.5]]),
    ]


@pytest.mark.parametrize("points", point_sets())
def test_points_come_back_within_half_a_level_of_their_box(points):
    encoded = encode_points(points)
    back = decode_points(encoded)
    x0, y0, x1, y1 = encoded["box"]
    width = torch.tensor([x1 - x0, y1 - y0], dtype=torch.float64)
    exact = points.to(torch.float64)
    assert back.shape == points.shape
    assert bool(((back - exact).abs() <= width / (2 * LEVELS) + 1e-12 * exact.abs()).all())
    # The box is the points' own extent: its corners are exact.
    assert [x0, y0] == exact.min(0).values.tolist() and [x1, y1] == exact.max(0).values.tolist()
    assert len(encoded["q"]) == math.ceil(points.numel() * 2 / 3) * 4  # base64 of uint16s


def test_bad_points_are_refused():
    with pytest.raises(ValueError, match=r"\(E, 2\)"):
        encode_points(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="finite"):
        encode_points(torch.tensor([[0.0, math.nan]]))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run player.js")
def test_the_browser_decoder_equals_the_python_one():
    encoded = [encode_points(points) for points in point_sets()]
    script = (
        f"const src = {json.dumps(inline_js(PLAYER_JS))};"  # its imports resolved
        "const m = await import('data:text/javascript,' + encodeURIComponent(src));"
        f"const cases = {json.dumps(encoded)};"
        "const spreads = [[1e-4, 1], [0.98314, 1], [38.74, 1], [1.3e12, 1], [null, 1], [1, 0]];"
        "console.log(JSON.stringify({"
        "  points: cases.map((c) => Array.from(m.decodePoints(c.box, c.q))),"
        "  spreads: spreads.map(([s, start]) => m.spreadText(s, start)),"
        "}));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    for case, values in zip(encoded, got["points"], strict=True):
        want = decode_points(case).flatten().tolist()
        assert values == pytest.approx(want, rel=1e-15, abs=1e-300)
    assert got["spreads"] == ["0.01%", "98.31%", "3,874%", "1.3e+12x", "-", "-"]


def small_run(**changes) -> list[Snapshot]:
    config = TrainConfig(dataset="blobs", steps=20, record_every=5, batch_size=32, eval_size=60)
    return list(train(config.replace(**changes)))


def test_a_frame_carries_the_core_numbers_of_each_run():
    left, right = small_run(), small_run(loss="batch_hard_fix")
    frame = encode_frame((left[-1], right[-1]), (left[0], right[0]))
    json.dumps(frame, allow_nan=False)  # plain JSON, nothing the browser cannot parse
    assert frame["step"] == 20
    for encoded, snapshot, first in zip(frame["runs"], (left[-1], right[-1]),
                                        (left[0], right[0]), strict=True):  # fmt: skip
        assert encoded["step"] == snapshot.step and encoded["loss"] == snapshot.loss
        assert encoded["spread"] == snapshot.spread and encoded["stopped"] is None
        assert encoded["shares"] == pytest.approx(list(snapshot.shares), abs=1e-6)
        assert encoded["collapsed"] == collapsed(first, snapshot)
        back = decode_points(encoded)
        assert torch.allclose(back, snapshot.embeddings.double(), rtol=0, atol=1e-4)


def test_a_stopped_run_sends_its_message_and_no_nan():
    # Blobs, classic batch-hard, SGD at lr 10 overflows float32 within a few steps.
    run = small_run(loss="batch_hard", optimizer="sgd", lr=10.0, steps=60, record_every=1)
    last = run[-1]
    assert last.stopped and not math.isfinite(last.loss)
    frame = encode_frame((last,), (run[0],))
    json.dumps(frame, allow_nan=False)
    assert frame["runs"][0]["loss"] is None and frame["runs"][0]["stopped"] == last.stopped


def test_finite_or_none():
    assert finite_or_none(0.25) == 0.25 and finite_or_none(-0.0) == 0.0
    assert finite_or_none(math.nan) is None and finite_or_none(-math.inf) is None


def test_meta_names_the_runs_and_classes():
    config = TrainConfig(dataset="blobs", steps=10, eval_size=40)
    first = (next(train(config)), next(train(config.replace(loss="batch_all"))))
    meta = encode_meta((config, config.replace(loss="batch_all")), first, ["a", "<b>"])
    assert meta["titles"] == [LOSS_LABELS["batch_hard"], LOSS_LABELS["batch_all"]]
    assert meta["classes"] == ["a", "<b>"]  # text; the player writes it with textContent
    assert meta["labels"] == first[0].labels.tolist() and len(meta["labels"]) == 40
    assert meta["margin"] == config.margin and meta["steps"] == 10
    assert meta["diagram_points"] == 40  # all of them: fewer than DIAGRAM_POINTS


# --------------------------------------------------------------------------- triplet diagram


def snapshot_of(points: torch.Tensor, labels: list[int], step: int = 0) -> Snapshot:
    return Snapshot(step=step, loss=0.3, spread=1.0, embeddings=points.float(),
                    labels=torch.tensor(labels), shares=(0.2, 0.3, 0.5))  # fmt: skip


def loop_density(points: torch.Tensor, labels: list[int], d_max: float, bins: int):
    """Every valid triplet by three plain loops, binned by the documented rule."""
    xy = points.double().tolist()
    n = len(labels)
    counts = [[0] * bins for _ in range(bins)]

    def cell(d: float) -> int:
        return min(math.floor(d * bins / d_max), bins - 1)

    for a in range(n):
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            for q in range(n):
                if labels[q] != labels[a]:
                    counts[cell(math.dist(xy[a], xy[p]))][cell(math.dist(xy[a], xy[q]))] += 1
    return counts


def test_the_diagram_counts_every_valid_triplet_in_its_cell():
    g = torch.Generator().manual_seed(3)
    points = torch.randn(30, 2, generator=g)
    labels = [i % 3 for i in range(29)] + [7]  # a class of one: an anchor with no positive
    start = snapshot_of(points, labels)
    later = snapshot_of(points * 0.4 + 0.1, labels, step=10)
    d_max = diagram_range(start)
    counts, total = frame_density(later, d_max)
    want = loop_density(points * 0.4 + 0.1, labels, d_max, DIAGRAM_BINS)
    assert counts.tolist() == want
    assert total == sum(map(sum, want)) == int(counts.sum()) > 0
    # The frame carries that total and codes that come back within half a level.
    encoded = encode_frame((later,), (start,))["runs"][0]["diagram"]
    assert encoded["total"] == total and encoded["bins"] == DIAGRAM_BINS
    assert encoded["d_max"] == d_max
    back = decode_density(encoded)
    half_level = total ** (0.5 / DENSITY_LEVELS)
    exact = counts.astype(float)
    assert ((back == 0) == (exact == 0)).all()
    nonzero = exact > 0
    assert (back[nonzero] / exact[nonzero] <= half_level * (1 + 1e-12)).all()
    assert (exact[nonzero] / back[nonzero] <= half_level * (1 + 1e-12)).all()
    assert len(encoded["c"]) == 4 * math.ceil(DIAGRAM_BINS**2 / 3)  # one byte per cell


def test_the_range_is_the_largest_step_0_distance_of_the_first_200_points():
    g = torch.Generator().manual_seed(4)
    points = torch.randn(260, 2, generator=g)
    points[230] = torch.tensor([80.0, -80.0])  # beyond the prefix: not in the range
    labels = [i % 4 for i in range(260)]
    start = snapshot_of(points, labels)
    prefix = points[:DIAGRAM_POINTS].double()
    want = float(torch.cdist(prefix, prefix).max())
    assert DIAGRAM_POINTS == 200
    assert diagram_range(start) == pytest.approx(want, rel=1e-15)
    # Every frame of the run is drawn on the range of its step 0, however it moves.
    spread = snapshot_of(points * 5, labels, step=40)
    frame = encode_frame((spread,), (start,))["runs"][0]["diagram"]
    assert frame["d_max"] == diagram_range(start)
    counts, total = frame_density(spread, frame["d_max"])
    assert total == DIAGRAM_POINTS * 49 * 150  # 4 classes of 50: the prefix only
    # Five times the range: most distances are beyond it, on the far row and column.
    assert counts[-1, :].sum() + counts[:, -1].sum() > 0.5 * total
    assert diagram_range(snapshot_of(torch.zeros(4, 2), [0, 0, 1, 1])) == 1.0  # no spread


def test_a_collapsed_frame_puts_every_triplet_at_the_origin():
    run = small_run()
    start = run[0]
    collapsed_points = torch.full_like(start.embeddings, 0.37)
    gone = snapshot_of(collapsed_points, start.labels.tolist(), step=20)
    diagram = encode_frame((gone,), (start,))["runs"][0]["diagram"]
    back = decode_density(diagram)
    n = min(DIAGRAM_POINTS, len(start.labels))
    per_class = torch.bincount(start.labels[:n])
    want = int(sum(c * (c - 1) * (n - c) for c in per_class.tolist()))
    assert diagram["total"] == want > 0
    assert back[0, 0] == pytest.approx(want, rel=1e-12)
    assert (back.flatten()[1:] == 0).all()
    # ...where step 0 had them spread over the plane.
    at_start = decode_density(encode_frame((start,), (start,))["runs"][0]["diagram"])
    assert at_start[0, 0] < 0.05 * want and (at_start > 0).sum() > 50


def test_density_codes_keep_a_lone_triplet_and_the_whole_total():
    counts = np.zeros((DIAGRAM_BINS, DIAGRAM_BINS), dtype=np.int64)
    counts[0, 0], counts[3, 5], counts[23, 23] = 1, 999, 1_000_000
    total = int(counts.sum())
    encoded = {"bins": DIAGRAM_BINS, "total": total, "c": encode_density(counts, total)}
    back = decode_density(encoded)
    assert back[0, 0] == 1 and (back > 0).sum() == 3
    assert back[23, 23] == pytest.approx(1_000_000, rel=total ** (0.5 / DENSITY_LEVELS) - 1)
    one = np.zeros((2, 2), dtype=np.int64)
    one[1, 0] = 1
    assert decode_density({"bins": 2, "total": 1, "c": encode_density(one, 1)}).tolist() == [
        [0, 0],
        [1, 0],
    ]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run player.js")
def test_the_browser_reads_the_diagram_as_python_does():
    run = small_run()
    start = run[0]
    gone = snapshot_of(torch.zeros_like(start.embeddings), start.labels.tolist(), step=20)
    runs = [encode_frame((s,), (start,))["runs"][0] for s in (start, gone)]
    script = (
        f"const src = {json.dumps(inline_js(PLAYER_JS))};"
        "const m = await import('data:text/javascript,' + encodeURIComponent(src));"
        f"const runs = {json.dumps(runs)};"
        "console.log(JSON.stringify(runs.map((run) => {"
        "  const density = m.decodeDensity(run.diagram);"
        "  return { density: Array.from(density),"
        "           text: m.diagramText({ ...run, density }, 'Batch-hard') };"
        "})));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    for run, shown in zip(runs, got, strict=True):
        want = decode_density(run["diagram"]).flatten().tolist()
        assert shown["density"] == pytest.approx(want, rel=1e-12)
    total = f"{runs[1]['diagram']['total']:,}"
    assert got[1]["text"].startswith(
        f"Triplet diagram of Batch-hard, step 20: 100% of its {total} triplets have both "
        "distances under "
    )
    corner = re.match(r".*step 0: ([\d.]+)% of", got[0]["text"])
    assert corner and float(corner[1]) < 5, got[0]["text"]
