"""The Vector collapse page in a real browser, on app.py's server: the player.

What AppTest cannot do: watch the browser play a shared run while the server still trains
it, press the player's own controls (pause, step, restart, scrub: they never reach the
server), see two students watch one run with one of them paused, follow an ``autostart``
link, and count the frames the browser paints. The frames the server sends are compared
with the core in the AppTests; here the points the player decoded are compared with the
core's at a few steps, and its read-outs with the core's numbers.

The frame rates while training and on replay are measured and written to
``test-artifacts/collapse-rates.json``; only floors that catch a broken page are asserted
(bench/collapse_motion.py measures them for the README).
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from lossviz.scenes.scene import CollapseScene
from lossviz.scenes.training_scenes import configs
from lossviz.training.collapse import train
from lossviz.training.side_by_side import record_interval
from tests.browser.conftest import APP_TIMEOUT_MS, ARTIFACTS, VIEWPORT, wait_for_app
from tests.browser.plane_helpers import click_button, no_exception, shot

pytestmark = pytest.mark.browser

TRAIN_TIMEOUT_MS = 120_000  # 300 steps x 2 runs take ~1-2 s alone; the machine is shared
DIVERGING = "/collapse?dataset=blobs&loss=batch_hard&compare=none&optimizer=sgd&lr=10&steps=60"
QUICK = "dataset=blobs&steps=60&compare=none"
RATES = ARTIFACTS / "collapse-rates.json"


# --------------------------------------------------------------------------- page side


def player(page: Page) -> Locator:
    return page.locator(".lv-player")


def open_collapse(page: Page, base_url: str, link: str) -> None:
    page.goto(f"{base_url}{link}")
    wait_for_app(page)
    expect(player(page)).to_have_attribute(
        "data-frames", re.compile(r"\d+"), timeout=APP_TIMEOUT_MS
    )


def state(page: Page) -> dict:
    """The player's data attributes: run, frame, frames, step, playing, finished."""
    return player(page).evaluate("(el) => ({...el.dataset})")


def wait_until(page: Page, condition: str, timeout_ms: int = TRAIN_TIMEOUT_MS) -> None:
    """Poll a JS condition on the player's root element ``el`` (inside a shadow root)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not player(page).evaluate(f"(el) => Boolean({condition})"):
        assert time.monotonic() < deadline, f"not within {timeout_ms} ms: {condition}"
        page.wait_for_timeout(25)


def player_button(page: Page, title: str) -> Locator:
    return player(page).get_by_role("button", name=title, exact=True)


def readouts(page: Page) -> list[str]:
    return player(page).locator(".lv-readout").all_inner_texts()


def badges(page: Page) -> list[str]:
    return player(page).locator(".lv-badge").all_inner_texts()


def decoded_points(page: Page, frame: int, run: int) -> np.ndarray:
    xy = player(page).evaluate(
        "(el, [f, r]) => Array.from(el.__lvPlayer.frames[f].runs[r].xy)", [frame, run]
    )
    return np.asarray(xy, dtype=np.float64).reshape(-1, 2)


def canvas_pixels(page: Page, run: int) -> bytes:
    return player(page).locator("canvas.lv-scatter").nth(run).evaluate("(c) => c.toDataURL()")


# --------------------------------------------------------------------------- core side


def scene_of(link: str) -> CollapseScene:
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    scene, notes = CollapseScene.parse_query({k: [v] for k, v in query.items()})
    assert not notes
    return scene


def core_run(link: str, run: int) -> list:
    return list(train(configs(scene_of(link))[run]))


def expect_core_points(page: Page, link: str, frame: int, run: int) -> None:
    snapshot = core_run(link, run)[frame]
    want = snapshot.embeddings.numpy().astype(np.float64)
    got = decoded_points(page, frame, run)
    width = want.max(axis=0) - want.min(axis=0)
    assert np.all(np.abs(got - want) <= width / 65535 + 1e-6), (frame, run)


# --------------------------------------------------------------------------- tests


def test_train_plays_the_shared_run_live_and_ends_collapsed_beside_the_fix(page, app_server):
    link = "/collapse?seed=101"
    open_collapse(page, app_server, link)
    assert state(page)["step"] == "0" and badges(page) == ["not collapsed"] * 2
    expect(player_button(page, "Play")).to_be_disabled()  # step 0 only, before training
    before = canvas_pixels(page, 0)

    click_button(page, "Train")
    wait_until(page, "el.dataset.playing === 'true' && Number(el.dataset.frame) >= 3")
    early = (canvas_pixels(page, 0), int(state(page)["frame"]))
    wait_until(page, f"Number(el.dataset.frame) >= {early[1] + 5}")
    later = canvas_pixels(page, 0)
    assert len({before, early[0], later}) == 3, "the points did not move on the canvas"

    wait_until(page, "el.dataset.finished === 'true' && el.dataset.playing === 'false'")
    final = state(page)
    assert final["step"] == "300" and final["frame"] == str(int(final["frames"]) - 1)
    assert badges(page) == ["collapsed", "not collapsed"]
    left, right = (core_run(link, 0)[-1], core_run(link, 1)[-1])
    assert readouts(page)[0].startswith(f"step 300 · loss {left.loss:.4f} (margin 0.2)")
    assert readouts(page)[1].startswith(f"step 300 · loss {right.loss:.4f}")
    assert abs(left.loss - 0.2) <= 0.02 * 0.2 < abs(right.loss - 0.2)
    for frame in (0, int(final["frame"])):
        for run in (0, 1):
            expect_core_points(page, link, frame, run)
    expect(player_button(page, "Play")).to_have_text("▶ Replay")
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
    wait_until(page, "el.dataset.finished === 'true' && Number(el.dataset.frame) >= 2")
    player_button(page, "Pause").click()
    paused = state(page)
    assert paused["playing"] == "false"
    page.wait_for_timeout(800)
    assert state(page)["frame"] == paused["frame"]  # nothing moves while paused

    snapshots = core_run(link, 0)
    interval = record_interval(60)
    frame = int(paused["frame"])
    player_button(page, "One recorded step on").click()
    assert state(page)["frame"] == str(frame + 1)
    step = snapshots[frame + 1]
    assert step.step == (frame + 1) * interval
    assert readouts(page)[0].startswith(f"step {step.step} · loss {step.loss:.4f}")
    player_button(page, "One recorded step back").click()
    player_button(page, "One recorded step back").click()
    assert state(page)["frame"] == str(frame - 1)
    player_button(page, "Back to step 0").click()
    assert state(page)["step"] == "0" and readouts(page)[0].startswith("step 0 ·")

    # Scrub to a recorded frame: the slider's value is a frame index.
    player(page).locator("input.lv-slider").evaluate(
        "(s) => { s.value = '30'; s.dispatchEvent(new Event('input')); }"
    )
    assert state(page)["frame"] == "30" and state(page)["step"] == str(snapshots[30].step)
    expect_core_points(page, link, 30, 0)
    player(page).focus()
    page.keyboard.press("ArrowRight")
    assert state(page)["frame"] == "31"
    page.keyboard.press(" ")  # play from here to the end
    wait_until(page, "el.dataset.playing === 'false'")
    assert state(page)["frame"] == str(len(snapshots) - 1)
    no_exception(page)


def test_two_students_watch_one_run_and_pause_only_their_own_view(browser: Browser, app_server):
    link = "/collapse?seed=103&steps=600&autostart=1"
    students = [browser.new_context(viewport=VIEWPORT).new_page() for _ in range(2)]
    try:
        for page in students:
            page.goto(f"{app_server}{link}")
        paused, watching = students
        wait_until(paused, "el.dataset.playing === 'true' && Number(el.dataset.frame) >= 2")
        player_button(paused, "Pause").click()
        frame = state(paused)["frame"]
        wait_until(watching, "el.dataset.finished === 'true' && el.dataset.playing === 'false'")
        assert state(watching)["frame"] == str(int(state(watching)["frames"]) - 1)
        # The paused student kept their place while the run went on for everyone...
        assert state(paused)["frame"] == frame and state(paused)["playing"] == "false"
        wait_until(paused, "el.dataset.finished === 'true'")
        assert state(paused)["frames"] == state(watching)["frames"]
        assert state(paused)["run"] == state(watching)["run"]
        # ...and a latecomer gets the finished run at once and plays it from step 0.
        late = browser.new_context(viewport=VIEWPORT).new_page()
        students.append(late)
        late.goto(f"{app_server}{link}")
        wait_until(late, "el.dataset.finished === 'true' && el.dataset.playing === 'true'")
        assert int(state(late)["frame"]) < int(state(late)["frames"]) - 1
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
    wait_until(page, "el.dataset.finished === 'true' && el.dataset.playing === 'false'")
    assert badges(page) == ["stopped"]
    assert 0 < int(state(page)["step"]) < 60
    assert "loss not finite" in readouts(page)[0]
    no_exception(page)
    shot(page, "collapse-diverged")

    page.goto(f"{app_server}/playground")
    wait_for_app(page)
    expect(page.get_by_test_id("stMetric")).to_have_count(4, timeout=APP_TIMEOUT_MS)
    no_exception(page)


def test_an_autostart_link_plays_without_a_click(page, app_server):
    open_collapse(page, app_server, f"/collapse?{QUICK}&seed=104&autostart=1")
    wait_until(page, "el.dataset.finished === 'true' && el.dataset.playing === 'false'")
    assert state(page)["frames"] == str(60 // record_interval(60) + 1)
    assert state(page)["step"] == "60"
    no_exception(page)


# --------------------------------------------------------------------------- measurements


def rate(paints: list, start: float, end: float) -> dict:
    """Paints that moved the points (a new position) between two times, per second."""
    moved = [t for (t, pos), (_, before) in zip(paints[1:], paints, strict=False)
             if start <= t <= end and pos != before]  # fmt: skip
    seconds = (end - start) / 1000
    gaps = np.diff(moved) if len(moved) > 1 else np.array([np.nan])
    return {
        "seconds": round(seconds, 2),
        "moving_paints": len(moved),
        "fps": round(len(moved) / seconds, 1) if seconds > 0 else 0.0,
        "median_gap_ms": round(float(np.median(gaps)), 1),
        "p95_gap_ms": round(float(np.percentile(gaps, 95)), 1),
    }


def test_measure_live_and_replay_frame_rates(page, app_server):
    open_collapse(page, app_server, "/collapse?seed=105")
    click_button(page, "Train")
    wait_until(page, "el.dataset.playing === 'true' && Number(el.dataset.frames) > 0")
    start = page.evaluate("() => performance.now()")
    wait_until(page, "el.dataset.finished === 'true' && el.dataset.playing === 'false'")
    live_end = page.evaluate("() => performance.now()")
    player_button(page, "Play").click()  # "▶ Replay"
    replay_start = page.evaluate("() => performance.now()")
    wait_until(page, "el.dataset.playing === 'false'")
    end = page.evaluate("() => performance.now()")
    paints = player(page).evaluate("(el) => el.__lvPaints")
    rates = {
        "live (the server training meanwhile)": rate(paints, start, live_end),
        "replay": rate(paints, replay_start, end),
    }
    RATES.parent.mkdir(parents=True, exist_ok=True)
    RATES.write_text(json.dumps(rates, indent=2) + "\n")
    print(f"\ncollapse player rates: {json.dumps(rates)}")
    # Floors that catch a broken player, not a slow machine (the README quotes the bench).
    assert all(r["fps"] >= 5 for r in rates.values()), rates
