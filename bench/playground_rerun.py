"""Server-side time of one playground rerun after a drop (target: median <= 30 ms).

Usage: ``python -m bench.playground_rerun [--reruns N]``. Runs the app
headless with Streamlit's AppTest, on the playground page, moves N to a new spot before each rerun
(what a drop does) and times ``run()``: the script with the core's numbers,
the 200 x 200 region grid, the heatmap and the component's data. AppTest's
own bookkeeping is included, so this slightly over-states a real server.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.common import markdown_table

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reruns", type=int, default=60)
    args = parser.parse_args()
    # Through app.py, as a server runs it: its process setup (gc.freeze) matters here.
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/playground.py").run()
    rows = []
    for distance in ("euclidean", "chebyshev", "cosine", "custom"):
        at.session_state["playground.distance"] = distance
        at.run()
        times = []
        for i in range(args.reruns):
            angle = 2 * math.pi * i / args.reruns
            scene = at.session_state["playground.scene"]
            at.session_state["playground.scene"] = scene.replace(
                nx=round(2.5 * math.cos(angle), 6), ny=round(2.5 * math.sin(angle), 6)
            )
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
            assert not at.exception
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        rows.append([distance, f"{statistics.median(times) * 1e3:.1f}", f"{p95 * 1e3:.1f}"])
    print(f"Playground rerun after a drop (AppTest, {args.reruns} reruns each), ms")
    print(markdown_table(["distance", "median", "p95"], rows))


if __name__ == "__main__":
    main()
