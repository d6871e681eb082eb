"""Every preset shows what its lesson says, computed by the core."""

from __future__ import annotations

import pytest

from lossviz.core.loss_settings import LossSettings
from lossviz.core.triplet_reading import read_triplet
from lossviz.core.triplets import Kind
from lossviz.scenes.presets import PLAYGROUND_PRESETS
from lossviz.teaching.formulas import triplet_latex


def reading_of(scene, **changes):
    scene = scene.replace(**changes)
    settings = LossSettings(
        scene.margin, scene.p, scene.eps, scene.swap, scene.distance, scene.expr
    )
    points = [[scene.ax, scene.ay], [scene.px, scene.py], [scene.nx, scene.ny]]
    return read_triplet(points, settings)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("easy", Kind.EASY), ("semi_hard", Kind.SEMI_HARD), ("hard", Kind.HARD)],
)
def test_kind_presets(name, kind):
    assert reading_of(PLAYGROUND_PRESETS[name].scene).kind is kind


def test_swap_preset_changes_the_answer():
    scene = PLAYGROUND_PRESETS["swap"].scene
    assert reading_of(scene).kind is Kind.HARD and reading_of(scene).swap_used
    assert reading_of(scene, swap=False).kind is Kind.SEMI_HARD


def test_coincident_preset_needs_eps_for_a_direction():
    scene = PLAYGROUND_PRESETS["coincident"].scene
    (a, p, n) = reading_of(scene).gradients
    assert p[0] == pytest.approx(p[1]) and abs(p[0]) > 0.5  # P pulled along (1, 1)
    assert a != pytest.approx((-n[0], -n[1]))  # A feels P's pull too
    (a0, p0, n0) = reading_of(scene, eps=0.0).gradients
    assert p0 == (0.0, 0.0)  # "P's arrow vanishes"
    assert a0 == pytest.approx((-n0[0], -n0[1])) and a0 != (0.0, 0.0)  # "only N pushing it away"


def test_cosine_preset_far_but_aligned_negative_is_hard():
    scene = PLAYGROUND_PRESETS["cosine"].scene
    assert reading_of(scene).kind is Kind.HARD
    assert reading_of(scene, distance="euclidean").kind is Kind.EASY


def test_presets_are_valid_scenes():
    for preset in PLAYGROUND_PRESETS.values():
        for name, spec in type(preset.scene).specs().items():
            assert spec.problem(getattr(preset.scene, name)) is None, (preset.title, name)


def test_formula_substitutes_the_numbers():
    reading = reading_of(PLAYGROUND_PRESETS["swap"].scene, eps=0.0)
    latex = triplet_latex(reading, margin=1.0, swap=True)
    assert r"\min(2.550,\, 0.707)" in latex
    assert "2.000 -" in latex and "&= 2.293" in latex
    plain = triplet_latex(reading_of(PLAYGROUND_PRESETS["easy"].scene), 1.0, swap=False)
    assert r"\min" not in plain and "&= 0.000" in plain
