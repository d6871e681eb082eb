"""LaTeX for the loss formulas with the live numbers substituted (plain strings)."""

from __future__ import annotations

from lossviz.core.circle_reading import CircleReading
from lossviz.core.triplet_reading import TripletReading

SHOWN_NEGATIVES = 2  # InfoNCE's negatives written out; the others as one sum


def _n(value: float) -> str:
    return f"{value:.3f}"


def _small(value: float) -> str:
    """Three decimals, or three significant digits below 0.001 as LaTeX (a bound of
    8.24e-09 is not 0)."""
    if value == 0 or abs(value) >= 1e-3:
        return _n(value)
    mantissa, exponent = f"{value:.2e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


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


def contrastive_latex(
    d: float, loss: float, margin: float, similar: bool, inverted: bool = False
) -> str:
    """The contrastive loss with y = 1 for a similar pair, numbers substituted.

    ``inverted`` writes the inverted snippet instead: ``(1 - y) d^2 + y max(m - d, 0)^2``
    (it treats y = 0 as similar), fed the same y.
    """
    y = 1 if similar else 0
    pull, push = (1 - y, y) if inverted else (y, 1 - y)
    name = r"L_{\text{snippet}}" if inverted else "L"
    weights = (r"(1 - y)", "y") if inverted else ("y", r"(1 - y)")
    return (
        r"\begin{aligned}"
        rf"{name} &= {weights[0]}\, d^2 + {weights[1]}\, \max(m - d,\; 0)^2"
        rf" \qquad (y = {y}) \\"
        rf"&= {pull} \cdot {_n(d)}^2 + {push} \cdot \max\bigl({_n(margin)} - {_n(d)},\; 0\bigr)^2"
        r" \\"
        rf"&= {_n(loss)}"
        r"\end{aligned}"
    )


def infonce_latex(reading: CircleReading, temperature: float) -> str:
    """InfoNCE as ``-log`` of the positive's softmax share, the numbers substituted (s: the
    cosine on the circle, the raw dot product off it), and its least value on the circle."""
    s_ap, *s_an = reading.similarities
    negatives = r" + ".join(rf"e^{{{_n(s)}/\tau}}" for s in s_an[:SHOWN_NEGATIVES])
    if len(s_an) > SHOWN_NEGATIVES:  # the line stays narrow enough for a column
        negatives += rf" + \sum_{{i={SHOWN_NEGATIVES + 1}}}^{{{len(s_an)}}} e^{{s(a,n_i)/\tau}}"
    bound = ""
    if reading.lower_bound is not None:
        bound = (
            rf" \\ L_{{\min}} &= \log\bigl(1 + k\, e^{{-2/\tau}}\bigr)"
            rf" = {_small(reading.lower_bound)}"
            rf" \qquad (k = {len(s_an)})"
        )
    return (
        r"\begin{aligned}"
        r"L &= -\log \frac{e^{s(a,p)/\tau}}{e^{s(a,p)/\tau} + \sum_i e^{s(a,n_i)/\tau}}"
        rf" \qquad (\tau = {temperature:g}) \\"
        rf"&= -\log \frac{{e^{{{_n(s_ap)}/\tau}}}}{{e^{{{_n(s_ap)}/\tau}} + {negatives}}} \\"
        rf"&= {_n(reading.loss)}"
        f"{bound}"
        r"\end{aligned}"
    )
