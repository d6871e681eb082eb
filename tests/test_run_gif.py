"""run_gif: a real side-by-side run as an animated GIF (frames, timing, colours, badges)."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from lossviz import figures
from lossviz.training import run_gif
from lossviz.training.collapse import LOSS_LABELS, TrainConfig, load_points
from lossviz.training.side_by_side import SideBySide

SMALL = TrainConfig(dataset="blobs", steps=20, record_every=5, batch_size=32, eval_size=60)
DIVERGING = TrainConfig(
    dataset="blobs", loss="batch_hard", optimizer="sgd", lr=10.0, steps=60, record_every=2,
    batch_size=32, eval_size=60,
)  # fmt: skip
NAMES = load_points("blobs").names
TOLERANCE = 12  # per channel: what palette mapping may move a drawn colour


def trained(configs: list[TrainConfig]) -> SideBySide:
    run = SideBySide(configs)
    while not run.finished:
        run.advance(10)
    return run


def gif(run: SideBySide, **options) -> tuple[bytes, list[float]]:
    calls: list[float] = []
    titles = [LOSS_LABELS[c.loss] for c in run.configs]
    data = run_gif.run_gif(
        run.frames(), titles, NAMES, run.configs[0].margin, progress=calls.append, **options
    )
    return data, calls


def rgb_frames(data: bytes) -> list[np.ndarray]:
    image = Image.open(io.BytesIO(data))
    frames = []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(np.asarray(image.convert("RGB"), dtype=np.int16))
    return frames


def rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def has_color(pixels: np.ndarray, color: str) -> bool:
    """Whether some pixel of (H, W, 3) ``pixels`` is within ``TOLERANCE`` of ``#rrggbb``."""
    target = np.array(rgb(color), dtype=np.int16)
    return bool((np.abs(pixels - target).max(axis=-1) <= TOLERANCE).any())


@pytest.fixture(scope="module")
def pair() -> SideBySide:
    return trained([SMALL, SMALL.replace(loss="batch_hard_fix")])


@pytest.fixture(scope="module")
def pair_gif(pair) -> tuple[bytes, list[float]]:
    return gif(pair)


def test_a_looping_gif_with_one_frame_per_record_and_the_last_held(pair, pair_gif):
    data, _ = pair_gif
    image = Image.open(io.BytesIO(data))
    g = run_gif.geometry(2, 960)
    assert image.format == "GIF"
    assert image.n_frames == len(pair.frames()) == 5
    assert image.size == (960, g.legend_y + run_gif.LEGEND_ROW + run_gif.BOTTOM)
    assert image.info["loop"] == 0
    durations = []
    for index in range(image.n_frames):
        image.seek(index)
        durations.append(image.info["duration"])
    assert durations[:-1] == [80] * 4  # 1000 / 12 fps, in the GIF's whole hundredths
    assert durations[-1] == run_gif.HOLD_MS


def test_every_panel_of_every_frame_shows_every_class(pair, pair_gif):
    g = run_gif.geometry(2, 960)
    labels = sorted(set(pair.frames()[0][0].labels.tolist()))
    for pixels in rgb_frames(pair_gif[0]):
        for left, top, right, bottom in g.boxes:
            panel = pixels[top:bottom, left:right]
            for label in labels:
                assert has_color(panel, run_gif.CLASS_COLORS[label]), label


def test_the_background_stays_exactly_white_and_the_points_move(pair_gif):
    frames = rgb_frames(pair_gif[0])
    assert all((pixels[2, 2] == 255).all() for pixels in frames)
    g = run_gif.geometry(2, 960)
    for left, top, right, bottom in g.boxes:
        first, last = frames[0][top:bottom, left:right], frames[-1][top:bottom, left:right]
        assert (first != last).any()


def test_progress_rises_to_one(pair, pair_gif):
    calls = pair_gif[1]
    assert len(calls) == len(pair.frames()) + 1
    assert all(0 < a < b for a, b in zip(calls, calls[1:], strict=False))
    assert calls[-1] == 1.0


def test_badges_and_readouts_follow_the_player(pair):
    frames = pair.frames()
    first, last = frames[0][0], frames[-1][0]
    assert run_gif.badge(last, first) == "not collapsed"
    assert run_gif.readout(first, first, 0.2).startswith("step 0 · loss ")
    assert run_gif.readout(first, first, 0.2).endswith("(margin 0.2) · spread 100.00% of its start")
    assert [run_gif.spread_text(x, 1.0) for x in (0.0005, 0.9831, 38.74, 1.3e12)] == [
        "0.05%", "98.31%", "3,874%", "1.3e+12x"
    ]  # fmt: skip
    assert run_gif.spread_text(1.0, 0.0) == run_gif.spread_text(float("nan"), 1.0) == "-"
    huge = dataclasses.replace(first, loss=1.5e22)  # JavaScript's toFixed turns exponential
    assert "· loss 1.5e+22 (margin" in run_gif.readout(huge, first, 0.2)


def test_a_single_run_at_another_width(pair):
    single = trained([SMALL])
    data, calls = gif(single, width=640, fps=5)
    image = Image.open(io.BytesIO(data))
    assert image.size[0] == 640 and image.n_frames == len(single.frames())
    assert image.info["duration"] == 200 and calls[-1] == 1.0
    ((left, top, right, bottom),) = run_gif.geometry(1, 640).boxes
    assert right - left == run_gif.geometry(2, 640).side
    assert has_color(rgb_frames(data)[-1][top:bottom, left:right], run_gif.CLASS_COLORS[0])


def test_a_stopped_run_still_renders_with_its_badge():
    run = trained([DIVERGING])
    assert run.stopped() and "Training stopped" in run.stopped()[0]
    frames = run.frames()
    assert run_gif.badge(frames[-1][0], frames[0][0]) == "stopped"
    assert "loss not finite" in run_gif.readout(frames[-1][0], frames[0][0], DIVERGING.margin)
    data, calls = gif(run)
    pixels = rgb_frames(data)
    assert len(pixels) == len(frames) and calls[-1] == 1.0
    stopped = run_gif.BADGE_COLORS["stopped"]
    assert has_color(pixels[-1], stopped) and not has_color(pixels[0], stopped)


def test_bad_arguments_are_refused(pair):
    frames, titles = pair.frames(), ["a", "b"]
    for frames_, titles_, options in (
        ([], titles, {}),
        (frames, ["only one"], {}),
        (frames, titles, {"width": 100}),
        (frames, titles, {"fps": 0}),
    ):
        with pytest.raises(ValueError):
            run_gif.run_gif(frames_, titles_, NAMES, 0.2, **options)


def test_the_palette_holds_the_drawn_colours_exactly():
    colors = run_gif.palette_colors(run_gif.CLASS_COLORS)
    assert len(colors) <= 256 and colors[0] == (255, 255, 255)
    for color in (*run_gif.CLASS_COLORS, *run_gif.BADGE_COLORS.values(), run_gif.TEXT_COLOR):
        assert rgb(color) in colors


def test_the_colours_are_the_pages():
    from lossviz.ui.components.player import STYLE

    assert run_gif.CLASS_COLORS == figures.CLASS_COLORS
    rim, frame = STYLE["rim_color"], STYLE["frame_color"]
    assert (rim, frame) == (run_gif.RIM_COLOR, run_gif.FRAME_COLOR)


def test_gif_name():
    pair = [TrainConfig(), TrainConfig(loss="batch_hard_fix")]
    assert run_gif.gif_name(pair) == "collapse-batch_hard-vs-batch_hard_fix-seed0-300steps.gif"
    assert run_gif.gif_name([SMALL.replace(seed=7)]) == "collapse-batch_hard-seed7-20steps.gif"
    with pytest.raises(ValueError):
        run_gif.gif_name([])
