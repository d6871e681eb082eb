"""The home page in a real browser: title, device badge, plotly chart, margin slider."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser

TITLE = "lossviz: see what metric-learning losses do"
ARROW_PRESSES = 3
SLIDER_STEP = 0.1


def semi_hard_text(margin: float) -> str:
    # pages/home.py writes the margin with `{margin:g}`: 1.0 -> "1", 1.3 -> "1.3".
    return f"semi-hard (0 < δ ≤ {round(margin, 6):g})"


def test_home_renders_and_the_margin_slider_updates_the_text(page, app_server):
    page.goto(app_server)
    wait_for_app(page)

    expect(page.locator("h1", has_text=TITLE)).to_be_visible()

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text(re.compile(r"Computing on (cpu|cuda)"))

    chart = page.locator(".js-plotly-plot")
    expect(chart.first).to_be_visible()
    expect(chart.first.locator(".main-svg").first).to_be_attached()

    slider_block = page.get_by_test_id("stSlider").filter(has_text="Margin m")
    thumb = slider_block.get_by_role("slider")
    expect(thumb).to_have_count(1)
    # Streamlit 1.67's slider is react-aria: the thumb is a visually hidden
    # <input type="range"> (implicit role "slider", no aria-valuenow attribute).
    start = float(thumb.input_value())
    expect(page.get_by_text(semi_hard_text(start))).to_be_visible()

    thumb.focus()
    for _ in range(ARROW_PRESSES):
        page.keyboard.press("ArrowRight")
    new_margin = round(start + ARROW_PRESSES * SLIDER_STEP, 1)
    expect(thumb).to_have_value(re.compile(rf"^{re.escape(str(new_margin))}\d*$"))

    # The rerun rewrites the markdown; expect() retries until it shows the new margin.
    expect(page.get_by_text(semi_hard_text(new_margin))).to_be_visible()
    expect(page.get_by_text(semi_hard_text(start))).to_have_count(0)
    wait_for_app(page)
    expect(chart.first).to_be_visible()

    expect(page.get_by_test_id("stException")).to_have_count(0)
    path = screenshot(page, "home")
    assert path.stat().st_size > 10_000
