"""The mining page's triplet diagram: binning every valid triplet at (d(a, p), d(a, n)) and
the picks (target: the 1,797 digits, 64-D, Euclidean, in <= 2 s), the kinds' exact counts at
a margin, and the figure.

Usage: ``python -m bench.triplet_diagram [--repeats N]``; writes
``bench/results/triplet_diagram-cpu.md`` and prints it.

Torch's intra-op threads are set as the app sets them (``LOSSVIZ_TORCH_THREADS``, else one).
Each step is timed alone by the wall clock, the median over the repeats after one untimed
warm-up. The distances are the page's (``BatchAnalysis.dist``, built outside the clock: the
page has them already); ``triplet_density`` is what the page caches per data set and
distance, ``kind_counts`` and the figure are what a new margin costs. Beside the digits, the
largest upload the page accepts (``bench.mining_page``'s 5,000 x 90 file).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import torch

from bench.common import markdown_table, run_report
from bench.mining_page import largest_upload
from lossviz.batches import point_sets as data
from lossviz.batches.analysis import BatchAnalysis
from lossviz.batches.triplet_diagram import DEFAULT_BINS, kind_counts, triplet_density
from lossviz.figures.triplet_diagram import triplet_diagram

MARGIN = 1.0
TARGET_S = 2.0  # triplet_density on the digits
THREADS_ENV_VAR = "LOSSVIZ_TORCH_THREADS"  # lossviz.ui.setup's (not imported: Streamlit)


def app_threads() -> int:
    return int(os.environ.get(THREADS_ENV_VAR, "0") or 0) or 1


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall seconds of ``fn()`` over ``repeats`` calls after a warm-up, and a result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(name: str, points: data.LabelledPoints, repeats: int) -> dict:
    analysis = BatchAnalysis(points.embeddings, points.labels)
    dist, labels = analysis.dist, analysis.labels
    density_s, density = timed(lambda: triplet_density(dist, labels, DEFAULT_BINS), repeats)
    counts_s, counts = timed(lambda: kind_counts(dist, labels, MARGIN), repeats)
    assert density.total == analysis.total == int(density.counts.sum())
    assert counts == analysis.counts(MARGIN)

    def figure():
        return triplet_diagram(**density.drawing(MARGIN), kind_counts=counts)

    figure_s, fig = timed(figure, repeats)
    n, dims = points.embeddings.shape
    return {
        "name": f"{name} {n:,} x {dims}",
        "triplets": density.total,
        "density": density_s,
        "counts": counts_s,
        "figure": figure_s,
        "json_kb": len(fig.to_json()) / 1024,
    }


def report(repeats: int) -> str:
    torch.set_num_threads(app_threads())
    load = os.getloadavg()[0]
    upload = data.read_embeddings_csv(largest_upload())
    results = [
        measure("digits", data.load_digits_points(), repeats),
        measure("largest upload", upload, max(3, repeats // 2)),
    ]
    rows = [
        [
            r["name"],
            f"{r['triplets']:,}",
            f"{r['density'] * 1e3:,.0f}",
            f"{r['counts'] * 1e3:,.0f}",
            f"{r['figure'] * 1e3:,.0f}",
            f"{r['json_kb']:,.0f}",
        ]
        for r in results
    ]
    digits = results[0]["density"]
    verdict = "met" if digits <= TARGET_S else "**NOT met**"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Triplet diagram (`python -m bench.triplet_diagram`), {stamp}, torch "
        f"{torch.__version__}, cpu, {torch.get_num_threads()} thread(s) (the app's setting), "
        f"{os.cpu_count()} cores, load average (1 min) {load:.1f} at the start; Euclidean, "
        f"{DEFAULT_BINS} x {DEFAULT_BINS} bins, margin {MARGIN}; medians of {repeats} calls "
        f"(the upload: {max(3, repeats // 2)}), each after a warm-up.",
        "",
        markdown_table(
            [
                "data",
                "valid triplets",
                "triplet_density ms",
                "kind_counts ms",
                "figure ms",
                "figure JSON KB",
            ],
            rows,
        ),  # fmt: skip
        "",
        f"Target: `triplet_density` on the digits <= {TARGET_S:.0f} s: {digits:.2f} s, {verdict}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    # "-cpu" whatever the device: the page computes the diagram on the CPU
    run_report(__doc__.split("\n\n")[0], 7, report, "triplet_diagram-cpu")


if __name__ == "__main__":
    main()
