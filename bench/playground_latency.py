"""Browser latency of a drop on the playground: pointer-up -> new numbers and plane shown.

Usage: ``python -m bench.playground_latency [--drags 30]`` (needs Debian chromium and the
``playwright`` package; never ``playwright install``).

Starts ``streamlit run app.py`` with the browser tests' helper
(``tests.browser.conftest.start_streamlit``), opens ``/playground`` in headless chromium and
drags the negative N with the mouse to spots around the plane, cycling hard / semi-hard /
easy spots (so the kind badge changes on every drop). Each drop is timed in the page's
own clock (``performance.now()``), from the plane's ``data-last-sent-ms`` (set on
pointer-up, when the value is sent) to:

- text: the ``d(a, n)`` metric shows the value the core computes for the dropped spot;
- plane: the plane has applied the data of the rerun that saw the drop. plane.js removes
  the ``lv-stale`` class in ``receive()`` once the data acknowledges the send
  (``ack >= seq``), in the same call that redraws regions and arrows; that is the signal;
- both: the first frame in which both hold (the end mark).

Every mark is the ``requestAnimationFrame`` callback of the first frame that sees the new
state in the DOM, i.e. the frame that paints it. A page-side rAF loop samples the state
(a Python poll would add round trips). Note that an N drag leaves the region grid's
cells unchanged (they depend on A and P only): plane.js then skips the canvas repaint.
One warm-up drop is not counted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from bench.common import markdown_table
from lossviz.playground import read_triplet
from lossviz.scene import PlaygroundScene
from lossviz.settings import LossSettings
from lossviz.ui.playground import REGION_RESOLUTION
from tests.browser.conftest import (
    APP_TIMEOUT_MS,
    CHROMIUM_ARGS,
    CHROMIUM_ENV_VAR,
    DEFAULT_CHROMIUM,
    VIEWPORT,
    start_streamlit,
    wait_for_app,
)

BOUNDS = (-4.0, 4.0)
# Distance from A as a fraction of the kinds' borders d(a,p) and d(a,p) + m.
SPOTS = (("hard", 0.5), ("semi-hard", 0.5), ("easy", 1.4))
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))

# Samples, once per frame, (time, d(a, n) text, stale) whenever one of them changes.
_RECORD_JS = """(plane) => {
    const log = (window.__lvLatencyLog = []);
    window.__lvLatencyStop = false;
    const dan = () => {
        for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
            const label = m.querySelector('[data-testid="stMetricLabel"]');
            if (label && label.textContent.trim() === "d(a, n)") {
                return m.querySelector('[data-testid="stMetricValue"]')?.textContent.trim();
            }
        }
        return null;
    };
    const sample = () => {
        const entry = [performance.now(), dan(), plane.classList.contains("lv-stale")];
        const last = log.at(-1);
        if (!last || last[1] !== entry[1] || last[2] !== entry[2]) log.push(entry);
        if (!window.__lvLatencyStop) requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
}"""

_DONE_JS = """([plane, expected]) => {
    const value = [...document.querySelectorAll('[data-testid="stMetric"]')]
        .find((m) => m.querySelector('[data-testid="stMetricLabel"]')
            ?.textContent.trim() === "d(a, n)")
        ?.querySelector('[data-testid="stMetricValue"]')?.textContent.trim();
    return value === expected && !plane.classList.contains("lv-stale");
}"""


def url_scene(url: str) -> PlaygroundScene:
    return PlaygroundScene.from_query(parse_qs(urlsplit(url).query))


def settings_of(scene: PlaygroundScene) -> LossSettings:
    return LossSettings(scene.margin, scene.p, scene.eps, scene.swap, scene.distance, scene.expr)


def spot(i: int, scene: PlaygroundScene) -> tuple[str, tuple[float, float]]:
    """The i-th target of N: a hard, semi-hard or easy spot, at a new angle each time."""
    kind, fraction = SPOTS[i % len(SPOTS)]
    d_ap = math.dist((scene.ax, scene.ay), (scene.px, scene.py))
    radius = {
        "hard": fraction * d_ap,
        "semi-hard": d_ap + fraction * scene.margin,
        "easy": fraction * (d_ap + scene.margin),
    }[kind]
    angle = i * GOLDEN_ANGLE
    lo, hi = BOUNDS[0] + 0.3, BOUNDS[1] - 0.3
    x = min(max(scene.ax + radius * math.cos(angle), lo), hi)
    y = min(max(scene.ay + radius * math.sin(angle), lo), hi)
    return kind, (x, y)


def drag_n(page, target: tuple[float, float]) -> None:
    dot = page.locator('.lv-plane .lv-point[data-name="N"] .lv-dot').bounding_box()
    box = page.locator(".lv-plot-rect").bounding_box()
    lo, hi = BOUNDS
    x1 = box["x"] + (target[0] - lo) / (hi - lo) * box["width"]
    y1 = box["y"] + (hi - target[1]) / (hi - lo) * box["height"]
    page.mouse.move(dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


def one_drop(page, plane, target: tuple[float, float]) -> dict:
    """Drag N to ``target``; returns the three latencies (ms), the kind and the spot."""
    scene = url_scene(page.url)
    sent_before = int(plane.get_attribute("data-sent-count") or 0)
    plane.evaluate(_RECORD_JS)
    drag_n(page, target)
    sent = int(plane.get_attribute("data-sent-count") or 0)
    assert sent == sent_before + 1, f"the drop was not sent ({sent_before} -> {sent})"
    sent_ms = float(plane.get_attribute("data-last-sent-ms"))
    # What plane.js sent (rounded to 1e-6) and the value the core gives for it.
    landed = json.loads(plane.get_attribute("data-points"))
    triplet = [[round(v, 6) for v in landed[name]] for name in ("A", "P", "N")]
    reading = read_triplet(triplet, settings_of(scene))
    expected = f"{reading.d_an:.3f}"
    page.wait_for_function(
        _DONE_JS, arg=[plane.element_handle(), expected], polling="raf", timeout=APP_TIMEOUT_MS
    )
    page.wait_for_timeout(50)  # a few more frames: the sampler logs the final state too
    page.evaluate("window.__lvLatencyStop = true")
    log = [entry for entry in page.evaluate("window.__lvLatencyLog") if entry[0] >= sent_ms]

    def first(condition) -> float:
        return next(t for t, text, stale in log if condition(text, stale)) - sent_ms

    wait_for_app(page)
    kind = page.get_by_test_id("kind-badge").get_attribute("data-kind")
    return {
        "text": first(lambda text, stale: text == expected),
        "plane": first(lambda text, stale: not stale),
        "both": first(lambda text, stale: text == expected and not stale),
        "kind": kind,
        "expected_kind": reading.kind.label,
        "landed": tuple(triplet[2]),
    }


def region_grid(page) -> tuple[int, int]:
    return tuple(page.locator(".lv-plane .lv-regions").evaluate("c => [c.width, c.height]"))


def summary(values: list[float]) -> list[str]:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return [f"{v:.0f}" for v in (statistics.median(ordered), p95, ordered[0], ordered[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drags", type=int, default=30)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get(CHROMIUM_ENV_VAR, "").strip() or DEFAULT_CHROMIUM
    with (
        start_streamlit("app.py", "streamlit-bench-latency") as base_url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(APP_TIMEOUT_MS)
            page.goto(f"{base_url}/playground")
            wait_for_app(page)
            page.locator(".lv-plane .lv-point").nth(2).wait_for()
            page.get_by_test_id("stMetric").nth(3).wait_for()
            page.locator(".lv-heatmap canvas").wait_for()
            plane = page.locator(".lv-plane")
            grid = region_grid(page)
            assert grid == (REGION_RESOLUTION, REGION_RESOLUTION) == (200, 200), grid

            scene = url_scene(page.url)
            one_drop(page, plane, spot(len(SPOTS) - 1, scene)[1])  # warm-up, not counted
            drops = []
            for i in range(args.drags):
                wanted, target = spot(i, scene)
                drop = one_drop(page, plane, target)
                drop["wanted"] = wanted
                drops.append(drop)
            assert region_grid(page) == grid, region_grid(page)
            final = url_scene(page.url)
            assert math.isclose(final.nx, drops[-1]["landed"][0], abs_tol=1e-9), page.url
        finally:
            browser.close()

    mismatched = [d for d in drops if d["kind"] != d["expected_kind"]]
    assert not mismatched, f"kind badge differs from the core: {mismatched}"
    kinds = Counter(d["kind"] for d in drops)
    switches = sum(a["kind"] != b["kind"] for a, b in zip(drops, drops[1:], strict=False))
    rows = [
        ["`d(a, n)` metric shows the new value", *summary([d["text"] for d in drops])],
        ["plane applied the acknowledging data", *summary([d["plane"] for d in drops])],
        ["**both** (end mark)", *summary([d["both"] for d in drops])],
    ]
    print(
        f"Playground drop latency, pointer-up -> shown (headless chromium, page clock, "
        f"{len(drops)} drags of N), ms"
    )
    print(markdown_table(["pointer-up to", "median", "p95", "min", "max"], rows))
    print()
    print(
        f"drags: {len(drops)} (+1 warm-up); kinds after the drop: "
        + ", ".join(f"{k} {kinds[k]}" for k in ("easy", "semi-hard", "hard"))
        + f"; the badge changed on {switches} of {len(drops) - 1} drops; "
        f"region grid {grid[0]}x{grid[1]} (canvas)"
    )
    print(
        "End marks: the first requestAnimationFrame after the change (the frame that paints "
        "it). 'plane' = plane.js dropped `lv-stale` (data with ack >= the sent seq received; "
        "regions and arrows redrawn in the same call; an N drag leaves the region cells "
        "unchanged, so the canvas is not repainted)."
    )


if __name__ == "__main__":
    main()
