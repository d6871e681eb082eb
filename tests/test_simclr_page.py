"""The SimCLR page headless (AppTest): step 0, Train through the shared registry, the figure
and read-out are the core's runs, every control, presets, links, autostart."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from lossviz.figures.simclr import POINTS_DRAWN
from lossviz.scenes.scene import SimCLRScene
from lossviz.scenes.simclr_scenes import (
    PRESET_LABELS,
    PRESET_PAIRS,
    configs,
    preset_index,
    priority_keys,
    scene_from_preset,
)
from lossviz.teaching.snippets import simclr_snippet
from lossviz.training.contrastive_training import (
    PRESETS,
    contrastive_snapshots,
    probe_labels,
    train_pair,
)
from lossviz.ui import simclr_page
from lossviz.ui.instruments import shared_run
from tests.apptest_helpers import listed, ok, widget

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "simclr.py")
# Small and fast: 50 steps (the minimum) on small batches; the presets' runs are slow tests.
QUICK = {"steps": "50", "batch_size": "32"}


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return ok(at.run())


def scene_of(at: AppTest) -> SimCLRScene:
    return at.session_state[simclr_page.BINDING.scene_key]


def click_train(at: AppTest) -> AppTest:
    (button,) = [b for b in at.button if b.label == "Train"]
    button.click()
    return ok(at.run())


def figure_spec(at: AppTest) -> dict:
    """The training figure as sent (the last Plotly chart; the first is the augmentations)."""
    charts = at.get("plotly_chart")
    return json.loads(charts[-1].proto.spec)


def decoded(values) -> np.ndarray:
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def readout_lines(at: AppTest) -> list[str]:
    return [line for m in at.markdown for line in m.value.splitlines() if line.startswith("- **")]


def expected_line(letter: str, snapshot) -> str:
    dim = snapshot.spectrum.numel()
    return (
        f"- **{letter}**, step {snapshot.step}: NT-Xent {snapshot.nt_xent:.3f}, alignment "
        f"{snapshot.alignment:.3f}, uniformity {snapshot.uniformity:.3f}, effective rank "
        f"{snapshot.effective_rank:.1f} of {dim}."
    )


def points_shown(spec: dict, run: int) -> np.ndarray:
    """Run ``run``'s points as the figure draws them, in digit order (x, y columns)."""
    traces = [t for t in spec["data"] if t.get("legendgroup", "").startswith("digit")]
    mine = traces[run * 10 : (run + 1) * 10]
    return np.concatenate(
        [np.stack([decoded(t["x"]), decoded(t["y"])], axis=1) for t in mine], axis=0
    )


def core_points(snapshot, labels: np.ndarray) -> np.ndarray:
    points = snapshot.points.numpy()[:POINTS_DRAWN]
    shown = labels[:POINTS_DRAWN]
    return np.concatenate([points[shown == digit] for digit in range(10)], axis=0)


def test_opens_at_step_zero_with_the_core_first_records():
    at = open_page(QUICK)
    scene = scene_of(at)
    assert scene == SimCLRScene(steps=50, batch_size=32)
    first = [next(contrastive_snapshots(config)) for config in configs(scene)]
    assert readout_lines(at) == [expected_line("A", first[0]), expected_line("B", first[1])]
    labels = probe_labels(scene.seed).numpy()
    spec = figure_spec(at)
    for run in (0, 1):
        assert np.array_equal(points_shown(spec, run), core_points(first[run], labels))
    assert "Press **Train**" in " ".join(c.value for c in at.caption)
    assert not at.error and not at.warning


def test_train_shows_the_core_runs_at_every_step():
    at = click_train(open_page(QUICK))
    scene = scene_of(at)
    run_a, run_b = train_pair(*configs(scene), device="cpu")
    assert readout_lines(at) == [expected_line("A", run_a.last), expected_line("B", run_b.last)]
    caption = " ".join(c.value for c in at.caption)
    assert "Trained once on this server" in caption and "training steps per second" in caption
    spec = figure_spec(at)
    steps = [s.step for s in run_a.snapshots]
    assert [f["name"] for f in spec["frames"]] == [str(s) for s in steps]
    assert spec["layout"]["sliders"][0]["active"] == len(steps) - 1
    labels = probe_labels(scene.seed).numpy()
    for run, core in enumerate((run_a, run_b)):
        assert np.array_equal(points_shown(spec, run), core_points(core.last, labels))
    # Each frame moves the points to that record's (frame 1, run A's digit-0 trace).
    frame = spec["frames"][1]
    digit0 = core.snapshots[1].points.numpy()[:POINTS_DRAWN][labels[:POINTS_DRAWN] == 0]
    moved = frame["data"][10]  # run B's digit 0 (run A's ten traces come first)
    assert np.array_equal(decoded(moved["x"]), digit0[:, 0].astype(np.float32))

    # The step slider picks the record shown and described.
    slider = at.select_slider(key=simclr_page.SHOWN_KEY)
    assert slider.options == [str(s) for s in steps]
    slider.set_value(steps[2])
    ok(at.run())
    assert readout_lines(at) == [
        expected_line("A", run_a.snapshots[2]),
        expected_line("B", run_b.snapshots[2]),
    ]
    assert figure_spec(at)["layout"]["sliders"][0]["active"] == 2


def test_a_second_student_shares_the_run():
    first = click_train(open_page({**QUICK, "seed": "7"}))
    run = shared_run.registry().get(configs(scene_of(first)))
    assert run is not None and run.progress().finished
    second = click_train(open_page({**QUICK, "seed": "7"}))
    assert shared_run.registry().get(configs(scene_of(second))) is run
    assert readout_lines(second) == readout_lines(first)


# Every control: a new value, the scene and the link follow, the read-out changes.
CONTROLS = [
    ("A: temperature τ", 0.2, "tau_a"),
    ("A: output dimension", 8, "dim_a"),
    ("A: shift up to (pixels)", 2, "shift_a"),
    ("A: pixel noise", 0.3, "noise_a"),
    ("A: pixel dropout", 0.25, "dropout_a"),
    ("A: projector head", True, "projector_a"),
    ("A: variance term weight", 5.0, "variance_a"),
    ("B: temperature τ", 0.5, "tau_b"),
    ("B: output dimension", 16, "dim_b"),
    ("B: shift up to (pixels)", 0, "shift_b"),
    ("B: pixel noise", 0.2, "noise_b"),
    ("B: pixel dropout", 0.0, "dropout_b"),
    ("B: projector head", True, "projector_b"),
    ("B: variance term weight", 2.0, "variance_b"),
    ("Batch size", 64, "batch_size"),
    ("Steps", 100, "steps"),
    ("Learning rate", 0.005, "lr"),
    ("Seed", 3, "seed"),
    ("Start training when this link opens", True, "autostart"),
    ("Train run B beside it", False, "compare"),
]


@pytest.mark.parametrize(("label", "value", "field"), CONTROLS, ids=[c[2] for c in CONTROLS])
def test_every_control_moves_the_scene_and_the_link(label, value, field):
    at = open_page(QUICK)
    widget(at, label).set_value(value)
    ok(at.run())
    scene = scene_of(at)
    assert getattr(scene, field) == value
    assert at.query_params[field] == SimCLRScene.field_spec(field).encode(value)
    first = [next(contrastive_snapshots(config)) for config in configs(scene)]
    assert readout_lines(at) == [expected_line(l, s) for l, s in zip("AB", first, strict=False)]
    assert preset_index(scene) is None


def test_run_b_off_trains_one_run_and_hides_its_controls():
    at = open_page({**QUICK, "compare": "0"})
    labels = {w.label for kind in ("slider", "toggle", "select_slider", "selectbox")
              for w in getattr(at, kind)}  # fmt: skip
    assert "B: pixel noise" not in labels and "A: pixel noise" in labels
    at = click_train(at)
    (config,) = configs(scene_of(at))
    assert len(readout_lines(at)) == 1
    assert "turn on *Train run B beside it*" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("name", list(PRESET_PAIRS))
def test_each_preset_sets_both_runs_and_says_what_differs(name):
    at = open_page()
    preset_box = at.selectbox(key=simclr_page.PRESET_KEY)
    assert preset_box.options == [PRESET_LABELS[n] for n in PRESET_PAIRS]
    preset_box.set_value(name)
    ok(at.run())
    scene = scene_of(at)
    assert scene == scene_from_preset(name, SimCLRScene())
    a, b, sentence = PRESET_PAIRS[name]
    assert configs(scene) == [PRESETS[a][0], PRESETS[b][0]]
    text = " ".join(m.value for m in at.markdown)
    assert sentence in text and PRESETS[a][1] in text and PRESETS[b][1] in text
    assert tuple(configs(scene)) in priority_keys()


def test_the_default_scene_is_the_temperature_preset_and_a_priority_run():
    assert preset_index(SimCLRScene()) == list(PRESET_PAIRS).index("temperature")
    assert priority_keys()[0] == tuple(configs(SimCLRScene()))


def test_custom_settings_are_described_by_what_differs():
    at = open_page({**QUICK, "tau_b": "0.05", "shift_b": "3"})
    text = " ".join(m.value for m in at.markdown)
    assert "The runs differ in shift (A 1 px, B 3 px); everything else is shared." in text
    assert "same settings" not in text


def test_a_bad_link_says_so_once_and_uses_defaults():
    at = open_page({"tau_a": "hot", "dim_a": "3", "steps": "1e9", "seed": "-1"})
    notes = listed(at)
    assert len(at.warning) == 1 and len(notes) == 4, notes
    assert scene_of(at) == SimCLRScene()


def test_autostart_trains_as_the_link_opens():
    at = open_page({**QUICK, "seed": "5", "autostart": "1"})
    assert "Trained once on this server" in " ".join(c.value for c in at.caption)
    run_a, _ = train_pair(*configs(scene_of(at)), device="cpu")
    assert readout_lines(at)[0] == expected_line("A", run_a.last)
    # Only the first run of the session: a rerun keeps showing the run, starts nothing new.
    ok(at.run())
    assert readout_lines(at)[0] == expected_line("A", run_a.last)


def test_copy_as_code_gives_run_a_training_loop():
    at = open_page(QUICK)
    at.toggle(key="simclr.copy_code").set_value(True)
    ok(at.run())
    (code,) = [c.value for c in at.code]
    assert code == simclr_snippet(configs(scene_of(at))[0]).rstrip("\n")
    assert "run B's: change the settings named above" in " ".join(c.value for c in at.caption)
