"""The InfoNCE page headless (AppTest): every control, presets, links, drops, steps; the
numbers shown are the core's."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.batches.contrastive_batch import read_batch
from lossviz.batches.contrastive_views import make_views
from lossviz.core.circle_reading import read_circle
from lossviz.scenes.presets import INFONCE_PRESETS
from lossviz.scenes.scene import InfoNCEScene
from lossviz.teaching.formulas import infonce_latex
from lossviz.teaching.snippets import infonce_snippet
from lossviz.ui.components.infonce_readout import infonce_reading_json, infonce_weights
from lossviz.ui.points import RESET
from tests import apptest_helpers as helpers
from tests.apptest_helpers import (
    assert_preset_shown,
    choose_preset,
    component_data,
    metric_values,
    ok,
    scripts,
    widget,
)

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "infonce.py")
SCENE_KEY = "infonce.scene"
TOOLS_ON = {"infonce.show_code": True, "infonce.conventions": True}


def open_page(query: dict[str, str] | None = None, tools: bool = True) -> AppTest:
    return helpers.open_page(PAGE, query, TOOLS_ON if tools else None)


def scene_of(at: AppTest) -> InfoNCEScene:
    return at.session_state[SCENE_KEY]


def expected(scene: InfoNCEScene):
    return read_circle(scene.points(), scene.tau, scene.normalize)


def plane_data(at: AppTest) -> dict:
    return component_data(at, "lossviz.plane")[0]


def assert_shows_core_numbers(at: AppTest, tools: bool = True) -> None:
    scene = scene_of(at)
    reading = expected(scene)
    shown = metric_values(at)
    assert shown["loss"] == f"{reading.loss:.3f}"
    bound = "none off the circle" if not scene.normalize else f"{reading.lower_bound:.3f}"
    assert shown["lowest possible"] == bound
    assert shown["all on one spot"] == f"{math.log(1 + scene.negatives):.3f}"
    hardest = reading.hardest
    assert shown["hardest negative"] == f"N{hardest}: {100 * reading.weights[hardest]:.0f} %"
    assert shown["alignment"] == f"{reading.alignment:.3f}"
    assert shown["uniformity"] == f"{reading.uniformity:.3f}"
    data = plane_data(at)
    assert data["points"] == {name: list(xy) for name, xy in scene.points().items()}
    assert data["circle"] is scene.normalize
    assert data["weights"] == pytest.approx(infonce_weights(reading))
    assert data["reading"] == json.loads(json.dumps(infonce_reading_json(reading)))
    for name, (gx, gy) in reading.gradients.items():  # arrows: -gradient, scaled
        ax, ay = data["arrows"][name]
        assert ax * -gx >= 0 and ay * -gy >= 0
    latex = [element.value.strip("$\n") for element in at.latex]
    assert infonce_latex(reading, scene.tau) in latex
    table = at.dataframe[0].value
    assert list(table["point"]) == ["P", *(f"N{i}" for i in range(1, scene.negatives + 1))]
    assert list(table["weight"]) == pytest.approx(reading.weights, rel=1e-12)
    if tools:
        positions = [list(xy) for xy in scene.points().values()]
        script = infonce_snippet(positions, scene.tau, scene.normalize).strip()
        assert script in [code.value.strip() for code in scripts(at)]


def test_defaults_show_the_cores_numbers():
    at = open_page()
    assert scene_of(at) == InfoNCEScene()
    assert_shows_core_numbers(at)
    assert len(plane_data(at)["points"]) == 2 + InfoNCEScene().negatives


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [("Temperature τ", 0.5, "tau"), ("Negatives k", 9, "negatives"),
     ("On the circle (normalised)", False, "normalize"), ("Learning rate", 0.05, "lr")],
)  # fmt: skip
def test_each_circle_control_changes_the_scene_and_the_numbers(label, value, field):
    at = open_page()
    ok(widget(at, label).set_value(value).run())
    assert getattr(scene_of(at), field) == value
    assert at.query_params[field] == InfoNCEScene.field_spec(field).encode(value)
    assert_shows_core_numbers(at)


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [("Batch of", "digits", "batch"), ("Examples N", 20, "examples"),
     ("Embedding dimension", 2, "dim"), ("View noise", 0.4, "noise"), ("Seed", 7, "seed"),
     ("Anchor row", 5, "row")],
)  # fmt: skip
def test_each_batch_control_changes_the_batch_and_its_numbers(label, value, field):
    at = open_page(tools=False)
    ok(widget(at, label).set_value(value).run())
    scene = scene_of(at)
    assert getattr(scene, field) == value
    reading = read_batch(make_views(scene.batch, scene.examples, scene.dim, scene.noise,
                                    scene.seed), scene.tau)  # fmt: skip
    shown = metric_values(at)
    assert shown["batch NT-Xent"] == f"{reading.nt_xent:.3f}"
    assert shown["batch's lowest possible"] == f"{reading.lower_bound:.3f}"
    assert shown["batch collapsed"] == f"{math.log(2 * scene.examples - 1):.3f}"
    losses = at.dataframe[1].value
    assert list(losses["value"]) == pytest.approx(
        [
            reading.nt_xent,
            reading.nt_xent_pml_instance,
            reading.nt_xent_pml_class,
            reading.supcon,
            reading.clip,
        ]  # fmt: skip
    )
    assert any(reading.difference == info.value for info in at.info)
    assert len(at.get("plotly_chart")) == 4


@pytest.mark.parametrize("name", list(INFONCE_PRESETS))
def test_each_preset(name):
    at = open_page()
    choose_preset(at, name)
    assert_preset_shown(at, scene_of(at), INFONCE_PRESETS[name])
    assert_shows_core_numbers(at)


def test_the_presets_do_what_they_say():
    weights = {name: expected(p.scene).weights for name, p in INFONCE_PRESETS.items()}
    assert weights["easy"][0] > 0.99  # the positive takes nearly all
    assert weights["hard_negative"][1] > 0.8  # N1 takes most of it
    assert weights["tau_small"][1] > 0.9  # one negative takes it all
    spread = weights["tau_large"][1:]
    assert max(spread) < 3 * min(spread)  # about the same weight each
    collapsed = INFONCE_PRESETS["collapsed"].scene
    assert expected(collapsed).loss == pytest.approx(math.log(1 + collapsed.negatives))
    off = INFONCE_PRESETS["off_circle"].scene
    assert expected(off).loss < expected(off.replace(normalize=True)).loss / 10


def test_a_drop_then_reset():
    at = open_page()
    at.session_state[SCENE_KEY] = scene_of(at).replace(n1x=0.6, n1y=0.8)  # what a drag does
    ok(at.run())
    assert scene_of(at).n1x == 0.6
    assert_shows_core_numbers(at)
    choose_preset(at, RESET)
    assert scene_of(at) == InfoNCEScene()


def test_step_moves_along_the_circle_and_lowers_the_loss():
    at = open_page(dict(INFONCE_PRESETS["hard_negative"].scene.to_query()))
    before = expected(scene_of(at)).loss
    [step] = [b for b in at.button if b.label == "Step"]
    ok(step.click().run())
    scene = scene_of(at)
    for x, y in scene.points().values():
        assert math.hypot(x, y) == pytest.approx(1.0)
    assert expected(scene).loss < before
    assert_shows_core_numbers(at)


def test_descend_animates_and_ends_where_the_frames_end():
    at = open_page(dict(INFONCE_PRESETS["hard_negative"].scene.to_query()))
    [descend] = [b for b in at.button if b.label.startswith("Descend")]
    ok(descend.click().run())
    frames = plane_data(at)["trajectory"]["frames"]
    assert len(frames) == 51
    assert frames[-1]["N1"] == pytest.approx(list(scene_of(at).points()["N1"]))
    assert_shows_core_numbers(at)


def test_a_point_at_the_centre_is_explained_not_a_crash():
    at = open_page({"ax": "0", "ay": "0"})
    assert any("A" in e.value and "Reset" in e.value for e in at.error)
    choose_preset(at, RESET)
    assert not at.error
    assert_shows_core_numbers(at)


def test_a_bad_link_gets_one_notice_and_the_defaults():
    at = open_page({"tau": "0", "negatives": "99", "normalize": "maybe"}, tools=False)
    assert scene_of(at) == InfoNCEScene()
    text = " ".join(w.value for w in at.warning)
    assert "3 bad values" in text and "tau" in text and "negatives" in text
    assert_shows_core_numbers(at, tools=False)


def test_the_link_holds_the_scene():
    scene = INFONCE_PRESETS["tau_large"].scene.replace(negatives=3, batch="digits", dim=2)
    at = open_page(scene.to_query(), tools=False)
    assert scene_of(at) == scene


def test_the_conventions_panel_shows_three_names_and_the_overflow():
    at = open_page(dict(INFONCE_PRESETS["easy"].scene.to_query()))  # s(A, P) = cos 12°
    table = at.dataframe[1].value  # the circle's weights, then the conventions
    assert list(table["library"]) == ["pytorch-metric-learning", "sentence-transformers", "CLIP"]
    assert list(table["loss"]) == pytest.approx([expected(scene_of(at)).loss] * 3)
    shown = metric_values(at)
    assert shown["exp(s/τ) / Σ exp(s/τ)"] in ("nan", "inf")
    assert math.isfinite(float(shown["log-sum-exp form"]))


def test_a_rerun_reads_the_circle_once(monkeypatch):
    from lossviz.ui import infonce_page

    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return read_circle(*args, **kwargs)

    monkeypatch.setattr(infonce_page, "read_circle", counted)
    infonce_page.reading_of.cache_clear()
    open_page()
    assert len(calls) == 1
