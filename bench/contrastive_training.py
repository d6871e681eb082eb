"""Speed of the SimCLR-style digits training (target: <= 3 s a run, warm, at default settings
with every record's spectrum).

Usage: ``python -m bench.contrastive_training [--repeats N]``; writes
``bench/results/contrastive_training-<device>.md`` and prints it.

Each preset of :data:`lossviz.training.contrastive_training.PRESETS` (batch 128, 300 steps, a
record every 10 steps: 31 records of the 512 probe digits, each with alignment, uniformity,
the points and two covariance spectra) is trained whole, and again recording only the first
and last steps (the cost of training alone); the two preset pairs also in lockstep
(``train_pair``), as a page would show them. Torch's intra-op threads are set as the app sets
them (``LOSSVIZ_TORCH_THREADS``, else one: ``lossviz.ui.setup.configure_process``). Every
variant is run once untimed (warm: the digits loaded, first-call set-up done), then all are
interleaved ``repeats`` times so background load hits them alike; the figures are medians of
the wall clock (``time.perf_counter``) and of the process's CPU clock (``time.process_time``,
every thread's CPU: what the server pays). What the records cost is the CPU difference
between a whole run and the same run recording only its first and last steps. A second
table times one record's parts.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import torch

from bench.common import markdown_table, run_report
from lossviz.core.device import default_device, describe_device
from lossviz.training.contrastive_training import (
    PRESET_PAIRS,
    PRESETS,
    ContrastiveConfig,
    ContrastiveEncoder,
    covariance_spectrum,
    effective_rank,
    make_probe,
    measure,
    train_contrastive,
    train_pair,
)

RUN_TARGET_S = 3.0
THREADS_ENV_VAR = "LOSSVIZ_TORCH_THREADS"  # lossviz.ui.setup's (not imported: Streamlit)


def app_threads() -> int:
    """The intra-op thread count the app's server uses (``configure_process``'s rule)."""
    return int(os.environ.get(THREADS_ENV_VAR, "0") or 0) or 1


def interleaved(
    functions: dict[str, Callable[[], object]], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median (wall s, CPU s) of each function: one untimed call each, then ``repeats``
    rounds calling each in turn."""
    for fn in functions.values():
        fn()
    wall: dict[str, list[float]] = {name: [] for name in functions}
    cpu: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in wall}


def bare(config: ContrastiveConfig) -> ContrastiveConfig:
    """The same run recording only its first and last steps."""
    return config.replace(record_every=config.steps)


def _verdict(seconds: float, target: float) -> str:
    return f"<= {target:g} s: {'yes' if seconds <= target else '**NO**'}"


def run_rows(repeats: int, device: torch.device) -> list[list[str]]:
    functions: dict[str, Callable[[], object]] = {}
    for name, (config, _) in PRESETS.items():
        functions[name] = lambda c=config: train_contrastive(c, device)
        functions[f"{name} bare"] = lambda c=config: train_contrastive(bare(c), device)
    for first, second in PRESET_PAIRS:
        a, b = PRESETS[first][0], PRESETS[second][0]
        functions[f"{first} + {second}"] = lambda a=a, b=b: train_pair(a, b, device)
    seconds = interleaved(functions, repeats)
    rows = []
    for name, (config, _) in PRESETS.items():
        (wall, cpu), (_, bare_cpu) = seconds[name], seconds[f"{name} bare"]
        records = config.steps // config.record_every + 1
        per_record = (cpu - bare_cpu) / (records - 2)  # CPU: less noisy than wall under load
        noisy = per_record <= 0  # load on the machine outweighed the records
        rows.append(
            [
                name,
                f"{config.output_dim}",
                f"{wall:.2f}",
                f"{cpu:.2f}",
                _verdict(wall, RUN_TARGET_S),
                f"{bare_cpu:.2f}",
                "(noise)" if noisy else f"{per_record * 1e3:.1f}",
                "(noise)" if noisy else f"{(cpu - bare_cpu) / cpu:.0%}",
            ]
        )
    for first, second in PRESET_PAIRS:
        wall, cpu = seconds[f"{first} + {second}"]
        rows.append(
            [
                f"{first} + {second} (lockstep)",
                "",
                f"{wall:.2f}",
                f"{cpu:.2f}",
                _verdict(wall, 2 * RUN_TARGET_S),
                "",
                "",
                "",
            ]
        )
    return rows


def record_rows(repeats: int, device: torch.device) -> list[list[str]]:
    """One record's parts on the probe set, fresh weights, output dimension 32."""
    config = PRESETS["collapsing"][0]
    encoder, probe = ContrastiveEncoder(config, device), make_probe(config, device)
    with torch.no_grad():
        h = encoder.representation(probe.images).cpu()
    spectrum = covariance_spectrum(h)
    parts: dict[str, Callable[[], object]] = {
        "whole record (measure)": lambda: measure(encoder, probe, config.output_dim),
        "covariance spectrum (32 x 32)": lambda: covariance_spectrum(h),
        "effective rank": lambda: effective_rank(spectrum),
    }
    seconds = interleaved(parts, repeats * 10)
    return [
        [name, f"{wall * 1e3:.2f}", f"{cpu * 1e3:.2f}"] for name, (wall, cpu) in seconds.items()
    ]


def report(repeats: int) -> str:
    threads = app_threads()
    torch.set_num_threads(threads)
    device = default_device()
    load = os.getloadavg()[0]
    config = PRESETS["collapsing"][0]
    train_contrastive(config.replace(steps=5), device)  # warm-up: loads the digits
    rows = run_rows(repeats, device)
    parts = record_rows(repeats, device)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"SimCLR-style digits training (`python -m bench.contrastive_training`), {stamp}, torch "
        f"{torch.__version__}, computing on {describe_device(device)}, the app's thread "
        f"setting, {os.cpu_count()} cores, load average (1 min) {load:.1f} at the start; batch "
        f"{config.batch_size}, {config.steps} steps, a record every {config.record_every} steps "
        f"(512 probe digits); medians of {repeats} interleaved runs after a warm-up.",
        "",
        markdown_table(
            [
                "preset",
                "output dim",
                "wall s",
                "CPU s",
                "target",
                "CPU s, first and last records only",
                "CPU ms per record",
                "records' share of CPU",
            ],
            rows,
        ),
        "",
        f"One record's parts (torch threads: {torch.get_num_threads()}), median of {repeats * 10}:",
        "",
        markdown_table(["part", "wall ms", "CPU ms"], parts),
        "",
        "Load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    run_report(__doc__.split("\n\n")[0], 5, report, f"contrastive_training-{default_device().type}")


if __name__ == "__main__":
    main()
