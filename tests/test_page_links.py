"""Shareable links on the point pages: exact round trips, and bad links open the defaults."""

from __future__ import annotations

import pytest

from lossviz.scenes.scene import ContrastiveScene, PlaygroundScene
from tests import test_contrastive_page as contrastive
from tests import test_playground_page as playground
from tests.apptest_helpers import listed, warnings

SCENES = [
    pytest.param(
        playground,
        PlaygroundScene(ax=0.125, ay=-1.5, nx=3.0, margin=0.35, swap=True, distance="chebyshev"),
        id="playground",
    ),
    pytest.param(
        contrastive,
        ContrastiveScene(
            x1x=0.125, x1y=-1.5, x2x=3.0, margin=0.35, similar=False, distance="chebyshev", lr=0.25
        ),  # fmt: skip
        id="contrastive",
    ),
]

BAD_LINKS = [
    pytest.param(playground, {"margin": "abc"}, id="playground-text"),
    pytest.param(
        playground,
        {"margin": "nan", "p": "-3", "ax": "1e308", "distance": "<script>"},
        id="playground-many",
    ),
    pytest.param(playground, {"eps": "inf", "swap": "maybe", "lr": "0"}, id="playground-flags"),
    pytest.param(contrastive, {"margin": "abc"}, id="contrastive-text"),
    pytest.param(
        contrastive,
        {"margin": "nan", "p": "-3", "x1x": "1e308", "distance": "<script>"},
        id="contrastive-many",
    ),
    pytest.param(
        contrastive, {"eps": "inf", "similar": "maybe", "lr": "0"}, id="contrastive-flags"
    ),
]


@pytest.mark.parametrize(("page", "scene"), SCENES)
def test_a_link_restores_the_exact_scene(page, scene):
    at = page.open_page(scene.to_query())
    assert page.scene_of(at) == scene
    assert not at.warning
    page.assert_shows_core_numbers(at)
    again = page.open_page(dict(at.query_params))  # the address the page wrote back
    assert page.scene_of(again) == scene


@pytest.mark.parametrize(("page", "query"), BAD_LINKS)
def test_a_malformed_link_opens_defaults_with_a_notice(page, query):
    at = page.open_page(query)
    (warning,) = warnings(at)
    assert "bad value" in warning and len(listed(at)) == len(query)
    defaults = type(page.scene_of(at))()
    for key in query:
        assert getattr(page.scene_of(at), key) == getattr(defaults, key)
    page.assert_shows_core_numbers(at)
