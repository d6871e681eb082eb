"""The app headless with Streamlit's AppTest: app.py (through st.navigation) and each page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.core.device import default_device
from lossviz.ui.navigation import HOME, PAGES

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app.py"
TIMEOUT_S = 30  # the first run in a process imports torch
TITLE = "lossviz: see what metric-learning losses do"
ALL_PAGES = [HOME, *PAGES]


def run(path: Path) -> AppTest:
    # AppTest resolves a relative path against the calling file, so pass absolute ones.
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def semi_hard_text(margin: float) -> str:
    return f"**semi-hard** (0 < δ ≤ {margin:g})"


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.main.markdown)


@pytest.fixture(params=["app.py", HOME.path], ids=["via-app", "page-alone"])
def home(request) -> AppTest:
    """The home page, once through app.py's st.navigation and once run on its own."""
    return run(REPO / request.param)


def test_app_shows_the_home_page_by_default():
    at = run(APP)
    assert [t.value for t in at.title] == [TITLE]
    assert [s.label for s in at.slider] == ["Margin m"]


@pytest.mark.parametrize("info", ALL_PAGES, ids=lambda info: info.path)
def test_every_page_runs_on_its_own(info):
    at = run(REPO / info.path)
    assert at.title, f"{info.path} shows no title"


@pytest.mark.parametrize("info", ALL_PAGES, ids=lambda info: info.path)
def test_every_page_runs_through_the_navigation(info):
    at = run(APP)
    at.switch_page(info.path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{info.path} shows no title"


def test_home_shows_the_default_margin(home):
    margin = home.slider[0]
    assert margin.label == "Margin m"
    assert semi_hard_text(margin.value) in markdown_text(home)
    assert len(home.get("plotly_chart")) == 1


@pytest.mark.parametrize("value", [0.1, 1.5, 2.0])
def test_moving_the_margin_slider_rewrites_the_text(home, value):
    home.slider[0].set_value(value).run()
    assert not home.exception, [e.value for e in home.exception]
    assert home.slider[0].value == pytest.approx(value)
    text = markdown_text(home)
    assert semi_hard_text(value) in text
    assert f"**easy** (δ > {value:g})" in text
    assert len(home.get("plotly_chart")) == 1


def test_sidebar_badge_names_the_device():
    at = run(APP)
    badges = [m.value for m in at.sidebar.markdown if "Computing on" in m.value]
    assert len(badges) == 1, [m.value for m in at.sidebar.markdown]
    assert f"Computing on {default_device().type}" in badges[0]


def test_home_chart_shows_the_cores_loss(home):
    import json

    from lossviz.core.triplets import loss_along_delta

    home.slider[0].set_value(0.5).run()
    spec = json.loads(home.get("plotly_chart")[0].proto.spec)
    (curve,) = [trace for trace in spec["data"] if trace.get("name") == "loss"]
    deltas, losses, _ = loss_along_delta(0.5)
    assert curve["x"] == pytest.approx(deltas.tolist())
    assert curve["y"] == pytest.approx(losses.tolist())
