"""Numeric ranges declared once: the core checks values against them, the scenes build their
controls from them (``lossviz.scenes.scene``), narrowed where a page offers less."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """``[lo, hi]`` (``(lo, hi]`` when ``lo_open``), of whole numbers when ``integer``."""

    lo: float
    hi: float
    lo_open: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.lo <= self.hi:
            raise ValueError(f"an empty range: [{self.lo}, {self.hi}]")

    def contains(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.integer else int | float):
            return False
        if not math.isfinite(value):
            return False
        above = self.lo < value if self.lo_open else self.lo <= value
        return above and value <= self.hi

    def check(self, name: str, value: object) -> None:
        """``ValueError`` naming ``name`` and the range when ``value`` is not in it."""
        if self.contains(value):
            return
        if self.integer:
            raise ValueError(
                f"{name} must be a whole number from {self.lo:,} to {self.hi:,}; got {value!r}"
            )
        interval = f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}]"
        raise ValueError(f"{name} must be a number in {interval}; got {value!r}")

    def narrowed(self, lo: float | None = None, hi: float | None = None) -> Range:
        """A sub-range (what a page offers of what the core accepts); closed at a new ``lo``."""
        new_lo, new_hi = self.lo if lo is None else lo, self.hi if hi is None else hi
        if not (self.contains(new_lo) or new_lo == self.lo) or not self.contains(new_hi):
            raise ValueError(f"[{new_lo}, {new_hi}] is not inside {self}")
        return dataclasses.replace(self, lo=new_lo, hi=new_hi, lo_open=self.lo_open and lo is None)


# A seed for torch.Generator.manual_seed that every page and the training share.
SEED = Range(0, 2**31 - 1, integer=True)

__all__ = ["SEED", "Range"]
