"""How long the collapse page's "Take it to slides" GIF takes to build, and how big it is.

Usage: ``python -m bench.collapse_gif [--repeats 3] [--widths 960 1280]`` prints a markdown
table and writes ``bench/results/collapse_gif-cpu.md``.

The run is the page's default side-by-side run (``lossviz.ui.collapse_page.configs`` of a
default ``CollapseScene``: digits, classic batch-hard beside Quaterion's fix, 300 steps,
400 evaluation points, 61 records), trained once, untimed. Each width's
:func:`lossviz.training.run_gif.run_gif` is then timed as a median of ``repeats`` (after one
untimed build of three records). Targets from the issue: <= 10 s and <= 5 MB at the
default width.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import torch
from PIL import Image

from bench.common import markdown_table, median_seconds
from lossviz.scenes.scene import CollapseScene
from lossviz.scenes.training_scenes import configs
from lossviz.training.collapse import LOSS_LABELS, load_points
from lossviz.training.run_gif import run_gif
from lossviz.training.side_by_side import SideBySide

RESULTS = Path(__file__).resolve().parent / "results"
SECONDS_TARGET = 10.0
MB_TARGET = 5.0
DEFAULT_WIDTH = 960


def default_run() -> tuple[SideBySide, float]:
    """The page's default side-by-side run, trained to the end, and the seconds it took."""
    start = time.perf_counter()
    run = SideBySide(configs(CollapseScene()), "cpu")
    while not run.finished:
        run.advance(10)
    return run, time.perf_counter() - start


def gif_row(run: SideBySide, width: int, repeats: int) -> list[str]:
    frames = run.frames()
    titles = [LOSS_LABELS[config.loss] for config in run.configs]
    names = load_points(run.configs[0].dataset).names
    margin = run.configs[0].margin

    def build() -> bytes:
        return run_gif(frames, titles, names, margin, width=width)

    run_gif(frames[:3], titles, names, margin, width=width)  # warm-up: fonts, first calls
    seconds, data = median_seconds(build, torch.device("cpu"), repeats, warm_up=False)
    size = Image.open(io.BytesIO(data)).size
    mb = len(data) / 1e6
    verdict = width != DEFAULT_WIDTH or (seconds <= SECONDS_TARGET and mb <= MB_TARGET)
    return [
        f"{width}" + (" (default)" if width == DEFAULT_WIDTH else ""),
        f"{len(frames)}",
        f"{size[0]} x {size[1]}",
        f"{seconds:.2f}",
        f"{mb:.2f}",
        "yes" if verdict else "**NO**",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--widths", type=int, nargs="+", default=[DEFAULT_WIDTH, 1280])
    args = parser.parse_args()
    run, training = default_run()
    header = ["width px", "frames", "GIF px", "seconds", "MB", "targets met"]
    rows = [gif_row(run, width, args.repeats) for width in args.widths]
    config = run.configs[0]
    lines = [
        f"Collapse run as a GIF (lossviz.training.run_gif): the page's default run, "
        f"{' vs '.join(c.loss for c in run.configs)}, {config.dataset}, {config.steps} steps, "
        f"a record every {config.record_every} steps, {config.eval_size} points; "
        f"cpu, median of {args.repeats}. Targets at the default width: "
        f"<= {SECONDS_TARGET:g} s, <= {MB_TARGET:g} MB.",
        "",
        markdown_table(header, rows),
        "",
        f"Training the run (not part of the GIF's time): {training:.1f} s.",
        "Load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "collapse_gif-cpu.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
