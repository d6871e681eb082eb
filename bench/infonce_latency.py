"""Browser latency of InfoNCE on the circle: the plane's read-out while a negative is dragged.

Usage: ``python -m bench.infonce_latency [--where page|app] [--moves 160] [--drags 20]
[--k 16] [--tau 0.05]`` (needs Debian chromium and the ``playwright`` package; never
``playwright install``). Results: ``bench/results/infonce_latency-cpu.md``.

On the InfoNCE page (``pages/infonce.py``, ``--where page``, the default) or on the plane
test app's ``?mode=infonce`` (``--where app``: the plane alone, as the page configures it:
``circle``, ``weights``, ``LiveLoss("infonce")``), with ``--k`` negatives (16, the most the
page offers: the most labels and bars to place on every move). Each measurement is in
the page's own clock (``performance.now()``), its end mark the ``requestAnimationFrame``
callback of the first frame that shows the new state, sampled by a page-side loop:

1. **Pointer move -> read-out.** N1 is held and the pointer moved ``--moves`` times, 25 ms
   apart, in and out of the circle. For each ``pointermove`` the plane has handled, a
   listener records the event's time stamp, the positions, the read-out and the bars'
   shares the plane shows for them; the latency is the next frame after it. Each recorded
   read-out is then checked against ``read_circle`` on the recorded positions (1e-9
   relative), the moved point against the unit circle (1e-9) and the shares against the
   core's weights, so a stale or wrong read-out cannot pass as fast.
2. **Drop -> the server's read-out.** N1 dragged to ``--drags`` angles; from pointer-up
   (``data-last-sent-ms``) to the frame in which the plane's read-out is the server's
   (the data acknowledging the send), checked against the core.

Target for 1: median <= 20 ms (the triplet playground's, ``bench.playground_latency``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
from pathlib import Path

from bench.common import markdown_table
from lossviz.core.circle_reading import read_circle
from tests.browser.conftest import (
    APP_TIMEOUT_MS,
    CHROMIUM_ARGS,
    CHROMIUM_ENV_VAR,
    DEFAULT_CHROMIUM,
    VIEWPORT,
    start_streamlit,
    wait_for_app,
)

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "infonce_latency-cpu.md"
# --where: the script served and the address of the plane, for k negatives at tau.
WHERE = {
    "page": ("app.py", "/infonce?negatives={k}&tau={tau}&normalize=1"),
    "app": ("tests/browser/apps/plane_app.py", "/?mode=infonce&k={k}&tau={tau}"),
}
MOVE_GAP_MS = 25
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
TARGET_MS = 20.0

# After the plane's own pointermove handler: what it shows now, stamped by the next frame.
_RECORD_MOVES_JS = """(plane) => {
    const moves = (window.__lvMoves = []);
    const svg = plane.querySelector(".lv-svg");
    const shares = () => Object.fromEntries([...plane.querySelectorAll(".lv-weight")]
        .map((g) => [g.dataset.name, Number(g.dataset.share)]));
    svg.addEventListener("pointermove", (e) => {
        if (!plane.classList.contains("lv-dragging")) return;  // only moves of a drag
        moves.push({t: e.timeStamp, points: JSON.parse(plane.dataset.points),
                    readout: JSON.parse(plane.dataset.readout), shares: shares(),
                    source: plane.dataset.readoutSource, painted: null});
    });
    const frame = () => {
        const now = performance.now();
        for (let i = moves.length - 1; i >= 0 && moves[i].painted === null; i--) {
            moves[i].painted = now;
        }
        if (!window.__lvStopMoves) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
}"""

# Every frame: (time, read-out source, stale), logged when one changes.
_RECORD_DROP_JS = """(plane) => {
    const log = (window.__lvLog = []);
    window.__lvStop = false;
    const sample = () => {
        const entry = [performance.now(), plane.dataset.readoutSource,
                       plane.classList.contains("lv-stale")];
        const last = log.at(-1);
        if (!last || entry.slice(1).some((v, i) => v !== last[i + 1])) log.push(entry);
        if (!window.__lvStop) requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
}"""


def dot_center(plane, name: str) -> tuple[float, float]:
    box = plane.locator(f'.lv-point[data-name="{name}"] .lv-dot').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def screen_map(plane):
    """Data units -> page pixels, from where the plane draws A and P (either target's
    bounds, no constant to keep in step): one scale on both axes, y upwards."""
    points = json.loads(plane.get_attribute("data-points"))
    (ax, ay), (px, py) = points["A"], points["P"]
    (sax, say), (spx, spy) = dot_center(plane, "A"), dot_center(plane, "P")
    scale = math.hypot(spx - sax, spy - say) / math.hypot(px - ax, py - ay)
    return lambda xy: (sax + (xy[0] - ax) * scale, say - (xy[1] - ay) * scale)


def press(page, plane, name: str) -> None:
    page.mouse.move(*dot_center(plane, name))
    page.mouse.down()


def check_against_core(points: dict, live: dict, tau: float) -> None:
    core = read_circle({n: tuple(p) for n, p in points.items()}, tau)
    assert math.isclose(live["loss"], core.loss, rel_tol=1e-9), (live, core)
    assert live["hardest"] == f"N{core.hardest}", (live, core)
    assert math.isclose(live["share"], core.weights[core.hardest], rel_tol=1e-9)
    assert math.isclose(live["alignment"], core.alignment, rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(live["uniformity"], core.uniformity, rel_tol=1e-9, abs_tol=1e-14)


def moves(page, plane, count: int, tau: float) -> list[dict]:
    """Hold N1 and move the pointer ``count`` times; every recorded move, checked."""
    to_screen = screen_map(plane)
    plane.evaluate(_RECORD_MOVES_JS)
    press(page, plane, "N1")
    for i in range(count):
        angle = 1.7 + i * 2 * math.pi / 40 + (i // 40) * 0.05  # each lap a little further
        radius = 0.6 + 1.0 * (i % 10) / 10  # inside and outside the circle
        page.mouse.move(*to_screen((radius * math.cos(angle), radius * math.sin(angle))))
        page.wait_for_timeout(MOVE_GAP_MS)
    page.wait_for_timeout(100)
    page.evaluate("window.__lvStopMoves = true")
    recorded = page.evaluate("window.__lvMoves")
    page.mouse.up()
    shown = set()
    for move in recorded:
        assert move["source"] == "live", move
        assert abs(math.hypot(*move["points"]["N1"]) - 1) < 1e-9, move["points"]["N1"]
        check_against_core(move["points"], move["readout"], tau)
        weights = dict(zip(move["readout"]["names"], move["readout"]["weights"], strict=True))
        for name, share in move["shares"].items():
            assert math.isclose(share, weights[name], rel_tol=1e-12), (name, share, weights)
        shown.add(move["readout"]["uniformity"])  # N1 moves every point's spread
    assert len(shown) > len(recorded) // 2, "the read-out did not follow the moves"
    return recorded


def one_drop(page, plane, angle: float, tau: float) -> float:
    """Drag N1 to ``angle``; ms from pointer-up to the frame showing the server's read-out."""
    sent_before = int(plane.get_attribute("data-sent-count") or 0)
    to_screen = screen_map(plane)
    plane.evaluate(_RECORD_DROP_JS)
    press(page, plane, "N1")
    page.mouse.move(*to_screen((1.3 * math.cos(angle), 1.3 * math.sin(angle))), steps=8)
    page.mouse.up()
    assert int(plane.get_attribute("data-sent-count") or 0) == sent_before + 1
    sent_ms = float(plane.get_attribute("data-last-sent-ms"))
    page.wait_for_function(
        """(plane) => plane.dataset.readoutSource === "server"
            && !plane.classList.contains("lv-stale")""",
        arg=plane.element_handle(),
        polling="raf",
        timeout=APP_TIMEOUT_MS,
    )
    page.wait_for_timeout(50)
    page.evaluate("window.__lvStop = true")
    log = [entry for entry in page.evaluate("window.__lvLog") if entry[0] >= sent_ms]
    check_against_core(
        json.loads(plane.get_attribute("data-points")),
        json.loads(plane.get_attribute("data-readout")),
        tau,
    )
    wait_for_app(page)
    return next(t for t, source, stale in log if source == "server" and not stale) - sent_ms


def summary(values: list[float]) -> list[str]:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return [f"{v:.1f}" for v in (statistics.median(ordered), p95, ordered[0], ordered[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--where", choices=sorted(WHERE), default="page")
    parser.add_argument("--moves", type=int, default=160)
    parser.add_argument("--drags", type=int, default=20)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--tau", type=float, default=0.05)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get(CHROMIUM_ENV_VAR, "").strip() or DEFAULT_CHROMIUM
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            script, address = WHERE[args.where]
            with start_streamlit(script, "streamlit-bench-infonce") as base_url:
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.set_default_timeout(APP_TIMEOUT_MS)
                page.goto(base_url + address.format(k=args.k, tau=args.tau))
                wait_for_app(page)
                plane = page.locator(".lv-plane").filter(
                    has=page.locator(f'.lv-point[data-name="N{args.k}"]')
                )
                plane.locator(".lv-point").nth(args.k + 1).wait_for()
                plane.scroll_into_view_if_needed()
                recorded = moves(page, plane, args.moves, args.tau)
                wait_for_app(page)
                one_drop(page, plane, 0.3, args.tau)  # warm-up
                drops = [
                    one_drop(page, plane, 0.3 + i * GOLDEN_ANGLE, args.tau)
                    for i in range(args.drags)
                ]
        finally:
            browser.close()

    move_latency = [m["painted"] - m["t"] for m in recorded]
    where_text = {"page": "the InfoNCE page,", "app": "the plane test app,"}[args.where]
    lines = [
        f"InfoNCE on the circle: latency (headless chromium, page clock; end mark: the first "
        f"frame that shows it), ms; {where_text} k = {args.k} negatives, tau = {args.tau}",
        markdown_table(
            ["from", "to", "median", "p95", "min", "max"],
            [
                [
                    "pointer move (N1 held)",
                    "the plane's read-out, bars and point for it",
                    *summary(move_latency),
                ],
                [
                    "pointer-up (drop of N1)",
                    "the plane's read-out is the server's",
                    *summary(drops),
                ],
            ],  # fmt: skip
        ),
        "",
        f"moves: {len(recorded)} recorded of {args.moves} sent, {MOVE_GAP_MS} ms apart, each "
        "read-out equal to `read_circle`'s on the positions shown (1e-9 relative), N1 on the "
        f"unit circle, the bars' shares the core's weights; drops: {len(drops)} (+1 warm-up). "
        f"Target: pointer move median <= {TARGET_MS:.0f} ms.",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.write_text(text + "\n", encoding="utf-8")
    median = statistics.median(move_latency)
    assert median <= TARGET_MS, f"pointer move -> read-out median {median:.1f} ms > {TARGET_MS} ms"


if __name__ == "__main__":
    main()
