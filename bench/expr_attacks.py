"""How long the custom-distance parser takes to refuse each hostile input.

Usage: ``python -m bench.expr_attacks [--repeats N]``. The corpus is the one
the tests use (``tests/test_expr.py``: attribute walks, ``__import__``,
lambdas, comprehensions, huge powers, deep nesting, very long input, ...).
Target: every input refused in under 100 ms. Prints the slowest ones.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import markdown_table
from lossviz.core.expr import ExpressionError, parse_distance
from tests.test_expr import HOSTILE


def refusal_seconds(text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            parse_distance(text)
        except ExpressionError:
            pass
        else:
            raise AssertionError(f"accepted: {text!r}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    timings = sorted(((refusal_seconds(t, args.repeats), t) for t in HOSTILE), reverse=True)
    slowest = timings[0][0]
    print(f"{len(HOSTILE)} hostile expressions, all refused; median of {args.repeats} runs each")
    verdict = "met" if slowest < 0.1 else "NOT met"
    median = statistics.median(s for s, _ in timings)
    print(
        f"slowest {slowest * 1e3:.1f} ms (target < 100 ms: {verdict}), median {median * 1e3:.2f} ms"
    )
    rows = [[repr(text[:40]) + ("..." if len(text) > 40 else ""), f"{s * 1e3:.2f}"]
            for s, text in timings[:5]]  # fmt: skip
    print(markdown_table(["slowest inputs", "ms"], rows))


if __name__ == "__main__":
    main()
