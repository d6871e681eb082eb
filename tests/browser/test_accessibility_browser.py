"""WCAG 2.2 AA in the browser: axe-core on every page, light and dark, desktop and phone,
every lesson step, the class quiz's teacher and student views and the opened "Copy as
code" and "Check a reference"; nothing serious or critical beyond what a bare Streamlit
page has (bench/apps/bare.py, the load tests' floor, scanned the same way). And reflow: at
320 CSS px (WCAG 1.4.10, what 1280 px at 400% zoom is) and at 200% zoom no page scrolls
sideways, and its first instruction is on screen.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lossviz.scenes.lesson import STEPS
from lossviz.ui.navigation import HOME, PAGES, page_path_of
from tests.browser.axe import blocking, scan, settle
from tests.browser.conftest import start_streamlit

THEMES = ("light", "dark")
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
PAGE_PATHS = [page_path_of(p.path) for p in (HOME, *PAGES)]


@pytest.fixture(scope="module")
def bare_server() -> Iterator[str]:
    with start_streamlit("bench/apps/bare.py", "streamlit-bare") as base_url:
        yield base_url


def open_page(browser, url: str, theme: str, size: tuple[int, int], lossviz: bool = True):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height},
                                  color_scheme=theme)  # fmt: skip
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(url)
    settle(page, lossviz)
    return context, page


_FLOORS: dict[tuple[str, str], set[str]] = {}


def floor(browser, bare_server: str, theme: str, size: str) -> set[str]:
    """The serious and critical rules a bare Streamlit page breaks in this setting."""
    if (theme, size) not in _FLOORS:
        context, page = open_page(browser, bare_server, theme, SIZES[size], lossviz=False)
        try:
            _FLOORS[theme, size] = {v.rule for v in blocking(scan(page))}
        finally:
            context.close()
    return _FLOORS[theme, size]


def assert_clean(page, browser, bare_server: str, theme: str, size: str) -> None:
    found = blocking(scan(page), floor(browser, bare_server, theme, size))
    assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("path", PAGE_PATHS, ids=lambda p: p or "home")
def test_every_page_has_no_serious_violation(browser, app_server, bare_server, path, theme, size):
    context, page = open_page(browser, f"{app_server}/{path}", theme, SIZES[size])
    try:
        assert_clean(page, browser, bare_server, theme, size)
    finally:
        context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_every_lesson_step_has_no_serious_violation(browser, app_server, bare_server, theme):
    context, page = open_page(browser, f"{app_server}/lesson?step=1", theme, SIZES["desktop"])
    try:
        problems = []
        for number in range(1, len(STEPS) + 1):
            page.goto(f"{app_server}/lesson?step={number}")
            settle(page)
            found = blocking(scan(page), floor(browser, bare_server, theme, "desktop"))
            problems += [f"step {number}: {v}" for v in found]
        assert not problems, "\n".join(problems)
    finally:
        context.close()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(
    ("path", "toggle"),
    [("playground", "Copy as code"), ("playground", "Check a reference"),
     ("contrastive", "Copy as code"), ("infonce", "Copy as code"),
     ("simclr", "Copy as code")],
)  # fmt: skip
def test_opened_panels_have_no_serious_violation(
    browser, app_server, bare_server, theme, path, toggle
):
    context, page = open_page(browser, f"{app_server}/{path}", theme, SIZES["desktop"])
    try:
        page.get_by_test_id("stCheckbox").filter(has_text=toggle).first.locator("label").click()
        page.get_by_test_id("stCode").first.wait_for()
        settle(page)
        assert_clean(page, browser, bare_server, theme, "desktop")
    finally:
        context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_the_class_quiz_teacher_and_student_views(browser, app_server, bare_server, theme):
    size = SIZES["desktop"]
    teacher_context, teacher = open_page(browser, f"{app_server}/class_quiz", theme, size)
    try:
        teacher.get_by_role("button", name="Open a room").click()
        code = teacher.locator('[data-testid="room-code"]')
        code.wait_for()
        settle(teacher)
        assert_clean(teacher, browser, bare_server, theme, "desktop")
        room = code.inner_text().strip()
        student_context, student = open_page(
            browser, f"{app_server}/class_quiz?room={room}", theme, size
        )
        try:
            assert_clean(student, browser, bare_server, theme, "desktop")
            student.get_by_label("Nickname", exact=True).fill("ada")
            student.get_by_role("button", name="Join").click()
            student.get_by_text("You joined as: ada").wait_for()
            settle(student)
            assert_clean(student, browser, bare_server, theme, "desktop")
        finally:
            student_context.close()
    finally:
        teacher_context.close()


def sideways_overflow(page) -> int:
    """How many CSS px the page scrolls sideways (its widest scroller beyond its width)."""
    return page.evaluate(
        """() => Math.max(0, ...[document.documentElement, document.body,
             ...document.querySelectorAll(
               '[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"]')]
           .map((e) => e.scrollWidth - e.clientWidth))"""
    )


@pytest.mark.parametrize("zoom", ["320px", "200%"])
@pytest.mark.parametrize("path", PAGE_PATHS, ids=lambda p: p or "home")
def test_reflow_without_sideways_scrolling(browser, app_server, path, zoom):
    """320 CSS px wide (1280 px at 400%: WCAG 1.4.10), or a 1280 px window at 200% zoom (a
    640 CSS px viewport at twice the pixel density): no sideways scrolling of the page, and
    the page's first instruction (its first caption or task) is in the page."""
    if zoom == "320px":
        context = browser.new_context(viewport={"width": 320, "height": 640})
    else:
        context = browser.new_context(viewport={"width": 640, "height": 400},
                                      device_scale_factor=2)  # fmt: skip
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto(f"{app_server}/{path}")
        settle(page)
        assert sideways_overflow(page) <= 1
        first = page.locator(
            '[data-testid="stCaptionContainer"], [data-testid="stAlertContentInfo"]'
        ).first
        first.wait_for()
        box = first.bounding_box()
        assert (
            box is not None
            and box["x"] >= 0
            and box["x"] + box["width"] <= page.viewport_size["width"] + 1
        )
    finally:
        context.close()


def test_the_playgrounds_heatmap_has_a_text_alternative(browser, app_server):
    context, page = open_page(browser, f"{app_server}/playground", "light", SIZES["desktop"])
    try:
        canvas = page.locator(".lv-heatmap canvas").first
        canvas.wait_for()
        assert canvas.get_attribute("role") == "img"
        label = canvas.get_attribute("aria-label") or ""
        assert "loss if N were here" in label and "zero" in label, label
    finally:
        context.close()
