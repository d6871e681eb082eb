"""LaTeX for the loss formulas with the live numbers substituted (plain strings)."""

from __future__ import annotations

from lossviz.playground import TripletReading


def _n(value: float) -> str:
    return f"{value:.3f}"


def triplet_latex(reading: TripletReading, margin: float, swap: bool) -> str:
    """``L = max(d(a,p) - d(a,n) + m, 0)`` with numbers, one aligned line per step.

    With swap, d(a, n) is written as ``min(d(a,n), d(p,n))`` with both values.
    """
    negative = r"d(a,n)"
    negative_value = _n(reading.d_an_used)
    if swap:
        negative = r"\min\bigl(d(a,n),\, d(p,n)\bigr)"
        negative_value = rf"\min({_n(reading.d_an)},\, {_n(reading.d_pn)})"
    return (
        r"\begin{aligned}"
        rf"L &= \max\bigl(d(a,p) - {negative} + m,\; 0\bigr) \\"
        rf"&= \max\bigl({_n(reading.d_ap)} - {negative_value} + {_n(margin)},\; 0\bigr) \\"
        rf"&= {_n(reading.loss)}"
        r"\end{aligned}"
    )
