"""The collapse page headless (AppTest): train, pause, step, reset, presets, links, the guard
and the training slot; the numbers shown are the core's."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.collapse import PRESETS, train
from lossviz.collapse_run import SideBySide
from lossviz.scene import CollapseScene
from lossviz.ui import collapse as cl
from tests.apptest_helpers import ok, widget

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "collapse.py")
# Small and fast: the toy blobs, 20 steps (the presets' digits runs are in the slow tests).
QUICK = {"dataset": "blobs", "steps": "20", "batch_size": "32"}


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return ok(at.run())


def scene_of(at: AppTest) -> CollapseScene:
    return at.session_state[cl.BINDING.scene_key]


def run_of(at: AppTest) -> SideBySide:
    return at.session_state[cl.RUN_KEY]


def click(at: AppTest, label: str) -> AppTest:
    (button,) = [b for b in at.button if b.label == label]
    button.click()
    return ok(at.run())


def shown(at: AppTest) -> list[tuple[str, str, str]]:
    """(step, loss, spread) as shown for each run, left to right."""
    values = [m.value for m in at.metric]
    return [tuple(values[i : i + 3]) for i in range(0, len(values), 3)]


def expected(at: AppTest, upto_step: int | None = None) -> list[tuple[str, str, str]]:
    """What the core's own runs of the page's configurations show at ``upto_step``."""
    rows = []
    for config in cl.configs(scene_of(at)):
        snapshots = list(train(config))
        if upto_step is not None:
            snapshots = [s for s in snapshots if s.step <= upto_step]
        first, last = snapshots[0], snapshots[-1]
        rows.append(
            (f"{last.step}", f"{last.loss:.4f}", cl.spread_text(last.spread / first.spread))
        )
    return rows


def badges(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "-badge[" in m.value]


def test_opens_at_step_zero_with_both_runs():
    at = open_page(QUICK)
    assert scene_of(at) == CollapseScene(dataset="blobs", steps=20, batch_size=32)
    assert [c.loss for c in run_of(at).configs] == ["batch_hard", "batch_hard_fix"]
    assert shown(at) == expected(at, upto_step=0)
    assert len(at.get("plotly_chart")) == 1


def test_train_runs_to_the_end_and_shows_the_core_numbers():
    at = open_page(QUICK)
    click(at, "Train")
    run = run_of(at)
    assert run.finished and run.step == 20
    assert shown(at) == expected(at)
    assert "training steps per second" in " ".join(c.value for c in at.caption)
    (train_button,) = [b for b in at.button if b.label == "Train"]
    assert train_button.disabled


def test_step_pause_and_reset():
    at = open_page(QUICK)
    click(at, "Step")
    assert run_of(at).step == 1  # 20 steps record every step
    click(at, "Step")
    assert shown(at) == expected(at, upto_step=2)
    (pause,) = [b for b in at.button if b.label == "Pause"]
    assert pause.disabled  # nothing is running (Pause during training: the browser test)
    click(at, "Reset")
    assert run_of(at).step == 0
    assert shown(at) == expected(at, upto_step=0)


def test_pause_keeps_what_was_trained_and_train_goes_on():
    at = open_page(QUICK)
    at.session_state[cl.RUNNING_KEY] = False
    run = run_of(at)
    run.advance(5)  # as if paused after five recorded steps
    click(at, "Train")
    assert run_of(at) is run and run.finished
    assert shown(at) == expected(at)


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [("Loss (left)", "batch_all", "loss"), ("Beside it (right)", "none", "compare"),
     ("Margin m", 0.5, "margin"), ("Data", "digits", "dataset"), ("Optimizer", "sgd", "optimizer"),
     ("Learning rate", 0.1, "lr"), ("Steps", 30, "steps"), ("Batch size", 64, "batch_size"),
     ("L2-normalise the outputs", True, "l2_normalize"),
     ("Clip gradient norm (0 = off)", 1.5, "clip_grad"), ("Seed", 4, "seed"),
     ("Start training when this link opens", True, "autostart")],
)  # fmt: skip
def test_every_control_changes_the_scene_the_link_and_the_run(label, value, field):
    at = open_page(QUICK)
    widget(at, label).set_value(value)
    ok(at.run())
    scene = scene_of(at)
    assert getattr(scene, field) == value
    assert at.query_params[field] == CollapseScene.field_spec(field).encode(value)
    if field != "autostart":
        assert list(run_of(at).configs) == cl.configs(scene)
        assert shown(at) == expected(at, upto_step=0)


def test_presets_set_every_training_field():
    at = open_page(QUICK)
    widget(at, "Preset").set_value("quaterion_fix")
    ok(at.run())
    scene = scene_of(at)
    preset = PRESETS["quaterion_fix"]
    for field in cl.TRAINING_FIELDS:
        assert getattr(scene, field) == getattr(preset, field), field
    assert scene.compare == "none"
    assert [c.loss for c in run_of(at).configs] == ["batch_hard_fix"]


def test_a_link_restores_the_configuration_and_can_start_training():
    scene = CollapseScene(dataset="blobs", loss="batch_semihard", compare="batch_hard",
                          margin=0.35, lr=0.02, optimizer="sgd", steps=20, batch_size=16,
                          clip_grad=2.0, seed=9, autostart=True)  # fmt: skip
    at = open_page(scene.to_query())
    assert scene_of(at) == scene and not at.warning
    assert run_of(at).finished  # autostart trained on open
    assert shown(at) == expected(at)
    ok(at.run())  # a later rerun does not start it again
    assert run_of(at).finished


@pytest.mark.parametrize(
    "query", [{"lr": "nan"}, {"steps": "1e9", "loss": "<b>", "seed": "-1"}, {"autostart": "2"}]
)
def test_a_bad_link_opens_defaults_with_a_warning_per_bad_value(query):
    at = open_page(query)
    assert scene_of(at) == CollapseScene()
    assert len(at.warning) == len(query)


def test_a_diverging_run_stops_with_a_message_and_the_page_keeps_working():
    # Blobs, classic batch-hard, SGD at lr 10: distances overflow float32 by step ~10.
    at = open_page({"dataset": "blobs", "loss": "batch_hard", "compare": "batch_hard_fix",
                    "optimizer": "sgd", "lr": "10", "steps": "60"})  # fmt: skip
    click(at, "Train")
    run = run_of(at)
    assert run.finished
    (stopped,) = run.stopped()  # the fix (right) does not diverge
    assert stopped.startswith("Training stopped at step") and "smaller learning rate" in stopped
    assert [e.value for e in at.error] == [stopped]
    widget(at, "Learning rate").set_value(0.01)
    ok(at.run())
    assert run_of(at).step == 0 and not at.error


def test_a_margin_of_zero_and_a_tiny_batch_train_without_trouble():
    at = open_page({**QUICK, "margin": "0", "batch_size": "8"})
    click(at, "Train")
    assert run_of(at).finished and not at.error
    assert shown(at) == expected(at)


def test_a_second_training_waits_for_the_slot_and_says_so(monkeypatch):
    monkeypatch.setattr(cl, "is_running", lambda: True)  # Train was clicked
    run = SideBySide(cl.configs(CollapseScene(dataset="blobs", steps=20, batch_size=32)))
    notes: list[str] = []

    class Status:
        def info(self, text, icon=None):
            notes.append(text)

        def empty(self):
            pass

    lock = cl._slot()
    lock.acquire()  # another session's chunk
    worker = threading.Thread(target=cl.train_live, args=(run, lambda r: None, Status()))
    worker.start()
    time.sleep(3 * cl.QUEUE_POLL_SECONDS)
    assert run.step == 0 and notes and notes[0].startswith("Queued")
    lock.release()
    worker.join(timeout=60)
    assert run.finished


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["collapse", "quaterion_fix"])
def test_presets_collapse_or_not_as_they_say(preset):
    at = open_page()
    widget(at, "Preset").set_value(preset)
    ok(at.run())
    click(at, "Train")
    labels = badges(at)
    if preset == "collapse":
        assert labels[0].startswith(":red-badge[") and "collapsed" in labels[0]
        assert "not collapsed" in labels[1]
    else:
        assert labels == [":green-badge[:material/scatter_plot: not collapsed]"]
    assert shown(at) == expected(at)


def test_pause_stops_a_run_between_snapshots():
    """A Pause click (the flag) ends the loop at the next snapshot, every run at one step."""
    run = SideBySide(cl.configs(CollapseScene(dataset="blobs", steps=200, batch_size=32)))
    answers = iter([True, True, False])
    run.advance_for(60.0, keep_going=lambda: next(answers, False))
    assert [len(h) for h in run.history] == [3, 3] and not run.finished  # 1 + two more
