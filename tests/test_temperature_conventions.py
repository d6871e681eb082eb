"""One temperature under three libraries' parameters (the losses agree, and are
pytorch-metric-learning's and the cross-entropy sentence-transformers and CLIP compute), the
cosine floor, and the textbook softmax overflowing in float32 where log-sum-exp does not."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml_losses

from lossviz.core.softmax_contrastive import CLIP_INIT_LOGIT_SCALE, DegenerateError
from lossviz.teaching.temperature_conventions import (
    CLIP,
    FLOAT32_MAX,
    PML,
    PML_DEFAULT_TEMPERATURE,
    ST,
    ST_DEFAULT_SCALE,
    naive_versus_stable,
    temperature_conventions,
)

SCENE = (0.8, 0.3, -0.2, 0.65, -0.9)  # s(A, P), then four negatives
TEMPERATURES = (0.01, 0.05, 0.07, 0.3, 1.0, 2.0)


def textbook(similarities, tau: float) -> float:
    """-log(exp(s_p / tau) / sum exp(s / tau)) in float64 with plain Python, shifted by the
    largest logit (the value, not the overflow, is what is compared)."""
    logits = [s / tau for s in similarities]
    top = max(logits)
    return -(logits[0] - top - math.log(sum(math.exp(v - top) for v in logits)))


def on_the_circle(similarities) -> torch.Tensor:
    """Anchor at angle 0, each other point at the angle whose cosine is its similarity."""
    angles = [0.0, *(math.acos(s) for s in similarities)]
    return torch.tensor([[math.cos(t), math.sin(t)] for t in angles], dtype=torch.float64)


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_three_parameters_one_loss(tau):
    panel = temperature_conventions(SCENE, tau)
    pml, st, clip = panel.rows
    assert (pml.library, st.library, clip.library) == (PML, ST, CLIP)
    assert (pml.parameter, st.parameter, clip.parameter) == ("temperature", "scale", "logit_scale")
    assert pml.value == tau
    assert st.value == pytest.approx(1 / tau, rel=1e-15)
    assert clip.value == pytest.approx(math.log(1 / tau), rel=1e-12)
    expected = textbook(SCENE, tau)
    for row in panel.rows:
        assert row.temperature == pytest.approx(tau, rel=1e-12)
        assert row.loss == pytest.approx(expected, rel=1e-10)
    assert panel.agree and panel.negatives == 4
    assert f"{expected:.6f}" in panel.summary and "same loss" in panel.summary
    assert pml.call == f"losses.NTXentLoss(temperature={tau:g})"
    assert st.call == f"losses.MultipleNegativesRankingLoss(model, scale={1 / tau:g})"


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_the_rows_are_what_each_library_computes(tau):
    panel = temperature_conventions(SCENE, tau)
    pml, st, clip = panel.rows
    # pytorch-metric-learning on points with these cosines: one anchor, one positive pair,
    # the other points its negatives.
    z = on_the_circle(SCENE)
    pairs = (torch.tensor([0]), torch.tensor([1]), torch.zeros(4, dtype=torch.long),
             torch.arange(2, 6))  # fmt: skip
    theirs = pml_losses.NTXentLoss(temperature=tau)(z, indices_tuple=pairs).item()
    assert pml.loss == pytest.approx(theirs, rel=1e-9)
    # sentence-transformers: cross-entropy of scale * cos_sim(anchor, candidates), label 0.
    scores = st.value * F.cosine_similarity(z[:1], z[1:])
    assert st.loss == pytest.approx(F.cross_entropy(scores[None], torch.tensor([0])).item())
    # CLIP's row: exp(logit_scale) * cosines, cross-entropy towards the positive.
    logits = math.exp(clip.value) * F.cosine_similarity(z[:1], z[1:])
    assert clip.loss == pytest.approx(F.cross_entropy(logits[None], torch.tensor([0])).item())


def test_the_defaults_said_are_the_libraries():
    signature = inspect.signature(pml_losses.NTXentLoss.__init__)
    assert signature.parameters["temperature"].default == PML_DEFAULT_TEMPERATURE == 0.07
    assert ST_DEFAULT_SCALE == 20.0 and 1 / ST_DEFAULT_SCALE == 0.05
    assert abs(CLIP_INIT_LOGIT_SCALE - 2.6593) < 1e-4  # ln(1 / 0.07)
    pml, st, clip = temperature_conventions(SCENE, 0.1).rows
    assert pml.default == "temperature=0.07"
    assert st.default.startswith("scale=20 (τ = 0.05)") and "cos_sim" in st.default
    assert "2.659" in clip.default and "100" in clip.default
    # CLIP's initial value is tau = 0.07; its clamp ln 100 is tau = 0.01, the range's end.
    assert temperature_conventions(SCENE, 0.07).rows[2].value == pytest.approx(
        CLIP_INIT_LOGIT_SCALE
    )
    lowest = temperature_conventions(SCENE, 0.01).rows[2]
    assert lowest.value == pytest.approx(math.log(100)) and lowest.temperature == 0.01


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_the_cosine_floor_is_reached_by_perfect_embeddings_and_is_never_zero(tau):
    perfect = (1.0, -1.0, -1.0, -1.0)
    panel = temperature_conventions(perfect, tau)
    assert panel.floor == pytest.approx(math.log1p(3 * math.exp(-2 / tau)), rel=1e-12)
    assert panel.floor > 0
    assert panel.rows[0].loss == pytest.approx(panel.floor, rel=1e-9)
    assert f"{panel.floor:.3g}" in panel.rows[1].note
    assert temperature_conventions(SCENE, tau).rows[0].loss > panel.floor


def test_the_textbook_formula_overflows_in_float32_at_the_lowest_temperature():
    # The positive overflows too: inf / inf = NaN.
    both = naive_versus_stable((0.999, 0.98, -1.0))
    assert both.temperature == 0.01 and both.overflows
    assert math.isnan(both.naive)
    assert math.isfinite(both.stable) and both.stable == pytest.approx(both.exact, rel=1e-4)
    assert both.exact == pytest.approx(textbook((0.999, 0.98, -1.0), 0.01), rel=1e-10)
    assert "NaN" in both.explanation and "3.4e38" in both.explanation
    assert both.largest_logit == pytest.approx(99.9) and both.largest_exp > FLOAT32_MAX
    # Only a negative overflows: finite / inf = 0, -log 0 = inf.
    negative = naive_versus_stable((0.5, 0.999, 0.0))
    assert negative.naive == math.inf and math.isfinite(negative.stable)
    assert negative.stable == pytest.approx(49.9, rel=1e-6)
    assert "-log 0 = inf" in negative.explanation
    # A cosine of 1: exp(1 / 0.01) = exp(100) = 2.7e43.
    one = naive_versus_stable((1.0, 0.2))
    assert one.largest_exp == pytest.approx(2.6881e43, rel=1e-4)
    assert "exp(100) = 2.7e43" in one.explanation
    assert not math.isfinite(one.naive) and math.isfinite(one.stable)


def test_the_textbook_formula_is_fine_where_nothing_overflows():
    calm = naive_versus_stable(SCENE, 0.5)
    assert not calm.overflows
    assert calm.naive == pytest.approx(calm.stable, rel=1e-6)
    assert calm.stable == pytest.approx(textbook(SCENE, 0.5), rel=1e-6)
    assert "works here" in calm.explanation and "2.7e43" in calm.explanation
    low = naive_versus_stable((0.3, 0.1), 0.01)  # largest logit 30: exp(30) fits
    assert not low.overflows and math.isfinite(low.naive)


@pytest.mark.parametrize("bad", [(), (0.5,), (0.5, math.nan), (math.inf, 0.1)])
def test_a_scene_needs_a_positive_a_negative_and_finite_numbers(bad):
    with pytest.raises(ValueError):
        temperature_conventions(bad, 0.1)
    with pytest.raises(ValueError):
        naive_versus_stable(bad)


@pytest.mark.parametrize("tau", [0.0, 0.005, 2.5, math.nan])
def test_a_temperature_outside_the_range_is_refused(tau):
    with pytest.raises(DegenerateError, match="temperature"):
        temperature_conventions(SCENE, tau)
    with pytest.raises(DegenerateError, match="temperature"):
        naive_versus_stable(SCENE, tau)
