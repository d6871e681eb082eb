"""Run every benchmark and print its tables (``make bench``); paste them into the README."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "bench.triplet_loss",
    "bench.counting",
    "bench.playground_rerun",
    "bench.playground_latency",  # needs Debian chromium
    "bench.mining_page",
    "bench.expr_attacks",
    "bench.collapse_speed",
    "bench.collapse_sweep",  # about 3 minutes
    "bench.collapse_motion",  # needs Debian chromium
    "bench.collapse_gif",
    "bench.loadtest",  # several minutes: starts its own servers
    "bench.quiz_rooms",  # about 6 minutes: a round, join bursts, restarts, faults, PostgreSQL
    "bench.training_queue",  # about 10 minutes: 17 abusive tabs, then the teacher's link
    "bench.classroom",  # about 21 minutes: a class on one server, two workers, a worker killed
)


def main() -> None:
    for module in BENCHMARKS:
        subprocess.run([sys.executable, "-m", module], check=True)
        print()


if __name__ == "__main__":
    main()
