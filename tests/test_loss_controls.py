"""The shared loss controls, on every page that has them: each distance, p, typed expressions."""

from __future__ import annotations

import math

import pytest

from lossviz.scenes.scene import LossScene
from tests import test_contrastive_page as contrastive
from tests import test_playground_page as playground
from tests.apptest_helpers import ok, widget

PAGES = [
    pytest.param(playground, id="playground"),
    pytest.param(contrastive, id="contrastive"),
]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("distance", LossScene.field_spec("distance").options)
def test_every_distance(page, distance):
    at = page.open_page()
    widget(at, "Distance").set_value(distance)
    ok(at.run())
    assert page.scene_of(at).distance == distance
    page.assert_shows_core_numbers(at)


@pytest.mark.parametrize("page", PAGES)
def test_p_applies_to_minkowski(page):
    at = page.open_page()
    assert widget(at, "p (Minkowski)").disabled
    widget(at, "Distance").set_value("minkowski")
    ok(at.run())
    widget(at, "p (Minkowski)").set_value(math.inf)
    ok(at.run())
    assert page.scene_of(at).p == math.inf
    assert at.query_params["p"] == "inf"
    page.assert_shows_core_numbers(at)


@pytest.mark.parametrize("page", PAGES)
def test_custom_expression_good_then_bad_keeps_the_last_good_one(page):
    at = page.open_page()
    widget(at, "Distance").set_value("custom")
    ok(at.run())
    widget(at, "d(a, b) =").set_value("sum(abs(a - b))")
    ok(at.run())
    page.assert_shows_core_numbers(at)
    assert not at.error
    widget(at, "d(a, b) =").set_value("__import__('os').system('ls')")
    ok(at.run())
    assert at.error and "Still using the last good distance" in at.error[0].value
    page.assert_shows_core_numbers(at, expr="sum(abs(a - b))")
