"""Exact triplet counting: ``count_triplets`` vs pytorch-metric-learning's miner.

Usage: ``python -m bench.counting [--repeats N]`` prints markdown tables.
Each configuration runs in a fresh subprocess (``--one``) so peak memory is
that run's alone. Targets: the same counts, >= 50x faster and <= 1/10 of the
miner's peak memory at N in {512, 1024}; ours alone at N = 3000 in <= 2 s.

The miner enumerates triplets of one kind per call, so it is timed once per
kind; ``count_triplets`` returns all three kinds in one call. The ratio
compares one miner call with one ``count_triplets`` call.
"""

from __future__ import annotations

import argparse
import json

import torch

from bench.common import markdown_table, measure_in_subprocess, median_seconds, peak_rss_mb
from lossviz.core.device import default_device
from lossviz.core.triplets import Kind, count_triplets

DIM = 64
CLASSES = 8
MARGIN = 0.2
MINER_TYPES = {"all": None, "easy": Kind.EASY, "semihard": Kind.SEMI_HARD, "hard": Kind.HARD}


def batch(n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised random float64 embeddings (as an encoder with L2 output gives), 8 classes.

    float64 so that the miner, which computes in the input's precision,
    classifies near-ties exactly as ``count_triplets`` (always float64) does;
    in float32 the two differ by rounding on a few triplets in a million.
    """
    gen = torch.Generator().manual_seed(n)
    x = torch.randn(n, DIM, generator=gen, dtype=torch.float64)
    x = torch.nn.functional.normalize(x, dim=1)
    labels = torch.randint(0, CLASSES, (n,), generator=gen)
    return x.to(device), labels.to(device)


def expected_count(counts: dict[Kind, int], kind: Kind | None) -> int:
    return counts[Kind.SEMI_HARD] + counts[Kind.HARD] if kind is None else counts[kind]


def run_one(which: str, n: int, repeats: int) -> dict:
    """One measurement in this process: median seconds, peak RSS growth, counts."""
    device = default_device()
    if which == "ours":
        method = lambda x, labels: count_triplets(x, labels, MARGIN)  # noqa: E731
    else:
        from pytorch_metric_learning.distances import LpDistance
        from pytorch_metric_learning.miners import TripletMarginMiner

        miner = TripletMarginMiner(
            margin=MARGIN, type_of_triplets=which, distance=LpDistance(normalize_embeddings=False)
        )
        method = miner
    method(*batch(32, device))  # warm-up: first-call initialisation is not what we measure
    x, labels = batch(n, device)
    base = peak_rss_mb()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds, found = median_seconds(lambda: method(x, labels), device, repeats, warm_up=False)
    if which == "ours":
        result = {kind.name: count for kind, count in found.items()}
    else:
        result = {"found": len(found[0])}
    peak = peak_rss_mb() - base
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    return {"seconds": seconds, "peak_mb": peak, "device": device.type, **result}


def compare(n: int, repeats: int) -> list[list[str]]:
    ours = measure_in_subprocess("bench.counting", "--one", "ours", str(n), str(repeats))
    counts = {Kind[name]: ours[name] for name in ("EASY", "SEMI_HARD", "HARD")}
    rows = []
    for name, kind in MINER_TYPES.items():
        ref = measure_in_subprocess("bench.counting", "--one", name, str(n), str(repeats))
        same = ref["found"] == expected_count(counts, kind)
        rows.append(
            [
                f"{n:,}",
                name,
                f"{ref['found']:,}",
                "yes" if same else "**NO**",
                f"{ref['seconds'] * 1e3:,.0f}",
                f"{ours['seconds'] * 1e3:,.1f}",
                f"{ref['seconds'] / ours['seconds']:,.0f}x",
                f"{ref['peak_mb']:,.0f}",
                f"{ours['peak_mb']:,.0f}",
                f"1/{ref['peak_mb'] / max(ours['peak_mb'], 1):,.0f}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--one", nargs=3, metavar=("WHICH", "N", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        which, n, repeats = args.one
        print(json.dumps(run_one(which, int(n), int(repeats))))
        return
    device = default_device().type
    rows = [row for n in args.sizes for row in compare(n, args.repeats)]
    header = [
        "N",
        "miner type",
        "triplets",
        "same count",
        "miner ms",
        "count_triplets ms",
        "speed-up",
        "miner peak MB",
        "ours peak MB",
        "memory",
    ]
    print(f"Triplet counting, D = {DIM}, {CLASSES} classes, margin {MARGIN}, {device}, median")
    print(markdown_table(header, rows))
    big = measure_in_subprocess("bench.counting", "--one", "ours", "3000", str(args.repeats))
    total = big["EASY"] + big["SEMI_HARD"] + big["HARD"]
    print()
    print(
        markdown_table(
            ["N", "valid triplets", "count_triplets s", "peak MB"],
            [["3,000", f"{total:,}", f"{big['seconds']:.2f}", f"{big['peak_mb']:,.0f}"]],
        )
    )


if __name__ == "__main__":
    main()
