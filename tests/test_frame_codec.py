"""frame_codec: points packed in their box come back within half a level, in Python and in the
browser's decoder (player.js run by node); frames carry the core's numbers, JSON-safe."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import pytest
import torch

from lossviz.training.collapse import LOSS_LABELS, Snapshot, TrainConfig, collapsed, train
from lossviz.training.frame_codec import (
    LEVELS,
    decode_points,
    encode_frame,
    encode_meta,
    encode_points,
    finite_or_none,
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
