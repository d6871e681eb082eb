"""The contrastive page headless (AppTest): every control, presets, the convention toggle,
links; the numbers shown are the core's."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.core.loss_settings import LossSettings
from lossviz.core.outlines import margin_outline
from lossviz.core.pair_reading import Term, read_pair
from lossviz.scenes.presets import CONTRASTIVE_PRESETS
from lossviz.scenes.scene import ContrastiveScene
from lossviz.teaching.formulas import contrastive_latex
from lossviz.teaching.snippets import pair_snippet
from lossviz.ui.contrastive_page import INVERTED_KEY
from lossviz.ui.instruments.pair_plane import reading_json as pair_reading
from lossviz.ui.points import DESCENT_STEPS, RESET
from tests import apptest_helpers as helpers
from tests.apptest_helpers import (
    SHARED_CONTROLS,
    assert_field_shown,
    assert_preset_shown,
    choose_preset,
    component_data,
    metric_values,
    ok,
    set_widget,
    widget,
)

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "contrastive.py")
SCENE_KEY = "contrastive.scene"
SIMILAR = "Similar pair (same class)"
INVERTED = "Use the inverted snippet"


def open_page(query: dict[str, str] | None = None) -> AppTest:
    """With "Copy as code" on: every test also checks the script."""
    return helpers.open_page(PAGE, query, {"contrastive.show_code": True})


def scene_of(at: AppTest) -> ContrastiveScene:
    return at.session_state[SCENE_KEY]


def points(scene: ContrastiveScene) -> list[list[float]]:
    return [[scene.x1x, scene.x1y], [scene.x2x, scene.x2y]]


def expected(scene: ContrastiveScene, expr: str | None = None, inverted: bool = False):
    settings = LossSettings(scene.margin, scene.p, scene.eps, False, scene.distance,
                            expr or scene.expr)  # fmt: skip
    return read_pair(points(scene), scene.similar, settings, inverted=inverted)


def plane_data(at: AppTest) -> dict:
    return component_data(at, "lossviz.plane")[0]


def assert_shows_core_numbers(at: AppTest, expr: str | None = None) -> None:
    scene = scene_of(at)
    reading = expected(scene, expr)
    inverted = bool(at.session_state[INVERTED_KEY]) if INVERTED_KEY in at.session_state else False
    snippet = expected(scene, expr, inverted=True)
    shown = {"d": f"{reading.d:.3f}", "loss": f"{reading.loss:.3f}",
             "active term": reading.term.label}  # fmt: skip
    if inverted:
        shown["snippet's loss"] = f"{snippet.loss:.3f}"
    assert metric_values(at) == shown
    latex = [element.value.strip("$\n") for element in at.latex]
    assert latex[0] == contrastive_latex(reading.d, reading.loss, scene.margin, scene.similar)
    if inverted:
        assert latex[1] == contrastive_latex(
            snippet.d, snippet.loss, scene.margin, scene.similar, inverted=True
        )
    else:
        assert len(latex) == 1
    data = plane_data(at)
    assert data["points"] == {"X1": [scene.x1x, scene.x1y], "X2": [scene.x2x, scene.x2y]}
    # The arrows are -gradient (scaled) of the loss drawn: the snippet's when inverted.
    drawn = snippet if inverted else reading
    for name, (gx, gy) in zip(("X1", "X2"), drawn.gradients, strict=True):
        ax, ay = data["arrows"][name]
        assert ax * -gx >= 0 and ay * -gy >= 0
        assert math.hypot(ax, ay) > 0 or math.hypot(gx, gy) == 0
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    pair = [trace for trace in chart["data"] if trace.get("name") == "this pair"][0]
    assert pair["x"] == [reading.d] and pair["y"] == [reading.loss]
    # The plane's read-out is the core's; the margin is exact outlines (cells: typed).
    assert data["reading"] == json.loads(json.dumps(pair_reading(reading)))
    settings = LossSettings(scene.margin, scene.p, scene.eps, False, scene.distance,
                            expr or scene.expr)  # fmt: skip
    balls = margin_outline(points(scene)[0], settings)
    if balls is None:
        assert data["shapes"] is None and len(data["regions"]["cells"]) == 200 * 200
    else:
        (layer,) = data["shapes"]["layers"]
        assert layer["role"] == "margin" and layer["balls"] == [b.to_json() for b in balls]
    script = pair_snippet(points(scene), scene.similar, settings).strip()
    assert script in [code.value.strip() for code in at.code]
    # The reference check beside the snippet: d agrees, the loss only where d = m / 2.
    rows = [line for m in at.markdown for line in m.value.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| d |") and "agrees" in rows[1]
    assert rows[2].startswith("| loss |") and ("agrees" in rows[2]) == math.isclose(
        reading.loss, snippet.loss, rel_tol=1e-6, abs_tol=1e-9
    )


def button(at: AppTest, label: str):
    [found] = [b for b in at.button if b.label == label]
    return found


def test_defaults_show_the_cores_numbers():
    at = open_page()
    assert scene_of(at) == ContrastiveScene()
    assert_shows_core_numbers(at)
    assert at.query_params["similar"] == "1"
    assert at.title[0].value == "Contrastive loss"
    assert any(e.label == "What am I looking at?" for e in at.expander)


def test_curves_come_from_the_core():
    at = open_page()
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    similar, dissimilar = chart["data"][0], chart["data"][1]
    margin = scene_of(at).margin
    for d, loss in zip(similar["x"], similar["y"], strict=True):
        assert loss == pytest.approx(d**2)
    for d, loss in zip(dissimilar["x"], dissimilar["y"], strict=True):
        assert loss == pytest.approx(max(margin - d, 0) ** 2)


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [*SHARED_CONTROLS, (SIMILAR, False, "similar"), ("Margin m", 2.5, "margin")],
)
def test_each_control_changes_the_scene_and_the_numbers(label, value, field):
    at = set_widget(open_page(), label, value)
    assert_field_shown(at, scene_of(at), field, value)
    assert_shows_core_numbers(at)


def test_similar_toggle_changes_the_active_term():
    at = open_page()  # default: similar, d = 1.118 > m = 1
    assert metric_values(at)["active term"] == Term.PULL.label
    widget(at, SIMILAR).set_value(False)
    ok(at.run())
    assert metric_values(at)["active term"] == Term.NONE.label
    widget(at, "Margin m").set_value(2.0)
    ok(at.run())
    assert metric_values(at)["active term"] == Term.PUSH.label
    assert_shows_core_numbers(at)


@pytest.mark.parametrize("name", list(CONTRASTIVE_PRESETS))
def test_each_preset(name):
    at = choose_preset(open_page(), name)
    assert_preset_shown(at, scene_of(at), CONTRASTIVE_PRESETS[name])
    assert_shows_core_numbers(at)


def test_reset_after_a_drag_a_slider_move_and_the_toggle():
    at = open_page()
    at.session_state[SCENE_KEY] = scene_of(at).replace(x2x=-3.0, x2y=2.5)  # what a drag does
    ok(at.run())
    widget(at, INVERTED).set_value(True)
    ok(at.run())
    assert scene_of(at).x2x == -3.0
    choose_preset(at, RESET)
    assert not widget(at, INVERTED).value
    widget(at, "Margin m").set_value(0.5)
    ok(at.run())
    assert scene_of(at) == ContrastiveScene(margin=0.5)
    assert_shows_core_numbers(at)


def test_step_moves_both_points_down_the_gradient():
    at = open_page()
    before = scene_of(at)
    reading = expected(before)
    ok(button(at, "Step").click().run())
    after = scene_of(at)
    moved = [after.x1x - before.x1x, after.x1y - before.x1y,
             after.x2x - before.x2x, after.x2y - before.x2y]  # fmt: skip
    wanted = [-before.lr * g for xy in reading.gradients for g in xy]
    assert moved == pytest.approx(wanted)
    assert expected(after).loss < reading.loss
    assert_shows_core_numbers(at)


def test_descend_animates_and_ends_where_the_frames_end():
    start = CONTRASTIVE_PRESETS["dissimilar_inside"].scene
    at = open_page(start.to_query())
    ok(button(at, f"Descend {DESCENT_STEPS}").click().run())
    frames = plane_data(at)["trajectory"]["frames"]
    assert len(frames) == DESCENT_STEPS + 1
    scene = scene_of(at)
    assert frames[0]["X2"] == [start.x2x, start.x2y]
    assert frames[-1]["X2"] == pytest.approx([scene.x2x, scene.x2y])
    assert expected(scene).loss < expected(start).loss
    assert_shows_core_numbers(at)


def test_the_convention_toggle_shows_and_follows_the_inverted_snippet():
    start = CONTRASTIVE_PRESETS["dissimilar_beyond"].scene  # loss 0: no arrows
    at = open_page(start.to_query())
    assert plane_data(at)["arrows"] == {"X1": [0.0, 0.0], "X2": [0.0, 0.0]}
    assert any("label 1 = similar" in code.value for code in at.code)
    assert not at.warning
    widget(at, INVERTED).set_value(True)
    ok(at.run())
    assert_shows_core_numbers(at)
    snippet = expected(start, inverted=True)
    assert snippet.loss > 0 and snippet.term is Term.PULL
    assert "inverted snippet" in at.warning[0].value
    assert any("pulls dissimilar points together" in m.value for m in at.markdown)
    # the arrows pull the dissimilar pair together: X1 towards X2
    (ax, ay), dx = plane_data(at)["arrows"]["X1"], (start.x2x - start.x1x, start.x2y - start.x1y)
    assert ax * dx[0] + ay * dx[1] > 0
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    marked = [trace for trace in chart["data"] if trace.get("name") == "inverted snippet"][0]
    assert marked["y"] == [snippet.loss]
    # Step follows the drawn (inverted) arrows: the dissimilar pair gets closer.
    ok(button(at, "Step").click().run())
    assert expected(scene_of(at)).d < expected(start).d
    assert_shows_core_numbers(at)


def test_the_snippet_shows_the_margin_its_curve_uses():
    at = open_page({"margin": "0.35"})
    (code,) = [c.value for c in at.code if "label 1 = similar" in c.value]
    assert "    m = 0.35  # the margin\n" in code
    widget(at, "Margin m").set_value(1.5)
    ok(at.run())
    (code,) = [c.value for c in at.code if "label 1 = similar" in c.value]
    assert "    m = 1.5  # the margin\n" in code


def test_a_rerun_reads_the_pair_once_and_hands_the_readings_to_everything(monkeypatch):
    """Two readings (the loss's, the inverted snippet's) per new scene, shared by the
    numbers, the plane, the curves and the reference check; none for a scene already read."""
    from lossviz.teaching import references
    from lossviz.ui import contrastive_page

    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("inverted", False))
        return read_pair(*args, **kwargs)

    def refused(*args, **kwargs):
        raise AssertionError("the reference check read the pair again")

    monkeypatch.setattr(contrastive_page, "read_pair", counted)
    monkeypatch.setattr(references, "read_pair", refused)
    contrastive_page.readings_of.cache_clear()
    at = open_page({"x2x": "1.234", "x2y": "-0.5"})
    assert sorted(calls) == [False, True]
    assert_shows_core_numbers(at)
    ok(at.run())  # the same scene: nothing is read again
    widget(at, INVERTED).set_value(True)
    ok(at.run())
    assert sorted(calls) == [False, True]
    assert_shows_core_numbers(at)
