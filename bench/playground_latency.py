"""Browser latency on the playground: the read-out while dragging, and a drop end to end,
against a bare Streamlit button page measured in the same run.

Usage: ``python -m bench.playground_latency [--drags 30] [--moves 120]`` (needs Debian
chromium and the ``playwright`` package; never ``playwright install``).

Three measurements, each in the page's own clock (``performance.now()``), each mark the
``requestAnimationFrame`` callback of the first frame that shows the new state (the frame
that paints it), sampled by a page-side loop (a Python poll would add round trips):

1. **Pointer move -> read-out.** N is held and moved ``--moves`` times, 25 ms apart
   (a hand moves the mouse at 40-60 Hz). For each ``pointermove`` the plane has handled,
   a listener records the event's time stamp, the positions and the read-out the plane
   shows for them; the latency is the next frame after it. Each recorded read-out is
   then checked against the torch core on the recorded positions (the read-out that
   matches the move), so a stale or wrong read-out cannot pass as fast.
2. **Drop -> the server's read-out.** N is dragged to ``--drags`` spots (hard, semi-hard,
   easy in turn); from pointer-up (``data-last-sent-ms``) to the frame in which the plane's
   read-out is the server's (``data-readout-source="server"``, the data acknowledging the
   send) and to the frame in which the ``d(a, n)`` metric shows the core's value.
3. **A bare page's round trip.** ``bench/apps/bare.py`` (one button, one metric) served
   the same way: from the button's pointer-up to the frame that shows the new count.
   The target for 2 is 1.5x this, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from bench import browser_kit as kit
from bench.common import markdown_table
from lossviz.core.loss_settings import LossSettings
from lossviz.core.triplet_reading import read_triplet
from lossviz.scenes.scene import PlaygroundScene

BOUNDS = (-4.0, 4.0)
# Distance from A as a fraction of the kinds' borders d(a,p) and d(a,p) + m.
SPOTS = (("hard", 0.5), ("semi-hard", 0.5), ("easy", 1.4))
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))

# Every frame: (time, d(a, n) text, read-out source, stale), logged when one changes.
_RECORD_DROP_JS = kit.drop_recorder_js(
    helpers="""const dan = () => {
        for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
            const label = m.querySelector('[data-testid="stMetricLabel"]');
            if (label && label.textContent.trim() === "d(a, n)") {
                return m.querySelector('[data-testid="stMetricValue"]')?.textContent.trim();
            }
        }
        return null;
    };""",
    fields="dan(), ",
)
# Each pointer move of the drag: the positions and the read-out the plane shows for them.
_RECORD_MOVES_JS = kit.move_recorder_js()
# The drop is done: some `d(a, n)` metric shows `arg`, the core's value.
_METRIC_SHOWS_JS = """[...document.querySelectorAll('[data-testid="stMetric"]')].some((m) =>
            text(m, "stMetricLabel") === "d(a, n)" && text(m, "stMetricValue") === arg)"""
_TEXT_JS = 'const text = (m, id) => m.querySelector(`[data-testid="${id}"]`)?.textContent.trim();'

# The bare page: pointer-up on the button, then every frame's metric text.
_RECORD_BARE_JS = """() => {
    const log = (window.__lvBare = {ups: [], texts: []});
    document.addEventListener("pointerup", () => log.ups.push(performance.now()), true);
    const value = () => document.querySelector('[data-testid="stMetricValue"]')?.textContent.trim();
    const sample = () => {
        const text = value();
        if (log.texts.at(-1)?.[1] !== text) log.texts.push([performance.now(), text]);
        requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
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


def to_screen(page, xy: tuple[float, float]) -> tuple[float, float]:
    box = page.locator(".lv-plot-rect").bounding_box()
    lo, hi = BOUNDS
    return (
        box["x"] + (xy[0] - lo) / (hi - lo) * box["width"],
        box["y"] + (hi - xy[1]) / (hi - lo) * box["height"],
    )


def one_drop(page, plane, target: tuple[float, float]) -> dict:
    """Drag N to ``target``; the latencies (ms) of the metric and the plane's read-out."""
    scene = url_scene(page.url)
    sent_ms = kit.drop(page, plane, "N", to_screen(page, target), _RECORD_DROP_JS)
    landed = json.loads(plane.get_attribute("data-points"))
    triplet = [[round(v, 6) for v in landed[name]] for name in ("A", "P", "N")]
    reading = read_triplet(triplet, settings_of(scene))
    expected = f"{reading.d_an:.3f}"
    kit.wait_server_readout(page, plane, _METRIC_SHOWS_JS, expected, helpers=_TEXT_JS)
    log = kit.drop_log(page, sent_ms)
    server = json.loads(plane.get_attribute("data-readout"))
    assert math.isclose(server["d_an"], reading.d_an, rel_tol=1e-9), (server, reading)

    def first(condition) -> float:
        return next(t for t, text, source, stale in log if condition(text, source, stale)) - sent_ms

    kit.wait_for_app(page)
    return {
        "metric": first(lambda text, source, stale: text == expected),
        "readout": first(lambda text, source, stale: source == "server" and not stale),
        "kind": server["kind"],
        "expected_kind": reading.kind.label,
        "landed": tuple(triplet[2]),
    }


def moves(page, plane, count: int) -> list[dict]:
    """Hold N and move it ``count`` times; every recorded move, checked against the core."""
    scene = url_scene(page.url)
    settings = settings_of(scene)

    def targets():  # taken one move at a time, where the plot is then
        for i in range(count):
            angle = i * 2 * math.pi / 40
            radius = 1.0 + 1.5 * (i % 40) / 40
            yield to_screen(page, (scene.ax + radius * math.cos(angle),
                                   scene.ay + radius * math.sin(angle)))  # fmt: skip

    recorded = kit.drag_moves(page, plane, "N", targets(), _RECORD_MOVES_JS)
    for move in recorded:
        assert move["source"] == "live", move
        points = [list(move["points"][n]) for n in ("A", "P", "N")]
        core = read_triplet(points, settings)
        for field in ("d_ap", "d_an", "loss"):
            assert math.isclose(move["readout"][field], getattr(core, field), rel_tol=1e-6,
                                abs_tol=1e-12), (move, core)  # fmt: skip
    return recorded


def bare_round_trips(browser, clicks: int) -> list[float]:
    """Pointer-up on the bare page's button -> the frame that shows the new count (ms)."""
    with kit.served_page(browser, "bench/apps/bare.py", "streamlit-bench-bare") as page:
        page.evaluate(_RECORD_BARE_JS)
        button = page.get_by_role("button", name="Click")
        for i in range(clicks + 1):  # the first is a warm-up
            button.click()
            page.wait_for_function(
                f"() => window.__lvBare.texts.at(-1)?.[1] === '{i + 1}'", polling="raf"
            )
            kit.wait_for_app(page)
        page.wait_for_timeout(50)
        log = page.evaluate("window.__lvBare")
    latencies = []
    for i, up in enumerate(log["ups"][1:], start=2):
        shown = next(t for t, text in log["texts"] if text == str(i))
        latencies.append(shown - up)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drags", type=int, default=30)
    parser.add_argument("--moves", type=int, default=120)
    args = parser.parse_args()
    with kit.headless_chromium() as browser:
        with kit.served_page(browser, "app.py", "streamlit-bench-latency", "/playground") as page:
            plane = page.locator(".lv-plane")
            plane.locator(".lv-point").nth(2).wait_for()
            page.locator(".lv-heatmap canvas").wait_for()
            recorded = moves(page, plane, args.moves)
            kit.wait_for_app(page)
            scene = url_scene(page.url)
            one_drop(page, plane, spot(len(SPOTS) - 1, scene)[1])  # warm-up
            drops = []
            for i in range(args.drags):
                wanted, target = spot(i, scene)
                drops.append({**one_drop(page, plane, target), "wanted": wanted})
            final = url_scene(page.url)
            assert math.isclose(final.nx, drops[-1]["landed"][0], abs_tol=1e-9), page.url
        bare = bare_round_trips(browser, args.drags)

    mismatched = [d for d in drops if d["kind"] != d["expected_kind"]]
    assert not mismatched, f"the read-out's kind differs from the core: {mismatched}"
    move_latency = [m["painted"] - m["t"] for m in recorded]
    readout = [d["readout"] for d in drops]
    ratio = statistics.median(readout) / statistics.median(bare)
    kinds = Counter(d["kind"] for d in drops)
    print(
        "Playground latency (headless chromium, page clock; end mark: the first frame that "
        "shows it), ms"
    )
    print(
        markdown_table(
            ["from", "to", "median", "p95", "min", "max"],
            [
                [
                    "pointer move (N held)",
                    "the plane's read-out for it",
                    *kit.summary(move_latency),
                ],
                [
                    "pointer-up (drop of N)",
                    "the plane's read-out is the server's",
                    *kit.summary(readout),
                ],
                [
                    "pointer-up (drop of N)",
                    "the `d(a, n)` metric shows the core's value",
                    *kit.summary([d["metric"] for d in drops]),
                ],
                [
                    "pointer-up (bare page's button)",
                    "its metric shows the new count",
                    *kit.summary(bare),
                ],
            ],  # fmt: skip
        )
    )
    print()
    print(
        f"moves: {len(recorded)} recorded of {args.moves} sent, {kit.MOVE_GAP_MS} ms apart, each "
        "read-out equal to the core's on the positions shown; drops: "
        f"{len(drops)} (+1 warm-up), kinds after the drop "
        + ", ".join(f"{k} {kinds[k]}" for k in ("easy", "semi-hard", "hard"))
        + f"; bare clicks: {len(bare)} (+1 warm-up)."
    )
    print(f"Drop / bare page (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
