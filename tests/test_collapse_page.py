"""The collapse page headless (AppTest): step 0, Train, shared runs, every control, presets,
links, autostart, the guard, a busy server, a closed tab leaving the queue, the presets'
priority lane; what the page sends is the core's run."""

from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from lossviz.scenes import simclr_scenes
from lossviz.scenes.lesson import COLLAPSE_ALONE
from lossviz.scenes.scene import CollapseScene
from lossviz.scenes.training_scenes import (
    TRAINING_FIELDS,
    configs,
    priority_keys,
    scene_from_preset,
)
from lossviz.training.collapse import PRESETS, train
from lossviz.training.frame_codec import encode_frame
from lossviz.training.run_registry import (
    Progress,
    RegistryBusyError,
    RunRegistry,
    SharedRun,
    run_id,
)
from lossviz.training.side_by_side import SideBySide
from lossviz.ui import collapse_page as cl
from lossviz.ui import setup
from lossviz.ui.instruments import gif_download as collapse_gif
from lossviz.ui.instruments import shared_run
from tests.apptest_helpers import component_data, listed, literal, ok, widget
from tests.test_run_registry import BLOCKER, BLOCKER_SEED, Gate

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "collapse.py")
# Small and fast: the toy blobs, 20 steps (the presets' digits runs are in the slow tests).
QUICK = {"dataset": "blobs", "steps": "20", "batch_size": "32"}


@pytest.fixture
def feeds(monkeypatch) -> list[dict]:
    """Every feed the page sends (each replaces the last in the page, as in a browser)."""
    sent: list[dict] = []
    original = shared_run.feed

    def recording(name, run, start, frames, finished):
        decoded = [json.loads(frame) for frame in frames]
        sent.append({"run": run, "start": start, "frames": decoded, "finished": finished})
        original(name, run, start, frames, finished)

    monkeypatch.setattr(shared_run, "feed", recording)
    return sent


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return ok(at.run())


def scene_of(at: AppTest) -> CollapseScene:
    return at.session_state[cl.BINDING.scene_key]


def click_train(at: AppTest) -> AppTest:
    (button,) = [b for b in at.button if b.label == "Train"]
    button.click()
    return ok(at.run())


def player_data(at: AppTest) -> dict:
    (data,) = [d for d in component_data(at, "lossviz.player") if d["role"] == "player"]
    return data


def received(at: AppTest, feeds: list[dict]) -> list[dict]:
    """The frames the browser holds: the player's, then every feed of its run, by index."""
    data = player_data(at)
    frames = dict(enumerate(data["frames"]))
    for sent in feeds:
        if sent["run"] == data["run"]:
            frames.update({sent["start"] + i: f for i, f in enumerate(sent["frames"])})
    assert sorted(frames) == list(range(len(frames)))
    return [frames[i] for i in range(len(frames))]


def core_frames(scene: CollapseScene) -> list[dict]:
    """The core's own runs of the scene's configurations, encoded as the page encodes them."""
    run = SideBySide(configs(scene))
    while not run.finished:
        run.advance()
    frames = run.frames()
    return [encode_frame(frame, frames[0]) for frame in frames]


def test_opens_at_step_zero_with_both_runs(feeds):
    at = open_page(QUICK)
    scene = scene_of(at)
    assert scene == CollapseScene(dataset="blobs", steps=20, batch_size=32)
    data = player_data(at)
    assert data["preview"] and data["run"] == f"preview-{run_id(tuple(configs(scene)))}"
    assert data["meta"]["titles"] == [
        "Batch-hard (classic)",
        "Batch-hard, normalised (Quaterion's fix)",
    ]
    assert data["frames"] == core_frames(scene)[:1] and data["play"] == 0
    assert not feeds and not at.error and not at.info


def test_train_sends_the_core_run_and_says_it_is_shared(feeds):
    at = click_train(open_page(QUICK))
    scene = scene_of(at)
    data = player_data(at)
    assert not data["preview"] and data["play"] == 1
    assert data["run"] == run_id(tuple(configs(scene)))
    frames = received(at, feeds)
    assert frames == core_frames(scene)
    assert [f["step"] for f in frames] == list(range(21))  # 20 steps record every step
    assert (feeds[-1]["finished"] if feeds else data["finished"]) is True
    caption = " ".join(c.value for c in at.caption)
    assert "Trained once on this server" in caption and "training steps per second" in caption
    assert "move only your view" in caption


def test_a_second_student_joins_the_same_run_without_training_it_again(feeds, monkeypatch):
    first = click_train(open_page({**QUICK, "seed": "11"}))
    run = shared_run.registry().get(configs(scene_of(first)))
    assert run is not None and run.progress().finished
    made = []
    original_init = SideBySide.__init__
    monkeypatch.setattr(SideBySide, "__init__", lambda *a: made.append(a) or original_init(*a))
    feeds.clear()
    second = click_train(open_page({**QUICK, "seed": "11"}))
    assert made == [] and shared_run.registry().get(configs(scene_of(second))) is run
    data = player_data(second)
    assert data["finished"] and not feeds  # all frames in the player's own data at once
    assert data["frames"] == [json.loads(frame) for frame in run.encoded()]


def test_train_again_replays_without_computing_again(feeds):
    at = click_train(open_page(QUICK))
    assert player_data(at)["play"] == 1
    at = click_train(at)
    data = player_data(at)
    assert data["play"] == 2 and data["finished"] and len(data["frames"]) == 21


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [("Loss (left)", "batch_all", "loss"), ("Beside it (right)", "none", "compare"),
     ("Margin m", 0.5, "margin"), ("Data", "digits", "dataset"), ("Optimizer", "sgd", "optimizer"),
     ("Learning rate", 0.1, "lr"), ("Steps", 30, "steps"), ("Batch size", 64, "batch_size"),
     ("L2-normalise the outputs", True, "l2_normalize"),
     ("Clip gradient norm (0 = off)", 1.5, "clip_grad"), ("Seed", 4, "seed"),
     ("Start training when this link opens", True, "autostart")],
)  # fmt: skip
def test_every_control_changes_the_scene_the_link_and_the_picture(label, value, field):
    at = open_page(QUICK)
    widget(at, label).set_value(value)
    ok(at.run())
    scene = scene_of(at)
    assert getattr(scene, field) == value
    assert at.query_params[field] == CollapseScene.field_spec(field).encode(value)
    data = player_data(at)
    assert data["run"] == f"preview-{run_id(tuple(configs(scene)))}"
    first = [next(train(config)) for config in configs(scene)]
    assert data["frames"] == [encode_frame(first, first)]
    assert len(data["meta"]["titles"]) == len(first)


def test_changing_a_setting_after_training_shows_the_new_settings_at_step_zero(feeds):
    at = click_train(open_page(QUICK))
    widget(at, "Margin m").set_value(0.3)
    ok(at.run())
    assert player_data(at)["preview"] and not at.info
    widget(at, "Margin m").set_value(0.2)  # back: the run this session trained
    ok(at.run())
    data = player_data(at)
    assert not data["preview"] and data["finished"] and len(data["frames"]) == 21


def test_presets_set_every_training_field():
    at = open_page(QUICK)
    widget(at, "Preset").set_value("quaterion_fix")
    ok(at.run())
    scene = scene_of(at)
    preset = PRESETS["quaterion_fix"]
    for field in TRAINING_FIELDS:
        assert getattr(scene, field) == getattr(preset, field), field
    assert scene.compare == "none"
    assert player_data(at)["meta"]["titles"] == ["Batch-hard, normalised (Quaterion's fix)"]


def test_a_link_restores_the_configuration_and_can_start_training(feeds):
    scene = CollapseScene(dataset="blobs", loss="batch_semihard", compare="batch_hard",
                          margin=0.35, lr=0.02, optimizer="sgd", steps=20, batch_size=16,
                          clip_grad=2.0, seed=9, autostart=True)  # fmt: skip
    at = open_page(scene.to_query())
    assert scene_of(at) == scene and not at.warning
    assert received(at, feeds) == core_frames(scene)  # autostart trained on open
    assert player_data(at)["play"] == 1
    ok(at.run())  # a later rerun does not start playing again
    assert player_data(at)["play"] == 1


@pytest.mark.parametrize(
    "query", [{"lr": "nan"}, {"steps": "1e9", "loss": "<b>", "seed": "-1"}, {"autostart": "2"}]
)
def test_a_bad_link_opens_defaults_with_a_notice_listing_each_bad_value(query):
    at = open_page(query)
    assert scene_of(at) == CollapseScene()
    assert len(listed(at)) == len(query)


def test_a_diverging_run_stops_with_a_message_and_the_page_keeps_working(feeds):
    # Blobs, classic batch-hard, SGD at lr 10: distances overflow float32 by step ~10.
    at = open_page({"dataset": "blobs", "loss": "batch_hard", "compare": "batch_hard_fix",
                    "optimizer": "sgd", "lr": "10", "steps": "60"})  # fmt: skip
    click_train(at)
    frames = received(at, feeds)
    stopped = frames[-1]["runs"][0]["stopped"]
    assert stopped.startswith("Training stopped at step") and "smaller learning rate" in stopped
    assert frames[-1]["runs"][1]["stopped"] is None  # the fix (right) does not diverge
    assert [literal(e.value) for e in at.error] == [stopped]
    assert frames == core_frames(scene_of(at))
    widget(at, "Learning rate").set_value(0.01)
    ok(at.run())
    assert player_data(at)["preview"] and not at.error


def test_a_margin_of_zero_and_a_tiny_batch_train_without_trouble(feeds):
    at = click_train(open_page({**QUICK, "margin": "0", "batch_size": "8"}))
    assert not at.error
    assert received(at, feeds) == core_frames(scene_of(at))


def test_a_busy_server_says_so_and_shows_step_zero(monkeypatch):
    class Busy:
        def watch(self, key, viewer, priority=False):
            raise RegistryBusyError("The server is busy: 16 trainings are computing or waiting.")

        def unwatch(self, viewer):
            pass

    monkeypatch.setattr(shared_run, "registry", lambda: Busy())
    at = click_train(open_page(QUICK))
    assert [w.value for w in at.warning] == [
        "The server is busy: 16 trainings are computing or waiting."
    ]
    assert player_data(at)["preview"]
    assert (
        shared_run.COLLAPSE_VIEW.watch_key not in at.session_state
    )  # Train again later tries again


def test_a_failed_computation_says_so(monkeypatch, feeds):
    query = {**QUICK, "seed": "12345"}  # its own configuration: the failure is not shared
    original = SideBySide.advance

    def advance(self, snapshots=1):
        if self.configs[0].seed == 12345:
            raise MemoryError("out of memory")
        original(self, snapshots)

    monkeypatch.setattr(SideBySide, "advance", advance)
    at = click_train(open_page(query))
    (error,) = at.error
    assert "could not be computed (MemoryError: out of memory)" in literal(error.value)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["collapse", "quaterion_fix"])
def test_presets_collapse_or_not_as_they_say(preset, feeds):
    at = open_page()
    widget(at, "Preset").set_value(preset)
    ok(at.run())
    at = click_train(at)
    last = received(at, feeds)[-1]
    flags = [run["collapsed"] for run in last["runs"]]
    assert flags == ([True, False] if preset == "collapse" else [False])
    assert received(at, feeds) == core_frames(scene_of(at))


def test_a_finished_run_makes_a_gif_once_for_everyone(feeds, monkeypatch):
    at = click_train(open_page({**QUICK, "seed": "23"}))
    run = shared_run.registry().get(configs(scene_of(at)))
    assert not at.get("download_button")  # built only on request
    (make,) = [b for b in at.button if b.label == "Make a GIF for slides"]
    built = []
    original = collapse_gif._make
    monkeypatch.setattr(collapse_gif, "_make", lambda *a: built.append(1) or original(*a))
    at = ok(make.click().run())
    (download,) = at.get("download_button")
    data = collapse_gif.shelf().get(run.id)
    assert data.startswith(b"GIF89a") and built == [1]
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.n_frames == len(run.frames())
    assert f"({len(data) / 2**20:.1f} MB)" in download.proto.label
    # A second student with the same settings gets the built GIF, no button, no new build.
    other = click_train(open_page({**QUICK, "seed": "23"}))
    assert other.get("download_button") and built == [1]
    assert not [b for b in other.button if b.label == "Make a GIF for slides"]


def test_the_gif_shelf_builds_once_under_a_crowd_and_stays_bounded():
    shelf = collapse_gif.GifShelf(capacity=2)
    calls = []

    def make():
        calls.append(1)
        time.sleep(0.05)
        return b"GIF89a-1"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: shelf.build("run-1", make), range(30)))
    assert results == [b"GIF89a-1"] * 30 and calls == [1]
    shelf.build("run-2", lambda: b"2")
    shelf.build("run-3", lambda: b"3")
    assert shelf.get("run-1") is None and shelf.get("run-3") == b"3"


# --------------------------------------------------------------------------- the queue


@pytest.fixture
def held(monkeypatch):
    """The page's registry: one computing slot, held by a run asked for without a viewer
    (the worker waits inside its first frame until ``gate.open()``); yields (registry, gate)."""
    gate = Gate(monkeypatch, BLOCKER_SEED)
    registry = RunRegistry(max_active=1, max_waiting=1)
    monkeypatch.setattr(shared_run, "registry", lambda: registry)
    try:
        registry.start((BLOCKER,))
        assert gate.entered.wait(60)
        yield registry, gate
    finally:
        gate.open()
        registry.close()


def test_a_tab_closed_while_its_run_is_queued_leaves_the_queue(held, monkeypatch):
    registry, _ = held
    monkeypatch.setattr(
        shared_run, "session_connected", lambda: False
    )  # the student closed the tab
    at = open_page({**QUICK, "seed": "31", "autostart": "1"})
    (status,) = at.info
    assert status.value.startswith("Queued on this server: 1 training(s) before this one.")
    assert registry.get(configs(scene_of(at))) is None  # dropped before it started
    assert registry.stats()["waiting"] == 0 and registry.stats()["viewers"] == 0
    # Its place is free for the next student.
    at = open_page({**QUICK, "seed": "32", "autostart": "1"})
    assert not at.warning and registry.get(configs(scene_of(at))) is None


def test_the_presets_are_never_refused_and_train_before_custom_runs(held, monkeypatch, feeds):
    registry, gate = held
    registry.start((BLOCKER.replace(seed=1),))  # the one waiting place taken
    busy = open_page({**QUICK, "seed": "33", "autostart": "1"})
    assert [w.value for w in busy.warning][0].startswith("The server is busy: 2 trainings")
    original = shared_run.ask

    def ask_then_open(key, status, view=shared_run.COLLAPSE_VIEW):
        lease = original(key, status, view)
        gate.open()  # the worker goes on once the preset's run is asked for
        return lease

    monkeypatch.setattr(shared_run, "ask", ask_then_open)
    scene = scene_from_preset("blobs", CollapseScene()).replace(autostart=True)
    at = open_page(scene.to_query())
    order = list(gate.order)  # the worker's advances so far (core_frames adds its own)
    assert not at.warning and received(at, feeds) == core_frames(scene)
    assert "Trained once on this server" in " ".join(c.value for c in at.caption)
    preset = PRESETS["blobs"].seed
    first, last = order.index(preset), len(order) - order[::-1].index(preset)
    assert order[0] == BLOCKER_SEED and set(order[first:last]) == {preset}  # nothing between
    assert 33 not in order and registry.get(configs(scene)).progress().finished


def test_the_status_says_where_a_run_stands():
    key = (BLOCKER,)
    run = SharedRun(key)
    assert shared_run.live_text(run, Progress(0, "queued", ahead=3)).startswith(
        "Queued on this server: 3 training(s) before this one. It starts by itself"
    )
    assert shared_run.live_text(run, Progress(0, "paused", ahead=2)).startswith(
        "Paused on this server at step 0 of 20 while 2 preset training(s) go first."
    )
    assert shared_run.live_text(run, Progress(0, "training", sharing=1)).startswith(
        "Training on the server, taking turns with 1 other training(s): step 0 of 20."
    )


def test_the_class_links_are_the_priority_runs():
    keys = priority_keys()
    base = CollapseScene()
    scenes = [base, COLLAPSE_ALONE] + [scene_from_preset(name, base) for name in PRESETS]
    assert set(keys) == {tuple(configs(scene)) for scene in scenes}
    assert keys[0] == tuple(configs(base)) and len(keys) == len(set(keys)) == 5
    registry = RunRegistry()
    try:
        simclr_keys = simclr_scenes.priority_keys()
        assert shared_run.prewarm(registry) == 5 + len(simclr_keys) == 9
        runs = [registry.get(key) for key in (*keys, *simclr_keys)]
        assert all(run.priority and run.pinned for run in runs)
        assert registry.stats()["waiting"] == registry.stats()["active"] == 0
    finally:
        registry.close()


def test_the_start_up_prewarm_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(setup.PREWARM_ENV_VAR, "0")
    assert not setup.prewarm_enabled() and setup.prewarm_runs() == 0
    monkeypatch.setenv(setup.PREWARM_ENV_VAR, "1")
    assert setup.prewarm_enabled()
