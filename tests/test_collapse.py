"""Training core of the collapse demo: determinism, snapshots, presets, the guard, the fix."""

from __future__ import annotations

import math

import pytest
import torch

from lossviz.batches.point_sets import LabelledPoints
from lossviz.training.collapse import (
    COLLAPSE_RATIO,
    DATASETS,
    LOSS_FUNCTIONS,
    LOSS_LABELS,
    LOSSES,
    OPTIMIZERS,
    PRESETS,
    SHARES_SIZE,
    Encoder,
    Snapshot,
    TrainConfig,
    collapsed,
    evaluation_indices,
    load_points,
    train,
)
from tests.conftest import DEVICES

SHORT = TrainConfig(steps=25, record_every=10, eval_size=100)
SEEDS = range(5)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: on a busy 2-core machine a second torch thread mostly waits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(config: TrainConfig, device: str = "cpu", **kwargs) -> list[Snapshot]:
    return list(train(config, device, **kwargs))


def assert_same_snapshots(a: list[Snapshot], b: list[Snapshot]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.step, x.loss, x.spread, x.shares, x.stopped) == (
            y.step,
            y.loss,
            y.spread,
            y.shares,
            y.stopped,
        )
        assert torch.equal(x.embeddings, y.embeddings)
        assert torch.equal(x.labels, y.labels)


# ----------------------------------------------------------------- determinism and snapshots


@pytest.mark.parametrize("device", DEVICES)
def test_same_seed_gives_identical_snapshots(device):
    for loss in ("batch_hard", "batch_hard_fix"):
        config = SHORT.replace(loss=loss)
        assert_same_snapshots(run(config, device), run(config, device))


def test_another_seed_gives_another_run():
    a, b = run(SHORT), run(SHORT.replace(seed=1))
    assert not torch.equal(a[0].embeddings, b[0].embeddings)
    assert a[-1].loss != b[-1].loss


def test_every_loss_starts_from_the_same_weights_on_the_same_evaluation_set():
    starts = [next(train(SHORT.replace(loss=loss), "cpu")) for loss in LOSSES]
    for start in starts[1:]:
        assert torch.equal(start.embeddings, starts[0].embeddings)
        assert torch.equal(start.labels, starts[0].labels)


def test_global_rng_is_untouched():
    before = torch.random.get_rng_state()
    run(SHORT.replace(dataset="blobs"))
    run(SHORT)
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize(
    ("steps", "every", "expected"),
    [
        (25, 10, [0, 10, 20, 25]),
        (20, 10, [0, 10, 20]),
        (5, 1, [0, 1, 2, 3, 4, 5]),
        (7, 100, [0, 7]),
        (1, 1, [0, 1]),
    ],
)
def test_snapshot_steps_follow_record_every(steps, every, expected):
    config = SHORT.replace(dataset="blobs", steps=steps, record_every=every)
    assert [s.step for s in run(config)] == expected


def test_recording_does_not_change_the_training():
    often = run(SHORT.replace(record_every=1))
    rarely = run(SHORT.replace(record_every=SHORT.steps))
    assert_same_snapshots([often[0], often[-1]], rarely)


def test_snapshot_contents():
    snapshots = run(SHORT)
    for snapshot in snapshots:
        assert snapshot.embeddings.shape == (SHORT.eval_size, 2)
        assert snapshot.embeddings.dtype == torch.float32
        assert snapshot.embeddings.device.type == "cpu"
        assert snapshot.labels.dtype == torch.int64
        assert snapshot.labels.shape == (SHORT.eval_size,)
        assert snapshot.stopped is None
        assert math.isfinite(snapshot.loss) and snapshot.spread > 0
        assert len(snapshot.shares) == 3 and min(snapshot.shares) >= 0
        assert sum(snapshot.shares) == pytest.approx(1.0, abs=1e-12)
    # The digits are stratified: 100 evaluation points hold 10 of each class.
    assert torch.bincount(snapshots[0].labels).tolist() == [10] * 10


def test_step_zero_loss_is_the_first_batch_before_any_update():
    # Two runs that differ only in the learning rate share step 0 exactly.
    a, b = run(SHORT), run(SHORT.replace(lr=1e-4))
    assert a[0].loss == b[0].loss
    assert torch.equal(a[0].embeddings, b[0].embeddings)
    assert a[1].loss != b[1].loss


def test_spread_is_the_mean_pairwise_distance():
    first = run(SHORT)[0]
    e = first.embeddings.double()
    n = e.shape[0]
    expected = sum(
        float(torch.linalg.vector_norm(e[i] - e[j])) for i in range(n) for j in range(n) if i != j
    ) / (n * (n - 1))
    assert first.spread == pytest.approx(expected, rel=1e-9)


def test_l2_normalize_puts_embeddings_on_the_unit_circle():
    for snapshot in run(SHORT.replace(l2_normalize=True)):
        norms = torch.linalg.vector_norm(snapshot.embeddings, dim=1)
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)


def test_evaluation_set_is_capped_at_the_data_set():
    blobs = load_points("blobs")
    snapshots = run(SHORT.replace(dataset="blobs", eval_size=2000, steps=1))
    assert snapshots[0].embeddings.shape == (blobs.labels.shape[0], 2)


def test_evaluation_indices_are_stratified_and_seeded():
    labels = load_points("digits").labels
    index = evaluation_indices(labels, 400, torch.Generator().manual_seed(3))
    assert index.unique().numel() == 400
    for prefix in (10, 50, 200):
        assert torch.bincount(labels[index[:prefix]], minlength=10).tolist() == [prefix // 10] * 10
    again = evaluation_indices(labels, 400, torch.Generator().manual_seed(3))
    assert torch.equal(index, again)
    assert not torch.equal(index, evaluation_indices(labels, 400, torch.Generator()))


def test_encoder_initialises_like_torch_linear():
    encoder = Encoder(64, 32, torch.Generator().manual_seed(0))
    w1, b1, w2, b2 = encoder.parameters
    assert [tuple(p.shape) for p in encoder.parameters] == [(32, 64), (32,), (2, 32), (2,)]
    for weight, bias, fan_in in ((w1, b1, 64), (w2, b2, 32)):
        bound = 1 / math.sqrt(fan_in)
        assert weight.abs().max() <= bound and bias.abs().max() <= bound
        assert weight.abs().max() > 0.9 * bound  # uniform over the whole range
    assert encoder(torch.zeros(5, 64)).shape == (5, 2)


# ----------------------------------------------------------------- presets: collapse and fix


def test_presets_collapse_and_fix_differ_only_in_the_loss():
    classic, fix = PRESETS["collapse"], PRESETS["quaterion_fix"]
    assert (classic.loss, fix.loss) == ("batch_hard", "batch_hard_fix")
    assert classic.replace(loss=fix.loss) == fix
    assert all(isinstance(config, TrainConfig) for config in PRESETS.values())


def first_and_last(name: str, seed: int) -> tuple[Snapshot, Snapshot]:
    # Snapshots do not change the training (tested above): record only both ends.
    config = PRESETS[name]
    snapshots = run(config.replace(seed=seed, record_every=config.steps))
    return snapshots[0], snapshots[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_classic_batch_hard_collapses(seed):
    first, last = first_and_last("collapse", seed)
    assert last.step == PRESETS["collapse"].steps and last.stopped is None
    assert last.spread <= COLLAPSE_RATIO * first.spread
    assert collapsed(first, last)
    margin = PRESETS["collapse"].margin
    assert abs(last.loss - margin) <= 0.02 * margin


@pytest.mark.parametrize("seed", SEEDS)
def test_the_fix_does_not_collapse(seed):
    first, last = first_and_last("quaterion_fix", seed)
    assert last.step == PRESETS["quaterion_fix"].steps and last.stopped is None
    assert last.spread >= 0.1 * first.spread
    assert not collapsed(first, last)


def test_collapsed_compares_with_the_start():
    def at(spread: float) -> Snapshot:
        return Snapshot(
            0, 0.2, spread, torch.zeros(1, 2), torch.zeros(1, dtype=torch.int64), (1, 0, 0)
        )

    assert collapsed(at(2.0), at(0.02))
    assert not collapsed(at(2.0), at(0.021))


# ----------------------------------------------------------------- the guard and edge cases


def test_guard_stops_a_diverging_run_with_finite_embeddings():
    # Measured: plain SGD at lr 10 on the blobs overflows float32 near step 10 for seeds 0..4.
    config = TrainConfig(dataset="blobs", optimizer="sgd", lr=10.0, steps=100, record_every=5)
    snapshots = run(config)
    last = snapshots[-1]
    assert last.step < config.steps
    assert isinstance(last.stopped, str) and "smaller learning rate" in last.stopped
    assert f"step {last.step}" in last.stopped
    assert not math.isfinite(last.loss)
    assert bool(torch.isfinite(last.embeddings).all()) and math.isfinite(last.spread)
    assert sum(last.shares) == pytest.approx(1.0)
    assert all(s.stopped is None for s in snapshots[:-1])


def test_gradient_clipping_keeps_that_run_finite():
    config = TrainConfig(dataset="blobs", optimizer="sgd", lr=10.0, steps=30, clip_grad=1.0)
    last = run(config)[-1]
    assert last.stopped is None and last.step == 30 and math.isfinite(last.loss)


@pytest.mark.parametrize("loss", ["batch_hard", "batch_hard_fix"])
def test_batch_hard_is_finite_at_an_exactly_collapsed_batch(loss):
    encoder = Encoder(64, 64, torch.Generator().manual_seed(0))
    with torch.no_grad():
        encoder.parameters[2].zero_()  # every input now maps to the bias: exact collapse
    digits = load_points("digits")
    embeddings = encoder(digits.embeddings[:128])
    assert torch.equal(embeddings, embeddings[:1].expand_as(embeddings))
    value = LOSS_FUNCTIONS[loss](embeddings, digits.labels[:128], 0.2)
    value.backward()
    assert value.item() == pytest.approx(0.2)
    for parameter in encoder.parameters:
        assert bool(torch.isfinite(parameter.grad).all())


def test_one_class_batches_do_not_crash():
    # One point of class 1 among 200 of class 0: most batches of 8 hold one class only.
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(201, 3, generator=generator)
    labels = torch.zeros(201, dtype=torch.int64)
    labels[-1] = 1
    points = LabelledPoints(x, labels, ("a", "b"))
    for loss in LOSSES:
        config = TrainConfig(loss=loss, batch_size=8, steps=20, optimizer="sgd", lr=0.1)
        snapshots = run(config, points=points)
        assert snapshots[-1].step == 20 and snapshots[-1].stopped is None
        assert all(math.isfinite(s.loss) for s in snapshots)


def test_a_single_class_data_set_has_no_triplets():
    points = LabelledPoints(torch.rand(50, 4), torch.zeros(50, dtype=torch.int64), ("a",))
    snapshots = run(TrainConfig(steps=3, record_every=1, eval_size=20), points=points)
    assert [s.loss for s in snapshots] == [0.0] * 4
    assert snapshots[-1].shares == (0.0, 0.0, 0.0)


def test_points_are_checked():
    config = TrainConfig(steps=1)
    bad = LabelledPoints(torch.tensor([[0.0], [math.nan]]), torch.tensor([0, 1]), ("a", "b"))
    with pytest.raises(ValueError, match="NaN"):
        run(config, points=bad)
    bad = LabelledPoints(torch.zeros(2, 1), torch.tensor([0, -1]), ("a", "b"))
    with pytest.raises(ValueError, match="labels"):
        run(config, points=bad)


# ----------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset", "mnist"),
        ("loss", "contrastive"),
        ("optimizer", "rmsprop"),
        ("margin", -0.1),
        ("margin", 5.5),
        ("margin", math.nan),
        ("lr", 0.0),
        ("lr", -1.0),
        ("lr", 11.0),
        ("lr", math.inf),
        ("lr", "0.1"),
        ("steps", 0),
        ("steps", 2001),
        ("steps", 10.0),
        ("steps", True),
        ("batch_size", 4),
        ("batch_size", 513),
        ("seed", -1),
        ("clip_grad", -1.0),
        ("record_every", 0),
        ("eval_size", 5),
        ("hidden", 1),
        ("l2_normalize", 1),
    ],
)
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})
    with pytest.raises(ValueError, match=field):
        TrainConfig().replace(**{field: value})


def test_the_cubic_loss_limits_the_batch():
    TrainConfig(loss="batch_hard", batch_size=512)
    TrainConfig(loss="batch_all", batch_size=256)
    TrainConfig(loss="batch_semihard", batch_size=512)  # O(B^2 log B) now
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(loss="batch_all", batch_size=512)


def test_config_accepts_the_bounds():
    TrainConfig(margin=0.0, lr=10.0, steps=2000, batch_size=8, clip_grad=5.0, seed=2**31 - 1)
    TrainConfig(margin=5, lr=1e-6, optimizer="sgd", dataset="blobs", l2_normalize=True)


def test_names_and_labels():
    assert set(LOSS_LABELS) == set(LOSSES) == set(LOSS_FUNCTIONS)
    assert OPTIMIZERS == ("adam", "sgd") and DATASETS == ("digits", "blobs")
    assert TrainConfig().eval_size >= SHARES_SIZE
