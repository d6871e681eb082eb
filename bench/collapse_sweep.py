"""Which settings make batch-hard training collapse, and does the fix prevent it?

Usage: ``python -m bench.collapse_sweep [--seeds N] [--steps S]`` prints a
markdown table and writes ``bench/results/collapse_sweep-<device>.md``.
Digits, MLP 64-64-2, batch 128, margin 0.2 (``PRESETS["collapse"]``), varying
the loss, optimiser, learning rate and L2-normalised outputs over seeds
0..N-1; then the other losses and the blobs data set at the preset's settings.

A run counts as collapsed when the evaluation set's final spread is at most
``COLLAPSE_RATIO`` (1%) of its step-0 value and the final batch loss is
within 2% of the margin (what a collapsed batch-hard batch gives). "step"
is the first recorded step (every 20) where the spread is <= 1%. One torch
thread (``--threads``): on this small shared machine two threads suffer more
from a busy neighbour than they gain.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from bench.common import markdown_table
from lossviz.core.device import default_device
from lossviz.training.collapse import (
    COLLAPSE_RATIO,
    LOSS_LABELS,
    PRESETS,
    TrainConfig,
    collapsed,
    train,
)

RESULTS = Path(__file__).resolve().parent / "results"
LOSS_TOLERANCE = 0.02  # the collapsed loss sits at the margin: within 2% of it
RECORD_EVERY = 20

LEARNING_RATES = {"adam": (0.003, 0.03, 0.1), "sgd": (0.1, 1.0, 3.0)}
# batch_all and batch_semihard cost O(B^3) a step: their rows use batch 64 (as the semihard preset).
CUBIC_BATCH = 64


def run(config: TrainConfig, device) -> dict:
    snapshots = list(train(config, device))
    first, last = snapshots[0], snapshots[-1]
    when = next((s.step for s in snapshots if collapsed(first, s)), None)
    loss_ratio = last.loss / config.margin
    return {
        "collapsed": collapsed(first, last) and abs(loss_ratio - 1) <= LOSS_TOLERANCE,
        "spread_ratio": last.spread / first.spread,
        "loss_ratio": loss_ratio,
        "when": when,
        "stopped": last.stopped is not None,
    }


def _range(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return format(low, fmt) if low == high else f"{low:{fmt}} – {high:{fmt}}"


def row(config: TrainConfig, seeds: int, device) -> list[str]:
    results = [run(config.replace(seed=seed), device) for seed in range(seeds)]
    whens = [r["when"] for r in results if r["when"] is not None]
    stops = sum(r["stopped"] for r in results)
    return [
        config.dataset,
        str(config.batch_size),
        config.loss,
        config.optimizer,
        f"{config.lr:g}",
        "yes" if config.l2_normalize else "no",
        f"{sum(r['collapsed'] for r in results)}/{seeds}"
        + (f" ({stops} stopped)" if stops else ""),
        _range([r["spread_ratio"] for r in results], ".2g"),
        _range([r["loss_ratio"] for r in results], ".3f"),
        f"{statistics.median(whens):g}" if whens else "–",
    ]


def configs() -> list[TrainConfig]:
    base = PRESETS["collapse"]
    grid = [
        base.replace(loss=loss, optimizer=optimizer, lr=lr, l2_normalize=l2)
        for loss in ("batch_hard", "batch_hard_fix")
        for l2 in (False, True)
        for optimizer, rates in LEARNING_RATES.items()
        for lr in rates
    ]
    others = [
        base.replace(loss=loss, batch_size=CUBIC_BATCH) for loss in ("batch_all", "batch_semihard")
    ]
    blobs = [
        base.replace(dataset="blobs", loss=loss, lr=lr)
        for loss in ("batch_hard", "batch_hard_fix")
        for lr in (0.03, 0.1)
    ]
    return grid + others + blobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=PRESETS["collapse"].steps)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = default_device()
    start = time.perf_counter()
    rows = [
        row(config.replace(steps=args.steps, record_every=RECORD_EVERY), args.seeds, device)
        for config in configs()
    ]
    elapsed = time.perf_counter() - start
    header = [
        "data",
        "batch",
        "loss",
        "optimizer",
        "lr",
        "L2 out",
        "collapsed",
        "final spread / start",
        "final loss / margin",
        "median step <= 1%",
    ]
    base = PRESETS["collapse"]
    text = "\n".join(
        [
            f"Collapse sweep: MLP in-{base.hidden}-2, margin {base.margin}, {args.steps} steps, "
            f"seeds 0..{args.seeds - 1}, {device.type}, {args.threads} torch thread(s). "
            f"Collapsed: spread <= {COLLAPSE_RATIO:.0%} of step 0 and loss within "
            f"{LOSS_TOLERANCE:.0%} of the margin. Ranges are min – max over seeds.",
            "",
            markdown_table(header, rows),
            "",
            "Losses: " + "; ".join(f"{name} = {label}" for name, label in LOSS_LABELS.items()),
            f"Sweep time: {elapsed:.0f} s.",
        ]
    )
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"collapse_sweep-{device.type}.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
