"""contrastive_gif: a real SimCLR side-by-side run as an animated GIF, and the download's
builder picking the right GIF for each kind of shared run."""

from __future__ import annotations

import dataclasses
import io
import time

import numpy as np
import pytest
from PIL import Image

from lossviz import figures
from lossviz.figures import simclr as simclr_figures
from lossviz.training import contrastive_gif, run_gif
from lossviz.training.collapse import LOSS_LABELS, TrainConfig, load_points
from lossviz.training.contrastive_training import Augment, ContrastiveConfig, probe_labels
from lossviz.training.run_registry import RunRegistry, run_id
from lossviz.training.side_by_side import SideBySide
from lossviz.ui.instruments import gif_download, simclr_run

CIRCLE = ContrastiveConfig(output_dim=2, steps=20, record_every=5, batch_size=32)
WIDE = CIRCLE.replace(output_dim=16)
KEY = (CIRCLE, WIDE)
COLLAPSE = TrainConfig(dataset="blobs", steps=20, record_every=5, batch_size=32, eval_size=60)
TOLERANCE = 12  # per channel: what palette mapping may move a drawn colour


def trained(configs) -> SideBySide:
    run = SideBySide(configs, "cpu")
    while not run.finished:
        run.advance()
    return run


def build(frames, configs, **options) -> bytes:
    labels = probe_labels(configs[0].seed)
    return contrastive_gif.contrastive_gif(
        frames, labels, contrastive_gif.gif_titles(configs), **options
    )


def rgb_frames(data: bytes) -> list[np.ndarray]:
    with Image.open(io.BytesIO(data)) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB"), dtype=np.int16))
    return frames


def near(pixels: np.ndarray, color: str) -> np.ndarray:
    """Which pixels of (H, W, 3) ``pixels`` are within ``TOLERANCE`` of ``#rrggbb``."""
    target = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return np.abs(pixels - target).max(axis=-1) <= TOLERANCE


def panels(pixels: np.ndarray, runs: int = 2, width: int = 960) -> list[np.ndarray]:
    boxes = contrastive_gif.geometry(runs, width).boxes
    return [pixels[top:bottom, left:right] for left, top, right, bottom in boxes]


@pytest.fixture(scope="module")
def pair() -> SideBySide:
    return trained(KEY)


@pytest.fixture(scope="module")
def pair_gif(pair) -> tuple[bytes, list[float]]:
    calls: list[float] = []
    return build(pair.frames(), KEY, report=calls.append), calls


def test_a_looping_gif_with_one_frame_per_record_and_the_last_held(pair, pair_gif):
    data, _ = pair_gif
    g = contrastive_gif.geometry(2, 960)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "GIF"
        assert image.n_frames == len(pair.frames()) == 5
        assert image.size == (960, contrastive_gif.height(g))
        assert image.info["loop"] == 0
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
    assert durations[:-1] == [1000 // contrastive_gif.FPS] * 4
    assert durations[-1] == run_gif.HOLD_MS


def test_every_panel_shows_every_digit_at_the_start_and_the_end(pair_gif):
    digits = sorted(set(probe_labels(CIRCLE.seed)[: contrastive_gif.POINTS_DRAWN].tolist()))
    assert digits == list(range(10))
    frames = rgb_frames(pair_gif[0])
    for pixels in (frames[0], frames[-1]):
        for panel in panels(pixels):
            for digit in digits:
                assert near(panel, figures.CLASS_COLORS[digit]).any(), digit


def on_ring(panel: np.ndarray) -> float:
    """The share of 360 directions in which the unit circle's place in ``panel`` is inked."""
    side = panel.shape[0]
    dot = run_gif.DOT * side / run_gif.DOT_SIDE
    radius = (side / 2 - dot - 2) / contrastive_gif.CIRCLE_REACH
    angles = np.radians(np.arange(360))
    inked = 0
    for angle in angles:
        x, y = side / 2 + radius * np.cos(angle), side / 2 - radius * np.sin(angle)
        near_ring = panel[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2]
        inked += bool((near_ring < 230).any())
    return inked / len(angles)


def test_the_2d_run_is_on_a_circle_and_the_other_a_pca(pair, pair_gif):
    frames = pair.frames()
    assert contrastive_gif.on_circle(frames, 0) and not contrastive_gif.on_circle(frames, 1)
    circle_panel, pca_panel = panels(rgb_frames(pair_gif[0])[-1])
    assert on_ring(circle_panel) == 1.0
    assert on_ring(pca_panel) < 0.5
    # The square holds every record's points: nothing is drawn near its frame.
    for pixels in rgb_frames(pair_gif[0]):
        inner = panels(pixels)[1][2:-2, 2:-2]
        edge = np.concatenate([inner[0], inner[-1], inner[:, 0], inner[:, -1]])
        assert (edge == 255).all()


def test_the_background_stays_white_and_the_points_move(pair_gif):
    frames = rgb_frames(pair_gif[0])
    assert all((pixels[2, 2] == 255).all() for pixels in frames)
    for first, last in zip(panels(frames[0]), panels(frames[-1]), strict=True):
        assert (first != last).any()


def test_report_rises_to_one(pair, pair_gif):
    calls = pair_gif[1]
    assert len(calls) == len(pair.frames()) + 1
    assert all(0 < a < b for a, b in zip(calls, calls[1:], strict=False))
    assert calls[-1] == 1.0


def test_readouts_titles_and_names(pair):
    first = pair.frames()[0][0]
    line = contrastive_gif.readout(first)
    assert line.startswith("step 0 · NT-Xent ")
    assert f"· alignment {first.alignment:.2f} · uniformity {first.uniformity:.2f} · " in line
    assert line.endswith(f"· eff. rank {first.effective_rank:.1f}")
    broken = dataclasses.replace(first, nt_xent=float("nan"))
    assert "NT-Xent not finite" in contrastive_gif.readout(broken)
    assert contrastive_gif.plain("A: τ 0.05") == "A: tau 0.05"
    labels = probe_labels(CIRCLE.seed).numpy()[: contrastive_gif.POINTS_DRAWN]
    canvas = contrastive_gif._canvas(pair.frames(), labels, ["A: τ 0.05", "B: τ 1"], 960)
    assert canvas.titles == ("A: tau 0.05", f"B: tau 1 · {contrastive_gif.PCA_NOTE}")
    assert contrastive_gif.gif_name(KEY) == f"simclr-{run_id(KEY)}.gif"
    with pytest.raises(ValueError):
        contrastive_gif.gif_name([])


@pytest.mark.parametrize(
    "key",
    [
        (ContrastiveConfig(temperature=0.05, output_dim=2),
         ContrastiveConfig(temperature=1.0, output_dim=2)),
        KEY,
        (CIRCLE,),
        (CIRCLE, CIRCLE),
        (ContrastiveConfig(augment=Augment(max_shift=3)), ContrastiveConfig(projector=True,
         variance_weight=5.0, augment=Augment(noise_std=0.3, dropout=0.2))),
    ],
)  # fmt: skip
def test_the_titles_are_the_simclr_pages(key):
    assert contrastive_gif.gif_titles(key) == simclr_run.run_titles(list(key))


def test_the_colours_and_points_are_the_pages():
    assert contrastive_gif.POINTS_DRAWN == simclr_figures.POINTS_DRAWN
    assert contrastive_gif.RUN_COLORS == figures.RUN_COLORS
    assert run_gif.CLASS_COLORS == figures.CLASS_COLORS
    colors = contrastive_gif.palette_colors()
    for color in (*figures.CLASS_COLORS, *figures.RUN_COLORS, contrastive_gif.CIRCLE_COLOR):
        assert tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)) in colors


def test_a_stopped_run_shows_its_badge(pair):
    frames = [list(frame) for frame in pair.frames()]
    frames[-1][1] = dataclasses.replace(frames[-1][1], stopped="Training stopped at step 20.")
    pixels = rgb_frames(build(frames, KEY))
    stopped = run_gif.BADGE_COLORS["stopped"]
    assert near(pixels[-1], stopped).any() and not near(pixels[0], stopped).any()


def test_a_single_run_at_another_width():
    single = trained([CIRCLE])
    data = build(single.frames(), (CIRCLE,), width=640, fps=5)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (640, contrastive_gif.height(contrastive_gif.geometry(1, 640)))
        assert image.n_frames == len(single.frames()) and image.info["duration"] == 200
    (panel,) = panels(rgb_frames(data)[-1], runs=1, width=640)
    assert near(panel, figures.CLASS_COLORS[0]).any()


def test_bad_arguments_are_refused(pair):
    frames, labels, titles = pair.frames(), probe_labels(0), ["A", "B"]
    for frames_, labels_, titles_, options in (
        ([], labels, titles, {}),
        (frames, labels, ["only one"], {}),
        (frames, labels[:10], titles, {}),
        (frames, labels, titles, {"width": 100}),
        (frames, labels, titles, {"fps": 0}),
    ):
        with pytest.raises(ValueError):
            contrastive_gif.contrastive_gif(frames_, labels_, titles_, **options)


def finish(run, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    progress = run.progress()
    while not progress.finished:
        assert time.monotonic() < deadline, "the run did not finish"
        progress = run.wait(progress.frames, timeout=1.0)
    assert progress.error is None


@pytest.fixture(scope="module")
def shared_runs():
    """A finished shared SimCLR run and a finished shared collapse run."""
    registry = RunRegistry(device="cpu")
    try:
        runs = registry.start(KEY), registry.start((COLLAPSE,))
        for run in runs:
            finish(run)
        yield runs
    finally:
        registry.close()


def test_the_download_builds_the_simclr_gif_of_a_shared_contrastive_run(pair, pair_gif,
                                                                        shared_runs):  # fmt: skip
    run, _ = shared_runs
    calls: list[float] = []
    data = gif_download._make(run, calls.append)
    assert data == pair_gif[0]  # the registry's run is the core run, bit for bit
    assert calls[-1] == 1.0
    assert gif_download.file_name(run) == f"simclr-{run.id}.gif"


def test_the_download_builds_the_player_gif_of_a_shared_collapse_run(shared_runs):
    _, run = shared_runs
    data = gif_download._make(run, lambda fraction: None)
    names = load_points(COLLAPSE.dataset).names
    assert data == run_gif.run_gif(run.frames(), [LOSS_LABELS[COLLAPSE.loss]], names,
                                   COLLAPSE.margin)  # fmt: skip
    assert gif_download.file_name(run) == run_gif.gif_name((COLLAPSE,))
