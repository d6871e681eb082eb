"""Triplet loss forward + backward: lossviz vs ``F.triplet_margin_loss``.

Usage: ``python -m bench.triplet_loss [--repeats N]``. Prints a markdown table.
Target: ratio (ours / torch) <= 1.10 at every batch size.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from bench.common import interleaved_medians, markdown_table
from lossviz.core.device import default_device
from lossviz.core.losses import triplet_margin_loss

BATCH_SIZES = (32, 1024, 65536)
DIM = 128


def forward_backward(loss_fn, tensors):
    def run():
        for t in tensors:
            t.grad = None
        loss_fn(*tensors, margin=1.0).backward()

    return run


def measure(device: torch.device, repeats: int) -> list[list[str]]:
    rows = []
    for batch in BATCH_SIZES:
        gen = torch.Generator().manual_seed(batch)
        tensors = [
            torch.randn(batch, DIM, generator=gen).to(device).requires_grad_() for _ in range(3)
        ]
        # Small batches are microseconds long: time many calls per sample.
        inner = max(1, 4096 // batch)

        def many(loss_fn, inner=inner, tensors=tensors):
            step = forward_backward(loss_fn, tensors)
            return lambda: [step() for _ in range(inner)]

        medians = interleaved_medians(
            {"ours": many(triplet_margin_loss), "torch": many(F.triplet_margin_loss)},
            device,
            repeats,
        )
        ours, ref = medians["ours"] / inner, medians["torch"] / inner
        rows.append([f"{batch:,}", f"{ref * 1e3:.3f}", f"{ours * 1e3:.3f}", f"{ours / ref:.2f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    device = default_device()
    rows = measure(device, args.repeats)
    print(f"Triplet loss forward+backward, D = {DIM}, float32, {device.type}, median ms")
    print(markdown_table(["B", "F.triplet_margin_loss", "lossviz", "ratio"], rows))


if __name__ == "__main__":
    main()
