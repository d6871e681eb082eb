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
from lossviz.ui import infonce_page
from lossviz.ui.components.infonce_readout import infonce_reading_json, infonce_weights
from lossviz.ui.points import RESET
from lossviz.ui.readouts import small_number
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


BATCH_TAB = {"infonce.tab": "A batch of 2N views"}


def open_page(
    query: dict[str, str] | None = None, tools: bool = True, batch: bool = False
) -> AppTest:
    """The page as a link opens it: with the two toggles on (``tools``), on the batch tab
    (``batch``)."""
    state = {**(TOOLS_ON if tools else {}), **(BATCH_TAB if batch else {})}
    return helpers.open_page(PAGE, query, state)


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
    bound = "none" if not scene.normalize else small_number(reading.lower_bound)
    assert shown["lowest"] == bound
    assert shown["collapsed"] == f"{math.log(1 + scene.negatives):.3f}"
    hardest = reading.hardest
    assert shown[f"N{hardest} takes"] == f"{100 * reading.weights[hardest]:.0f} %"
    text = " ".join(m.value for m in at.markdown)
    assert f"= **{reading.alignment:.3f}** (0 when P sits on A)" in text
    assert f"= **{reading.uniformity:.3f}** (lower: more evenly spread)" in text
    data = plane_data(at)
    drawn = {name: list(xy) for name, xy in scene.points().items()}
    if scene.normalize:  # drawn where the loss sees them: on the unit circle
        drawn = {
            name: [x / math.hypot(x, y), y / math.hypot(x, y)] for name, (x, y) in drawn.items()
        }
    assert data["points"].keys() == drawn.keys()
    for name, xy in drawn.items():
        assert data["points"][name] == pytest.approx(xy, rel=1e-12, abs=1e-15), name
    assert data["circle"] is scene.normalize
    assert data["weights"] == pytest.approx(infonce_weights(reading))
    assert data["reading"] == json.loads(json.dumps(infonce_reading_json(reading)))
    for name, (gx, gy) in reading.gradients.items():  # arrows: -gradient, scaled
        ax, ay = data["arrows"][name]
        assert ax * -gx >= 0 and ay * -gy >= 0
    latex = [element.value.strip("$\n") for element in at.latex]
    assert infonce_latex(reading, scene.tau) in latex
    rows = [line for m in at.markdown for line in m.value.splitlines() if line.startswith("| ")]
    rows = rows[rows.index("| point | s(A, ·) | weight | ‖∇L‖ |") + 1 :]
    names = ["P", *(f"N{i}" for i in range(1, scene.negatives + 1))]
    assert [row.split(" | ")[0] for row in rows[: len(names)]] == [f"| {n}" for n in names]
    for row, weight in zip(rows, reading.weights, strict=False):
        assert row.split(" | ")[2] == f"{weight:.3f}"
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
    at = open_page(tools=False, batch=True)
    ok(widget(at, label).set_value(value).run())
    scene = scene_of(at)
    assert getattr(scene, field) == value
    reading = read_batch(make_views(scene.batch, scene.examples, scene.dim, scene.noise,
                                    scene.seed), scene.tau)  # fmt: skip
    shown = metric_values(at)
    assert shown["batch NT-Xent"] == f"{reading.nt_xent:.3f}"
    assert shown["batch's lowest possible"] == small_number(reading.lower_bound)
    assert shown["batch collapsed"] == f"{math.log(2 * scene.examples - 1):.3f}"
    losses = at.dataframe[0].value
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
    table = at.dataframe[0].value  # the conventions
    assert list(table["library"]) == ["pytorch-metric-learning", "sentence-transformers", "CLIP"]
    assert list(table["loss"]) == pytest.approx([expected(scene_of(at)).loss] * 3)
    shown = metric_values(at)
    assert shown["exp(s/τ) / Σ exp(s/τ)"] in ("nan", "inf")
    assert math.isfinite(float(shown["log-sum-exp form"]))


def test_a_rerun_reads_the_circle_once(monkeypatch):
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return read_circle(*args, **kwargs)

    monkeypatch.setattr(infonce_page, "read_circle", counted)
    infonce_page.reading_of.cache_clear()
    open_page()
    assert len(calls) == 1


def test_a_link_with_longer_vectors_draws_them_on_the_circle():
    at = open_page({"ax": "2", "ay": "0", "px": "0", "py": "-1.5"}, tools=False)
    assert (scene_of(at).ax, scene_of(at).py) == (2.0, -1.5)  # the link's values are kept
    points = plane_data(at)["points"]
    assert points["A"] == [1.0, 0.0] and points["P"] == [0.0, -1.0]
    assert_shows_core_numbers(at, tools=False)


def test_only_the_open_tab_runs():
    circle = open_page(tools=False)
    assert not circle.get("plotly_chart") and component_data(circle, "lossviz.plane")
    assert not [w for w in circle.slider if w.label == "Examples N"]
    batch = open_page(tools=False, batch=True)
    assert len(batch.get("plotly_chart")) == 4 and not component_data(batch, "lossviz.plane")
    assert scene_of(batch) == scene_of(circle)  # the hidden controls keep their values


def test_a_batch_setting_outlives_a_visit_to_the_other_tab():
    at = open_page(tools=False, batch=True)
    ok(widget(at, "Examples N").set_value(20).run())
    at.session_state["infonce.tab"] = "One anchor on the circle"
    ok(at.run())
    assert scene_of(at).examples == 20 and at.query_params["examples"] == "20"
    at.session_state["infonce.tab"] = "A batch of 2N views"
    ok(at.run())
    assert widget(at, "Examples N").value == 20
    assert metric_values(at)["batch collapsed"] == f"{math.log(39):.3f}"


def test_a_large_matrix_is_not_sent_again_when_the_row_moves():
    """Above 128 rows the matrix is one figure per batch and temperature (no row outline):
    moving the anchor row re-sends only the row's charts. Charts in page order: the views
    and the row's softmax (left), the matrix and the loss against tau (right)."""
    at = open_page({"examples": "100"}, tools=False, batch=True)
    matrix, softmax = (at.get("plotly_chart")[i].proto.spec for i in (2, 1))
    figure = json.loads(matrix)
    assert figure["data"][0]["type"] == "heatmap"
    assert not [s for s in figure["layout"].get("shapes", []) if s["type"] == "rect"]
    ok(widget(at, "Anchor row").set_value(7).run())
    assert at.get("plotly_chart")[2].proto.spec == matrix  # the same bytes: not sent again
    assert at.get("plotly_chart")[1].proto.spec != softmax  # the row's softmax follows
    small = open_page({"examples": "8", "row": "3"}, tools=False, batch=True)
    shapes = json.loads(small.get("plotly_chart")[2].proto.spec)["layout"]["shapes"]
    assert [(s["y0"], s["y1"]) for s in shapes if s["type"] == "rect"] == [(2.5, 3.5)]
