"""The temperature under each library's name, and the textbook softmax's overflow.

One loss, three parameters: a scene (one anchor's similarities, the positive's first, then
its k negatives', as :class:`~lossviz.core.circle_reading.CircleReading` holds them) and a
temperature tau are written as each library takes them:

- pytorch-metric-learning, ``losses.NTXentLoss(temperature=tau)``: divides the cosines by
  tau (default ``temperature=0.07``);
- sentence-transformers, ``losses.MultipleNegativesRankingLoss(model, scale=1 / tau)``:
  multiplies the similarities (``similarity_fct=util.cos_sim`` by default) by ``scale``
  (default ``scale=20.0``, tau = 0.05);
- CLIP, ``logit_scale``: a learned parameter, the log of 1 / tau, initialised at
  ``ln(1 / 0.07) = 2.659`` and clamped so that ``exp(logit_scale) <= 100`` (the paper's
  clip; open_clip clamps the parameter to ``[0, ln 100]`` after each step).

Each row's loss is the core's (:func:`~lossviz.core.softmax_contrastive.info_nce_loss`) at
the temperature the row's parameter means, computed on the scene's similarities as they are
(no normalisation: the logits are ``s / tau`` exactly): the three agree, and the panel says
so. With cosines the loss has a floor, ``log(1 + k exp(-2 / tau))`` (the positive at s = 1,
every negative at s = -1): it cannot reach 0 even for perfect embeddings.

:func:`naive_versus_stable` runs the textbook ``exp(s / tau) / sum exp(...)`` in float32
beside the log-sum-exp form: at tau = 0.01 a cosine near 1 gives ``exp(100) = 2.7e43``, more
than float32's largest number (3.4e38), so the textbook value is inf or NaN while the
log-sum-exp one is finite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lossviz.core.softmax_contrastive import (
    CLIP_INIT_LOGIT_SCALE,
    MAX_LOGIT_SCALE,
    TEMPERATURE,
    check_temperature,
    info_nce_loss,
    info_nce_lower_bound,
    naive_info_nce_loss,
)

PML_DEFAULT_TEMPERATURE = 0.07  # losses.NTXentLoss(temperature=0.07)
ST_DEFAULT_SCALE = 20.0  # losses.MultipleNegativesRankingLoss(model, scale=20.0)
FLOAT32_MAX = float(torch.finfo(torch.float32).max)  # 3.4e38
FLOAT32_MAX_EXPONENT = math.log(FLOAT32_MAX)  # 88.72: exp of more is inf in float32
OVERFLOW_TEMPERATURE = TEMPERATURE.lo  # 0.01, where exp(1 / tau) = exp(100) = 2.7e43
AGREE_REL_TOL = 1e-9

PML = "pytorch-metric-learning"
ST = "sentence-transformers"
CLIP = "CLIP"


@dataclass(frozen=True)
class ConventionRow:
    """One library's way of writing the temperature, and the loss it computes on the scene."""

    library: str  # PML, ST or CLIP
    call: str  # the parameter as code, e.g. "losses.NTXentLoss(temperature=0.1)"
    parameter: str  # "temperature", "scale" or "logit_scale"
    value: float  # the parameter's value for this temperature
    default: str  # the library's default, in words
    temperature: float  # the tau the value means
    loss: float  # the loss the library computes on the scene (the core's)
    note: str


@dataclass(frozen=True)
class TemperatureConventions:
    """The scene at one temperature under each library's parameter."""

    temperature: float
    negatives: int  # k
    rows: tuple[ConventionRow, ...]  # PML, ST, CLIP
    floor: float  # log(1 + k exp(-2 / tau)): the least the loss can be with cosines
    agree: bool  # every row's loss equal within AGREE_REL_TOL
    summary: str


@dataclass(frozen=True)
class NaiveVersusStable:
    """The textbook softmax beside the log-sum-exp form, both in float32, on one scene."""

    temperature: float
    naive: float  # exp(s_p / tau) / sum exp(s / tau), as written: inf or NaN on overflow
    stable: float  # logsumexp(s / tau) - s_p / tau in float32
    exact: float  # the same in float64
    largest_logit: float  # max s / tau
    largest_exp: float  # exp(max s / tau) in float64 (inf past float64's range)
    overflows: bool  # exp(largest_logit) > FLOAT32_MAX
    explanation: str


def _scene(similarities: Sequence[float], dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """The anchor, positive and negatives as 1-D vectors whose dot products with the anchor
    are the similarities themselves: a = (1), p = (s_p), n_i = (s_i)."""
    values = [float(s) for s in similarities]
    if len(values) < 2:
        raise ValueError("a scene needs the positive's similarity and at least one negative's")
    if not all(math.isfinite(s) for s in values):
        raise ValueError("every similarity must be a finite number")
    anchor = torch.ones(1, 1, dtype=dtype)
    positive = torch.tensor([[values[0]]], dtype=dtype)
    negatives = torch.tensor([[s] for s in values[1:]], dtype=dtype)
    return anchor, positive, negatives


def _loss(similarities: Sequence[float], temperature: float) -> float:
    anchor, positive, negatives = _scene(similarities, torch.float64)
    return info_nce_loss(anchor, positive, negatives, temperature, normalize=False).item()


def _in_range(tau: float) -> float:
    """A temperature recovered from 1 / scale or exp(-logit_scale) can miss the range's end
    by a rounding (1 / (1 / 0.01) = 0.009999999999999998): put it back inside."""
    return min(max(tau, TEMPERATURE.lo), TEMPERATURE.hi)


def _rows(similarities: Sequence[float], tau: float, floor: float) -> tuple[ConventionRow, ...]:
    k = len(similarities) - 1
    scale = 1.0 / tau
    logit_scale = min(math.log(1.0 / tau), MAX_LOGIT_SCALE)
    st_tau = _in_range(1.0 / scale)
    clip_tau = _in_range(1.0 / math.exp(logit_scale))
    default_floor = info_nce_lower_bound(k, 1.0 / ST_DEFAULT_SCALE)
    return (
        ConventionRow(
            library=PML,
            call=f"losses.NTXentLoss(temperature={tau:g})",
            parameter="temperature",
            value=tau,
            default=f"temperature={PML_DEFAULT_TEMPERATURE:g}",
            temperature=tau,
            loss=_loss(similarities, tau),
            note=(
                "Divides each cosine by the temperature. Given labels, every row of the "
                "anchor's label is a positive (one term per positive pair), never a negative."
            ),
        ),
        ConventionRow(
            library=ST,
            call=f"losses.MultipleNegativesRankingLoss(model, scale={scale:g})",
            parameter="scale",
            value=scale,
            default=f"scale={ST_DEFAULT_SCALE:g} (τ = {1 / ST_DEFAULT_SCALE:g}), "
            "similarity_fct=util.cos_sim",
            temperature=st_tau,
            loss=_loss(similarities, st_tau),
            note=(
                f"Multiplies each similarity by scale = 1 / τ. With cosines (its default) a "
                f"similarity is at most 1 and at least -1, so with {k} negative"
                f"{'s' if k != 1 else ''} the loss is at least log(1 + {k} exp(-2 scale)) = "
                f"{floor:.3g} here: it cannot reach 0 even for perfect embeddings (at the "
                f"default scale 20: {default_floor:.2g})."
            ),
        ),
        ConventionRow(
            library=CLIP,
            call=f"logit_scale = ln(1 / {tau:g}) = {logit_scale:.4g}",
            parameter="logit_scale",
            value=logit_scale,
            default=f"learned, initialised at ln(1 / 0.07) = {CLIP_INIT_LOGIT_SCALE:.3f}; "
            f"exp(logit_scale) clamped at 100",
            temperature=clip_tau,
            loss=_loss(similarities, clip_tau),
            note=(
                "Multiplies the cosines by exp(logit_scale) = 1 / τ, learned with the model "
                "from ln(1 / 0.07) and never above 100 (τ ≥ 0.01). CLIP averages the rows' "
                "loss (each image against every text) with the columns'; this scene is one "
                "row, the anchor's."
            ),
        ),
    )


def temperature_conventions(
    similarities: Sequence[float], temperature: float
) -> TemperatureConventions:
    """The scene (``similarities``: the positive's, then each negative's) at ``temperature``
    under each library's parameter (see the module)."""
    tau = check_temperature(temperature)
    _scene(similarities, torch.float64)  # checks the similarities
    k = len(similarities) - 1
    floor = info_nce_lower_bound(k, tau)
    rows = _rows(similarities, tau, floor)
    first = rows[0].loss
    agree = all(math.isclose(row.loss, first, rel_tol=AGREE_REL_TOL) for row in rows)
    if agree:
        summary = (
            f"One temperature, three names: temperature τ = {tau:g}, scale = 1 / τ = "
            f"{1 / tau:g}, logit_scale = ln(1 / τ) = {math.log(1 / tau):.4g}. On this scene "
            f"the three libraries compute the same loss, {first:.6f} (the core's)."
        )
    else:  # not reached for tau in 0.01 .. 2: said in words rather than hidden
        summary = "The libraries' losses differ here: " + ", ".join(
            f"{row.library} {row.loss:.6f}" for row in rows
        )
    return TemperatureConventions(tau, k, rows, floor, agree, summary)


def _sci(value: float, digits: int = 2) -> str:
    """``2.7e43`` for 2.688e43 (``digits`` significant digits, no ``+`` in the exponent)."""
    return f"{value:.{digits}g}".replace("e+", "e")


def _explain(
    tau: float, largest: float, largest_exp: float, naive: float, stable: float, exact: float,
    positive_exp: float,
) -> str:  # fmt: skip
    stable_text = (
        f"The log-sum-exp form subtracts the largest logit L before exponentiating "
        f"(log sum exp(l) = L + log sum exp(l - L)), so no exp is above 1: it gives "
        f"{stable:.6g} in float32 ({exact:.6g} in float64)."
    )
    if largest > FLOAT32_MAX_EXPONENT:
        head = (
            f"At τ = {tau:g} the largest logit is s / τ = {largest:.4g}, and exp({largest:.4g})"
            f" = {_sci(largest_exp)} is more than float32's largest number, {_sci(FLOAT32_MAX)}: "
            f"it becomes inf, and so does the sum. "
        )
        if math.isnan(naive):
            why = "The positive's term overflows too, so the ratio is inf / inf = NaN. "
        else:
            why = (
                f"The positive's term stays finite ({_sci(positive_exp, 3)}), so the ratio is "
                f"finite / inf = 0 and -log 0 = inf. "
            )
        return head + why + stable_text
    if not math.isfinite(naive):
        return (
            f"exp(s_p / τ) underflows to {positive_exp:g} in float32, so the textbook ratio "
            f"is {naive}. " + stable_text
        )
    return (
        f"At τ = {tau:g} the largest logit is {largest:.4g}; exp({largest:.4g}) = "
        f"{_sci(largest_exp, 3)} fits in float32 (at most {_sci(FLOAT32_MAX)}), so the textbook "
        f"formula works here: {naive + 0.0:.6g}. It overflows once a logit passes "
        f"ln({_sci(FLOAT32_MAX)}) = {FLOAT32_MAX_EXPONENT:.2f}: a cosine of 1 at τ = 0.01 gives "
        f"exp(1 / 0.01) = exp(100) = {_sci(math.exp(100))}. " + stable_text
    )


def naive_versus_stable(
    similarities: Sequence[float], temperature: float = OVERFLOW_TEMPERATURE
) -> NaiveVersusStable:
    """The textbook formula (the core's :func:`naive_info_nce_loss`) and the log-sum-exp
    one (:func:`info_nce_loss`), both in float32, on the scene at ``temperature``
    (default 0.01), with the float64 value and why they differ, in words."""
    tau = check_temperature(temperature)
    anchor, positive, negatives = _scene(similarities, torch.float32)
    naive = naive_info_nce_loss(anchor, positive, negatives, tau, normalize=False).item()
    stable = info_nce_loss(anchor, positive, negatives, tau, normalize=False).item()
    exact = _loss(similarities, tau)
    largest = max(float(s) for s in similarities) / tau
    largest_exp = math.exp(largest) if largest < 709.0 else math.inf
    positive_exp = torch.exp(positive[0, 0] / tau).item()  # float32, as the textbook has it
    return NaiveVersusStable(
        temperature=tau,
        naive=naive,
        stable=stable,
        exact=exact,
        largest_logit=largest,
        largest_exp=largest_exp,
        overflows=largest_exp > FLOAT32_MAX,
        explanation=_explain(tau, largest, largest_exp, naive, stable, exact, positive_exp),
    )


__all__ = [
    "CLIP",
    "FLOAT32_MAX",
    "OVERFLOW_TEMPERATURE",
    "PML",
    "PML_DEFAULT_TEMPERATURE",
    "ST",
    "ST_DEFAULT_SCALE",
    "ConventionRow",
    "NaiveVersusStable",
    "TemperatureConventions",
    "naive_versus_stable",
    "temperature_conventions",
]
