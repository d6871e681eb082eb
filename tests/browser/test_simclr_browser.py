"""The SimCLR page (pages/simclr.py) in a real browser, on app.py's server.

What the AppTests cannot show: the shared run's figure as Plotly draws it (the panels'
titles, run A's points where the core puts them), Plotly's own ▶ Play and ❚❚ Pause
animating the points in the browser without the server, the "Step shown" select slider
moved with the keyboard (the server reruns, the read-out and Plotly's slider follow), the
preset box, and the layout on a phone and in dark theme. Expected numbers come from the core
(``lossviz.training.contrastive_training.train_pair`` on the page's configs), never from
constants.

Screenshots (test-artifacts/screenshots/): ``simclr`` (desktop light, the default preset
trained), ``simclr-dimensional`` (desktop light, the dimensional-collapse preset trained),
``simclr-phone-dark`` (390x844, dark, the default preset trained).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from playwright.sync_api import Browser, Locator, Page, expect

from lossviz.figures import CLASS_COLORS
from lossviz.figures.simclr import POINTS_DRAWN
from lossviz.scenes.scene import SimCLRScene
from lossviz.scenes.simclr_scenes import PRESET_LABELS, configs, scene_from_preset
from lossviz.training.contrastive_training import ContrastiveRun, train_pair
from tests.browser.conftest import APP_TIMEOUT_MS, wait_for_app
from tests.browser.plane_helpers import click_button, no_exception, shot

pytestmark = pytest.mark.browser

TRAIN_TIMEOUT_MS = 120_000  # two runs of 300 steps take ~2-3 s alone; the machine is shared
KEY_RERUN_MS = 3_000  # a key on "Step shown" -> the server's rerun -> the new read-out
PLAY_WINDOW_MS = 4_000  # Play must have moved the slider several times within this
PLAY_CHANGES = 4  # "several": new steps shown by Plotly's slider within the window
PAUSE_STILL_MS = 1_000  # after Pause nothing moves for this long
POINT_TOL_PX = 0.6  # Plotly writes a point's translate to 0.01 px; float32 data
TEXT_CONTRAST = 4.5  # WCAG AA for text
# The figure's words: subplot titles, tick labels, Plotly's slider value, Play and Pause, legend.
FIGURE_WORDS = (".annotation-text", ".xtick text", ".slider-group > .slider-label",
                ".updatemenu-button text", ".legendtext")  # fmt: skip
TEXT_BOX_TOUCH_PX = 2.0  # boxes of text and a button may share this much and still read apart
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Words of the panels' titles that every layout of the figure keeps (each in one title).
PANEL_TITLES = ["alignment vs uniformity", "NT-Xent loss", "spectrum", "effective rank"]
_LINE = re.compile(
    r"^(?P<run>[AB]), step (?P<step>\d+): NT-Xent (?P<nt_xent>-?[\d.]+), alignment "
    r"(?P<alignment>-?[\d.]+), uniformity (?P<uniformity>-?[\d.]+), effective rank "
    r"(?P<rank>[\d.]+) of (?P<dim>\d+)\.$"
)


# --------------------------------------------------------------------------- core side


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Train as the test server does (one torch thread: the status says "cpu (1 thread)"),
    and fast on a small shared machine; the process's setting is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def preset_scene(preset: str | None) -> SimCLRScene:
    """The page's default scene, or the scene the preset box sets."""
    return SimCLRScene() if preset is None else scene_from_preset(preset, SimCLRScene())


@functools.cache
def core_pair(preset: str | None) -> tuple[ContrastiveRun, ContrastiveRun]:
    with one_thread():
        return train_pair(*configs(preset_scene(preset)))


def expected_line(letter: str, snapshot) -> str:
    """A run's line of the page's read-out, written from the core's snapshot."""
    return (
        f"{letter}, step {snapshot.step}: NT-Xent {snapshot.nt_xent:.3f}, alignment "
        f"{snapshot.alignment:.3f}, uniformity {snapshot.uniformity:.3f}, effective rank "
        f"{snapshot.effective_rank:.1f} of {snapshot.spectrum.numel()}."
    )


def expect_core_readout(page: Page, preset: str | None, record: int) -> None:
    """The read-out is the core's record ``record`` of both runs, to the printed digits."""
    runs = core_pair(preset)
    want = [
        expected_line(letter, run.snapshots[record]) for letter, run in zip("AB", runs, strict=True)
    ]
    expect(readout(page)).to_have_text(re.compile(r"\s*".join(map(re.escape, want))))
    assert readout_lines(page) == want


# --------------------------------------------------------------------------- page side


@dataclass(frozen=True)
class Line:
    run: str
    step: int
    nt_xent: float
    alignment: float
    uniformity: float
    rank: float
    dim: int


def open_simclr(page: Page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}/simclr{query}")
    wait_for_app(page)
    expect(train_button(page)).to_be_visible(timeout=APP_TIMEOUT_MS)
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="Step 0:")).to_be_visible()


def train_button(page: Page) -> Locator:
    return page.get_by_test_id("stButton").get_by_role("button", name="Train", exact=True)


def train(page: Page) -> None:
    """Press Train and wait for the finished runs: the step slider, the figure, step 300."""
    click_button(page, "Train")
    expect(step_slider(page)).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    expect(readout(page)).to_contain_text("A, step 300:", timeout=TRAIN_TIMEOUT_MS)
    wait_for_app(page)
    expect(
        page.get_by_test_id("stCaptionContainer").filter(has_text="Trained once")
    ).to_be_visible()


def step_slider(page: Page) -> Locator:
    """The "Step shown" select slider's thumb (the role=slider input)."""
    return page.get_by_test_id("stSlider").filter(has_text="Step shown").get_by_role("slider")


def figure(page: Page) -> Locator:
    """The training figure (the last Plotly chart; the first is in the closed expander)."""
    return page.locator(".stPlotlyChart").last


def readout(page: Page) -> Locator:
    return page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"A, step \d+: NT-Xent"))


def readout_lines(page: Page) -> list[str]:
    return [line.strip() for line in readout(page).inner_text().splitlines() if line.strip()]


def parsed(page: Page) -> dict[str, Line]:
    lines = {}
    for text in readout_lines(page):
        match = _LINE.match(text)
        assert match, text
        g = match.groupdict()
        lines[g["run"]] = Line(g["run"], int(g["step"]), float(g["nt_xent"]),
                               float(g["alignment"]), float(g["uniformity"]), float(g["rank"]),
                               int(g["dim"]))  # fmt: skip
    return lines


def plotly_value(page: Page) -> str:
    """The Plotly slider's current-value text ("step N")."""
    return figure(page).locator(".slider-group > .slider-label").first.text_content() or ""


def expect_plotly_step(page: Page, step: int) -> None:
    expect(figure(page).locator(".slider-group > .slider-label").first).to_have_text(f"step {step}")


def click_menu(page: Page, label: str) -> None:
    """A real mouse click on Plotly's own button (its ``.updatemenu-button``). Playwright's
    ``click`` would first wait for the page to be still, which an animation never is."""
    button = figure(page).locator(".updatemenu-button", has_text=label)
    button.scroll_into_view_if_needed()  # the figure is taller than a laptop's window
    box = button.bounding_box()
    assert box, label
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


_POINTS_JS = """(chart) => {
    const gd = chart.querySelector('.js-plotly-plot');
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const points = [...chart.querySelectorAll(
        '.cartesianlayer > .subplot.xy .scatterlayer .point')].map((p) => {
        const m = /translate\\(([-\\d.e]+),\\s*([-\\d.e]+)\\)/.exec(p.getAttribute('transform'));
        return [Number(m[1]), Number(m[2]), getComputedStyle(p).fill];
    });
    return {x: [xa.range, xa._length], y: [ya.range, ya._length], points};
}"""


def drawn_points(page: Page) -> dict:
    return figure(page).evaluate(_POINTS_JS)


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def expect_core_points(page: Page, preset: str | None, record: int) -> None:
    """Run A's panel draws the core's points of ``record`` (the first ``POINTS_DRAWN`` probe
    digits on the circle) where Plotly's axes put them, each in its digit's colour."""
    run = core_pair(preset)[0]
    points = run.snapshots[record].points.numpy()[:POINTS_DRAWN].astype(np.float64)
    labels = run.labels.numpy()[:POINTS_DRAWN]
    drawn = drawn_points(page)
    assert len(drawn["points"]) == POINTS_DRAWN, len(drawn["points"])
    (x0, x1), width = drawn["x"]
    (y0, y1), height = drawn["y"]
    want_px = np.stack([(points[:, 0] - x0) / (x1 - x0) * width,
                        (y1 - points[:, 1]) / (y1 - y0) * height], axis=1)  # fmt: skip
    got_px = np.array([p[:2] for p in drawn["points"]])
    got_fill = np.array([p[2] for p in drawn["points"]])
    for (px, py), label in zip(want_px, labels, strict=True):
        same_colour = got_px[got_fill == rgb(CLASS_COLORS[label])]
        assert len(same_colour), (label, set(got_fill))
        gap = np.hypot(*(same_colour - (px, py)).T).min()
        assert gap <= POINT_TOL_PX, (record, label, (px, py), gap)


def first_points(page: Page, count: int = 8) -> list[str]:
    """The ``transform`` of run A's first few points (they move when a frame changes)."""
    return figure(page).evaluate(
        f"""(chart) => [...chart.querySelectorAll(
            '.cartesianlayer > .subplot.xy .scatterlayer .point')]
            .slice(0, {count}).map((p) => p.getAttribute('transform'))"""
    )


# Every change of the Plotly slider's text or of run A's first points, in the page's clock
# (a Python poll takes ~100 ms a round trip on a busy machine and would miss frames).
_RECORD_JS = """(chart) => {
    const log = (window.__simclrLog = []);
    const sample = () => {
        const value = chart.querySelector('.slider-group > .slider-label')?.textContent;
        const points = [...chart.querySelectorAll(
            '.cartesianlayer > .subplot.xy .scatterlayer .point')].slice(0, 8)
            .map((p) => p.getAttribute('transform')).join(';');
        const last = log.at(-1);
        if (!last || last[1] !== value || last[2] !== points) {
            log.push([performance.now(), value, points]);
        }
    };
    sample();
    window.__simclrTimer = setInterval(sample, 10);
}"""


def record(page: Page) -> None:
    figure(page).evaluate(_RECORD_JS)


def recorded(page: Page, since: float = 0.0) -> list[tuple[float, str, str]]:
    return [tuple(e) for e in page.evaluate("window.__simclrLog") if e[0] >= since]


def now_ms(page: Page) -> float:
    return page.evaluate("performance.now()")


# --------------------------------------------------------------------------- 1. train


def test_train_draws_the_panels_and_the_cores_numbers_at_step_300(page, app_server):
    open_simclr(page, app_server)
    expect(step_slider(page)).to_have_count(0)  # step 0 only before training
    train(page)
    chart = figure(page)
    for title in PANEL_TITLES:
        expect(chart.locator(".annotation-text", has_text=title)).to_have_count(1)
    for run_title in ("A: τ 0.05", "B: τ 1"):  # the points' panels, each run's in its own
        expect(chart.locator(".annotation-text", has_text=run_title)).to_have_count(1)
    expect(chart.locator(".annotation-text", has_text="circle")).to_have_count(2)
    expect(chart.locator(".updatemenu-button")).to_have_text(["▶ Play", "❚❚ Pause"])
    expect_plotly_step(page, 300)
    expect(step_slider(page)).to_have_attribute("aria-valuetext", "300")

    lines = parsed(page)
    assert sorted(lines) == ["A", "B"] and {line.step for line in lines.values()} == {300}
    expect_core_readout(page, None, -1)
    a, b = core_pair(None)
    assert a.last.step == b.last.step == 300
    expect_core_points(page, None, -1)
    no_exception(page)


# --------------------------------------------------------------------------- 2. play, pause


def test_play_animates_the_points_in_the_browser_and_pause_stops_them(page, app_server):
    open_simclr(page, app_server)
    train(page)
    figure(page).scroll_into_view_if_needed()
    before_value, before_points = plotly_value(page), first_points(page)
    assert before_value == "step 300"
    record(page)

    start = now_ms(page)
    click_menu(page, "Play")
    # Four new values of the slider within the window (then Pause, well before the end).
    page.wait_for_function(
        f"""() => new Set(window.__simclrLog.filter((e) => e[0] >= {start})
                 .map((e) => e[1]).filter((v) => v !== 'step 300')).size >= {PLAY_CHANGES}""",
        timeout=PLAY_WINDOW_MS,
    )
    played = recorded(page, start)
    values = [value for _, value, _ in played]
    assert len(set(values) - {before_value}) >= PLAY_CHANGES, values
    assert all(re.fullmatch(r"step \d+", v or "") for v in values), values
    assert len({p for _, _, p in played} - {";".join(before_points)}) >= 4, "points stood still"

    click_menu(page, "Pause")
    page.wait_for_timeout(400)  # a frame under way when Pause was pressed may still land
    still_value, still_points = plotly_value(page), first_points(page)
    settled = now_ms(page)
    page.wait_for_timeout(PAUSE_STILL_MS)
    assert plotly_value(page) == still_value and first_points(page) == still_points
    assert recorded(page, settled) == [], recorded(page, settled)  # nothing moved meanwhile
    paused_at = int(still_value.removeprefix("step "))
    assert paused_at < 300, still_value  # stopped midway (the whole replay takes ~6 s)
    # Play and Pause are the browser's alone: the server's read-out still shows step 300.
    assert {line.step for line in parsed(page).values()} == {300}
    expect(step_slider(page)).to_have_attribute("aria-valuetext", "300")
    no_exception(page)


# --------------------------------------------------------------------------- 3. keyboard


def test_the_arrow_keys_on_step_shown_rerun_the_readout_and_move_plotlys_slider(page, app_server):
    open_simclr(page, app_server)
    train(page)
    steps = [s.step for s in core_pair(None)[0].snapshots]
    thumb = step_slider(page)
    thumb.focus()
    page.keyboard.press("ArrowLeft")
    expect(readout(page)).to_contain_text(f"A, step {steps[-2]}:", timeout=KEY_RERUN_MS)
    expect(readout(page)).to_contain_text(f"B, step {steps[-2]}:", timeout=KEY_RERUN_MS)
    wait_for_app(page)
    expect_plotly_step(page, steps[-2])
    expect(step_slider(page)).to_have_attribute("aria-valuetext", str(steps[-2]))
    expect_core_readout(page, None, -2)
    expect_core_points(page, None, -2)

    step_slider(page).focus()  # the rerun may have drawn the slider again
    page.keyboard.press("Home")
    expect(readout(page)).to_contain_text("A, step 0:", timeout=KEY_RERUN_MS)
    wait_for_app(page)
    expect_plotly_step(page, 0)
    expect(step_slider(page)).to_have_attribute("aria-valuetext", "0")
    expect_core_readout(page, None, 0)
    expect_core_points(page, None, 0)
    no_exception(page)


# --------------------------------------------------------------------------- 4. dimensional


def choose_preset(page: Page, preset: str) -> None:
    """Pick ``preset`` in the sidebar's preset box (a selectbox)."""
    box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Preset")
    box.click()
    page.get_by_role("option", name=PRESET_LABELS[preset], exact=True).click()
    wait_for_app(page)
    expect(box.get_by_role("combobox")).to_have_value(PRESET_LABELS[preset])


def test_the_dimensional_preset_collapses_a_and_not_b(page, app_server):
    page.set_viewport_size(DESKTOP)
    open_simclr(page, app_server)
    choose_preset(page, "dimensional")
    expect(page.get_by_test_id("stMarkdown").filter(has_text="Only the augmentation differs")
           ).to_be_visible()  # fmt: skip
    train(page)
    expect(figure(page).locator(".annotation-text", has_text="PCA")
           ).to_have_count(2)  # fmt: skip
    lines = parsed(page)
    assert lines["A"].step == lines["B"].step == 300
    assert lines["A"].dim == lines["B"].dim == 32
    assert lines["A"].rank < 3, lines["A"]
    assert lines["B"].rank > 8, lines["B"]
    expect_core_readout(page, "dimensional", -1)
    no_exception(page)
    figure(page).scroll_into_view_if_needed()
    shot(page, "simclr-dimensional")


# --------------------------------------------------------------------------- 5. layout


def no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        """() => [document.documentElement, document.body,
            ...document.querySelectorAll('[data-testid="stMain"],'
                + '[data-testid="stAppViewContainer"], [data-testid="stMainBlockContainer"]')]
            .map((e) => [e.tagName + (e.dataset?.testid ? '#' + e.dataset.testid : ''),
                         e.scrollWidth, e.clientWidth])"""
    )
    for name, scroll, client in widths:
        assert scroll <= client + 1, (name, scroll, client)


def luminance(colour: str) -> float:
    channels = [float(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_desktop_light_screenshot(page, app_server):
    page.set_viewport_size(DESKTOP)
    open_simclr(page, app_server)
    train(page)
    no_sideways_scroll(page)
    figure(page).scroll_into_view_if_needed()
    expect(figure(page)).to_be_in_viewport()
    no_exception(page)
    shot(page, "simclr")


@contextlib.contextmanager
def trained_page(browser: Browser, base_url: str, viewport: dict, theme: str) -> Iterator[Page]:
    """A page of its own size and colour scheme, the default preset trained."""
    context = browser.new_context(viewport=viewport, color_scheme=theme)
    context.set_default_timeout(APP_TIMEOUT_MS)
    page = context.new_page()
    try:
        open_simclr(page, base_url)
        train(page)
        yield page
    finally:
        context.close()


@pytest.mark.parametrize(("viewport", "theme"), [(PHONE, "dark"), (PHONE, "light"),
                                                 (DESKTOP, "dark")],
                         ids=["phone-dark", "phone-light", "desktop-dark"])  # fmt: skip
def test_phone_and_dark_fit_the_width_and_read(browser: Browser, app_server, viewport, theme):
    with trained_page(browser, app_server, viewport, theme) as page:
        bg = page.evaluate(
            "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
        )
        assert (luminance(bg) < 0.1) if theme == "dark" else (luminance(bg) > 0.8), bg
        no_sideways_scroll(page)
        page.mouse.wheel(200, 0)
        assert page.evaluate("window.scrollX") == 0
        chart = figure(page)
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_in_viewport()
        box = chart.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, box
        if theme == "dark":  # the figure's words read on the dark background
            for selector in FIGURE_WORDS:
                fill = chart.locator(selector).first.evaluate("e => getComputedStyle(e).fill")
                assert contrast(fill, bg) >= TEXT_CONTRAST, (selector, fill, bg)
        no_exception(page)
        if viewport == PHONE and theme == "dark":
            shot(page, "simclr-phone-dark")


# The boxes of every subplot title, axis title, the legend, Plotly's Play and Pause buttons,
# its slider's rail, current value ("step N") and tick labels, in page pixels.
_CONTROLS_JS = r"""(chart) => {
    const box = (e) => e.getBoundingClientRect().toJSON();
    const one = (selector) => box(chart.querySelector(selector));
    return {
        chart: box(chart),
        titles: [...chart.querySelectorAll('.annotation-text')]
            .map((e) => [e.textContent, box(e)]),
        axes: [...chart.querySelectorAll('.infolayer text')]
            .filter((e) => /^[xy]\d*title$/.test(e.getAttribute('class')))
            .map((e) => [`axis title ${e.textContent}`, box(e)]),
        legend: ['the legend', box(chart.querySelector('.legend'))],
        ticks: [...chart.querySelectorAll('.slider-label-group text')]
            .map((e) => [`the slider's tick ${e.textContent}`, box(e)]),
        buttons: [...chart.querySelectorAll('.updatemenu-button')]
            .map((e) => [e.textContent, box(e)]),
        rail: one('.slider-rail-rect'),
        value: one('.slider-group > .slider-label'),
    };
}"""


def overlap(a: dict, b: dict, tol: float = 0.0) -> bool:
    """Whether two boxes share more than ``tol`` px both across and down."""
    across = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    down = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return across > tol and down > tol


def overlaps(words: list, others: list | None = None, tol: float = 0.0) -> list[str]:
    """``[name, box]`` pairs that overlap: within ``words``, or ``words`` with ``others``."""
    pairs = (
        [(a, b) for i, a in enumerate(words) for b in words[i + 1 :]]
        if others is None
        else [(a, b) for a in words for b in others]
    )
    return [f"{a!r} overlaps {b!r}" for (a, box_a), (b, box_b) in pairs
            if overlap(box_a, box_b, tol)]  # fmt: skip


def drawn_controls(page: Page) -> dict:
    figure(page).scroll_into_view_if_needed()
    return figure(page).evaluate(_CONTROLS_JS)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_figures_titles_and_controls_do_not_overlap(browser: Browser, app_server, viewport):
    with trained_page(browser, app_server, viewport, "light") as page:
        drawn = drawn_controls(page)
        chart, titles = drawn["chart"], drawn["titles"]
        assert len(titles) == 8, titles
        problems = overlaps([*titles, drawn["legend"]])
        problems += [
            f"{text!r} runs past the chart ({box['x']:.0f} to {box['x'] + box['width']:.0f} px, "
            f"chart {chart['x']:.0f} to {chart['x'] + chart['width']:.0f} px)"
            for text, box in titles
            if box["x"] < chart["x"] - 1
            or box["x"] + box["width"] > chart["x"] + chart["width"] + 1
        ]
        slider = [["the slider's rail", drawn["rail"]], ["the slider's value", drawn["value"]]]
        problems += overlaps(drawn["buttons"], slider)
        problems += overlaps(drawn["buttons"], drawn["ticks"], TEXT_BOX_TOUCH_PX)
        assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axis_titles_stand_apart_from_the_next_panels_title(browser, app_server, viewport):
    """An axis title whose box runs into the title of the panel below reads as one two-line
    title with it ("uniformity / NT-Xent loss")."""
    with trained_page(browser, app_server, viewport, "light") as page:
        drawn = drawn_controls(page)
        assert drawn["axes"], "no axis titles found"
        problems = overlaps(drawn["axes"], drawn["titles"])
        assert not problems, "\n".join(problems)
