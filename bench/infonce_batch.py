"""The InfoNCE page's batch reading: server CPU of ``read_batch`` on 2N = 128, 256 and 512
views (target: <= 100 ms of CPU at 2N = 512), with what the page builds around it.

Usage: ``python -m bench.infonce_batch [--repeats N]``; writes
``bench/results/infonce_batch-<device>.md`` and prints it.

Torch's intra-op threads are set as the app sets them (``LOSSVIZ_TORCH_THREADS``, else one:
``lossviz.ui.setup.configure_process``). Each call is timed alone, by the process's CPU
clock (``time.process_time``: every thread's CPU, what the server pays) and by the wall
clock (``time.perf_counter``); the figures are medians over the repeats, after one untimed
warm-up call. Batches are 3-D (the sphere), at tau = 0.1, views' noise 0.2, seed 0, from
both sources: the digits' classes are unbalanced, the blobs' four are large (64 examples
each at N = 256), which is what the class-label NT-Xent's cost would grow with if it were
computed per positive pair.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import torch

from bench.common import markdown_table, run_report
from lossviz.batches.contrastive_batch import read_batch, temperature_sweep
from lossviz.batches.contrastive_views import make_views
from lossviz.core.device import default_device, describe_device
from lossviz.figures.contrastive import similarity_heatmap, softmax_row, views_figure

EXAMPLES = (64, 128, 256)  # 2N = 128, 256, 512 views
SOURCES = ("blobs", "digits")
TEMPERATURE = 0.1
NOISE = 0.2
TARGET_MS = 100.0  # CPU per read_batch at 2N = 512
THREADS_ENV_VAR = "LOSSVIZ_TORCH_THREADS"  # lossviz.ui.setup's (not imported: Streamlit)


def app_threads() -> int:
    """The intra-op thread count the app's server uses (``configure_process``'s rule)."""
    return int(os.environ.get(THREADS_ENV_VAR, "0") or 0) or 1


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median (CPU ms, wall ms) of ``fn()`` over ``repeats`` calls, after one warm-up."""
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu) * 1e3, statistics.median(wall) * 1e3


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _around(source: str, n: int) -> list[tuple[str, Callable[[], object]]]:
    """What the page computes and draws around a reading, at N = ``n``."""
    batch = make_views(source, n, 3, NOISE, 0)
    reading = read_batch(batch, TEMPERATURE)
    s, w = reading.similarity.numpy(), reading.weights.numpy()
    partner, classes = reading.partner.numpy(), batch.classes.numpy()
    views, examples = batch.views.numpy(), batch.example.numpy()
    return [
        ("make_views", lambda: make_views(source, n, 3, NOISE, 0)),
        ("temperature_sweep (25 temperatures)", lambda: temperature_sweep(batch)),
        ("similarity_heatmap", lambda: similarity_heatmap(s, w, partner, anchor=0)),
        ("similarity_heatmap to JSON", lambda: similarity_heatmap(s, w, partner).to_json()),
        ("softmax_row", lambda: softmax_row(w[0], 0, int(partner[0]), classes=classes)),
        ("views_figure (sphere)",
         lambda: views_figure(views, examples, classes, batch.class_names, anchor=0)),
    ]  # fmt: skip


def _heatmap_sizes(source: str) -> list[str]:
    """The heatmap's JSON in MB at 2N = 512, with the weights for the hover and without."""
    batch = make_views(source, EXAMPLES[-1], 3, NOISE, 0)
    reading = read_batch(batch, TEMPERATURE)
    s, w, partner = reading.similarity.numpy(), reading.weights.numpy(), reading.partner.numpy()
    return [
        f"{len(similarity_heatmap(s, w, partner, with_weights=with_weights).to_json()) / 1e6:.2f}"
        for with_weights in (True, False)
    ]


def measure(repeats: int) -> tuple[list[list[str]], list[list[str]], dict[str, float]]:
    """The read_batch table, the table of the rest at 2N = 512, and read_batch's CPU ms at
    2N = 512 per source."""
    reads: list[list[str]] = []
    at_512: dict[str, float] = {}
    for examples in EXAMPLES:
        for source in SOURCES:
            batch = make_views(source, examples, 3, NOISE, 0)
            cpu, wall = timed(lambda batch=batch: read_batch(batch, TEMPERATURE), repeats)
            classes = int(batch.classes.unique().numel())
            reads.append([f"{2 * examples}", source, f"{classes}", _ms(cpu), _ms(wall)])
            if examples == EXAMPLES[-1]:
                at_512[source] = cpu
    rest: list[list[str]] = []
    for source in SOURCES:
        for name, fn in _around(source, EXAMPLES[-1]):
            cpu, wall = timed(fn, max(3, repeats // 3))
            rest.append([name, source, _ms(cpu), _ms(wall)])
        rest.append(["heatmap JSON MB (with weights / without)", source, *_heatmap_sizes(source)])
    return reads, rest, at_512


def report(repeats: int) -> str:
    torch.set_num_threads(app_threads())
    device = default_device()
    load = os.getloadavg()[0]
    reads, rest, at_512 = measure(repeats)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    verdicts = "; ".join(
        f"{source} {cpu:.1f} ms {'met' if cpu <= TARGET_MS else '**NOT met**'}"
        for source, cpu in at_512.items()
    )
    lines = [
        f"InfoNCE batch reading (`python -m bench.infonce_batch`), {stamp}, torch "
        f"{torch.__version__}, computing on {describe_device(device)}, the app's thread "
        f"setting, {os.cpu_count()} cores, load average (1 min) {load:.1f} at the start; "
        f"3-D views, tau = {TEMPERATURE}, noise {NOISE}; medians of {repeats} calls (the "
        f"rest: of {max(3, repeats // 3)}), each timed alone after a warm-up.",
        "",
        markdown_table(
            ["2N views", "source", "classes", "read_batch CPU ms", "read_batch wall ms"], reads
        ),
        "",
        f"Around it, at 2N = {2 * EXAMPLES[-1]}:",
        "",
        markdown_table(["step", "source", "CPU ms", "wall ms"], rest),
        "",
        f"Target: read_batch <= {TARGET_MS:.0f} ms of CPU at 2N = {2 * EXAMPLES[-1]}: {verdicts}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    run_report(__doc__.split("\n\n")[0], 21, report, f"infonce_batch-{default_device().type}")


if __name__ == "__main__":
    main()
