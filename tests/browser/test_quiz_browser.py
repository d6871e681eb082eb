"""The quiz page in a real browser: answer by clicking, see the feedback and the regions.

Until app.py registers the page (``/quiz``), it runs on its own server behind
``tests/browser/apps/quiz_app.py`` (``st.navigation`` over ``pages/quiz.py`` alone).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lossviz.teaching.quiz_rounds import explain, make_round
from tests.browser.conftest import screenshot, start_streamlit, wait_for_app

pytestmark = pytest.mark.browser

SEED = 3


@pytest.fixture(scope="module")
def quiz_server() -> Iterator[str]:
    with start_streamlit("tests/browser/apps/quiz_app.py", "streamlit-quiz") as base_url:
        yield base_url


def test_answer_a_question_and_see_the_feedback(page, quiz_server):
    from playwright.sync_api import expect

    page.goto(f"{quiz_server}/?seed={SEED}")
    wait_for_app(page)
    question = make_round(SEED)[0]
    plane = page.locator(".lv-plane")
    expect(plane).to_be_visible()
    expect(page.get_by_text("Is this triplet easy, semi-hard or hard?")).to_be_visible()
    # Static: no regions drawn, points not focusable, no grab cursor.
    expect(plane).to_have_class("lv-plane lv-static")
    assert page.locator(".lv-point[tabindex]").count() == 0
    canvas = page.locator("canvas.lv-regions")
    expect(canvas).to_be_hidden()
    # Dragging does nothing.
    point = page.locator('.lv-point[data-name="N"]')
    before = point.get_attribute("transform")
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 80, box["y"] + 60, steps=5)
    page.mouse.up()
    assert point.get_attribute("transform") == before
    assert plane.get_attribute("data-sent-count") is None
    screenshot(page, "quiz-question")

    wrong = {"easy": "hard", "semi-hard": "easy", "hard": "semi-hard"}[question.kind.label]
    page.get_by_role("button", name=wrong, exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text(f"you said {wrong}")).to_be_visible()
    expect(page.locator('[data-testid="kind-badge"]')).to_have_attribute(
        "data-kind", question.kind.label
    )
    expect(page.get_by_text(explain(question))).to_be_visible()
    expect(page.get_by_text(f"{question.d_ap:.3f}", exact=True)).to_be_visible()
    # The regions are revealed: exact outlines of the semi-hard and hard balls.
    expect(canvas).to_be_hidden()
    expect(page.locator('.lv-plane .lv-shape[data-role="semi"]')).to_have_count(
        2 if question.settings.swap else 1
    )
    expect(page.locator('.lv-plane .lv-shape[data-role="base"]')).to_have_count(1)
    expect(page.get_by_text("Score")).to_be_visible()
    expect(page.get_by_role("button", name="Next question")).to_be_visible()
    screenshot(page, "quiz-feedback")

    page.get_by_role("button", name="Next question").click()
    wait_for_app(page)
    expect(page.get_by_text("2 of 10")).to_be_visible()
    expect(page.get_by_role("button", name="semi-hard", exact=True)).to_be_visible()
