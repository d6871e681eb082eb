"""How every page looks: light and dark, a laptop and a phone, and a projector.

For each page, theme and window: no exception; the page's first instruction (its first
caption) and its main instrument start on the first screen; a screenshot
``test-artifacts/screenshots/looks-<page>-<theme>-<w>x<h>.png``. In dark, the colours
are checked for contrast against the page's background (text of the plane, the heatmap,
the player, a Plotly figure's loss line, the kind badge).

Dark comes from the browser's colour-scheme preference (Playwright's ``color_scheme``):
``.streamlit/config.toml`` offers a light and a dark theme and pins neither, so
Streamlit follows the OS, as it does for a student whose computer is in dark mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import APP_TIMEOUT_MS, screenshot, wait_for_app

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Look:
    name: str  # in screenshot names
    url_path: str  # "" for home
    instruction: str  # a word the page's first caption (its first instruction) holds
    instrument: str  # CSS selector (pierces the components' open shadow roots)
    why: str  # why that element is the page's instrument
    instruction_at: str = '[data-testid="stCaptionContainer"]'  # where the instruction is


# The pages whose first screen this file checks (the lesson twice: a plane and a batch).
LOOKS = [
    Look("home", "", "Pick a page", '[data-testid="stPageLink"]',
         "home's job is to send a student to a page: its first page link"),
    Look("playground", "playground", "Drag", ".lv-plane",
         "the draggable plane of A, P and N"),
    Look("contrastive", "contrastive", "Drag", ".lv-plane",
         "the draggable plane of X1 and X2"),
    Look("mining", "mining", "Drag", ".lv-plane",
         "the batch picture: the generated blobs (the default data) on the plane"),
    Look("collapse", "collapse", "Train", ".lv-player",
         "the training player: the embeddings, the curves and the playback controls"),
    Look("simclr", "simclr", "Train", '[data-testid="stMain"] [kind="primary"]:visible',
         "the Train button: it turns the step-0 figure below it into the two trained runs (on a "
         "phone the figure itself starts below the first screen; Streamlit draws a button with "
         "help twice, one of them hidden, hence :visible)"),
    Look("quiz", "quiz", "answer", ".lv-plane",
         "the question's plane: the triplet to classify"),
    Look("lesson", "lesson?step=1", "Your task", ".lv-plane",
         "step 1's plane: the triplet the task asks to drag",
         instruction_at='[data-testid="stAlertContentInfo"]'),
    Look("lesson-batch", "lesson?step=6", "Your task", '[data-testid="stSlider"]',
         "step 6's task is the margin: its slider, with the counts it changes right below "
         "(the batch's picture follows them)",
         instruction_at='[data-testid="stAlertContentInfo"]'),
    Look("class-quiz", "class_quiz", "teacher", '[data-testid="stTextInput"]',
         "the students' room-code box: what thirty of the people who open it need"),
]  # fmt: skip
THEMES = ["light", "dark"]
SIZES = [(1280, 800), (390, 844)]
# The instrument must start in the first screen with room to be seen: at most this share
# of the window's height above its top.
INSTRUMENT_TOP = 0.8
# WCAG contrast: text at least 4.5:1; large text and graphics (lines, badges) 3:1.
TEXT_CONTRAST = 4.5
GRAPHIC_CONTRAST = 3.0


def rgb(color: str) -> tuple[float, float, float]:
    """A computed CSS colour as 0-255 channels: ``rgb(...)``, ``rgba(...)``, ``#rrggbb``, or
    ``color(srgb r g b)`` (0-1 channels: what a ``color-mix()`` computes to)."""
    color = color.strip()
    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    scale = 255.0 if color.startswith("color(srgb") else 1.0
    r, g, b = (
        float(v) * scale for v in re.findall(r"[\d.]+", color.removeprefix("color(srgb"))[:3]
    )
    return r, g, b


def luminance(color: str) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def background(page: Page) -> str:
    return page.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
    )


def style(page: Page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}")


def open_look(page: Page, base: str, look: Look, query: str = "") -> None:
    page.goto(f"{base}/{look.url_path}{query}")
    wait_for_app(page)
    expect(page.locator(look.instrument).first).to_be_visible(timeout=APP_TIMEOUT_MS)
    wait_for_app(page)


@pytest.fixture(params=[(t, s) for t in THEMES for s in SIZES],
                ids=[f"{t}-{w}x{h}" for t in THEMES for w, h in SIZES])  # fmt: skip
def styled_page(request, browser):
    theme, (width, height) = request.param
    context = browser.new_context(viewport={"width": width, "height": height},
                                  color_scheme=theme)  # fmt: skip
    context.set_default_timeout(APP_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page, theme, width, height
    finally:
        context.close()


@pytest.mark.parametrize("look", LOOKS, ids=[look.name for look in LOOKS])
def test_first_screen_and_colours(styled_page, look, app_server):
    page, theme, width, height = styled_page
    open_look(page, app_server, look)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    bg = background(page)
    assert (luminance(bg) < 0.1) if theme == "dark" else (luminance(bg) > 0.8), bg

    main = page.get_by_test_id("stMain")
    instruction = main.locator(look.instruction_at).first
    expect(instruction).to_contain_text(look.instruction)
    box = instruction.bounding_box()
    assert box and box["y"] + box["height"] <= height, (look.name, box)

    instrument = page.locator(look.instrument).first.bounding_box()
    assert instrument, look.name
    assert instrument["y"] <= INSTRUMENT_TOP * height, (look.name, look.why, instrument)

    if theme == "dark":
        check_dark_colours(page, look, bg)
    screenshot(page, f"looks-{look.name}-{theme}-{width}x{height}")


def check_dark_colours(page: Page, look: Look, bg: str) -> None:
    """The colours the page draws itself read on the dark background."""
    if look.instrument == ".lv-plane":
        expect(page.locator(".lv-plane .lv-label").first).to_be_attached()
        label = style(page, ".lv-plane .lv-label", "fill")
        assert contrast(label, bg) >= TEXT_CONTRAST, (label, bg)
        halo = style(page, ".lv-plane .lv-label", "stroke")
        assert contrast(halo, bg) < 1.2, (halo, bg)  # the halo is the background
        tick = style(page, ".lv-plane .lv-tick", "fill")
        assert contrast(tick, bg) >= TEXT_CONTRAST, (tick, bg)
        grid = style(page, ".lv-plane .lv-grid-major", "stroke")
        assert 1.1 < contrast(grid, bg) < 2.5, (grid, bg)  # visible, quiet
    if look.name == "playground":
        heat = page.locator(".lv-heatmap").first.get_attribute("data-text-color")
        assert heat and contrast(heat, bg) >= TEXT_CONTRAST, (heat, bg)
        for badge in ('[data-testid="kind-badge"]', ".lv-plane .lv-ro-badge"):
            ink, fill = style(page, badge, "color"), style(page, badge, "backgroundColor")
            assert contrast(ink, fill) >= GRAPHIC_CONTRAST, (badge, ink, fill)
    if look.name == "collapse":
        text = page.locator(".lv-player").first.get_attribute("data-text-color")
        assert text and contrast(text, bg) >= TEXT_CONTRAST, (text, bg)
    if look.name == "home":
        line = page.locator(".js-plotly-plot .scatterlayer path.js-line").first
        expect(line).to_be_attached()
        stroke = line.evaluate("e => getComputedStyle(e).stroke")
        assert contrast(stroke, bg) >= GRAPHIC_CONTRAST, (stroke, bg)


def test_projector_mode_enlarges_the_type(browser, app_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(APP_TIMEOUT_MS)
    page = context.new_page()
    try:
        playground = LOOKS[1]
        open_look(page, app_server, playground)
        plain = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        open_look(page, app_server, playground, "?present=1&hide=p,eps")
        large = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert large >= 1.25 * plain, (plain, large)
        expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert "present=1" in page.url and "hide=p%2Ceps" in page.url.replace(",", "%2C")
        screenshot(page, "looks-playground-projector-1280x800")
    finally:
        context.close()


def test_the_link_for_the_class_is_this_servers_address_of_this_scene(page, app_server):
    """The sidebar's popover shows ``st.context.url``'s page with the scene and presenter
    parameters (opening it reruns the page, so it holds points moved since)."""
    page.goto(f"{app_server}/collapse?margin=0.5&hide=seed")
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_text("Link for the class").click()
    code = page.get_by_test_id("stCode").filter(has_text="/collapse?")
    expect(code).to_be_visible()
    wait_for_app(page)
    link = code.inner_text().strip()
    assert link.startswith(f"{app_server}/collapse?"), link
    assert "margin=0.5" in link and "autostart=1" in link and "hide=seed" in link, link
    screenshot(page, "looks-class-link")


def test_a_student_can_pick_dark_in_the_app_menu(page, app_server):
    """The app menu offers System, Light and Dark (config.toml pins neither); Dark turns the
    page and the plane dark at once, on a light OS."""
    page.goto(f"{app_server}/playground")
    wait_for_app(page)
    expect(page.locator(".lv-plane").first).to_be_visible()
    assert luminance(background(page)) > 0.8
    page.get_by_test_id("stMainMenu").click()
    page.get_by_test_id("stMainMenuItem-theme-Dark").click()
    page.wait_for_function(
        "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
        " !== 'rgb(255, 255, 255)'"
    )
    bg = background(page)
    assert luminance(bg) < 0.1, bg
    expect(page.locator(".lv-plane .lv-label").first).to_be_visible()
    label = style(page, ".lv-plane .lv-label", "fill")
    assert contrast(label, bg) >= TEXT_CONTRAST, (label, bg)
    heat = page.locator(".lv-heatmap").first.get_attribute("data-text-color")
    assert heat and contrast(heat, bg) >= TEXT_CONTRAST, (heat, bg)  # the canvas redrew
