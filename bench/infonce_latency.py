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
import statistics
from pathlib import Path

from bench import browser_kit as kit
from bench.common import markdown_table
from lossviz.core.circle_reading import read_circle

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "infonce_latency-cpu.md"
# --where: the script served and the address of the plane, for k negatives at tau.
WHERE = {
    "page": ("app.py", "/infonce?negatives={k}&tau={tau}&normalize=1"),
    "app": ("tests/browser/apps/plane_app.py", "/?mode=infonce&k={k}&tau={tau}"),
}
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
TARGET_MS = 20.0

# Each pointer move of the drag: what the plane shows for it, the bars' shares too.
_RECORD_MOVES_JS = kit.move_recorder_js(
    helpers="""const shares = () => Object.fromEntries([...plane.querySelectorAll(".lv-weight")]
        .map((g) => [g.dataset.name, Number(g.dataset.share)]));""",
    fields="shares: shares(), ",
)
# Every frame: (time, read-out source, stale), logged when one changes.
_RECORD_DROP_JS = kit.drop_recorder_js()


def screen_map(plane):
    """Data units -> page pixels, from where the plane draws A and P (either target's
    bounds, no constant to keep in step): one scale on both axes, y upwards."""
    points = json.loads(plane.get_attribute("data-points"))
    (ax, ay), (px, py) = points["A"], points["P"]
    (sax, say), (spx, spy) = kit.dot_center(plane, "A"), kit.dot_center(plane, "P")
    scale = math.hypot(spx - sax, spy - say) / math.hypot(px - ax, py - ay)
    return lambda xy: (sax + (xy[0] - ax) * scale, say - (xy[1] - ay) * scale)


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

    def targets():
        for i in range(count):
            angle = 1.7 + i * 2 * math.pi / 40 + (i // 40) * 0.05  # each lap a little further
            radius = 0.6 + 1.0 * (i % 10) / 10  # inside and outside the circle
            yield to_screen((radius * math.cos(angle), radius * math.sin(angle)))

    recorded = kit.drag_moves(page, plane, "N1", targets(), _RECORD_MOVES_JS)
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
    target = screen_map(plane)((1.3 * math.cos(angle), 1.3 * math.sin(angle)))
    sent_ms = kit.drop(page, plane, "N1", target, _RECORD_DROP_JS)
    kit.wait_server_readout(page, plane)
    log = kit.drop_log(page, sent_ms)
    check_against_core(
        json.loads(plane.get_attribute("data-points")),
        json.loads(plane.get_attribute("data-readout")),
        tau,
    )
    kit.wait_for_app(page)
    return next(t for t, source, stale in log if source == "server" and not stale) - sent_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--where", choices=sorted(WHERE), default="page")
    parser.add_argument("--moves", type=int, default=160)
    parser.add_argument("--drags", type=int, default=20)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--tau", type=float, default=0.05)
    args = parser.parse_args()
    script, address = WHERE[args.where]
    path = address.format(k=args.k, tau=args.tau)
    with (
        kit.headless_chromium() as browser,
        kit.served_page(browser, script, "streamlit-bench-infonce", path) as page,
    ):
        plane = page.locator(".lv-plane").filter(
            has=page.locator(f'.lv-point[data-name="N{args.k}"]')
        )
        plane.locator(".lv-point").nth(args.k + 1).wait_for()
        plane.scroll_into_view_if_needed()
        recorded = moves(page, plane, args.moves, args.tau)
        kit.wait_for_app(page)
        one_drop(page, plane, 0.3, args.tau)  # warm-up
        drops = [one_drop(page, plane, 0.3 + i * GOLDEN_ANGLE, args.tau) for i in range(args.drags)]

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
                    *kit.summary(move_latency),
                ],
                [
                    "pointer-up (drop of N1)",
                    "the plane's read-out is the server's",
                    *kit.summary(drops),
                ],
            ],  # fmt: skip
        ),
        "",
        f"moves: {len(recorded)} recorded of {args.moves} sent, {kit.MOVE_GAP_MS} ms apart, each "
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
