"""Run every benchmark (``make bench``), keep each one's tables in ``bench/results/`` and
write ``docs/benchmarks.md`` from them.

Usage::

    python -m bench.run_all              # every benchmark (well over an hour), then the page
    python -m bench.run_all --docs-only  # only docs/benchmarks.md, from bench/results/*.md

Most benchmarks write their own results file, ``bench/results/<name>-<device>.md``. One
that wrote nothing under ``bench/results/`` during its run only printed its tables: what
it printed is saved as its results file. Then every ``bench/results/*.md`` goes into
``docs/benchmarks.md``, verbatim (its headings moved two levels down, a blank line around
each table), under a heading naming the script that makes it and its targets
(:data:`BENCHMARKS`). The page is written from the files alone: never edit it by hand.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DOCS_PAGE = REPO / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Result:
    """One results file, ``bench/results/<stem>-<device>.md``: what it holds, the command
    that writes it and the targets it is measured against."""

    stem: str
    title: str
    command: str
    targets: str
    about: str = ""  # how to read it, in words that stay true when the figures change


@dataclass(frozen=True)
class Benchmark:
    """A benchmark module, the results files it makes, and when its printed tables are
    saved for it, the device they were measured on (None: the core's default device)."""

    module: str
    results: tuple[Result, ...]
    note: str = ""
    device: str | None = None


def _one(
    name: str,
    title: str,
    targets: str,
    about: str = "",
    note: str = "",
    device: str | None = None,
) -> Benchmark:
    """A benchmark with one results file, ``bench/results/<name>-<device>.md``."""
    result = Result(name, title, f"python -m bench.{name}", targets, about)
    return Benchmark(f"bench.{name}", (result,), note, device)


# In the order `make bench` runs them (and the page lists them).
BENCHMARKS: tuple[Benchmark, ...] = (
    _one(
        "triplet_loss",
        "Triplet loss, forward and backward",
        "lossviz / `F.triplet_margin_loss` <= 1.10 at every batch size.",
        "lossviz's loss is a few Python-level torch operations where torch's is one C++ "
        "call: the only extra cost is each operation's dispatch, visible at small batches.",
    ),
    _one(
        "counting",
        "Exact triplet counting against pytorch-metric-learning's miner",
        "the same counts, >= 50x faster and <= 1/10 of the miner's peak memory at "
        "N = 512 and 1,024; `count_triplets` alone at N = 3,000 in <= 2 s.",
        "The miner enumerates the triplets of one kind per call, materialising an N x N x N "
        "mask; `count_triplets` sorts each anchor's negatives once and binary-searches, "
        "returning all three counts in one call, so a ratio compares one miner call with one "
        "`count_triplets` call (the miner needs three calls for the three counts). Inputs are "
        "float64, so that both sides classify near-ties with the same precision. Peak memory "
        "is the growth of the process's peak RSS during the timed calls, each configuration "
        "in a fresh process.",
    ),
    _one(
        "infonce_batch",
        "InfoNCE page: reading a batch of 2N views",
        "`read_batch` <= 100 ms of server CPU at 2N = 512 views.",
        "`read_batch` is everything the page shows of a batch at one temperature: the 2N x 2N "
        "cosines, each row's softmax, NT-Xent per anchor, lightly's and pytorch-metric-"
        "learning's NT-Xent (instance and class labels), SupCon, CLIP's loss, alignment and "
        "uniformity, in float64. PML's class-label NT-Xent is computed in O(M^2) (the "
        "negatives' log-sum-exp once per anchor), not one row per positive pair. The second "
        "table is what the page builds around a reading; the heatmap's size is what one "
        "rerun sends for it.",
    ),
    _one(
        "infonce_latency",
        "InfoNCE on the circle: dragging in a browser",
        "the plane's read-out within a frame of a pointer move (median <= 20 ms).",
        "k = 16 negatives (the most labels and bars to place); every recorded read-out is "
        "checked against `read_circle` on its positions.",
        note="Needs Debian chromium.",
    ),
    _one(
        "playground_rerun",
        "Server CPU of a playground, contrastive and InfoNCE rerun",
        "median <= 15 ms of server CPU per rerun, for the whole page and for a drop "
        "(AppTest's 30 ms before the benchmark measured the server itself); the InfoNCE "
        "page's no more than the playground's.",
        "A *page* rerun is the whole page, nothing changed; a *drop* moves N (X2) and reruns "
        "the plane's fragment. What is left of a page rerun is Streamlit's, per element: "
        "about 50 messages (sidebar widgets, columns, metrics, the plane, buttons, toggles), "
        "each built and sent with a wake-up of the server's event loop; an empty page costs "
        "3 ms, each further Markdown element about 0.1 ms, a widget or a `st.columns` call "
        "about 0.3 ms. The pages' own work on a rerun of a scene already seen is under "
        "0.5 ms (each reading, plane description, heatmap and curve computed once per scene "
        "in the process); a contrastive drop still builds its Plotly figure (2.5 to 4 ms) "
        "and reads the pair twice (1.4 ms).",
    ),
    _one(
        "playground_latency",
        "Triplet playground: dragging and dropping in a browser",
        "the plane's read-out within a frame of a pointer move (median <= 20 ms, p95 <= "
        "50 ms); a drop within 1.5x a bare Streamlit page's round trip.",
        "Each end mark is the first frame that shows the new state, in the page's own clock; "
        "every recorded read-out is checked against the torch core on its positions, so a "
        "stale read-out cannot pass as fast. Where a drop's time goes: "
        "[architecture.md](architecture.md#from-a-drag-to-the-screen).",
        note="Needs Debian chromium.",
    ),
    _one(
        "mining_page",
        "Batch mining page: what each step costs",
        "none (slow steps show a spinner on the page).",
        "A first visit pays every row; moving the margin pays 'another margin' (what does "
        "not depend on the margin, such as each anchor's hardest pair and TF Addons' "
        "choices, is computed once per data set); choosing an anchor pays 'anchor view'. "
        "Results are cached per data set and margin for every session of a server.",
        device="cpu",
    ),
    _one(
        "triplet_diagram",
        "Mining page: the triplet diagram",
        "`triplet_density` on the 1,797 digits (519 million triplets) in <= 2 s.",
        "Every valid triplet is binned at (d(a, p), d(a, n)) without enumerating it: per "
        "anchor a histogram of its positive distances and one of its negative distances, "
        "and the batch's 2-D histogram is their product summed over anchors (one small "
        "matrix product), with batch-hard's and semi-hard's pick per anchor. The page caches "
        "it per data set and distance; a new margin costs `kind_counts` (exact, the numbers "
        "`BatchAnalysis.counts` gives) and the figure.",
        device="cpu",
    ),
    _one(
        "expr_attacks",
        "Typed distances: hostile input",
        "every hostile expression refused in < 100 ms.",
        "The corpus is the tests' (`tests/test_expr.py`: attribute walks, `__import__`, "
        "lambdas, comprehensions, huge powers, deep nesting, very long input). Nothing a "
        "user types is evaluated: the parser walks an allow-listed syntax tree on tensors.",
    ),
    _one(
        "collapse_speed",
        "Collapse training speed",
        "<= 3 s a run, <= 6 s side by side.",
        "Under load (other work on the 2 cores) two torch threads made training 5 to 10 "
        "times slower, so the app uses one by default (`LOSSVIZ_TORCH_THREADS` overrides).",
    ),
    _one(
        "collapse_sweep",
        "Which settings collapse: the sweep behind the collapse presets",
        "none; it finds the presets (`collapse` collapses on every seed, "
        "`quaterion_fix` never does).",
        "A run counts as collapsed when the evaluation set's final spread is at most 1% of "
        "its start and its final batch loss within 2% of the margin. The collapse page's "
        "presets come from this table ([pages.md](pages.md#vector-collapse)).",
        note="About 3 minutes.",
    ),
    _one(
        "collapse_motion",
        "How smoothly a collapse run moves in a browser",
        ">= 20 frames per second that move the points.",
        "The player draws on a canvas from compact frames, encoded once per run on the "
        "server; beside it, the Plotly figure with one frame per recorded step that the page "
        "drew before (`bench/apps/plotly_replay.py`).",
        note="Needs Debian chromium.",
    ),
    _one(
        "collapse_gif",
        "A collapse run as a GIF for slides",
        "<= 10 s and <= 5 MB at the default width.",
    ),
    _one(
        "contrastive_training",
        "SimCLR-style digits training: temperature and dimensional collapse",
        "<= 3 s a run (warm, default settings, every record's spectra included), <= 6 s for "
        "two presets in lockstep.",
        "Each preset of `lossviz/training/contrastive_training.py` is timed whole and with "
        "only its first and last records, which is the cost of training alone: the difference "
        "is what the records (alignment, uniformity, points, two covariance spectra of the "
        "512 probe digits) cost. Torch threads as the app sets them.",
    ),
    _one(
        "loadtest",
        "Load test: clients rerunning one page",
        "the targets table in the file (30 students on the playground: p50 <= 300 ms, "
        "p95 <= 600 ms, 0 errors; after 60, memory back within 100 MB of idle within 2 "
        "minutes; no growth per session).",
        note="Several minutes: starts its own servers.",
    ),
    _one(
        "quiz_rooms",
        "Class-quiz rooms under load and faults",
        "each part's table gives its targets (a round of 60 in a minute, one seat per "
        "burst, nothing lost across reloads, restarts and a killed worker).",
        note="About 6 minutes; PostgreSQL for its `hosts` and `pg_restart` parts.",
    ),
    _one(
        "training_queue",
        "The training queue against a mischievous class",
        "the teacher's link after 17 abusive tabs within 3x its time alone.",
        note="About 10 minutes.",
    ),
    Benchmark(
        "bench.classroom",
        (
            Result(
                "classroom",
                "A class on one server, and on two workers",
                "python -m bench.classroom",
                "the 'Targets' table at the end of the file.",
                "The playground is measured beside a bare Streamlit page with one button "
                "(`bench/apps/bare.py`): a rerun's cost grows with the elements it sends. "
                "What the figures mean for a class: "
                "[teaching.md](teaching.md#how-many-students-one-machine-holds).",
            ),
            Result(
                "classroom-failover",
                "A worker killed mid-class",
                "python -m bench.classroom --only failover",
                "0 errors for the other worker's students; the killed worker serves "
                "again within 10 s; its students on a live worker again.",
            ),
            Result(
                "classroom-simclr",
                "The teacher's SimCLR link at class size",
                "python -m bench.classroom --only simclr",
                "30 students on a new configuration's link at once: 0 errors, p95 within 3x "
                "one student alone.",
            ),
        ),
        note="About 21 minutes: a class on one server, two workers, a worker killed. A full "
        "run puts the failover part into `classroom-cpu.md`; `--only failover` writes "
        "`classroom-failover-cpu.md`, `--only simclr` `classroom-simclr-cpu.md`.",
    ),
)

INTRO = """\
# Benchmarks

<!-- Written by `python -m bench.run_all` (`make bench`; `--docs-only` for this page alone)
from bench/results/*.md. Edit those files or bench/run_all.py, not this page. -->

Every table here is a results file from [`bench/results/`](../bench/results/), as its
benchmark wrote it, under the script that makes it and its targets. `make bench` runs every
benchmark and writes this page again; `python -m bench.run_all --docs-only` writes it from
the files as they are. Each file's first lines say when and how it was measured.

The figures are CPU figures from the 2-core shared development machine: medians of repeated
runs, with the reference measured in the same run. Tests that need CUDA are marked `cuda` and
skip without a GPU. No GPU was available for this work yet, so the CUDA parity suite has not
run: there are no CUDA figures here.

What the figures mean for a class, and how the app was made to meet them:
[teaching.md](teaching.md#how-many-students-one-machine-holds) and
[architecture.md](architecture.md).
"""

_HEADING = re.compile(r"^(#{1,6})(\s)")


def _is_table_line(line: str) -> bool:
    return line.lstrip().startswith("|")


def embed(text: str) -> str:
    """A results file's Markdown, ready to sit under a level-2 heading: its headings two
    levels down (at most six), and a blank line before and after every table (GitHub
    would otherwise read a line right after a table as one more row)."""
    out: list[str] = []
    lines = text.rstrip("\n").splitlines()
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            level = min(len(match.group(1)) + 2, 6)
            line = "#" * level + line[match.end(1) :]
        previous = lines[index - 1] if index else ""
        if line.strip() and previous.strip() and _is_table_line(line) != _is_table_line(previous):
            out.append("")  # a table starts or ends right after a line of text
        out.append(line)
    return "\n".join(out)


def _split_name(path: Path) -> tuple[str, str]:
    """``classroom-failover-cpu.md`` -> ("classroom-failover", "cpu")."""
    stem, _, device = path.stem.rpartition("-")
    return (stem, device) if stem else (path.stem, "")


def render(results_dir: Path = RESULTS) -> str:
    """docs/benchmarks.md from the results files in ``results_dir``."""
    files = sorted(results_dir.glob("*.md"))
    claimed: set[Path] = set()
    sections: list[str] = [INTRO]
    for benchmark in BENCHMARKS:
        for result in benchmark.results:
            for path in files:
                stem, device = _split_name(path)
                if stem != result.stem:
                    continue
                claimed.add(path)
                sections.append(_section(path, result, device, benchmark.note))
    for path in files:
        if path not in claimed:
            stem, device = _split_name(path)
            orphan = Result(stem, f"`{path.name}`", "(no benchmark in bench/run_all.py)", "-")
            sections.append(_section(path, orphan, device, ""))
    return "\n\n".join(section.rstrip("\n") for section in sections) + "\n"


def _section(path: Path, result: Result, device: str, note: str) -> str:
    relative = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
    on = "" if device in ("cpu", "") else f" ({device})"
    head = [
        f"## {result.title}{on}",
        "",
        f"Made by `{result.command}`. Targets: {result.targets}",
        "",
        *([result.about, ""] if result.about else []),
        f"File: [`{relative}`](../{relative}).{' ' + note if note else ''}",
        "",
        f"<!-- from {relative} -->",
        "",
        embed(path.read_text(encoding="utf-8")),
        "",
        f"<!-- end of {relative} -->",
    ]
    return "\n".join(head)


def write_docs(results_dir: Path = RESULTS, page: Path = DOCS_PAGE) -> Path:
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(results_dir), encoding="utf-8")
    return page


def _snapshot() -> dict[Path, float]:
    return {path: path.stat().st_mtime_ns for path in RESULTS.glob("*.md")}


def run_one(benchmark: Benchmark) -> None:
    """Run one benchmark, its output shown as it comes; when it wrote no results file,
    save what it printed as ``bench/results/<name>-<device>.md``."""
    before = _snapshot()
    process = subprocess.Popen(
        [sys.executable, "-m", benchmark.module], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    printed: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        printed.append(line)
    returncode = process.wait()
    if returncode:
        raise subprocess.CalledProcessError(returncode, [sys.executable, "-m", benchmark.module])
    if _snapshot() != before:
        return  # it wrote (part of) its own results file
    device = benchmark.device
    if device is None:
        from lossviz.core.device import default_device  # torch: only when it is needed

        device = default_device().type
    text = "".join(printed).strip("\n")
    if text:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{benchmark.results[0].stem}-{device}.md").write_text(
            text + "\n", encoding="utf-8"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help="write docs/benchmarks.md from bench/results/*.md without running anything",
    )
    args = parser.parse_args(argv)
    if not args.docs_only:
        for benchmark in BENCHMARKS:
            run_one(benchmark)
            print()
    page = write_docs()
    print(f"Wrote {page.relative_to(REPO)} from {RESULTS.relative_to(REPO)}/*.md")


if __name__ == "__main__":
    main()
