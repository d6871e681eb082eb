"""Speed of the collapse demo's training (targets: <= 3 s a run, <= 6 s side by side).

Usage: ``python -m bench.collapse_speed [--repeats N] [--threads 1 2]`` prints
markdown tables and writes ``bench/results/collapse_speed-<device>.md``.

Per thread count (``torch.set_num_threads``; the machine is small and
shared, so a busy neighbour hurts two threads more than one): a whole run
of ``PRESETS["collapse"]`` and ``PRESETS["quaterion_fix"]`` (digits, batch
128, 300 steps, a snapshot every 10 steps), the same runs with only the
first and last snapshot (the cost of training alone), and both presets in
lockstep, ``zip(train(a), train(b))``, as the page's side-by-side view runs
them. All four are interleaved and timed as medians. A second table times
one snapshot's parts on the 400-point evaluation set.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from bench.common import interleaved_medians, markdown_table, median_seconds
from lossviz.core.device import default_device
from lossviz.training.collapse import (
    PRESETS,
    SHARES_SIZE,
    Encoder,
    TrainConfig,
    evaluation_indices,
    load_points,
    mean_pairwise_distance,
    train,
    triplet_shares,
)

RESULTS = Path(__file__).resolve().parent / "results"
RUN_TARGET_S = 3.0
SIDE_BY_SIDE_TARGET_S = 6.0


def run(config: TrainConfig, device: torch.device) -> None:
    for _ in train(config, device):
        pass


def side_by_side(a: TrainConfig, b: TrainConfig, device: torch.device) -> None:
    for _ in zip(train(a, device), train(b, device), strict=True):
        pass


def run_rows(device: torch.device, repeats: int) -> list[list[str]]:
    classic, fix = PRESETS["collapse"], PRESETS["quaterion_fix"]
    bare = {"record_every": classic.steps}
    seconds = interleaved_medians(
        {
            "classic": lambda: run(classic, device),
            "fix": lambda: run(fix, device),
            "classic bare": lambda: run(classic.replace(**bare), device),
            "fix bare": lambda: run(fix.replace(**bare), device),
            "side by side": lambda: side_by_side(classic, fix, device),
        },
        device,
        repeats,
    )
    snapshots = classic.steps // classic.record_every + 1
    rows = []
    for name, config in (("classic", classic), ("fix", fix)):
        full, only_training = seconds[name], seconds[f"{name} bare"]
        per_snapshot = (full - only_training) / (snapshots - 2)
        noisy = per_snapshot <= 0  # load on the machine outweighed the snapshots
        rows.append(
            [
                f"{name} ({config.loss})",
                f"{full:.2f}",
                _verdict(full, RUN_TARGET_S),
                f"{config.steps / full:,.0f}",
                f"{config.steps / only_training:,.0f}",
                "(noise)" if noisy else f"{per_snapshot * 1e3:.1f}",
                "(noise)" if noisy else f"{(full - only_training) / full:.0%}",
            ]
        )
    both = seconds["side by side"]
    rows.append(
        [
            "side by side (zip of both)",
            f"{both:.2f}",
            _verdict(both, SIDE_BY_SIDE_TARGET_S),
            f"{2 * classic.steps / both:,.0f}",
            "",
            "",
            "",
        ]
    )
    return rows


def _verdict(seconds: float, target: float) -> str:
    return f"<= {target:g} s: {'yes' if seconds <= target else '**NO**'}"


def snapshot_rows(device: torch.device, repeats: int) -> list[list[str]]:
    """One snapshot's parts, on the preset's evaluation set with freshly initialised weights."""
    config = PRESETS["collapse"]
    data = load_points(config.dataset)
    generator = torch.Generator().manual_seed(0)
    index = evaluation_indices(data.labels, config.eval_size, generator)
    x = data.embeddings[index].to(device)
    labels = data.labels[index]
    encoder = Encoder(x.shape[1], config.hidden, generator, device=device)

    def forward() -> torch.Tensor:
        with torch.no_grad():
            return encoder(x).cpu()

    embeddings = forward()
    parts = {
        "forward of the evaluation set": forward,
        "spread (mean pairwise distance)": lambda: mean_pairwise_distance(embeddings),
        f"shares (count_triplets, {SHARES_SIZE} points)": lambda: triplet_shares(
            embeddings[:SHARES_SIZE], labels[:SHARES_SIZE], config.margin
        ),
        f"(shares on all {len(labels)} points, not used)": lambda: triplet_shares(
            embeddings, labels, config.margin
        ),
    }
    return [
        [name, f"{median_seconds(fn, device, repeats * 10)[0] * 1e3:.2f}"]
        for name, fn in parts.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    device = default_device()
    config = PRESETS["collapse"]
    run(config.replace(steps=5), device)  # warm-up: loads the digits, first-call set-up
    lines = [
        f"Collapse training speed, digits, batch {config.batch_size}, {config.steps} steps, "
        f"snapshot every {config.record_every} steps ({config.eval_size} points), {device.type}, "
        f"median of {args.repeats}.",
        "",
    ]
    header = [
        "run",
        "seconds",
        "target",
        "steps/s",
        "steps/s, training only",
        "ms per snapshot",
        "snapshots' share",
    ]
    for threads in args.threads:
        torch.set_num_threads(threads)
        lines += [
            f"torch threads: {threads}",
            "",
            markdown_table(header, run_rows(device, args.repeats)),
            "",
        ]
    lines += [
        f"One snapshot's parts (torch threads: {torch.get_num_threads()})",
        "",
        markdown_table(["part", "ms"], snapshot_rows(device, args.repeats)),
    ]
    lines += [
        "",
        "Load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"collapse_speed-{device.type}.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
