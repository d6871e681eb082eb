"""Training a small encoder with batch losses, to watch batch-hard collapse (and its fix).

An MLP ``Linear(D, hidden) - ReLU - Linear(hidden, 2)`` maps a data set to
the plane; ``train`` runs a seeded optimiser on random batches and yields
:class:`Snapshot` s of a fixed evaluation subset every ``record_every``
steps. ``PRESETS["collapse"]`` (digits, batch 128, margin 0.2, Adam at 0.03,
no output normalisation) drives every embedding to one point for seeds
0..4 (the spread falls below 1% of its start by step 40-110): the loss sits
at the margin and nothing is learnt. ``PRESETS["quaterion_fix"]``, the same
but for Quaterion's normalised loss, spreads the points 12-39x instead.
See ``bench/results/collapse_sweep-cpu.md``.

Conventions: step ``t`` means "after ``t`` updates"; its snapshot holds the
weights of step ``t`` applied to the evaluation set and the loss of training
batch ``t`` under those same weights (so step 0 is before any update, and
the final step's loss is a forward pass only). Every run uses its own
``torch.Generator`` s: the global RNG is never read or advanced.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from lossviz.batches.point_sets import LabelledPoints, load_digits_points, make_blobs
from lossviz.core.device import default_device
from lossviz.core.distances import distance_matrix
from lossviz.core.losses import (
    NonFiniteError,
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    batch_semihard_triplet_loss,
)
from lossviz.core.ranges import SEED, Range
from lossviz.core.triplets import Kind, count_triplets

LOSSES = ("batch_hard", "batch_hard_fix", "batch_all", "batch_semihard")
LOSS_LABELS: dict[str, str] = {
    "batch_hard": "Batch-hard (classic)",
    "batch_hard_fix": "Batch-hard, normalised (Quaterion's fix)",
    "batch_all": "Batch-all",
    "batch_semihard": "Semi-hard (FaceNet)",
}
OPTIMIZERS = ("adam", "sgd")
OPTIMIZER_LABELS: dict[str, str] = {"adam": "Adam", "sgd": "SGD (no momentum)"}
DATASETS = ("digits", "blobs")
DATASET_LABELS: dict[str, str] = {
    "digits": "Handwritten digits (64-D, 10 classes)",
    "blobs": "Gaussian blobs (2-D, 4 classes)",
}

# Every numeric setting's range, declared once: TrainConfig checks against these and the
# collapse page's controls are built from them (narrowed where the page offers less).
MARGIN = Range(0.0, 5.0)
LR = Range(0.0, 10.0, lo_open=True)
CLIP_GRAD = Range(0.0, 1e6)  # 0: no clipping
STEPS = Range(1, 2000, integer=True)
BATCH_SIZE = Range(8, 512, integer=True)
BATCH_SIZES = (8, 16, 32, 64, 128, 256)  # what the page offers
RECORD_EVERY = Range(1, 2000, integer=True)
EVAL_SIZE = Range(20, 2000, integer=True)
HIDDEN = Range(2, 512, integer=True)
# batch_all builds (B, B, B) tensors: 256**3 floats is 64 MB each.
MAX_CUBIC_BATCH = 256
CUBIC_LOSSES = ("batch_all",)

# The easy / semi-hard / hard shares are counted on this stratified prefix of
# the evaluation set: 200 points cost ~2 ms, 400 points ~10 ms per snapshot.
SHARES_SIZE = 200

COLLAPSE_RATIO = 0.01

# The blobs data set is fixed (the seed picks weights, batches and the evaluation subset).
BLOBS_CLASSES, BLOBS_PER_CLASS, BLOBS_SPREAD, BLOBS_SEED = 4, 150, 0.8, 0

# Independent random streams of one seed, so that e.g. a new eval_size leaves
# the initial weights and the batch order unchanged.
_STREAM_INIT, _STREAM_BATCHES, _STREAM_EVAL = 0, 1, 2
_STREAMS = 4


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; equal configs give identical runs.

    ``clip_grad`` 0 turns clipping off, else it is the maximal total gradient
    norm. ``record_every`` k: a snapshot every k steps, plus step 0 and the
    final step. ``eval_size`` points (capped at the data set's size) are the
    fixed, class-stratified evaluation subset the snapshots show.
    """

    dataset: str = "digits"
    loss: str = "batch_hard"
    margin: float = 0.2
    lr: float = 0.03
    optimizer: str = "adam"
    steps: int = 300
    batch_size: int = 128
    l2_normalize: bool = False
    seed: int = 0
    clip_grad: float = 0.0
    record_every: int = 10
    eval_size: int = 400
    hidden: int = 64

    def __post_init__(self) -> None:
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        for name, allowed in RANGES.items():
            allowed.check(name, getattr(self, name))
        if not isinstance(self.l2_normalize, bool):
            raise ValueError(f"l2_normalize must be True or False; got {self.l2_normalize!r}")
        if self.loss in CUBIC_LOSSES and self.batch_size > MAX_CUBIC_BATCH:
            raise ValueError(
                f"batch_size must be at most {MAX_CUBIC_BATCH} for {LOSS_LABELS[self.loss]} "
                f"(it compares every triplet of the batch); got {self.batch_size}"
            )

    def replace(self, **changes: object) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


RANGES: dict[str, Range] = {
    "margin": MARGIN,
    "lr": LR,
    "clip_grad": CLIP_GRAD,
    "steps": STEPS,
    "batch_size": BATCH_SIZE,
    "seed": SEED,
    "record_every": RECORD_EVERY,
    "eval_size": EVAL_SIZE,
    "hidden": HIDDEN,
}


@dataclass(frozen=True)
class Snapshot:
    """The state of a run at one step.

    ``loss``: training-batch loss at this step (see the module docstring);
    it may be NaN or inf in the snapshot that reports a stop.
    ``spread``: mean pairwise Euclidean distance of the evaluation set's
    embeddings (over pairs i != j). ``embeddings`` (E, 2) float32 and
    ``labels`` (E,) int64 are on the CPU. ``shares``: fractions of (easy,
    semi-hard, hard) valid triplets at the config's margin among the first
    ``SHARES_SIZE`` evaluation points; they sum to 1 (all 0 if there is no
    valid triplet). ``stopped``: None, or a message when the guard stopped
    training at this step (then embeddings, spread and shares are those of
    the last finite evaluation).
    """

    step: int
    loss: float
    spread: float
    embeddings: Tensor
    labels: Tensor
    shares: tuple[float, float, float]
    stopped: str | None = None


def collapsed(first: Snapshot, last: Snapshot) -> bool:
    """Whether the evaluation set's spread fell to at most ``COLLAPSE_RATIO`` of its start."""
    return last.spread <= COLLAPSE_RATIO * first.spread


def load_points(dataset: str) -> LabelledPoints:
    """The training data of a ``DATASETS`` name (CPU float32 embeddings, int64 labels)."""
    _check_choice("dataset", dataset, DATASETS)
    if dataset == "digits":
        return load_digits_points()
    return make_blobs(BLOBS_CLASSES, BLOBS_PER_CLASS, BLOBS_SPREAD, BLOBS_SEED)


def _generator(seed: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * _STREAMS + stream)


class Encoder:
    """``Linear(in, hidden) - ReLU - Linear(hidden, 2)``, optionally onto the unit circle.

    Initialised as ``torch.nn.Linear`` does (weights and biases uniform in
    ``+-1/sqrt(fan_in)``), drawn on the CPU from ``generator`` so the weights
    are the same on every device. Maps (N, in) to (N, 2).
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        generator: torch.Generator,
        l2_normalize: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        self.l2_normalize = l2_normalize
        self.parameters: list[Tensor] = []
        for fan_in, fan_out in ((in_features, hidden), (hidden, 2)):
            bound = 1.0 / math.sqrt(fan_in)
            for shape in ((fan_out, fan_in), (fan_out,)):
                values = torch.empty(shape).uniform_(-bound, bound, generator=generator)
                self.parameters.append(values.to(device).requires_grad_())

    def __call__(self, x: Tensor) -> Tensor:
        w1, b1, w2, b2 = self.parameters
        out = F.linear(torch.relu(F.linear(x, w1, b1)), w2, b2)
        return F.normalize(out, dim=1) if self.l2_normalize else out


LossFunction = Callable[[Tensor, Tensor, float], Tensor]

LOSS_FUNCTIONS: dict[str, LossFunction] = {
    "batch_hard": lambda e, y, m: batch_hard_triplet_loss(e, y, m),
    "batch_hard_fix": lambda e, y, m: batch_hard_triplet_loss(e, y, m, normalize=True),
    "batch_all": batch_all_triplet_loss,
    "batch_semihard": batch_semihard_triplet_loss,
}


def evaluation_indices(labels: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """``min(size, N)`` indices into ``labels`` (N,), stratified: every prefix is class-balanced.

    Classes take turns (a random member of each class, then a second of
    each, ...), so the first ``k * n_classes`` indices hold ``k`` of every
    class that has that many.
    """
    n = labels.shape[0]
    order = torch.randperm(n, generator=generator)
    shuffled = labels[order]
    by_class = torch.sort(shuffled, stable=True).indices
    sorted_labels = shuffled[by_class]
    starts = torch.searchsorted(sorted_labels, sorted_labels, right=False)
    rank = torch.empty(n, dtype=torch.int64)
    rank[by_class] = torch.arange(n) - starts
    turn = rank * (int(labels.max()) + 1) + shuffled
    return order[torch.argsort(turn)][: min(size, n)]


def mean_pairwise_distance(embeddings: Tensor) -> float:
    """Mean Euclidean distance over pairs i != j of (E, D) ``embeddings``, in float64."""
    n = embeddings.shape[0]
    if n < 2:
        return 0.0
    return float(distance_matrix(embeddings.to(torch.float64)).sum()) / (n * (n - 1))


def triplet_shares(embeddings: Tensor, labels: Tensor, margin: float) -> tuple[float, float, float]:
    """(easy, semi-hard, hard) fractions of the valid triplets; all 0 when there is none."""
    counts = count_triplets(embeddings, labels, margin)
    total = sum(counts.values())
    if total == 0:
        return (0.0, 0.0, 0.0)
    return tuple(counts[kind] / total for kind in (Kind.EASY, Kind.SEMI_HARD, Kind.HARD))


def _check_points(points: LabelledPoints) -> None:
    x, y = points.embeddings, points.labels
    if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"points must be (N, D) with N, D >= 1; got {tuple(x.shape)}")
    if y.shape != (x.shape[0],) or y.dtype != torch.int64 or int(y.min()) < 0:
        raise ValueError("labels must be (N,) int64 class numbers >= 0")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("points contain NaN or infinite values")


def _stop_message(step: int, what: str, config: TrainConfig) -> str:
    advice = f"Try a smaller learning rate than {config.lr:g}"
    if config.clip_grad == 0:
        advice += " or turn on gradient clipping"
    return f"Training stopped at step {step}: {what}. {advice}."


def train(
    config: TrainConfig,
    device: torch.device | str | None = None,
    points: LabelledPoints | None = None,
) -> Iterator[Snapshot]:
    """Train an :class:`Encoder` as ``config`` says; yield snapshots at steps 0, k, 2k, ..., steps.

    Runs on ``device or default_device()``. ``points`` replaces the
    config's data set (e.g. an upload; any input dimension, labels 0..C-1).
    Deterministic for a config and device: the same seed gives the same
    initial weights and batch order (for every loss) and the same snapshots.
    Batches are drawn uniformly with replacement. Embeddings, distances, a
    loss or gradients that stop being finite end the run with a snapshot
    whose ``stopped`` says so. A batch of one class has no triplet: batch-all
    and batch-hard give 0 there; the fix and semi-hard, as Quaterion and TF
    Addons define them, still pull its points together (see ``losses``).
    """
    device = torch.device(device) if device is not None else default_device()
    data = points if points is not None else load_points(config.dataset)
    _check_points(data)
    x_all = data.embeddings.to(device=device, dtype=torch.float32)
    y_all = data.labels.to(device)
    n = x_all.shape[0]

    eval_index = evaluation_indices(
        data.labels, config.eval_size, _generator(config.seed, _STREAM_EVAL)
    ).to(device)
    x_eval, y_eval = x_all[eval_index], y_all[eval_index]
    y_eval_cpu = y_eval.cpu()
    encoder = Encoder(
        x_all.shape[1],
        config.hidden,
        _generator(config.seed, _STREAM_INIT),
        config.l2_normalize,
        device,
    )
    batches = torch.randint(
        0,
        n,
        (config.steps + 1, config.batch_size),
        generator=_generator(config.seed, _STREAM_BATCHES),
    ).to(device)
    optimizer_class = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
    optimizer = optimizer_class(encoder.parameters, lr=config.lr)
    loss_function = LOSS_FUNCTIONS[config.loss]
    last: Snapshot | None = None

    def snapshot(step: int, loss: float, stopped: str | None = None) -> Snapshot:
        with torch.no_grad():
            embeddings = encoder(x_eval).to("cpu", torch.float32)
        if not bool(torch.isfinite(embeddings).all()):
            if last is not None:
                return dataclasses.replace(last, step=step, loss=loss, stopped=stopped)
            embeddings = torch.where(torch.isfinite(embeddings), embeddings, 0.0)
        return Snapshot(
            step=step,
            loss=loss,
            spread=mean_pairwise_distance(embeddings),
            embeddings=embeddings,
            labels=y_eval_cpu,
            shares=triplet_shares(
                embeddings[:SHARES_SIZE], y_eval_cpu[:SHARES_SIZE], config.margin
            ),
            stopped=stopped,
        )

    for step in range(config.steps + 1):
        index = batches[step]
        stopped = None
        try:
            loss = loss_function(encoder(x_all[index]), y_all[index], config.margin)
            loss_value = float(loss.detach())
        except NonFiniteError as problem:  # the embeddings or their distances overflowed
            loss_value = math.nan
            stopped = _stop_message(step, f"{problem}", config)
        if stopped is None and not math.isfinite(loss_value):
            what = "NaN (not a number)" if math.isnan(loss_value) else "infinite"
            stopped = _stop_message(step, f"the loss became {what}", config)
        elif stopped is None and step < config.steps:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.clip_grad > 0:
                norm = torch.nn.utils.clip_grad_norm_(encoder.parameters, config.clip_grad)
            else:
                grads = [p.grad for p in encoder.parameters if p.grad is not None]
                norm = torch.nn.utils.get_total_norm(grads)
            if not math.isfinite(float(norm)):
                stopped = _stop_message(step, "the gradients are not finite", config)
        if stopped or step % config.record_every == 0 or step == config.steps:
            last = snapshot(step, loss_value, stopped)
            yield last
        if stopped or step == config.steps:
            return
        optimizer.step()


# "collapse" and "quaterion_fix" differ only in the loss (tests hold both to seeds 0..4).
PRESETS: dict[str, TrainConfig] = {
    "collapse": TrainConfig(),
    "quaterion_fix": TrainConfig(loss="batch_hard_fix"),
    # Batch 64, as the sweep that found these presets ran it.
    "semihard": TrainConfig(loss="batch_semihard", batch_size=64),
    # A 2-D toy that trains well (classic batch-hard shrinks it to 1-4% but not reliably below).
    "blobs": TrainConfig(dataset="blobs", loss="batch_hard_fix", lr=0.01),
}
