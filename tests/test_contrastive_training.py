"""SimCLR-style training of the digits encoder: the loss against pytorch-metric-learning,
the spectrum and effective rank against their definitions, augmentations, determinism,
lockstep pairs, and the presets' claims on seeds they were not tuned on."""

from __future__ import annotations

import math

import pytest
import torch
from pytorch_metric_learning import losses as pml_losses

from lossviz.batches.point_sets import load_digits_points
from lossviz.training.contrastive_training import (
    PIXELS,
    PRESET_PAIRS,
    PRESETS,
    PROBE_SIZE,
    PROJECTION,
    VARIANCE_EPS,
    Augment,
    ContrastiveConfig,
    ContrastiveEncoder,
    ContrastiveRun,
    augment,
    batch_loss,
    check_pair,
    covariance_spectrum,
    effective_rank,
    make_probe,
    train_contrastive,
    train_pair,
    training_views,
    variance_penalty,
)

# Small runs for everything but the presets: a few steps, few records.
SMALL = ContrastiveConfig(output_dim=8, batch_size=32, steps=12, record_every=4, seed=3)
NONE = Augment(noise_std=0.0, dropout=0.0, max_shift=0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """As the app runs (one torch thread): small tensors, and on a busy 2-core machine a
    second thread mostly waits. The presets' figures below were measured so."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def digits(n: int = 64) -> torch.Tensor:
    return load_digits_points().embeddings[:n]


def same_run(a: ContrastiveRun, b: ContrastiveRun) -> bool:
    """Bit-identical records (every number and tensor) and labels."""
    if len(a.snapshots) != len(b.snapshots) or not torch.equal(a.labels, b.labels):
        return False
    return all(
        (x.step, x.loss, x.nt_xent, x.alignment, x.uniformity, x.effective_rank, x.stopped)
        == (y.step, y.loss, y.nt_xent, y.alignment, y.uniformity, y.effective_rank, y.stopped)
        and x.output_effective_rank == y.output_effective_rank
        and torch.equal(x.points, y.points)
        and torch.equal(x.spectrum, y.spectrum)
        and torch.equal(x.output_spectrum, y.output_spectrum)
        for x, y in zip(a.snapshots, b.snapshots, strict=True)
    )


# --------------------------------------------------------------------------- the loss


def pml_nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """pytorch-metric-learning's NT-Xent on the 2B views, each example's two views one label."""
    labels = torch.arange(z1.shape[0]).repeat(2)
    return pml_losses.NTXentLoss(temperature=tau)(torch.cat([z1, z2]), labels)


@pytest.mark.parametrize("projector", [False, True])
@pytest.mark.parametrize("tau", [0.05, 0.5, 2.0])
def test_training_loss_equals_pytorch_metric_learning_values_and_gradients(tau, projector):
    config = SMALL.replace(temperature=tau, projector=projector)
    view1, view2 = next(training_views(config))
    ours_encoder, theirs_encoder = ContrastiveEncoder(config), ContrastiveEncoder(config)
    for encoder in (ours_encoder, theirs_encoder):  # float64, so the comparison is tight
        encoder.parameters = [p.detach().double().requires_grad_() for p in encoder.parameters]
    v1, v2 = view1.double(), view2.double()
    ours, nt_xent = batch_loss(ours_encoder, v1, v2, config)
    assert ours is nt_xent  # no variance term
    theirs = pml_nt_xent(theirs_encoder(v1), theirs_encoder(v2), tau)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-10)
    grads_ours = torch.autograd.grad(ours, ours_encoder.parameters)
    grads_theirs = torch.autograd.grad(theirs, theirs_encoder.parameters)
    assert len(grads_ours) == (8 if projector else 4)
    for g_ours, g_theirs in zip(grads_ours, grads_theirs, strict=True):
        torch.testing.assert_close(g_ours, g_theirs, rtol=1e-8, atol=1e-12)


def test_a_runs_recorded_loss_is_pytorch_metric_learnings_on_its_batch():
    config = SMALL.replace(steps=1, record_every=1)
    first = train_contrastive(config, "cpu").first
    view1, view2 = next(training_views(config))
    encoder = ContrastiveEncoder(config)
    expected = pml_nt_xent(encoder(view1), encoder(view2), config.temperature).item()
    assert first.step == 0 and first.loss == first.nt_xent
    assert first.loss == pytest.approx(expected, rel=1e-5)


def test_the_variance_term_is_added_with_its_weight():
    config = SMALL.replace(variance_weight=2.5)
    view1, view2 = next(training_views(config))
    encoder = ContrastiveEncoder(config)
    loss, nt_xent = batch_loss(encoder, view1, view2, config)
    penalty = variance_penalty(encoder(view1)) + variance_penalty(encoder(view2))
    assert penalty.item() > 0  # fresh weights: the outputs lie in a narrow cone
    assert loss.item() == pytest.approx(nt_xent.item() + 2.5 * penalty.item(), rel=1e-6)


def test_variance_penalty_by_hand():
    d = 4
    # Every row the same direction (at any length): no variance, each dimension short by
    # 1/sqrt(d) - sqrt(eps).
    same = torch.tensor([[3.0, 0.0, 0.0, 0.0]]).repeat(10, 1)
    expected = 1 / math.sqrt(d) - math.sqrt(VARIANCE_EPS)
    assert variance_penalty(same).item() == pytest.approx(expected, rel=1e-6)
    # +-e_j for every j: each dimension's variance 2/(2d - 1) > 1/d: no penalty.
    spread = torch.cat([torch.eye(d), -torch.eye(d)]) * 5.0
    assert variance_penalty(spread).item() == 0.0


# --------------------------------------------------------------------------- spectrum


def test_covariance_spectrum_is_svdvals_of_the_centred_covariance():
    g = generator(1)
    x = torch.randn(50, 6, generator=g) * torch.tensor([5.0, 2.0, 1.0, 0.5, 0.1, 0.0]) + 3.0
    spectrum = covariance_spectrum(x)
    xc = x.double() - x.double().mean(dim=0)
    expected = torch.linalg.svdvals(xc.T @ xc / 50)
    assert spectrum.dtype == torch.float64 and spectrum.shape == (6,)
    torch.testing.assert_close(spectrum, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        spectrum, torch.linalg.svdvals(torch.cov(x.double().T, correction=0))
    )
    assert bool((spectrum[:-1] >= spectrum[1:]).all())  # descending
    assert spectrum[-1].item() == pytest.approx(0.0, abs=1e-10)  # the constant column
    assert spectrum.sum().item() == pytest.approx(x.double().var(0, correction=0).sum().item())


@pytest.mark.parametrize("projector", [False, True])
def test_a_record_takes_the_spectrum_of_the_representation(projector):
    """Step 0's spectrum is the representation's (the projector's input), and the output
    spectrum the projector's output's; without a projector they are one."""
    config = SMALL.replace(projector=projector, steps=1)
    first = train_contrastive(config, "cpu").first
    encoder, probe = ContrastiveEncoder(config), make_probe(config)
    with torch.no_grad():
        h = encoder.representation(probe.images)
        z = encoder.head(h)
    torch.testing.assert_close(first.spectrum, covariance_spectrum(h))
    torch.testing.assert_close(first.output_spectrum, covariance_spectrum(z))
    assert first.effective_rank == effective_rank(first.spectrum)
    assert first.output_effective_rank == effective_rank(first.output_spectrum)
    if projector:
        assert not torch.allclose(first.spectrum, first.output_spectrum)
    else:
        assert first.spectrum is first.output_spectrum


def test_effective_rank_by_hand():
    # s = (3, 1): p = (3/4, 1/4), entropy = 3/4 ln(4/3) + 1/4 ln 4 = 0.562335.
    assert effective_rank(torch.tensor([3.0, 1.0]), eps=0.0) == pytest.approx(
        math.exp(0.75 * math.log(4 / 3) + 0.25 * math.log(4)), rel=1e-12
    )
    assert effective_rank(torch.tensor([3.0, 1.0]), eps=0.0) == pytest.approx(1.754765, rel=1e-6)
    # The default epsilon (1e-7) moves it by less than 1e-5.
    assert effective_rank(torch.tensor([1.0, 3.0])) == pytest.approx(1.754765, rel=1e-5)


@pytest.mark.parametrize("d", [2, 8, 32])
def test_effective_rank_is_d_when_isotropic_and_one_for_rank_one(d):
    assert effective_rank(torch.full((d,), 0.7)) == pytest.approx(d, rel=1e-5)
    assert effective_rank(torch.eye(d)[0] * 4.0) == pytest.approx(1.0, abs=1e-4)
    assert effective_rank(torch.zeros(d)) == 0.0


# --------------------------------------------------------------------------- augmentation


def test_augment_keeps_shapes_and_pixel_range():
    images = digits(100)
    out = augment(images, Augment(noise_std=0.5, dropout=0.3, max_shift=3), generator())
    assert out.shape == (100, PIXELS) and out.dtype == images.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, images)


def test_augment_is_deterministic_for_a_generator():
    images, how = digits(50), Augment(noise_std=0.2, dropout=0.2, max_shift=2)
    assert torch.equal(augment(images, how, generator(5)), augment(images, how, generator(5)))
    assert not torch.equal(augment(images, how, generator(5)), augment(images, how, generator(6)))


def test_zero_augmentation_is_the_identity():
    images = digits(200)
    assert torch.equal(augment(images, NONE, generator()), images)


def test_shifts_move_a_pixel_by_at_most_max_shift_and_fill_with_zeros():
    image = torch.zeros(1, PIXELS)
    image[0, 3 * 8 + 4] = 1.0  # row 3, column 4
    out = augment(image.repeat(600, 1), NONE.replace(max_shift=2), generator(2))
    assert torch.equal(out.sum(dim=1), torch.ones(600))  # not near an edge: nothing lost
    where = out.argmax(dim=1)
    offsets = set(zip((where // 8 - 3).tolist(), (where % 8 - 4).tolist(), strict=True))
    assert offsets == {(r, c) for r in range(-2, 3) for c in range(-2, 3)}  # all 25 appear
    corner = torch.zeros(1, PIXELS)
    corner[0, 0] = 1.0
    moved = augment(corner.repeat(300, 1), NONE.replace(max_shift=1), generator(3))
    kept = moved.sum(dim=1)
    assert set(kept.tolist()) == {0.0, 1.0}  # shifted up or left: off the image, zeros in
    assert kept.mean().item() == pytest.approx(4 / 9, abs=0.1)  # (down or 0)^2 of 9 shifts


def test_dropout_zeroes_its_share_of_pixels_and_noise_has_its_std():
    ones = torch.ones(400, PIXELS)
    dropped = augment(ones, NONE.replace(dropout=0.3), generator(4))
    assert set(dropped.unique().tolist()) == {0.0, 1.0}
    assert (dropped == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    grey = torch.full((400, PIXELS), 0.5)
    noisy = augment(grey, NONE.replace(noise_std=0.05), generator(5))
    assert (noisy - grey).std().item() == pytest.approx(0.05, rel=0.02)
    assert (noisy - grey).mean().item() == pytest.approx(0.0, abs=0.001)


@pytest.mark.parametrize(
    "changes",
    [{"noise_std": -0.1}, {"noise_std": 1.5}, {"dropout": 0.95}, {"max_shift": 4},
     {"max_shift": 1.5}, {"max_shift": True}, {"noise_std": math.nan}],
)  # fmt: skip
def test_augment_rejects_strengths_outside_their_ranges(changes):
    name = next(iter(changes))
    with pytest.raises(ValueError, match=name):
        Augment(**changes)


def test_augment_rejects_images_that_are_not_flat_digits():
    with pytest.raises(ValueError, match="64"):
        augment(torch.zeros(4, 8, 8), NONE, generator())


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("changes", "name"),
    [({"temperature": 0.0}, "temperature"), ({"temperature": 2.5}, "temperature"),
     ({"output_dim": 3}, "output_dim"), ({"output_dim": 65}, "output_dim"),
     ({"output_dim": True}, "output_dim"), ({"projector": 1}, "projector"),
     ({"variance_weight": -1.0}, "variance_weight"), ({"augment": (0.1, 0.1, 1)}, "augment"),
     ({"batch_size": 8}, "batch_size"), ({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"),
     ({"seed": -1}, "seed"), ({"record_every": 0}, "record_every")],
)  # fmt: skip
def test_config_rejects_values_outside_their_ranges(changes, name):
    with pytest.raises(ValueError, match=name):
        ContrastiveConfig().replace(**changes)


def test_configs_are_hashable_and_equal_by_value():
    a = ContrastiveConfig(augment=Augment(0.2, 0.0, 2))
    b = ContrastiveConfig(augment=Augment(0.2, 0.0, 2))
    assert a == b and hash(a) == hash(b) and len({a, b, a.replace(seed=1)}) == 2
    assert ContrastiveConfig(output_dim=2).output_dim == 2
    assert ContrastiveConfig(output_dim=64).output_dim == 64


# --------------------------------------------------------------------------- runs


def test_the_same_config_gives_a_bit_identical_run_and_leaves_the_global_rng_alone():
    config = SMALL.replace(projector=True, variance_weight=1.0)
    state = torch.random.get_rng_state()
    first, second = train_contrastive(config, "cpu"), train_contrastive(config, "cpu")
    assert torch.equal(torch.random.get_rng_state(), state)
    assert same_run(first, second)
    assert [s.step for s in first.snapshots] == [0, 4, 8, 12]
    assert first.first.loss != first.last.loss  # it trained
    other = train_contrastive(config.replace(seed=4), "cpu")
    assert not torch.equal(other.first.points, first.first.points)


def test_records_hold_the_probe_set_as_described():
    run = train_contrastive(SMALL.replace(steps=2, record_every=2), "cpu")
    probe_labels = load_digits_points().labels
    assert run.labels.shape == (PROBE_SIZE,) and run.labels.dtype == torch.int64
    assert torch.equal(torch.bincount(run.labels[:500]), torch.full((10,), 50))  # stratified
    assert set(run.labels.tolist()) <= set(probe_labels.tolist())
    assert run.projection == PROJECTION == "pca"
    for snapshot in run.snapshots:
        assert snapshot.points.shape == (PROBE_SIZE, 2) and snapshot.points.dtype == torch.float32
        assert snapshot.spectrum.shape == (8,) and snapshot.spectrum.dtype == torch.float64
        assert 1.0 <= snapshot.effective_rank <= 8.0
        assert 0.0 <= snapshot.alignment <= 4.0 and -4.0 <= snapshot.uniformity <= 0.0
        assert snapshot.stopped is None


def test_circle_points_are_the_normalised_outputs():
    run = train_contrastive(SMALL.replace(output_dim=2, steps=2), "cpu")
    norms = torch.linalg.vector_norm(run.last.points, dim=1)
    torch.testing.assert_close(norms, torch.ones(PROBE_SIZE))


def test_recording_less_often_changes_nothing_else():
    often = train_contrastive(SMALL.replace(record_every=3), "cpu")
    rarely = train_contrastive(SMALL.replace(record_every=SMALL.steps), "cpu")
    assert [s.step for s in rarely.snapshots] == [0, SMALL.steps]
    for a, b in ((often.first, rarely.first), (often.last, rarely.last)):
        assert (a.loss, a.alignment, a.uniformity) == (b.loss, b.alignment, b.uniformity)
        assert torch.equal(a.spectrum, b.spectrum) and torch.equal(a.points, b.points)


def test_a_pair_starts_from_the_same_weights_and_equals_separate_runs():
    a = SMALL.replace(temperature=0.1)
    b = SMALL.replace(temperature=1.0)
    weights_a, weights_b = ContrastiveEncoder(a).parameters, ContrastiveEncoder(b).parameters
    assert all(torch.equal(x, y) for x, y in zip(weights_a, weights_b, strict=True))
    run_a, run_b = train_pair(a, b, "cpu")
    # Step 0: same weights on the same probe, so every measure but the loss agrees.
    assert torch.equal(run_a.first.points, run_b.first.points)
    assert torch.equal(run_a.first.spectrum, run_b.first.spectrum)
    assert run_a.first.alignment == run_b.first.alignment
    assert run_a.first.loss != run_b.first.loss  # the temperature differs
    assert not torch.equal(run_a.last.points, run_b.last.points)
    assert same_run(run_a, train_contrastive(a, "cpu"))
    assert same_run(run_b, train_contrastive(b, "cpu"))


def test_what_a_pair_shares_when_the_shapes_differ():
    wide, projected = SMALL.replace(output_dim=16), SMALL.replace(projector=True)
    first_layer = ContrastiveEncoder(SMALL).parameters[:2]
    for other in (wide, projected):
        assert all(
            torch.equal(x, y)
            for x, y in zip(first_layer, ContrastiveEncoder(other).parameters[:2], strict=True)
        )
    assert all(  # the projector's config keeps the encoder's second layer too
        torch.equal(x, y)
        for x, y in zip(
            ContrastiveEncoder(SMALL).parameters,
            ContrastiveEncoder(projected).parameters[:4],
            strict=True,
        )
    )
    # Other augmentation strengths at the same batch size: the same batches and the same
    # random draws, scaled. Without augmentation a view is the batch itself; a dropout of 0.2
    # drops a subset of the pixels a dropout of 0.4 drops (the same uniforms, two cut-offs).
    light, heavy = NONE.replace(dropout=0.2), NONE.replace(dropout=0.4)
    for (x, _), (v_light, _), (v_heavy, _) in zip(
        training_views(SMALL.replace(augment=NONE)),
        training_views(SMALL.replace(augment=light, temperature=1.0)),
        training_views(SMALL.replace(augment=heavy, output_dim=16)),
        strict=True,
    ):
        dropped_light, dropped_heavy = (v_light == 0) & (x > 0), (v_heavy == 0) & (x > 0)
        assert torch.equal(v_light, x.masked_fill(dropped_light, 0.0))
        assert bool((dropped_light <= dropped_heavy).all())
        assert int(dropped_heavy.sum()) > int(dropped_light.sum()) > 0


def test_a_pair_needs_the_same_seed_steps_and_records():
    for changes in ({"seed": 9}, {"steps": 13}, {"record_every": 5}):
        name = next(iter(changes))
        with pytest.raises(ValueError, match=name):
            check_pair(SMALL, SMALL.replace(**changes))
        with pytest.raises(ValueError, match=name):
            train_pair(SMALL, SMALL.replace(**changes), "cpu")


# --------------------------------------------------------------------------- presets

# The presets were chosen on seeds 0-4; these five seeds were never used to choose them.
TEST_SEEDS = (101, 102, 103, 104, 105)


def test_presets_are_pairs_with_claims():
    assert set(PRESETS) == {name for pair in PRESET_PAIRS for name in pair}
    for config, claim in PRESETS.values():
        assert isinstance(config, ContrastiveConfig) and claim.endswith(".")
    assert PRESETS["tau_small"][0].replace(temperature=1.0) == PRESETS["tau_large"][0]
    assert PRESETS["collapsing"][0].output_dim == 32
    collapsing, fixed = PRESETS["collapsing"][0], PRESETS["not_collapsing"][0]
    assert collapsing.replace(augment=fixed.augment) == fixed  # only the shifts differ


def final_pair(first: str, second: str, seed: int) -> tuple[ContrastiveRun, ContrastiveRun]:
    """The two presets trained side by side on ``seed``, recording only the first and last
    steps (recording changes nothing else: test_recording_less_often_changes_nothing_else)."""
    a, b = PRESETS[first][0], PRESETS[second][0]
    return train_pair(
        a.replace(seed=seed, record_every=a.steps),
        b.replace(seed=seed, record_every=b.steps),
        "cpu",
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", TEST_SEEDS)
def test_temperature_trades_alignment_for_uniformity(seed):
    small, large = (run.last for run in final_pair("tau_small", "tau_large", seed))
    # Measured on seeds 101-105: tau_small alignment 0.037-0.051, uniformity -0.61 to -0.47;
    # tau_large alignment 0.30-0.47, uniformity -1.49 to -1.13 (the circle evenly: -1.57).
    assert small.alignment < 0.1 and small.uniformity > -0.9
    assert large.alignment > 0.2 and large.uniformity < -1.0
    assert small.alignment < large.alignment and small.uniformity > large.uniformity


@pytest.mark.slow
@pytest.mark.parametrize("seed", TEST_SEEDS)
def test_shifted_views_collapse_the_spectrum_and_plain_noise_does_not(seed):
    collapsing, fixed = (run.last for run in final_pair("collapsing", "not_collapsing", seed))
    # Measured on seeds 101-105 (of 32): collapsing 1.56-2.38, not collapsing 11.4-12.9.
    assert collapsing.effective_rank <= 2.5
    assert fixed.effective_rank >= 8.0
    assert collapsing.stopped is None and fixed.stopped is None
