"""The batch mining page's work, stage by stage: bundled digits and the largest upload.

Usage: ``python -m bench.mining_page [--repeats N]`` prints a markdown table.
Each data set runs in a fresh subprocess so its peak memory is its own. The
largest upload is a 5,000-row file just under the 5 MB limit (5,000 x 90
numbers, 10 classes). Stages are the page's cached calls: a first visit
pays all of them; moving the margin pays "another margin" only; moving the
anchor pays "anchor view" only.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time

import torch

from bench.common import markdown_table, measure_in_subprocess, median_seconds, peak_rss_mb
from lossviz.batches import point_sets as data
from lossviz.batches.analysis import BatchAnalysis

MARGIN = 1.0
UPLOAD_ROWS = 5_000
UPLOAD_COLUMNS = 90
CLASSES = 10


def largest_upload() -> bytes:
    """A valid CSV at the row limit, as close to 5 MB as whole columns allow."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(CLASSES, UPLOAD_COLUMNS, generator=gen)
    labels = torch.randint(0, CLASSES, (UPLOAD_ROWS,), generator=gen)
    x = centres[labels] + torch.randn(UPLOAD_ROWS, UPLOAD_COLUMNS, generator=gen)
    out = io.StringIO()
    out.write("label," + ",".join(f"e{j}" for j in range(UPLOAD_COLUMNS)) + "\n")
    for label, row in zip(labels.tolist(), x.tolist(), strict=True):
        out.write(f"c{label}," + ",".join(f"{v:.3f}" for v in row) + "\n")
    raw = out.getvalue().encode()
    assert len(raw) <= data.MAX_UPLOAD_BYTES, len(raw)
    return raw


def median_on_fresh(build, call, repeats: int) -> float:
    """Median wall time of ``call(build())``, building a fresh object outside the clock."""
    times = []
    for _ in range(repeats):
        fresh = build()
        start = time.perf_counter()
        call(fresh)
        times.append(time.perf_counter() - start)
        del fresh
    return statistics.median(times)


def run_one(which: str, repeats: int) -> dict:
    timings: dict[str, float] = {}
    device = torch.device("cpu")
    if which == "digits":
        points = data.load_digits_points()
        size = "1,797 x 64"
    else:
        raw = largest_upload()
        timings["read CSV"], points = median_seconds(
            lambda: data.read_embeddings_csv(raw), device, repeats
        )
        size = f"{UPLOAD_ROWS:,} x {UPLOAD_COLUMNS} ({len(raw) / 2**20:.1f} MB)"
    x, labels = points.embeddings, points.labels
    timings["build (distances, sort)"], analysis = median_seconds(
        lambda: BatchAnalysis(x, labels), device, repeats
    )

    def at_margin(on: BatchAnalysis, margin: float) -> object:
        return on.counts(margin), on.losses(margin), on.semihard_comparison(margin)

    # The first margin also computes what every margin shares (hardest pairs, prefix
    # sums, TF Addons' choices); a fresh analysis per repeat, built outside the clock.
    timings["first margin (counts, losses, semi-hard)"] = median_on_fresh(
        lambda: BatchAnalysis(x, labels), lambda fresh: at_margin(fresh, MARGIN), repeats
    )
    margins = iter([MARGIN + 0.01 * (k + 1) for k in range(repeats + 1)])
    timings["another margin"], _ = median_seconds(
        lambda: at_margin(analysis, next(margins)), device, repeats, warm_up=False
    )
    timings["histogram (40 bins) + sweep (26 margins)"], _ = median_seconds(
        lambda: (
            analysis.delta_histogram(40),
            analysis.shares_over_margins(torch.linspace(0, 5, 26).tolist()),
        ),
        device,
        repeats,
    )
    timings["anchor view"], _ = median_seconds(
        lambda: analysis.anchor_view(7, MARGIN), device, repeats
    )
    timings["triplet table (20,000 rows)"], _ = median_seconds(
        lambda: analysis.triplet_rows(MARGIN, 20_000), device, repeats
    )
    return {"size": size, "triplets": analysis.total, "timings": timings,
            "peak_mb": peak_rss_mb()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", nargs=2, metavar=("WHICH", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return
    results = {
        which: measure_in_subprocess("bench.mining_page", "--one", which, str(args.repeats))
        for which in ("digits", "upload")
    }
    stages = list(results["upload"]["timings"])
    rows = []
    for stage in stages:
        cells = [f"{results[w]['timings'][stage] * 1e3:,.0f}" if stage in results[w]["timings"]
                 else "–" for w in results]  # fmt: skip
        rows.append([stage, *cells])
    rows.append(["valid triplets", *(f"{results[w]['triplets']:,}" for w in results)])
    rows.append(["peak memory MB", *(f"{results[w]['peak_mb']:,.0f}" for w in results)])
    header = ["stage (ms, median)", f"digits {results['digits']['size']}",
              f"largest upload {results['upload']['size']}"]  # fmt: skip
    print(f"Batch mining page, CPU, Euclidean, margin {MARGIN}, median of {args.repeats}")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
