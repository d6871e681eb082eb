"""The playground page headless (AppTest): every control, presets, links; numbers are the core's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.core.loss_settings import LossSettings
from lossviz.core.outlines import triplet_outlines
from lossviz.core.triplet_reading import read_triplet
from lossviz.scenes.presets import PLAYGROUND_PRESETS
from lossviz.scenes.scene import PlaygroundScene
from lossviz.teaching.formulas import triplet_latex
from lossviz.teaching.snippets import triplet_snippet
from lossviz.ui.instruments.triplet_plane import reading_json as triplet_reading
from lossviz.ui.points import RESET
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

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "playground.py")
SCENE_KEY = "playground.scene"


# "Copy as code" and "Check a reference" on: every test also checks the script and tables.
TOOLS_ON = {"playground.show_code": True, "playground.check_reference": True}


def open_page(query: dict[str, str] | None = None, tools: bool = True) -> AppTest:
    return helpers.open_page(PAGE, query, TOOLS_ON if tools else None)


def scene_of(at: AppTest) -> PlaygroundScene:
    return at.session_state[SCENE_KEY]


def settings_of(scene: PlaygroundScene, expr: str | None = None) -> LossSettings:
    return LossSettings(
        scene.margin, scene.p, scene.eps, scene.swap, scene.distance, expr or scene.expr
    )


def points_of(scene: PlaygroundScene) -> list[list[float]]:
    return [[scene.ax, scene.ay], [scene.px, scene.py], [scene.nx, scene.ny]]


def expected_reading(scene: PlaygroundScene, expr: str | None = None):
    return read_triplet(points_of(scene), settings_of(scene, expr))


def assert_shows_core_numbers(at: AppTest, expr: str | None = None) -> None:
    scene = scene_of(at)
    reading = expected_reading(scene, expr)
    assert metric_values(at) == {
        "d(a, p)": f"{reading.d_ap:.3f}",
        "d(a, n)": f"{reading.d_an:.3f}",
        "d(p, n)": f"{reading.d_pn:.3f}",
        "loss": f"{reading.loss:.3f}",
    }
    assert any(f'data-kind="{reading.kind.label}"' in m.value for m in at.markdown)
    assert at.latex[0].value.strip("$\n") == triplet_latex(reading, scene.margin, scene.swap)
    data = component_data(at, "lossviz.plane")[0]
    shown = json.dumps(data)
    for x in (scene.ax, scene.px, scene.nx):
        assert json.dumps(x) in shown
    # The plane's own read-out (shown at rest) is the core's reading, to the last digit.
    assert data["reading"] == json.loads(json.dumps(triplet_reading(reading)))
    settings = settings_of(scene, expr)
    points = points_of(scene)
    outlines = triplet_outlines(points[0], points[1], reading.d_ap, settings)
    if outlines is None:  # a typed distance: the cell grid
        assert data["shapes"] is None and len(data["regions"]["cells"]) == 200 * 200
    else:
        assert data["regions"] is None
        layers = {layer["role"]: layer["balls"] for layer in data["shapes"]["layers"]}
        assert layers["semi"] == [b.to_json() for b in outlines.semi]
        assert layers["hard"] == [b.to_json() for b in outlines.hard]
    # "Copy as code" holds this scene's script.
    assert triplet_snippet(points, settings).strip() in [code.value.strip() for code in at.code]


def test_defaults_show_the_cores_numbers():
    at = open_page()
    assert scene_of(at) == PlaygroundScene()
    assert_shows_core_numbers(at)
    assert at.query_params["margin"] == "1.0"


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [*SHARED_CONTROLS, ("Swap", True, "swap")],
)
def test_each_control_changes_the_scene_and_the_numbers(label, value, field):
    at = set_widget(open_page(), label, value)
    assert_field_shown(at, scene_of(at), field, value)
    assert_shows_core_numbers(at)


@pytest.mark.parametrize("name", list(PLAYGROUND_PRESETS))
def test_each_preset(name):
    at = choose_preset(open_page(), name)
    assert_preset_shown(at, scene_of(at), PLAYGROUND_PRESETS[name])
    assert_shows_core_numbers(at)


def test_reset_after_a_drag_and_a_slider_move():
    at = open_page()
    at.session_state[SCENE_KEY] = scene_of(at).replace(nx=-3.0, ny=2.5)  # what a drag does
    ok(at.run())
    assert scene_of(at).nx == -3.0
    choose_preset(at, RESET)
    widget(at, "Margin m").set_value(0.5)
    ok(at.run())
    assert scene_of(at) == PlaygroundScene(margin=0.5)
    assert_shows_core_numbers(at)


def test_step_moves_every_point_down_the_gradient():
    at = open_page()
    before = scene_of(at)
    reading = expected_reading(before)
    [step] = [b for b in at.button if b.label == "Step"]
    ok(step.click().run())
    after = scene_of(at)
    moved = [after.ax - before.ax, after.ay - before.ay, after.nx - before.nx]
    wanted = [-before.lr * g for g in (reading.gradients[0][0], reading.gradients[0][1],
                                       reading.gradients[2][0])]  # fmt: skip
    assert moved == pytest.approx(wanted)
    assert_shows_core_numbers(at)


def test_descend_animates_and_ends_where_the_frames_end():
    at = open_page(dict(PLAYGROUND_PRESETS["hard"].scene.to_query()))
    [descend] = [b for b in at.button if b.label.startswith("Descend")]
    ok(descend.click().run())
    data = component_data(at, "lossviz.plane")[0]
    frames = data["trajectory"]["frames"]
    assert len(frames) == 51
    scene = scene_of(at)
    assert frames[-1]["N"] == pytest.approx([scene.nx, scene.ny])
    assert expected_reading(scene).loss < expected_reading(PLAYGROUND_PRESETS["hard"].scene).loss
    assert_shows_core_numbers(at)


def _reference_rows(at: AppTest) -> list[str]:
    """The rows of the reference panel's tables (markdown lines starting with '| ')."""
    rows = []
    for block in at.markdown:
        rows += [
            line
            for line in block.value.splitlines()
            if line.startswith("| ") and "core" not in line
        ]
    return rows


def test_reference_panel_shows_the_tutorial_and_the_snippet_beside_the_core():
    at = open_page()
    scene = scene_of(at)
    reading = expected_reading(scene)
    rows = _reference_rows(at)
    # Euclidean: the tutorial agrees on every number; the snippet differs on each pair's loss.
    tutorial = rows[:3]  # the tutorial's table comes first
    assert [r.split(" |")[0] for r in tutorial] == ["| d(a, p)", "| d(a, n)", "| loss"], rows
    assert all("agrees" in r for r in tutorial), rows
    assert f"| {reading.loss:.6g} | {reading.loss:.6g} |" in tutorial[2]
    assert sum("differs" in r for r in rows) == 2  # A-P's and A-N's loss in the snippet
    assert any("label 1 = similar" in m.value for m in at.markdown)


def test_the_reference_check_uses_the_pages_reading(monkeypatch):
    """The tutorial is compared with the reading the page computed for its numbers and its
    plane, never a second reading of the triplet."""
    from lossviz.teaching import references

    def refused(*args, **kwargs):
        raise AssertionError("the reference check read the triplet again")

    monkeypatch.setattr(references, "read_triplet", refused)
    at = open_page({"nx": "-1.25", "ny": "2.0"})
    assert_shows_core_numbers(at)
    rows = [line for m in at.markdown for line in m.value.splitlines() if line.startswith("| ")]
    reading = expected_reading(scene_of(at))
    assert any(row.startswith(f"| d(a, n) | {reading.d_an:.6g} |") for row in rows)


def test_reference_panel_catches_the_tutorial_at_infinity():
    at = open_page({"distance": "chebyshev"})
    rows = _reference_rows(at)
    d_ap = next(r for r in rows if r.startswith("| d(a, p)"))
    assert "| 1 |" in d_ap and "differs" in d_ap  # every tutorial distance is 1.0
    assert any("NumPy evaluates to 1" in m.value for m in at.markdown)


def test_reference_panel_says_what_it_cannot_compare():
    at = open_page({"distance": "cosine"})
    assert any("only p-norms" in c.value for c in at.caption)


def test_code_and_reference_are_off_until_asked_for():
    """Off by default: a drop then sends neither the script nor the tables."""
    at = open_page(tools=False)
    assert not helpers.scripts(at) and not _reference_rows(at)
    at = ok(at.toggle(key="playground.show_code").set_value(True).run())
    assert len(helpers.scripts(at)) == 1 and not _reference_rows(at)
    at = ok(at.toggle(key="playground.check_reference").set_value(True).run())
    assert len(_reference_rows(at)) == 3 + 2 * 2  # the tutorial's rows, two pairs' rows
