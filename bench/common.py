"""Timing and peak-memory helpers shared by the benchmarks.

The machine is small and shared: every figure is a median over repeats,
ours and the reference are measured in the same run, interleaved, and
reported as a ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(
    fn: Callable[[], object], device: torch.device, repeats: int, warm_up: bool = True
) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` runs, and the last result.

    ``warm_up`` runs ``fn`` once first, untimed; for runs of seconds, warm up
    on a small input instead.
    """
    if warm_up:
        fn()
        synchronize(device)
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def interleaved_medians(
    functions: dict[str, Callable[[], object]], device: torch.device, repeats: int
) -> dict[str, float]:
    """Median times of several functions, alternating them so background load hits all alike."""
    for fn in functions.values():
        fn()
    synchronize(device)
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_in_subprocess(module: str, *args: str) -> dict:
    """Run ``python -m module args`` and parse the JSON object it prints last.

    A fresh process per measurement makes peak-memory figures independent
    of what ran before.
    """
    out = subprocess.run(
        [sys.executable, "-m", module, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


RESULTS = Path(__file__).resolve().parent / "results"


def run_report(description: str, default_repeats: int, report: Callable[[int], str],
               results_name: str) -> None:  # fmt: skip
    """A bench's command line: ``--repeats`` (``default_repeats``), then ``report(repeats)``
    written to ``bench/results/<results_name>.md`` and printed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=default_repeats)
    text = report(parser.parse_args().repeats)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{results_name}.md").write_text(text, encoding="utf-8")
    print(text, end="")
