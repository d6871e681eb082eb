"""The Vector collapse page (pages/collapse.py) in a real browser, on app.py's server.

What AppTest cannot do: see the page redraw *while* the script trains (the chunks), press
Pause in the middle of a training, follow an ``autostart`` link, replay the recorded
frames with Plotly's own controls. The numbers the AppTests compare with the core
(metrics of finished runs, Step by Step) are not checked again here; the browser's
figure data at steps 0 and 5 is compared with the core.

Two rates are measured and printed (and written to
``test-artifacts/collapse-rates.json``): the live redraws per second while the default
300-step side-by-side run trains, and the frames per second Plotly paints on "▶ Replay".
They depend on the machine's load, so only floors that catch a broken page are asserted.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import time

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from lossviz.collapse import LOSS_LABELS, train
from lossviz.collapse_run import record_interval
from lossviz.figures import class_color
from lossviz.scene import CollapseScene
from lossviz.ui import collapse as cl
from tests.browser.conftest import APP_TIMEOUT_MS, ARTIFACTS, wait_for_app
from tests.browser.plane_helpers import click_button, no_exception, shot

pytestmark = pytest.mark.browser

DEFAULT = CollapseScene()
STEPS = DEFAULT.steps
INTERVAL = record_interval(STEPS)  # 5: Step's stride for the default 300 steps
LEFT, RIGHT = LOSS_LABELS[DEFAULT.loss], LOSS_LABELS[DEFAULT.compare]
CLASSES = 10  # digits: one scatter trace per class and run
TRAIN_TIMEOUT_MS = 90_000  # 300 steps x 2 runs take ~5 s alone; the machine is shared
DIVERGING = "/collapse?dataset=blobs&loss=batch_hard&compare=none&optimizer=sgd&lr=10&steps=60"
AUTOSTART = "/collapse?dataset=blobs&steps=60&compare=none&autostart=1"
RATES = ARTIFACTS / "collapse-rates.json"
PICTURES = ARTIFACTS / "screenshots"


# --------------------------------------------------------------------------- page side


def open_collapse(page: Page, base_url: str, link: str = "/collapse", runs: int = 2) -> None:
    """Open a link and wait for the read-outs and the figure (Plotly's chunk is slow)."""
    page.goto(f"{base_url}{link}")
    wait_for_app(page)
    expect(page.get_by_test_id("stMetric")).to_have_count(3 * runs, timeout=APP_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot")).to_have_count(1, timeout=APP_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot .scatterlayer").first).to_be_attached()


def metric_values(page: Page, label: str) -> Locator:
    """The values of every ``st.metric`` labelled ``label``, left run first."""
    label_el = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=label_el).get_by_test_id("stMetricValue")


def shown_steps(page: Page) -> list[int]:
    return [int(text) for text in metric_values(page, "step").all_inner_texts()]


def run_column(page: Page, title: str) -> Locator:
    """The read-out column of the run titled ``title`` (not the metric cells inside it)."""
    return page.get_by_test_id("stColumn").filter(
        has=page.get_by_test_id("stMarkdown").get_by_text(title, exact=True)
    )


def expect_badge(page: Page, title: str, collapsed: bool) -> None:
    badge = run_column(page, title).locator(".stMarkdownBadge")
    expect(badge).to_have_count(1)
    if collapsed:
        expect(badge).to_contain_text("collapsed", timeout=TRAIN_TIMEOUT_MS)
        expect(badge).not_to_contain_text("not collapsed")
    else:
        expect(badge).to_contain_text("not collapsed", timeout=TRAIN_TIMEOUT_MS)


def expect_finished(page: Page, runs: int, steps: int = STEPS) -> None:
    """Every run shows its last step and the replayable figure is on the page."""
    expect(metric_values(page, "step")).to_have_text([str(steps)] * runs, timeout=TRAIN_TIMEOUT_MS)
    expect(page.get_by_text("▶ Replay plays the recorded steps")).to_be_visible(
        timeout=TRAIN_TIMEOUT_MS
    )
    wait_for_app(page, TRAIN_TIMEOUT_MS)


def press_train(page: Page) -> None:
    click_button(page, "Train")
    # The click's rerun starts training: Pause becomes clickable.
    expect(pause_button(page)).to_be_enabled()


def pause_button(page: Page) -> Locator:
    return page.get_by_test_id("stButton").get_by_role("button", name="Pause", exact=True)


# The figure as drawn, read in one go: a tag for the graph div (Streamlit replaces it
# after every training chunk), the decoded scatter traces (run r, class k is trace
# r * CLASSES + k), the step it shows (the end of the first curve), frames and slider.
_FIGURE_JS = """([runs, classes]) => {
    const gd = document.querySelector('.js-plotly-plot');
    const data = gd && gd._fullData;
    if (!data || data.length <= runs * classes || !gd._fullLayout) return null;
    gd.__lvTag ??= Math.random();
    const scatter = data.slice(0, runs * classes).map((t) => [Array.from(t.x), Array.from(t.y)]);
    const curve = Array.from(data[runs * classes].x);
    const frames = (gd._transitionData && gd._transitionData._frames) || [];
    const sliders = gd._fullLayout.sliders || [];
    return {tag: gd.__lvTag, scatter, step: curve[curve.length - 1], frames: frames.length,
            slider: sliders.length ? sliders[0].steps.map((s) => s.label) : null,
            active: sliders.length ? sliders[0].active : null};
}"""

# The scatter row (top 60 %) of the figure as drawn now, rasterised from Plotly's SVG
# layers, with the figure's data read in the same synchronous moment (see the test).
_PICTURE_JS = """async (args) => {
    const drawn = (FIGURE)(args);
    if (drawn === null) return null;
    const gd = document.querySelector('.js-plotly-plot');
    const layers = [...gd.querySelectorAll('svg.main-svg')]
        .map((svg) => new XMLSerializer().serializeToString(svg));
    const width = gd._fullLayout.width, height = Math.round(gd._fullLayout.height * 0.6);
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    context.fillStyle = 'white';
    context.fillRect(0, 0, width, height);
    for (const layer of layers) {
        const image = new Image();
        image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(layer);
        await image.decode();
        context.drawImage(image, 0, 0);
    }
    return {drawn, png: canvas.toDataURL('image/png')};
}"""
_PICTURE_JS = _PICTURE_JS.replace("FIGURE", _FIGURE_JS)


def figure(page: Page, runs: int = 2) -> dict | None:
    return page.evaluate(_FIGURE_JS, [runs, CLASSES])


def embeddings(drawn: dict, run: int) -> np.ndarray:
    """Run ``run``'s points as drawn, class by class (the order of the traces), (E, 2)."""
    traces = drawn["scatter"][run * CLASSES : (run + 1) * CLASSES]
    return np.concatenate([np.column_stack(xy) for xy in traces]).astype(np.float64)


def picture_while_training(page: Page, older: dict) -> tuple[np.ndarray, dict]:
    """The scatter row of a figure drawn after ``older`` (another graph div), mid-training.

    Not a Playwright screenshot: here one taken mid-training often waits 1.5-2.5 s for a
    frame, by when the training has ended, and it could show either of two graph divs.
    Rasterising Plotly's SVG layers gives the picture of the very figure whose data is
    returned with it.
    """
    deadline = time.monotonic() + TRAIN_TIMEOUT_MS / 1000
    while True:
        got = page.evaluate(_PICTURE_JS, [2, CLASSES])
        if got is not None and got["drawn"]["tag"] != older["tag"]:
            break
        assert time.monotonic() < deadline, "the figure was not drawn again"
        page.wait_for_timeout(20)
    drawn = got["drawn"]
    assert drawn["slider"] is None and drawn["step"] < STEPS, "training ended before"
    png = base64.b64decode(got["png"].split(",", 1)[1])
    return pixels(png), drawn


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def painted_classes(picture: np.ndarray) -> int:
    """How many class colours cover at least 20 pixels (markers and legend)."""
    count = 0
    for label in range(CLASSES):
        rgb = np.array([int(class_color(label)[i : i + 2], 16) for i in (1, 3, 5)])
        count += int((np.abs(picture - rgb).max(axis=2) <= 12).sum() >= 20)
    return count


# --------------------------------------------------------------------------- core side


def core_embeddings(scene: CollapseScene, run: int, step: int) -> np.ndarray:
    """The core's evaluation points of ``run`` at ``step``, grouped by class as drawn."""
    config = cl.configs(scene)[run]
    for snapshot in train(config):
        if snapshot.step == step:
            xy, labels = snapshot.embeddings.numpy(), snapshot.labels.numpy()
            return np.concatenate([xy[labels == k] for k in range(CLASSES)]).astype(np.float64)
    raise AssertionError(f"the core records no step {step}")


# --------------------------------------------------------------------------- tests


def test_training_redraws_the_points_and_ends_collapsed_beside_the_fix(page, app_server):
    open_collapse(page, app_server)
    expect(metric_values(page, "step")).to_have_text(["0", "0"])
    expect(page.get_by_text("▶ Replay plays")).to_have_count(0)
    start = figure(page)
    assert start is not None and start["frames"] == 0 and start["slider"] is None

    press_train(page)
    one, first = picture_while_training(page, older=start)
    two, second = picture_while_training(page, older=first)
    assert 0 < first["step"] < second["step"] < STEPS
    # Every run's points moved between the two pictures' figures...
    for run in range(2):
        a, b = embeddings(first, run), embeddings(second, run)
        assert a.shape == b.shape == embeddings(start, run).shape
        assert np.abs(a - b).max() > 1e-3, (run, first["step"], second["step"])
    # ...both pictures show the figure (markers and legend in every class colour)
    # and they differ in more than a tenth of a percent of their pixels.
    assert one.shape == two.shape
    assert painted_classes(one) == painted_classes(two) == CLASSES
    changed = (one != two).any(axis=2).mean()
    assert changed > 1e-3, changed
    PICTURES.mkdir(parents=True, exist_ok=True)
    for name, picture in (("early", one), ("later", two)):
        Image.fromarray(picture.astype(np.uint8)).save(PICTURES / f"collapse-live-{name}.png")

    expect_finished(page, runs=2)
    expect_badge(page, LEFT, collapsed=True)
    expect_badge(page, RIGHT, collapsed=False)
    loss = float(run_column(page, LEFT).locator(metric_values(page, "loss")).inner_text())
    assert abs(loss - DEFAULT.margin) <= 0.02 * DEFAULT.margin, loss
    right_loss = float(run_column(page, RIGHT).locator(metric_values(page, "loss")).inner_text())
    assert abs(right_loss - DEFAULT.margin) > 0.02 * DEFAULT.margin, right_loss
    # The finished figure replays: one frame per recorded step, a slider at the last one.
    final = figure(page)
    labels = [str(s) for s in range(0, STEPS + 1, INTERVAL)]
    assert final["frames"] == len(labels) and final["slider"] == labels
    assert final["active"] == len(labels) - 1
    replay = page.locator(".js-plotly-plot .updatemenu-button").filter(has_text="Replay")
    expect(replay).to_have_count(1)
    expect(page.get_by_test_id("stButton").get_by_role("button", name="Train")).to_be_disabled()
    expect(pause_button(page)).to_be_disabled()
    no_exception(page)
    shot(page, "collapse")


def test_pause_stops_the_training_and_train_goes_on(page, app_server):
    open_collapse(page, app_server)
    press_train(page)
    expect(metric_values(page, "step").first).not_to_have_text("0")
    # A plain click waits for the busy page to paint a frame (up to seconds): dispatch it.
    pause_button(page).dispatch_event("click")
    expect(pause_button(page)).to_be_disabled()
    wait_for_app(page)
    paused = shown_steps(page)
    assert 0 < paused[0] < STEPS, paused
    assert paused[0] == paused[1], f"the runs are shown out of lockstep after Pause: {paused}"
    drawn = figure(page)
    for _ in range(10):  # two seconds: no chunk is trained any more
        page.wait_for_timeout(200)
        assert shown_steps(page) == paused
    assert figure(page)["scatter"] == drawn["scatter"]
    # Paused, the figure of what was trained so far is replayable.
    assert drawn["slider"] == [str(s) for s in range(0, paused[0] + 1, INTERVAL)]

    press_train(page)
    expect_finished(page, runs=2)
    expect_badge(page, LEFT, collapsed=True)
    no_exception(page)


def test_step_advances_one_record_interval_and_reset_goes_back(page, app_server):
    open_collapse(page, app_server)
    start = figure(page)
    np.testing.assert_allclose(embeddings(start, 0), core_embeddings(DEFAULT, 0, 0), atol=1e-5)
    np.testing.assert_allclose(embeddings(start, 1), core_embeddings(DEFAULT, 1, 0), atol=1e-5)

    click_button(page, "Step")
    expect(metric_values(page, "step")).to_have_text([str(INTERVAL)] * 2)
    wait_for_app(page)
    expect(page.get_by_text("▶ Replay plays")).to_be_visible()
    stepped = figure(page)
    assert stepped["slider"] == ["0", str(INTERVAL)]
    for run in range(2):
        want = core_embeddings(DEFAULT, run, INTERVAL)
        np.testing.assert_allclose(embeddings(stepped, run), want, atol=1e-4)
        assert np.abs(want - embeddings(start, run)).max() > 1e-3
    click_button(page, "Step")
    expect(metric_values(page, "step")).to_have_text([str(2 * INTERVAL)] * 2)

    click_button(page, "Reset")
    expect(metric_values(page, "step")).to_have_text(["0", "0"])
    wait_for_app(page)
    expect(page.get_by_text("▶ Replay plays")).to_have_count(0)
    reset = figure(page)
    assert reset["slider"] is None and reset["scatter"] == start["scatter"]
    no_exception(page)


def test_a_diverging_run_says_so_and_the_server_keeps_serving(page, app_server):
    open_collapse(page, app_server, DIVERGING, runs=1)
    press_train(page)
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("smaller learning rate", timeout=TRAIN_TIMEOUT_MS)
    expect(error).to_contain_text("Training stopped at step")
    wait_for_app(page, TRAIN_TIMEOUT_MS)
    (step,) = shown_steps(page)
    assert 0 < step < 60, step
    expect(page.get_by_test_id("stButton").get_by_role("button", name="Train")).to_be_disabled()
    no_exception(page)
    shot(page, "collapse-diverged")

    page.goto(f"{app_server}/playground")
    wait_for_app(page)
    expect(page.get_by_test_id("stMetric")).to_have_count(4, timeout=APP_TIMEOUT_MS)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    no_exception(page)


def test_an_autostart_link_trains_without_a_click(page, app_server):
    page.goto(f"{app_server}{AUTOSTART}")
    expect_finished(page, runs=1, steps=60)
    expect(page.get_by_test_id("stButton").get_by_role("button", name="Train")).to_be_disabled()
    assert figure(page, runs=1)["frames"] == 60 // record_interval(60) + 1
    no_exception(page)


# --------------------------------------------------------------------------- measurements

# Every ~30 ms: the graph div's tag, its first point's x, the steps shown, the badges.
_MONITOR_JS = """() => {
    const log = [];
    let last = null;
    window.__lvLog = log;
    window.__lvMonitor = setInterval(() => {
        const gd = document.querySelector('.js-plotly-plot');
        if (gd) gd.__lvTag ??= Math.random();
        const x0 = gd && gd._fullData && gd._fullData.length ? gd._fullData[0].x[0] : null;
        const steps = [...document.querySelectorAll('[data-testid="stMetric"]')]
            .filter((m) => m.querySelector('[data-testid="stMetricLabel"]')
                .innerText.trim() === 'step')
            .map((m) => m.querySelector('[data-testid="stMetricValue"]').innerText);
        const badges = [...document.querySelectorAll('[data-testid="stMain"] .stMarkdownBadge')]
            .map((b) => b.innerText.includes('not collapsed') ? 'not' : 'collapsed');
        const replay = !!(gd && gd._fullLayout && gd._fullLayout.sliders
                          && gd._fullLayout.sliders.length);
        const state = JSON.stringify([gd ? gd.__lvTag : null, x0, steps, badges, replay]);
        if (state !== last) { log.push([performance.now(), gd ? gd.__lvTag : null, x0, steps,
                                        badges, replay]); last = state; }
    }, 30);
    return performance.now();
}"""

# One listener per graph div: the time of every frame Plotly animates, and the end.
_REPLAY_JS = """() => {
    const gd = document.querySelector('.js-plotly-plot');
    window.__lvFrames = [];
    window.__lvDone = null;
    if (!gd.__lvListening) {
        gd.on('plotly_animatingframe', (e) => window.__lvFrames.push([performance.now(), e.name]));
        gd.on('plotly_animated', () => { window.__lvDone = performance.now(); });
        gd.__lvListening = true;
    }
}"""


def live_rates(log: list, clicked: float) -> dict:
    """Redraws, step updates and times (s after the click) from the monitor's log."""
    entries = [(t - clicked, tag, x0, tuple(steps), badges, replay)
               for t, tag, x0, steps, badges, replay in log]  # fmt: skip

    def first(predicate) -> float:
        return next(t for t, *entry in entries if predicate(*entry)) / 1000

    def done(tag, x0, steps, badges, replay):
        return steps == (str(STEPS),) * 2

    finished = first(done)
    live = [entry for entry in entries if entry[0] <= finished * 1000]
    # Figures drawn while training, the one of step 0 (there before the click) left out.
    figures = len({(tag, x0) for _, tag, x0, *_ in live if x0 is not None}) - 1
    steps = len({steps for _, _, _, steps, *_ in live}) - 1
    return {
        "figure_updates": figures,
        "step_updates": steps,
        "graph_divs": len({tag for _, tag, *_ in live if tag is not None}),
        "samples_without_figure": sum(1 for _, tag, x0, *_ in live if x0 is None),
        "figure_updates_per_s": round(figures / finished, 2),
        "step_updates_per_s": round(steps / finished, 2),
        "click_to_collapsed_badge_s": round(
            first(lambda tag, x0, steps, badges, replay: badges[:1] == ["collapsed"]), 2
        ),
        "click_to_step_300_s": round(finished, 2),
        "click_to_replayable_figure_s": round(
            first(lambda tag, x0, steps, badges, replay: replay), 2
        ),
    }


def replay_fps(page: Page) -> dict:
    page.evaluate(_REPLAY_JS)
    page.locator(".js-plotly-plot .updatemenu-button").filter(has_text="Replay").click()
    page.wait_for_function("() => window.__lvDone !== null", timeout=TRAIN_TIMEOUT_MS)
    frames = page.evaluate("() => window.__lvFrames")
    times = [t for t, _ in frames]
    seconds = (times[-1] - times[0]) / 1000
    return {
        "frames": len(frames),
        "names": [name for _, name in frames],
        "fps": round((len(frames) - 1) / seconds, 1),
        "median_gap_ms": round(statistics.median(np.diff(times)), 1),
    }


def test_measure_live_redraws_and_replay_frame_rate(page, app_server):
    open_collapse(page, app_server)
    page.wait_for_timeout(500)  # Plotly's first draw
    clicked = page.evaluate(_MONITOR_JS)
    press_train(page)
    expect_finished(page, runs=2)
    page.wait_for_timeout(300)
    log = page.evaluate("() => { clearInterval(window.__lvMonitor); return window.__lvLog; }")
    live = live_rates(log, clicked)
    assert live["figure_updates"] >= 2 and live["step_updates"] >= 2, live

    labels = [str(s) for s in range(0, STEPS + 1, INTERVAL)]
    replays = []
    for _ in range(2):
        played = replay_fps(page)
        assert played.pop("names") == labels  # every recorded step, in order
        assert figure(page)["active"] == len(labels) - 1  # the slider followed to the end
        replays.append(played)
        page.wait_for_timeout(300)
    rates = {"live": live, "replay": replays}
    RATES.parent.mkdir(parents=True, exist_ok=True)
    RATES.write_text(json.dumps(rates, indent=2) + "\n")
    print(f"\ncollapse page rates: {json.dumps(rates)}")
    # Floors that catch a broken page, not a slow machine (the README quotes the rates).
    assert all(r["fps"] >= 4 for r in replays), replays
