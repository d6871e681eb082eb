"""The Batch mining page (pages/mining.py) in a real browser, on app.py's server.

What AppTest cannot do: upload a file through the browser, click a point of the Plotly
scatter, drag a blob on the plane, see the triplet diagram's direction arrows drawn. Every
number the page shows is compared with the core
(``lossviz.batches.analysis.BatchAnalysis``) computed here, on the very points the page used (the
uploaded bytes, the bundled iris set, the plane's positions after a drag).
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
import torch
from playwright.sync_api import Page, expect

from lossviz.batches.analysis import BatchAnalysis
from lossviz.batches.point_sets import load_iris_points, make_blobs, project_2d, read_embeddings_csv
from lossviz.core.triplets import Kind
from lossviz.scenes.scene import MiningScene
from tests.browser.conftest import APP_TIMEOUT_MS, REPO, SCREENSHOTS, wait_for_app
from tests.browser.plane_helpers import (
    click_button,
    drag_to,
    metric,
    no_exception,
    plane_points,
    shot,
)

pytestmark = pytest.mark.browser

EXAMPLE = REPO / "examples" / "embeddings.csv"
DEFAULT = MiningScene()
HOSTILE_LABELS = (
    "<b>bold</b>",
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
)


# --------------------------------------------------------------------------- core side


def core(embeddings: torch.Tensor, labels: torch.Tensor, distance: str = DEFAULT.distance):
    return BatchAnalysis(embeddings, labels, distance)


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def hostile_csv() -> bytes:
    rows = []
    for i, label in enumerate(HOSTILE_LABELS):
        for j in range(2):
            rows.append([label, 3.0 * i + 0.1 * j, -1.5 * i + 0.2 * j, 0.5 * j - i])
    return csv_bytes(["label", "e0", "e1", "e2"], rows)


# --------------------------------------------------------------------------- page side


def open_mining(page: Page, base_url: str, link: str = "/mining") -> None:
    page.goto(f"{base_url}{link}")
    wait_for_app(page)


def wait_for_counts(page: Page) -> None:
    """The four kind metrics and the pictures are on the page (the Plotly chunk is slow)."""
    label = page.get_by_test_id("stMetricLabel").get_by_text("valid triplets", exact=True)
    expect(label).to_be_visible(timeout=APP_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=APP_TIMEOUT_MS)
    wait_for_app(page)


def open_iris(page: Page, base_url: str, query: str = ""):
    """The page on iris (``query``: more of the link), the counts shown; iris, the core's
    analysis of it and the 2-D picture the page draws."""
    iris = load_iris_points()
    open_mining(page, base_url, f"/mining?source=iris{query}")
    wait_for_counts(page)
    return iris, core(iris.embeddings, iris.labels), project_2d(iris.embeddings).numpy()


def expect_counts(page: Page, counts: dict[Kind, int]) -> None:
    expect(metric(page, "valid triplets")).to_have_text(f"{sum(counts.values()):,}")
    for kind in Kind:
        expect(metric(page, kind.label)).to_have_text(f"{counts[kind]:,}")


def choose_source(page: Page, source: str) -> None:
    radio = page.get_by_test_id("stSidebar").get_by_test_id("stRadio").filter(has_text="Source")
    radio.get_by_text(MiningScene.field_spec("source").shown(source), exact=True).click()
    # The URL is written mid-run: wait for the end, or the next input interrupts this run.
    expect(page).to_have_url(re.compile(rf"source={source}\b"))
    wait_for_app(page)


def upload(page: Page, name: str, raw: bytes) -> None:
    """Choose "Upload a CSV" and give the uploader a file, as a drop or the file dialog does."""
    choose_source(page, "upload")
    expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text("Upload a CSV file")
    chooser = page.get_by_test_id("stFileUploader").locator("input[type=file]")
    chooser.set_input_files({"name": name, "mimeType": "text/csv", "buffer": raw})
    expect(page.get_by_test_id("stFileChipName")).to_have_text(name)


def anchor_input(page: Page):
    return page.get_by_test_id("stNumberInput").filter(has_text="Anchor (row)").locator("input")


def slider(page: Page, label: str):
    return (
        page.get_by_test_id("stSidebar")
        .get_by_test_id("stSlider")
        .filter(has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))
    )


def step_margin(page: Page, margin: float) -> float:
    """One arrow-key step (0.01) of the margin slider; returns the new margin."""
    slider(page, "Margin m").get_by_role("slider").focus()
    page.keyboard.press("ArrowRight")
    margin = round(margin + 0.01, 2)
    expect(page).to_have_url(re.compile(rf"margin={margin!r}&"))
    wait_for_app(page)
    return margin


def set_anchor(page: Page, row: int) -> None:
    box = anchor_input(page)
    box.fill(str(row))
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"anchor={row}$"))
    wait_for_app(page)


# The scatter's traces: name -> (customdata rows, x, y); per-class traces come as typed
# arrays, decoded by Plotly into ``_fullData``.
_TRACES_JS = """() => {
    const gd = document.querySelector('.js-plotly-plot');
    return gd._fullData.map((t) => [t.name, Array.from(t.customdata ?? []).map(Number),
                                    Array.from(t.x ?? []), Array.from(t.y ?? [])]);
}"""

# Where (page pixels) a row's marker in the per-class scattergl traces is drawn.
_ROW_PIXEL_JS = """(row) => {
    const gd = document.querySelector('.js-plotly-plot');
    const layout = gd._fullLayout, box = gd.getBoundingClientRect();
    for (const t of gd._fullData) {
        if (t.type !== 'scattergl' || !t.customdata) continue;
        const i = Array.from(t.customdata).map(Number).indexOf(row);
        if (i >= 0) return [box.left + layout._size.l + layout.xaxis.l2p(t.x[i]),
                            box.top + layout._size.t + layout.yaxis.l2p(t.y[i])];
    }
    return null;
}"""


def click_row(page: Page, row: int) -> None:
    """Click the row's marker in the scatter; the page makes it the anchor."""
    xy = page.evaluate(_ROW_PIXEL_JS, row)
    assert xy is not None, row
    page.mouse.click(*xy)
    expect(page).to_have_url(re.compile(rf"anchor={row}$"))
    wait_for_app(page)


def hardest_pair(batch: BatchAnalysis, row: int) -> tuple[int, int]:
    view = batch.anchor_view(row, DEFAULT.margin)
    return view.hardest_positive, view.hardest_negative


def scatter_traces(page: Page) -> dict[str, tuple[list[int], list[float], list[float]]]:
    return {name: (rows, x, y) for name, rows, x, y in page.evaluate(_TRACES_JS)}


def expect_hardest_pair(page: Page, picture: np.ndarray, anchor: int, hp: int, hn: int) -> None:
    """The scatter draws the anchor's hardest positive and negative (rows and positions)."""
    want = {"hardest positive": [anchor, hp], "hardest negative": [anchor, hn]}
    got = {}
    for _ in range(100):  # Plotly redraws a moment after the script has finished
        traces = scatter_traces(page)
        got = {name: traces[name][0] for name in want if name in traces}
        if got == want:
            break
        page.wait_for_timeout(100)
    assert got == want, got
    for name, rows in want.items():
        _, x, y = traces[name]
        np.testing.assert_allclose(x, picture[rows, 0], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y, picture[rows, 1], rtol=1e-6, atol=1e-6)
    assert traces["anchor"][0] == [anchor]


def plane_settled(page: Page) -> dict[str, tuple[float, float]]:
    """The plane's positions once Python's answer to the last send has been drawn."""
    wait_for_app(page)
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0)
    expect(page.locator(".lv-plane")).not_to_have_attribute("data-animating", "1")
    wait_for_app(page)
    return plane_points(page)


def blob_counts(points: dict[str, tuple[float, float]]) -> dict[Kind, int]:
    blobs = make_blobs(DEFAULT.classes, DEFAULT.per_class, DEFAULT.spread, DEFAULT.seed)
    xy = torch.tensor([points[f"x{i}"] for i in range(len(points))], dtype=torch.float32)
    return core(xy, blobs.labels).counts(DEFAULT.margin)


# --------------------------------------------------------------------------- tests


def test_uploading_the_example_shows_the_cores_counts(page, app_server):
    raw = EXAMPLE.read_bytes()
    points = read_embeddings_csv(raw)
    counts = core(points.embeddings, points.labels).counts(DEFAULT.margin)
    assert counts[Kind.HARD] and counts[Kind.SEMI_HARD] and counts[Kind.EASY]

    open_mining(page, app_server)
    wait_for_counts(page)
    upload(page, EXAMPLE.name, raw)
    n, dims = points.embeddings.shape
    expect(page.get_by_text(f"{EXAMPLE.name}: {n:,} rows, {len(points.names)} classes; "
                            f"distances in {dims} dimensions")).to_be_visible()  # fmt: skip
    expect_counts(page, counts)
    assert f"margin={DEFAULT.margin!r}" in page.url and "distance=euclidean" in page.url
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    no_exception(page)
    shot(page, "mining-upload-example")


def test_an_anchor_typed_in_draws_its_hardest_pair(page, app_server):
    iris, batch, picture = open_iris(page, app_server)
    expect_counts(page, batch.counts(DEFAULT.margin))

    row = 77  # versicolor, near virginica: it has hard triplets
    view = batch.anchor_view(row, DEFAULT.margin)
    assert view.usable and view.counts[Kind.HARD] > 0
    set_anchor(page, row)
    expect(anchor_input(page)).to_have_value(str(row))
    expect_hardest_pair(page, picture, row, view.hardest_positive, view.hardest_negative)
    table = page.get_by_test_id("stTable").first
    expect(table).to_contain_text(f"({row}, {view.hardest_positive}, {view.hardest_negative})")
    expect(table).to_contain_text(f"d(a,p) = {view.d_hardest_positive:.3f}")
    expect(table).to_contain_text(f"d(a,n) = {view.d_hardest_negative:.3f}")
    caption = page.get_by_text(re.compile(rf"^Anchor {row} \(class "))
    expect(caption).to_contain_text(f"class {iris.names[int(iris.labels[row])]}")
    expect(caption).to_contain_text(f"{view.counts[Kind.HARD]:,} hard")
    # The anchor does not change the batch's counts.
    expect_counts(page, batch.counts(DEFAULT.margin))
    no_exception(page)
    shot(page, "mining-iris-anchor")


def test_clicking_a_point_makes_it_the_anchor(page, app_server):
    _, batch, picture = open_iris(page, app_server, "&anchor=0")
    expect_hardest_pair(page, picture, 0, *hardest_pair(batch, 0))

    # A row far from every other point (one pixel is about 0.02 here): nothing else is hit.
    gaps = np.linalg.norm(picture[:, None] - picture[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    row = int(gaps.min(axis=1).argmax())
    assert row != 0 and gaps[row].min() > 0.2, (row, gaps[row].min())
    page.wait_for_timeout(300)  # Plotly's first draw and its click handlers
    click_row(page, row)
    expect(anchor_input(page)).to_have_value(str(row))
    expect_hardest_pair(page, picture, row, *hardest_pair(batch, row))

    # The clicked point stays selected in Plotly: typing another anchor and clicking the
    # same point again must still make it the anchor.
    set_anchor(page, 0)
    expect_hardest_pair(page, picture, 0, *hardest_pair(batch, 0))
    click_row(page, row)
    expect(anchor_input(page)).to_have_value(str(row))
    expect_hardest_pair(page, picture, row, *hardest_pair(batch, row))
    no_exception(page)


def test_dragging_a_blob_changes_the_counts_and_put_back_restores_them(page, app_server):
    blobs = make_blobs(DEFAULT.classes, DEFAULT.per_class, DEFAULT.spread, DEFAULT.seed)
    n = len(blobs.labels)
    original = {f"x{i}": tuple(map(float, xy)) for i, xy in enumerate(blobs.embeddings)}
    original_counts = core(blobs.embeddings, blobs.labels).counts(DEFAULT.margin)

    open_mining(page, app_server)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(n, timeout=APP_TIMEOUT_MS)
    wait_for_counts(page)
    names = page.locator(".lv-plane .lv-point").evaluate_all(
        "(points) => points.map((p) => p.dataset.name)"
    )
    assert sorted(names) == sorted(original)
    shown = plane_settled(page)
    assert shown.keys() == original.keys()
    assert all(np.allclose(shown[k], original[k], atol=1e-6) for k in original), shown
    expect_counts(page, original_counts)
    put_back = page.get_by_test_id("stButton").filter(has_text="Put the points back")
    expect(put_back).to_have_count(0)

    # x1 (class 0, at the top) dropped into the middle of class 1 (lower left).
    target = tuple(float(v) for v in blobs.embeddings[blobs.labels == 1].mean(dim=0))
    drag_to(page, "x1", target)
    expect(put_back).to_be_visible()
    moved = plane_settled(page)
    assert np.allclose(moved["x1"], target, atol=0.05), moved["x1"]
    # Only x1 moved (the plane sends positions rounded to 1e-6).
    assert all(np.allclose(moved[k], shown[k], atol=1e-6) for k in original if k != "x1")
    moved_counts = blob_counts(moved)
    assert moved_counts != original_counts
    assert moved_counts[Kind.HARD] > original_counts[Kind.HARD]
    expect_counts(page, moved_counts)
    no_exception(page)
    shot(page, "mining-blobs-dragged")

    click_button(page, "Put the points back")
    expect(put_back).to_have_count(0)
    expect_counts(page, original_counts)
    restored = plane_settled(page)
    assert all(np.allclose(restored[k], original[k], atol=1e-6) for k in original), restored
    no_exception(page)


def test_hostile_labels_are_shown_as_text(page, app_server):
    raw = hostile_csv()
    points = read_embeddings_csv(raw)
    assert points.names == HOSTILE_LABELS
    counts = core(points.embeddings, points.labels).counts(DEFAULT.margin)

    open_mining(page, app_server)
    wait_for_counts(page)
    upload(page, "labels.csv", raw)
    expect_counts(page, counts)
    legend_entries = page.locator(".js-plotly-plot").first.locator(".legendtext")
    expect(legend_entries.first).to_have_text(HOSTILE_LABELS[0])
    wait_for_app(page)
    page.wait_for_timeout(500)  # room for an injected onerror to fire, if there were one

    assert page.evaluate("() => window.__pwned") is None
    injected = page.evaluate(
        """() => ({
            img: document.querySelectorAll('img[src="x"]').length,
            script: [...document.querySelectorAll('script')]
                .filter((s) => s.textContent.includes('__pwned')).length,
            bold: [...document.querySelectorAll('b')]
                .filter((b) => b.textContent === 'bold').length,
        })"""
    )
    assert injected == {"img": 0, "script": 0, "bold": 0}, injected
    # The labels, literally, in the scatter's legend and in the anchor's caption.
    legend = legend_entries.all_text_contents()
    assert legend[0] == HOSTILE_LABELS[0] and legend[2] == HOSTILE_LABELS[2], legend
    assert legend[1].startswith("<img src=x onerror="), legend  # quotes: see the next test
    expect(page.get_by_text(f"Anchor 0 (class {HOSTILE_LABELS[0]})")).to_be_visible()
    set_anchor(page, 2)
    expect(page.get_by_text(f"Anchor 2 (class {HOSTILE_LABELS[1]})")).to_be_visible()
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    no_exception(page)
    assert page.evaluate("() => window.__pwned") is None
    shot(page, "mining-hostile-labels")


def test_a_malformed_upload_warns_and_the_page_keeps_working(page, app_server):
    raw = csv_bytes(["label", "e0", "e1"], [["a", 0, 1], ["a", "nan", 1], ["b", 2, 3]])
    open_mining(page, app_server)
    wait_for_counts(page)
    upload(page, "broken.csv", raw)
    warning = page.get_by_test_id("stAlertContentWarning")
    expect(warning).to_contain_text("broken.csv")
    expect(warning).to_contain_text("Line 3, column 'e0'")
    expect(warning).to_contain_text("not a finite number")
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    no_exception(page)
    shot(page, "mining-malformed-upload")

    choose_source(page, "blobs")
    blobs = make_blobs(DEFAULT.classes, DEFAULT.per_class, DEFAULT.spread, DEFAULT.seed)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(len(blobs.labels))
    expect_counts(page, core(blobs.embeddings, blobs.labels).counts(DEFAULT.margin))
    expect(warning).to_have_count(0)
    no_exception(page)


def test_class_and_file_names_are_shown_literally(page, app_server):
    labels = ('say "hi"', "**strong**")
    rows = [[label, float(i), float(j)] for i, label in enumerate(labels) for j in range(2)]
    name = "*draft*.csv"
    open_mining(page, app_server)
    wait_for_counts(page)
    upload(page, name, csv_bytes(["label", "e0", "e1"], rows))
    expect(
        page.get_by_text(f"{name}: 4 rows, 2 classes; distances in 2 dimensions")
    ).to_be_visible()
    legend = page.locator(".js-plotly-plot").first.locator(".legendtext")
    expect(legend.nth(0)).to_have_text(labels[0])
    expect(legend.nth(1)).to_have_text(labels[1])
    set_anchor(page, 2)
    expect(page.get_by_text(f"Anchor 2 (class {labels[1]})")).to_be_visible()


def test_blob_settings_survive_a_visit_to_another_source(page, app_server):
    open_mining(page, app_server)
    wait_for_counts(page)
    choose_source(page, "iris")  # a first run without the blob sliders
    margin = step_margin(page, DEFAULT.margin)  # a second one
    choose_source(page, "blobs")
    shown = {label: slider(page, label).get_by_test_id("stSliderThumbValue")
             for label in ("Classes", "Points per class", "Spread")}  # fmt: skip
    want = {"Classes": str(DEFAULT.classes), "Points per class": str(DEFAULT.per_class),
            "Spread": f"{DEFAULT.spread:.2f}"}  # fmt: skip
    for label, value in want.items():
        expect(shown[label]).to_have_text(value)
    # An unrelated change keeps the blobs (the browser sends what the sliders show).
    margin = step_margin(page, margin)
    scene_query = f"classes={DEFAULT.classes}&per_class={DEFAULT.per_class}"
    assert scene_query in page.url and f"spread={DEFAULT.spread!r}" in page.url, page.url
    blobs = make_blobs(DEFAULT.classes, DEFAULT.per_class, DEFAULT.spread, DEFAULT.seed)
    expect_counts(page, core(blobs.embeddings, blobs.labels).counts(margin))


# The triplet diagram's chart: the Plotly graph whose traces include the margin's line.
_DIAGRAM_JS = """() => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        const names = (gd._fullData ?? []).map((t) => t.name ?? '');
        if (!names.includes('d(a,n) = d(a,p) + m')) continue;
        const traces = gd._fullData.map((t) => [t.name ?? '', t.type,
            Array.from(t.x ?? []).length,
            Array.from(t.x ?? []).filter((v) => v === null || Number.isNaN(v)).length]);
        // Per SVG scatter trace: the pieces of line it draws (a path per piece between gaps,
        // its moves counted) and its markers that show (drawn with a size).
        const drawn = [...gd.querySelectorAll('.scatterlayer .trace')].map((g) => [
            [...g.querySelectorAll('.js-line')].map(
                (p) => ((p.getAttribute('d') ?? '').match(/M/g) ?? []).length
            ).reduce((a, b) => a + b, 0),
            [...g.querySelectorAll('.points path.point')].filter(
                (p) => p.getBoundingClientRect().width > 0).length]);
        return {traces, drawn};
    }
    return null;
}"""


def diagram_arrows(page: Page, loss: str) -> tuple[tuple, list[list[int]]]:
    """The diagram's direction trace (name, type, points, gaps) once it is drawn for ``loss``,
    and the pieces and markers of every SVG trace."""
    found = None
    for _ in range(150):  # Plotly redraws a moment after the script has finished
        found = page.evaluate(_DIAGRAM_JS)
        arrows = [t for t in (found or {}).get("traces", []) if t[0].startswith("direction")]
        if arrows and f"({loss})" in arrows[0][0]:
            return arrows[0], found["drawn"]
        page.wait_for_timeout(100)
    raise AssertionError(f"no {loss} directions drawn: {found}")


def test_the_triplet_diagram_draws_each_dots_direction_on_demand(page, app_server):
    blobs = make_blobs(DEFAULT.classes, DEFAULT.per_class, DEFAULT.spread, DEFAULT.seed)
    total = core(blobs.embeddings, blobs.labels).total
    open_mining(page, app_server)
    wait_for_counts(page)
    toggle = page.get_by_test_id("stCheckbox").filter(
        has_text="Show each dot's direction under a gradient step"
    )
    toggle.scroll_into_view_if_needed()
    expect(toggle).to_be_visible()
    traces = page.evaluate(_DIAGRAM_JS)["traces"]
    assert not [t for t in traces if t[0].startswith("direction")]  # off by default
    expect(page.get_by_test_id("stRadio").filter(has_text="Loss for the step")).to_have_count(0)

    toggle.locator("label").click()
    loss = page.get_by_test_id("stRadio").filter(has_text="Loss for the step")
    expect(loss).to_be_visible(timeout=APP_TIMEOUT_MS)
    note = page.get_by_text(re.compile(r"^Arrows: where one gradient-descent step"))
    expect(note).to_contain_text("batch-all loss", timeout=APP_TIMEOUT_MS)
    wait_for_app(page)
    (name, kind, points, gaps), drawn = diagram_arrows(page, "batch-all")
    assert kind == "scatter" and (points, gaps) == (3 * total, total)  # a segment per dot
    # Drawn in one SVG trace: a piece of line per moving dot, an arrowhead at each end.
    pieces, heads = max(drawn)
    assert pieces > 0.9 * total and pieces >= heads > 0.9 * pieces, drawn

    loss.get_by_text("batch-hard", exact=True).click()
    expect(note).to_contain_text("batch-hard loss", timeout=APP_TIMEOUT_MS)
    wait_for_app(page)
    (name, *_), drawn = diagram_arrows(page, "batch-hard")
    assert max(drawn)[0] > 0.9 * total, drawn
    no_exception(page)
    page.mouse.move(1, 1)
    diagram = page.locator(".js-plotly-plot").filter(has_text="d(a,n) = d(a,p) + m")
    diagram.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    diagram.screenshot(path=str(SCREENSHOTS / "mining-directions.png"))
