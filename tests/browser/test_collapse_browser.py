"""The Vector collapse page in a real browser, on app.py's server: the player.

What AppTest cannot do: watch the browser play a shared run while the server still trains
it, press the player's own controls (pause, step, restart, scrub: they never reach the
server), see two students watch one run with one of them paused, follow an ``autostart``
link, and count the frames the browser paints. The frames the server sends are compared
with the core in the AppTests; here the points the player draws (its canvas's pixels) are
compared with the core's at a few steps, and its read-outs with the core's numbers. Only
what a viewer sees is read (tests/browser/player_helpers.py), never the player's state.

The frame rates while training and on replay are measured and written to
``test-artifacts/collapse-rates.json``, not asserted (they are the machine's;
bench/collapse_motion.py measures them for the README).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from lossviz.figures import CLASS_COLORS
from lossviz.scenes.scene import CollapseScene
from lossviz.scenes.training_scenes import configs
from lossviz.training.collapse import train
from lossviz.training.side_by_side import record_interval
from tests.browser.conftest import APP_TIMEOUT_MS, ARTIFACTS, VIEWPORT, wait_for_app
from tests.browser.plane_helpers import click_button, no_exception, shot
from tests.browser.player_helpers import (
    Shown,
    canvas_image,
    ended,
    now_ms,
    player,
    record_scrubber_moves,
    scrub_to,
    scrubber_moves,
    shown,
    wait_shown,
)

pytestmark = pytest.mark.browser

DOT, PAD = 3.6, 0.06  # player.js: a point's radius (px), the padding around a run's span
TRAIN_TIMEOUT_MS = 120_000  # 300 steps x 2 runs take ~1-2 s alone; the machine is shared
DIVERGING = "/collapse?dataset=blobs&loss=batch_hard&compare=none&optimizer=sgd&lr=10&steps=60"
QUICK = "dataset=blobs&steps=60&compare=none"
RATES = ARTIFACTS / "collapse-rates.json"


# --------------------------------------------------------------------------- page side


def open_collapse(page: Page, base_url: str, link: str) -> None:
    page.goto(f"{base_url}{link}")
    wait_for_app(page)
    expect(player(page).locator(".lv-status")).to_have_text(
        re.compile(r"^(step \d+ of \d+|before training)"), timeout=APP_TIMEOUT_MS
    )


def wait_until(page: Page, condition: Callable[[Shown], bool], what: str) -> Shown:
    return wait_shown(page, condition, what, TRAIN_TIMEOUT_MS / 1000)


def player_button(page: Page, title: str) -> Locator:
    return player(page).get_by_role("button", name=title, exact=True)


def readouts(page: Page) -> list[str]:
    return player(page).locator(".lv-readout").all_inner_texts()


def badges(page: Page) -> list[str]:
    return player(page).locator(".lv-badge").all_inner_texts()


def canvas_pixels(page: Page, run: int) -> bytes:
    return canvas_image(page, run).tobytes()


# --------------------------------------------------------------------------- core side


def scene_of(link: str) -> CollapseScene:
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    scene, notes = CollapseScene.parse_query({k: [v] for k, v in query.items()})
    assert not notes
    return scene


@functools.cache
def core_run(link: str, run: int) -> list:
    return list(train(configs(scene_of(link))[run]))


def drawn_centres(snapshots: list, frame: int, side: float) -> np.ndarray:
    """Where player.js draws the points of ``frame`` on a ``side`` px canvas, (E, 2) px.

    As its drawScatter: a square around the widest box of every frame received (here the
    whole run), padded by ``PAD`` of its side, inside a margin of ``DOT + 2`` px; y up.
    """
    points = [s.embeddings.numpy().astype(np.float64) for s in snapshots]
    lo = np.min([xy.min(axis=0) for xy in points], axis=0)
    hi = np.max([xy.max(axis=0) for xy in points], axis=0)
    span = max(*(hi - lo), 1e-6) * (1 + 2 * PAD)
    corner = (lo + hi) / 2 - span / 2
    scale = (side - 2 * DOT - 4) / span
    px = DOT + 2 + (points[frame] - corner) * scale
    return np.stack([px[:, 0], side - px[:, 1]], axis=1)


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def expect_core_points(page: Page, link: str, frame: int, run: int) -> int:
    """The run's canvas shows the core's points of ``frame`` where the core puts them: the
    pixel under every point's centre is painted, and under each point with no other dot
    near it, in its class's colour. Returns how many points were alone."""
    snapshots = core_run(link, run)
    image = canvas_image(page, run).astype(int)
    box = player(page).locator("canvas.lv-scatter").nth(run).bounding_box()
    assert box is not None
    centres = drawn_centres(snapshots, frame, box["width"])
    ratio = image.shape[1] / box["width"]
    pixels = image[(centres[:, 1] * ratio).astype(int), (centres[:, 0] * ratio).astype(int)]
    painted = pixels[:, 3] == 255
    assert painted.all(), (frame, run, int((~painted).sum()), len(centres))
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    alone = gaps.min(axis=1) > 2 * DOT + 2
    labels = snapshots[frame].labels.numpy()
    want = np.array([rgb(CLASS_COLORS[label % len(CLASS_COLORS)]) for label in labels])
    wrong = np.abs(pixels[:, :3] - want).max(axis=1) > 12
    assert not (wrong & alone).any(), (frame, run, int((wrong & alone).sum()), int(alone.sum()))
    return int(alone.sum())


# --------------------------------------------------------------------------- tests


def test_train_plays_the_shared_run_live_and_ends_collapsed_beside_the_fix(page, app_server):
    link = "/collapse?seed=101"
    open_collapse(page, app_server, link)
    assert shown(page).step == 0 and badges(page) == ["not collapsed"] * 2
    expect(player(page).locator(".lv-status")).to_have_text("before training")
    expect(player_button(page, "Play")).to_be_disabled()  # step 0 only, before training
    before = canvas_pixels(page, 0)

    click_button(page, "Train")
    early = wait_until(page, lambda s: s.playing and s.frame >= 3, "playing frame 3")
    early_pixels = canvas_pixels(page, 0)
    wait_until(page, lambda s: s.frame >= early.frame + 5, "five frames on")
    later = canvas_pixels(page, 0)
    assert len({before, early_pixels, later}) == 3, "the points did not move on the canvas"

    final = wait_until(page, ended, "the end of the run")
    assert final.step == 300 and final.frame == final.frames - 1
    assert final.status == "step 300 of 300"
    assert badges(page) == ["collapsed", "not collapsed"]
    left, right = (core_run(link, 0)[-1], core_run(link, 1)[-1])
    assert readouts(page)[0].startswith(f"step 300 · loss {left.loss:.4f} (margin 0.2)")
    assert readouts(page)[1].startswith(f"step 300 · loss {right.loss:.4f}")
    assert abs(left.loss - 0.2) <= 0.02 * 0.2 < abs(right.loss - 0.2)
    for run in (0, 1):
        expect_core_points(page, link, final.frame, run)
    expect(player_button(page, "Play")).to_have_text("▶ Replay")
    player_button(page, "Back to step 0").click()
    alone = [expect_core_points(page, link, 0, run) for run in (0, 1)]
    assert sum(alone) >= 10, alone  # so the colours were checked too
    scrub_to(page, final.frame)
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="Trained once")).to_have_count(
        1
    )
    no_exception(page)
    shot(page, "collapse")
    # The run for slides: built on request, then downloaded as an animated GIF.
    click_button(page, "Make a GIF for slides")
    download_button = page.get_by_test_id("stDownloadButton").get_by_role("button")
    expect(download_button).to_contain_text("Download the GIF", timeout=TRAIN_TIMEOUT_MS)
    with page.expect_download() as download:
        download_button.click()
    gif = download.value
    assert gif.suggested_filename.startswith("collapse-batch_hard-vs-batch_hard_fix-seed101")
    data = gif.path().read_bytes()
    assert data.startswith(b"GIF89a") and len(data) <= 5 * 2**20
    no_exception(page)


def test_pause_step_restart_and_scrub_show_the_recorded_steps(page, app_server):
    link = f"/collapse?{QUICK}&seed=102"
    open_collapse(page, app_server, link)
    click_button(page, "Train")
    wait_until(page, lambda s: s.finished and s.frame >= 2, "the whole run, at frame 2")
    player_button(page, "Pause").click()
    paused = shown(page)
    assert not paused.playing
    page.wait_for_timeout(800)
    assert shown(page).frame == paused.frame  # nothing moves while paused

    snapshots = core_run(link, 0)
    interval = record_interval(60)
    frame = paused.frame
    player_button(page, "One recorded step on").click()
    assert shown(page).frame == frame + 1
    step = snapshots[frame + 1]
    assert step.step == (frame + 1) * interval
    assert readouts(page)[0].startswith(f"step {step.step} · loss {step.loss:.4f}")
    player_button(page, "One recorded step back").click()
    player_button(page, "One recorded step back").click()
    assert shown(page).frame == frame - 1
    player_button(page, "Back to step 0").click()
    assert shown(page).step == 0 and readouts(page)[0].startswith("step 0 ·")

    # Scrub to a recorded frame: the slider's value is a frame index.
    scrub_to(page, 30)
    assert shown(page).frame == 30 and shown(page).step == snapshots[30].step
    expect_core_points(page, link, 30, 0)
    player(page).focus()
    page.keyboard.press("ArrowRight")
    assert shown(page).frame == 31
    page.keyboard.press(" ")  # play from here to the end
    assert wait_until(page, lambda s: not s.playing, "the end").frame == len(snapshots) - 1
    no_exception(page)


def test_two_students_watch_one_run_and_pause_only_their_own_view(browser: Browser, app_server):
    link = "/collapse?seed=103&steps=600&autostart=1"
    students = [browser.new_context(viewport=VIEWPORT).new_page() for _ in range(2)]
    try:
        for page in students:
            page.goto(f"{app_server}{link}")
        paused, watching = students
        wait_until(paused, lambda s: s.playing and s.frame >= 2, "playing frame 2")
        player_button(paused, "Pause").click()
        frame = shown(paused).frame
        end = wait_until(watching, ended, "the end of the run")
        assert end.frame == end.frames - 1
        # The paused student kept their place while the run went on for everyone...
        assert shown(paused).frame == frame and not shown(paused).playing
        assert wait_until(paused, lambda s: s.finished, "the whole run").frames == end.frames
        # ...the same run: at its last step both see the same numbers and the same points.
        scrub_to(paused, end.frame)
        assert readouts(paused) == readouts(watching)
        assert canvas_pixels(paused, 0) == canvas_pixels(watching, 0)
        # ...and a latecomer gets the finished run at once and plays it from step 0.
        late = browser.new_context(viewport=VIEWPORT).new_page()
        students.append(late)
        late.goto(f"{app_server}{link}")
        now = wait_until(late, lambda s: s.finished and s.playing, "replaying the whole run")
        assert now.frame < now.frames - 1
        for page in students:
            no_exception(page)
    finally:
        for page in students:
            page.context.close()


def test_a_diverging_run_says_so_and_the_server_keeps_serving(page, app_server):
    open_collapse(page, app_server, DIVERGING)
    click_button(page, "Train")
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("smaller learning rate", timeout=TRAIN_TIMEOUT_MS)
    expect(error).to_contain_text("Training stopped at step")
    stopped = wait_until(page, ended, "the end of the run")
    assert badges(page) == ["stopped"]
    assert 0 < stopped.step < 60
    assert "loss not finite" in readouts(page)[0]
    no_exception(page)
    shot(page, "collapse-diverged")

    page.goto(f"{app_server}/playground")
    wait_for_app(page)
    expect(page.get_by_test_id("stMetric")).to_have_count(4, timeout=APP_TIMEOUT_MS)
    no_exception(page)


def test_an_autostart_link_plays_without_a_click(page, app_server):
    open_collapse(page, app_server, f"/collapse?{QUICK}&seed=104&autostart=1")
    end = wait_until(page, ended, "the end of the run")
    assert end.frames == 60 // record_interval(60) + 1
    assert end.step == 60
    no_exception(page)


# --------------------------------------------------------------------------- measurements


def rate(moves: list[float], start: float, end: float) -> dict:
    """Animation frames in which the points moved (the scrubber with them), per second."""
    seconds = (end - start) / 1000
    gaps = np.diff(moves) if len(moves) > 1 else np.array([np.nan])
    return {
        "seconds": round(seconds, 2),
        "moving_paints": len(moves),
        "fps": round(len(moves) / seconds, 1) if seconds > 0 else 0.0,
        "median_gap_ms": round(float(np.median(gaps)), 1),
        "p95_gap_ms": round(float(np.percentile(gaps, 95)), 1),
    }


def test_measure_live_and_replay_frame_rates(page, app_server):
    open_collapse(page, app_server, "/collapse?seed=105")
    record_scrubber_moves(page)
    click_button(page, "Train")
    wait_until(page, lambda s: s.playing and s.status != "before training", "playing")
    start = now_ms(page)
    wait_until(page, ended, "the end of the run")
    live_end = now_ms(page)
    player_button(page, "Play").click()  # "▶ Replay"
    replay_start = now_ms(page)
    wait_until(page, lambda s: not s.playing, "the end of the replay")
    end = now_ms(page)
    rates = {
        "live (the server training meanwhile)": rate(
            scrubber_moves(page, start, live_end), start, live_end
        ),
        "replay": rate(scrubber_moves(page, replay_start, end), replay_start, end),
    }
    RATES.parent.mkdir(parents=True, exist_ok=True)
    RATES.write_text(json.dumps(rates, indent=2) + "\n")
    print(f"\ncollapse player rates: {json.dumps(rates)}")
    # The rates are measured, not asserted (they are the machine's; bench/collapse_motion.py
    # measures them for the README): here the points only have to have moved.
    assert all(r["moving_paints"] > 0 for r in rates.values()), rates
