"""The digits encoder trained SimCLR-style: the temperature's trade-off and dimensional collapse.

Model. ``Linear(64, HIDDEN) - ReLU - Linear(HIDDEN, output_dim)`` maps an 8x8 digit to its
*representation* ``h``. With ``projector=True`` an extra head ``Linear(output_dim,
PROJECTOR_HIDDEN) - ReLU - Linear(PROJECTOR_HIDDEN, output_dim)`` maps ``h`` to the
*output* ``z``; without it ``z = h``. The loss sees ``z``: SimCLR's NT-Xent
(:func:`lossviz.core.softmax_contrastive.nt_xent_loss`, lightly's definition, which
normalises ``z``) on two augmented views of each example of the batch, plus, when
``variance_weight > 0``, a VICReg-style hinge on each dimension's standard deviation of the
normalised outputs (:func:`variance_penalty`).

What each record measures, on a fixed *probe set* (``PROBE_SIZE`` digits, class-stratified,
drawn once per seed, with two augmented views of each drawn once per run):

- ``alignment`` and ``uniformity`` (Wang and Isola 2020, alpha = t = 2) of the normalised
  outputs ``z / |z|``: alignment between the probe's two views, uniformity of the clean probe
  images. These are what the temperature trades against each other.
- ``points`` (P, 2): the normalised outputs of the clean probe images; for ``output_dim = 2``
  they are those unit vectors themselves (the circle), for more dimensions their first two
  principal components at that step, centred (:data:`PROJECTION`; each record's own PCA,
  signs fixed as :func:`lossviz.batches.point_sets.project_2d` fixes them).
- ``spectrum``: the singular values, descending, float64, of the covariance of the clean probe
  images' *representations* ``h`` (unnormalised; the projector's input when there is one),
  ``C = (H - mean)^T (H - mean) / P`` (Jing et al. 2021, "Understanding Dimensional Collapse
  in Contrastive Self-supervised Learning", Fig. 2 and 4: the spectrum of the embedding
  covariance, the representation space when there is a projector). ``output_spectrum``: the
  same for the outputs ``z`` (equal to ``spectrum`` without a projector).
- ``effective_rank`` (and ``output_effective_rank``): RankMe's formula (Garrido et al. 2023)
  applied to that spectrum, ``exp(-sum p_k log p_k)`` with ``p_k = s_k / sum(s) + EPS``: the
  number of directions the variance is spread over, from 1 (every probe on one line) to
  ``output_dim`` (an isotropic cloud). Garrido et al. apply it to the singular values of the
  embedding matrix itself, the square roots of these (up to the factor P), which weighs weak
  directions more: ``effective_rank(spectrum.sqrt())`` is that reading, about 1.5x higher on
  the 32-dimensional presets.

Presets (:data:`PRESETS`, measured on seeds 0-4, held to seeds 101-105 by the tests). On the
circle, at 300 steps, a small temperature keeps a digit's views together but leaves the
digits bunched on an arc, and a large one spreads them round the circle at the cost of
alignment: at tau = 0.05 only the nearest negatives repel (their weight falls as
``exp(-distance / tau)``), so the cloud the fresh encoder starts in (a narrow cone) spreads
slowly, and 1,500 steps did not change the ranking. In 32 dimensions, what collapsed the
representation's spectrum was the augmentation (Jing et al.'s first cause): shifts of up to
3 pixels at tau = 2 leave an effective rank of 1.5-2.4 (shifts of 1 pixel about 3), pixel
noise alone 11-13. On the shifted preset neither the projector (1.4-2.0) nor the variance
term (weights 1 to 50: 1.2-3.2) lifted it: the hinge is met by dimensions that all vary
together (one direction can give every coordinate the same spread), so it stops complete
collapse, not dimensional collapse; VICReg decorrelates the dimensions with a separate
covariance term, which this module does not have.

Conventions as in :mod:`lossviz.training.collapse`: step ``t`` means "after ``t`` updates";
its record holds the weights of step ``t`` on the probe set and the loss of training batch
``t`` under those weights (step 0 is before any update; the final step's loss is a forward
pass only). Records at steps 0, k, 2k, ... and the last step. Every run draws from its own
``torch.Generator`` s (independent streams of the seed: initial weights layer by layer, batch
indices, training augmentations, the probe set and its views); the global RNG is untouched,
so equal configs give bit-identical runs on one device.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from lossviz.batches.point_sets import load_digits_points, project_2d
from lossviz.core.device import default_device
from lossviz.core.ranges import SEED, Range
from lossviz.core.softmax_contrastive import (
    TEMPERATURE,
    DegenerateError,
    alignment,
    nt_xent_loss,
    uniformity,
)
from lossviz.training.collapse import evaluation_indices
from lossviz.training.frame_codec import finite_or_none

IMAGE_SIDE = 8  # the digits are 8x8 images, flattened row by row to 64 pixels
PIXELS = IMAGE_SIDE * IMAGE_SIDE

# Augmentation strengths (Augment's fields).
NOISE_STD = Range(0.0, 1.0)
DROPOUT = Range(0.0, 0.9)
MAX_SHIFT = Range(0, 3, integer=True)

# Training settings (ContrastiveConfig's fields); TEMPERATURE is the core's, 0.01 to 2.
CIRCLE_DIM = 2  # the output dimension that draws the circle
SPECTRUM_DIM = Range(8, 64, integer=True)  # output dimensions that show a spectrum
VARIANCE_WEIGHT = Range(0.0, 100.0)
BATCH_SIZE = Range(16, 512, integer=True)
STEPS = Range(1, 2000, integer=True)
LR = Range(0.0, 1.0, lo_open=True)
RECORD_EVERY = Range(1, 2000, integer=True)

HIDDEN = 64  # the encoder's hidden layer
PROJECTOR_HIDDEN = 64  # the projector head's hidden layer
PROBE_SIZE = 512  # digits measured at every record (class-stratified)
PROJECTION = "pca"  # how points of more than 2 dimensions are drawn: PCA of each record
EPS = 1e-7  # RankMe's epsilon in p_k = sigma_k / sum(sigma) + EPS
VARIANCE_EPS = 1e-4  # VICReg's epsilon inside the standard deviation's square root

# Independent random streams of one seed.
_STREAM_LAYER1, _STREAM_LAYER2, _STREAM_PROJECTOR = 0, 1, 2
_STREAM_BATCHES, _STREAM_AUGMENT, _STREAM_PROBE, _STREAM_PROBE_VIEWS = 3, 4, 5, 6
_STREAMS = 8


def _generator(seed: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * _STREAMS + stream)


# --------------------------------------------------------------------------- augmentation


@dataclass(frozen=True)
class Augment:
    """How a digit's view is made from it: a random integer shift of the 8x8 image by up to
    ``max_shift`` pixels in each direction (zero fill), each pixel then set to 0 with
    probability ``dropout``, then Gaussian noise of standard deviation ``noise_std`` on every
    pixel, clamped to [0, 1]. All zero: the view is the image (for pixels in [0, 1])."""

    noise_std: float = 0.1
    dropout: float = 0.1
    max_shift: int = 1

    def __post_init__(self) -> None:
        NOISE_STD.check("noise_std", self.noise_std)
        DROPOUT.check("dropout", self.dropout)
        MAX_SHIFT.check("max_shift", self.max_shift)

    def replace(self, **changes: object) -> Augment:
        return dataclasses.replace(self, **changes)


def augment(images: Tensor, how: Augment, generator: torch.Generator) -> Tensor:
    """One augmented view of each of ``images`` (B, 64), pixels in [0, 1] -> (B, 64).

    Draws, in this order and whatever the strengths, ``B x 2`` uniforms (the shifts),
    ``B x 64`` uniforms (the dropout mask) and ``B x 64`` normals (the noise) from
    ``generator`` on the CPU, then moves them to the images' device. So two configs with the
    same batch size see the same draws scaled to their own strengths, and the result is the
    same on every device up to float rounding.
    """
    if images.dim() != 2 or images.shape[1] != PIXELS:
        raise ValueError(f"images must be (B, {PIXELS}); got {tuple(images.shape)}")
    b = images.shape[0]
    shift_u = torch.rand(b, 2, generator=generator)
    drop_u = torch.rand(b, PIXELS, generator=generator)
    noise = torch.randn(b, PIXELS, generator=generator)
    device, dtype = images.device, images.dtype
    shifts = (shift_u * (2 * how.max_shift + 1)).floor().clamp(max=2 * how.max_shift)
    shifts = shifts.to(torch.int64) - how.max_shift  # uniform in -max_shift .. max_shift
    out = _shift(images, shifts.to(device))
    if how.dropout > 0:
        out = out.masked_fill((drop_u < how.dropout).to(device), 0.0)
    if how.noise_std > 0:
        out = (out + how.noise_std * noise.to(device, dtype)).clamp(0.0, 1.0)
    return out


def _shift(images: Tensor, shifts: Tensor) -> Tensor:
    """Each image moved by its (down, right) integer ``shifts`` (B, 2), zeros coming in."""
    if not bool(shifts.any()):
        return images
    b = images.shape[0]
    side = torch.arange(IMAGE_SIDE, device=images.device)
    rows = side[None, :, None] - shifts[:, 0, None, None]  # source row of each target pixel
    cols = side[None, None, :] - shifts[:, 1, None, None]
    inside = (rows >= 0) & (rows < IMAGE_SIDE) & (cols >= 0) & (cols < IMAGE_SIDE)
    source = (rows.clamp(0, IMAGE_SIDE - 1) * IMAGE_SIDE + cols.clamp(0, IMAGE_SIDE - 1)).reshape(
        b, PIXELS
    )
    moved = images.gather(1, source)
    return moved * inside.reshape(b, PIXELS).to(images.dtype)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ContrastiveConfig:
    """Everything that defines a run; equal configs give identical runs (hashable).

    ``output_dim``: 2 (the circle) or 8 to 64 (a spectrum). ``projector``: the extra head
    (see the module). ``variance_weight``: the weight of :func:`variance_penalty` (0: off).
    ``record_every`` k: a record every k steps, plus step 0 and the last step.
    """

    temperature: float = 0.2
    output_dim: int = 32
    projector: bool = False
    variance_weight: float = 0.0
    augment: Augment = Augment()
    batch_size: int = 128
    steps: int = 300
    lr: float = 0.01
    seed: int = 0
    record_every: int = 10

    def __post_init__(self) -> None:
        TEMPERATURE.check("temperature", self.temperature)
        if isinstance(self.output_dim, bool) or not (
            self.output_dim == CIRCLE_DIM or SPECTRUM_DIM.contains(self.output_dim)
        ):
            raise ValueError(
                f"output_dim must be {CIRCLE_DIM} (the circle) or a whole number from "
                f"{SPECTRUM_DIM.lo:g} to {SPECTRUM_DIM.hi:g} (a spectrum); got {self.output_dim!r}"
            )
        if not isinstance(self.projector, bool):
            raise ValueError(f"projector must be True or False; got {self.projector!r}")
        if not isinstance(self.augment, Augment):
            raise ValueError(f"augment must be an Augment; got {self.augment!r}")
        for name, allowed in RANGES.items():
            allowed.check(name, getattr(self, name))

    def replace(self, **changes: object) -> ContrastiveConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


RANGES: dict[str, Range] = {
    "variance_weight": VARIANCE_WEIGHT,
    "batch_size": BATCH_SIZE,
    "steps": STEPS,
    "lr": LR,
    "seed": SEED,
    "record_every": RECORD_EVERY,
}


# What each setting is called where runs are named (titles on the page and in its GIF): the
# settings in which two runs side by side differ, in this order.
SETTING_WORDS = {
    "temperature": ("τ", lambda c: f"{c.temperature:g}"),
    "output_dim": ("dim", lambda c: f"{c.output_dim}"),
    "max_shift": ("shift", lambda c: f"{c.augment.max_shift} px"),
    "noise_std": ("noise", lambda c: f"{c.augment.noise_std:g}"),
    "dropout": ("dropout", lambda c: f"{c.augment.dropout:g}"),
    "projector": ("projector", lambda c: "on" if c.projector else "off"),
    "variance_weight": ("variance term", lambda c: f"{c.variance_weight:g}"),
}


def differences(configs: Sequence[ContrastiveConfig]) -> list[str]:
    """The settings (:data:`SETTING_WORDS` keys) in which two runs differ, in that order
    (none for one run)."""
    if len(configs) < 2:
        return []
    return [name for name, (_, value) in SETTING_WORDS.items()
            if value(configs[0]) != value(configs[1])]  # fmt: skip


def run_titles(configs: Sequence[ContrastiveConfig]) -> list[str]:
    """Each run's name: its letter and (at most two of) the settings in which it differs from
    the other, e.g. ``["A: τ 0.05", "B: τ 1"]``."""
    differ = differences(configs)
    titles = []
    for letter, config in zip("AB", configs, strict=False):
        words = [f"{SETTING_WORDS[n][0]} {SETTING_WORDS[n][1](config)}" for n in differ[:2]]
        titles.append(f"{letter}: {', '.join(words)}" if words else letter)
    return titles


# --------------------------------------------------------------------------- model


def _linear(fan_in: int, fan_out: int, generator: torch.Generator) -> list[Tensor]:
    """Weight and bias as ``torch.nn.Linear`` initialises them (uniform in +-1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return [
        torch.empty(shape).uniform_(-bound, bound, generator=generator)
        for shape in ((fan_out, fan_in), (fan_out,))
    ]


class ContrastiveEncoder:
    """The encoder and optional projector (see the module); weights drawn on the CPU.

    The first layer comes from its own stream of the seed, so it is the same for every
    config of that seed; the second layer and the projector from theirs (the same when the
    output dimension agrees).
    """

    def __init__(self, config: ContrastiveConfig, device: torch.device | str = "cpu") -> None:
        seed, d = config.seed, config.output_dim
        layers = _linear(PIXELS, HIDDEN, _generator(seed, _STREAM_LAYER1))
        layers += _linear(HIDDEN, d, _generator(seed, _STREAM_LAYER2))
        if config.projector:
            head = _generator(seed, _STREAM_PROJECTOR)
            layers += _linear(d, PROJECTOR_HIDDEN, head) + _linear(PROJECTOR_HIDDEN, d, head)
        self.parameters = [p.to(device).requires_grad_() for p in layers]

    def representation(self, x: Tensor) -> Tensor:
        """``h`` (N, output_dim): the encoder's output, what the spectrum is taken of."""
        w1, b1, w2, b2 = self.parameters[:4]
        return F.linear(torch.relu(F.linear(x, w1, b1)), w2, b2)

    def head(self, h: Tensor) -> Tensor:
        """``z``: the projector's output on ``h``, or ``h`` itself without a projector."""
        if len(self.parameters) == 4:
            return h
        w3, b3, w4, b4 = self.parameters[4:]
        return F.linear(torch.relu(F.linear(h, w3, b3)), w4, b4)

    def __call__(self, x: Tensor) -> Tensor:
        return self.head(self.representation(x))


# --------------------------------------------------------------------------- measures


def covariance_spectrum(embeddings: Tensor) -> Tensor:
    """Singular values, descending, float64, of the covariance of (N, D) ``embeddings``:
    ``svdvals((X - mean)^T (X - mean) / N)`` in float64 (its eigenvalues: it is symmetric
    and positive semi-definite)."""
    if embeddings.dim() != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"embeddings must be (N, D) with N >= 2; got {tuple(embeddings.shape)}")
    x = embeddings.to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    return torch.linalg.svdvals(x.T @ x / x.shape[0])


def effective_rank(singular_values: Tensor, eps: float = EPS) -> float:
    """RankMe (Garrido et al. 2023): ``exp(-sum p_k log p_k)``, ``p_k = s_k / sum(s) + eps``,
    of non-negative ``singular_values`` (D,). 1 for rank one, D for D equal values
    (up to ``eps``); 0 for all zeros (no spread at all)."""
    s = singular_values.to(torch.float64)
    total = float(s.sum())
    if total <= 0:
        return 0.0
    p = s / total + eps
    return math.exp(float(-(p * p.log()).sum()))


def variance_penalty(z: Tensor) -> Tensor:
    """VICReg's variance hinge on the normalised rows of ``z`` (N, D):
    ``mean_j relu(1 / sqrt(D) - sqrt(Var_j + VARIANCE_EPS))``. On the unit sphere the
    per-dimension variances sum to at most 1, so the target is ``1 / sqrt(D)``, each
    dimension's standard deviation when the variance is spread evenly (VICReg's target of 1
    is for unnormalised embeddings). It keeps the outputs from shrinking to a point, not
    from lying along a few directions (see the module)."""
    u = F.normalize(z, dim=1)
    std = torch.sqrt(u.var(dim=0) + VARIANCE_EPS)
    return torch.relu(1.0 / math.sqrt(z.shape[1]) - std).mean()


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True, eq=False)
class ContrastiveSnapshot:
    """A run at one step (see the module for what each measure is taken of).

    ``loss``: the training batch's NT-Xent (plus the weighted variance term) at this step;
    ``nt_xent``: NT-Xent alone. ``points`` (P, 2) float32; ``spectrum`` and
    ``output_spectrum`` (output_dim,) float64, descending. ``stopped``: None, or why
    training stopped at this step (the measures are then those of this step's weights when
    finite, else of the last record's).
    """

    step: int
    loss: float
    nt_xent: float
    alignment: float
    uniformity: float
    points: Tensor
    spectrum: Tensor
    effective_rank: float
    output_spectrum: Tensor
    output_effective_rank: float
    stopped: str | None = None


@dataclass(frozen=True, eq=False)
class ContrastiveRun:
    """A finished run: its config, its records in step order and the probe set's labels
    (P,) int64 (``labels[i]`` is the digit of every record's ``points[i]``)."""

    config: ContrastiveConfig
    snapshots: tuple[ContrastiveSnapshot, ...]
    labels: Tensor
    projection: str = PROJECTION  # how points of more than 2 dimensions were drawn

    @property
    def first(self) -> ContrastiveSnapshot:
        return self.snapshots[0]

    @property
    def last(self) -> ContrastiveSnapshot:
        return self.snapshots[-1]


@dataclass(frozen=True, eq=False)
class Probe:
    """The fixed probe set: clean images (P, 64), two augmented views of each, the labels."""

    images: Tensor
    view1: Tensor
    view2: Tensor
    labels: Tensor


def probe_indices(seed: int) -> Tensor:
    """The probe set's ``PROBE_SIZE`` digits (indices into the data set) for a seed:
    class-stratified (every prefix is class-balanced), the same for every config."""
    labels = load_digits_points().labels
    return evaluation_indices(labels, PROBE_SIZE, _generator(seed, _STREAM_PROBE))


def make_probe(config: ContrastiveConfig, device: torch.device | str = "cpu") -> Probe:
    """The probe digits of the config's seed and their two views (the config's augment)."""
    data = load_digits_points()
    index = probe_indices(config.seed)
    images = data.embeddings[index]
    views = _generator(config.seed, _STREAM_PROBE_VIEWS)
    view1 = augment(images, config.augment, views)
    view2 = augment(images, config.augment, views)
    return Probe(images.to(device), view1.to(device), view2.to(device), data.labels[index])


def measure(
    encoder: ContrastiveEncoder, probe: Probe, output_dim: int
) -> tuple[float, float, Tensor, Tensor, Tensor]:
    """(alignment, uniformity, points, spectrum, output spectrum) of ``encoder`` on ``probe``;
    raises DegenerateError when an output is zero or not finite."""
    with torch.no_grad():
        h = encoder.representation(probe.images)
        z = encoder.head(h)
        z1, z2 = encoder(probe.view1), encoder(probe.view2)
        align = float(alignment(z1, z2))
        uniform = float(uniformity(z))
        unit = F.normalize(z, dim=1).to("cpu", torch.float64)
    points = unit if output_dim == CIRCLE_DIM else project_2d(unit).to(torch.float64)
    spectrum = covariance_spectrum(h.cpu())
    output_spectrum = spectrum if z is h else covariance_spectrum(z.cpu())
    if not (bool(torch.isfinite(spectrum).all()) and bool(torch.isfinite(output_spectrum).all())):
        raise DegenerateError("An embedding is not a finite number (NaN or infinite).")
    return align, uniform, points.to(torch.float32), spectrum, output_spectrum


def training_views(
    config: ContrastiveConfig, device: torch.device | str = "cpu"
) -> Iterator[tuple[Tensor, Tensor]]:
    """The two views (B, 64) of every step's batch, steps 0 .. ``steps``, as training sees them.

    ``batch_size`` digits drawn uniformly with replacement at every step (one stream of the
    seed), each seen twice through :func:`augment` (another stream: view 1 of the batch,
    then view 2).
    """
    x_all = load_digits_points().embeddings.to(device)
    batches = torch.randint(
        0,
        x_all.shape[0],
        (config.steps + 1, config.batch_size),
        generator=_generator(config.seed, _STREAM_BATCHES),
    ).to(device)
    draws = _generator(config.seed, _STREAM_AUGMENT)
    for index in batches:
        x = x_all[index]
        view1 = augment(x, config.augment, draws)
        yield view1, augment(x, config.augment, draws)


def batch_loss(
    encoder: ContrastiveEncoder, view1: Tensor, view2: Tensor, config: ContrastiveConfig
) -> tuple[Tensor, Tensor]:
    """(training loss, NT-Xent alone) of one batch's two views: NT-Xent of the outputs (the
    core's :func:`~lossviz.core.softmax_contrastive.nt_xent_loss`, row i of each view a
    positive pair) plus ``variance_weight`` times :func:`variance_penalty` of each view's
    outputs. Raises DegenerateError for an output that is zero or not finite."""
    z1, z2 = encoder(view1), encoder(view2)
    nt_xent = nt_xent_loss(z1, z2, config.temperature)
    if config.variance_weight == 0:
        return nt_xent, nt_xent
    penalty = variance_penalty(z1) + variance_penalty(z2)
    return nt_xent + config.variance_weight * penalty, nt_xent


def contrastive_snapshots(
    config: ContrastiveConfig, device: torch.device | str | None = None
) -> Iterator[ContrastiveSnapshot]:
    """Train as ``config`` says on ``device or default_device()``; yield the records.

    Adam at ``lr`` on :func:`batch_loss` of :func:`training_views`. A loss that is not
    finite, an output that is zero or not finite, or gradients that are not finite end the
    run with a record whose ``stopped`` says so.
    """
    device = torch.device(device) if device is not None else default_device()
    probe = make_probe(config, device)
    encoder = ContrastiveEncoder(config, device)
    optimizer = torch.optim.Adam(encoder.parameters, lr=config.lr)
    last: ContrastiveSnapshot | None = None

    def record(step: int, loss: float, nt_xent: float, stopped: str | None) -> ContrastiveSnapshot:
        try:
            align, uniform, points, spectrum, output_spectrum = measure(
                encoder, probe, config.output_dim
            )
        except DegenerateError:
            if last is None:
                raise
            return dataclasses.replace(last, step=step, loss=loss, nt_xent=nt_xent,
                                       stopped=stopped)  # fmt: skip
        return ContrastiveSnapshot(
            step=step,
            loss=loss,
            nt_xent=nt_xent,
            alignment=align,
            uniformity=uniform,
            points=points,
            spectrum=spectrum,
            effective_rank=effective_rank(spectrum),
            output_spectrum=output_spectrum,
            output_effective_rank=effective_rank(output_spectrum),
            stopped=stopped,
        )

    for step, (view1, view2) in enumerate(training_views(config, device)):
        stopped = None
        loss_value = nt_xent_value = math.nan
        try:
            loss, nt_xent = batch_loss(encoder, view1, view2, config)
            loss_value, nt_xent_value = float(loss.detach()), float(nt_xent.detach())
        except DegenerateError as problem:
            stopped = _stop_message(step, str(problem).rstrip("."), config)
        if stopped is None and not math.isfinite(loss_value):
            stopped = _stop_message(step, "the loss is not a finite number", config)
        elif stopped is None and step < config.steps:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grads = [p.grad for p in encoder.parameters if p.grad is not None]
            if not math.isfinite(float(torch.nn.utils.get_total_norm(grads))):
                stopped = _stop_message(step, "the gradients are not finite", config)
        if stopped or step % config.record_every == 0 or step == config.steps:
            last = record(step, loss_value, nt_xent_value, stopped)
            yield last
        if stopped or step == config.steps:
            return
        optimizer.step()


def _stop_message(step: int, what: str, config: ContrastiveConfig) -> str:
    return (
        f"Training stopped at step {step}: {what}. Try a smaller learning rate than {config.lr:g}."
    )


def train_contrastive(
    config: ContrastiveConfig, device: torch.device | str | None = None
) -> ContrastiveRun:
    """The whole run of ``config`` (see :func:`contrastive_snapshots`)."""
    snapshots = tuple(contrastive_snapshots(config, device))
    return ContrastiveRun(config, snapshots, probe_labels(config.seed))


def probe_labels(seed: int) -> Tensor:
    return load_digits_points().labels[probe_indices(seed)]


def check_pair(config_a: ContrastiveConfig, config_b: ContrastiveConfig) -> None:
    """ValueError unless the two configs can run in lockstep: the same seed, steps and
    record interval."""
    for name in ("seed", "steps", "record_every"):
        if getattr(config_a, name) != getattr(config_b, name):
            raise ValueError(
                f"runs side by side need the same {name}; got {getattr(config_a, name)} and "
                f"{getattr(config_b, name)}"
            )


def pair_snapshots(
    config_a: ContrastiveConfig,
    config_b: ContrastiveConfig,
    device: torch.device | str | None = None,
) -> Iterator[tuple[ContrastiveSnapshot, ContrastiveSnapshot]]:
    """Both runs advanced together, record by record (a run that stopped repeats its last).

    What the two share, because both draw from the same seed's streams: the first layer's
    initial weights always; the second layer's when ``output_dim`` agrees; the projector's
    when both have one of the same ``output_dim``; the batches when ``batch_size`` agrees;
    the random draws behind the training views when ``batch_size`` agrees (each config
    scales them to its own augmentation strengths, so equal ``augment`` s give equal views);
    the probe digits always, and the probe's views when ``augment`` agrees.
    """
    check_pair(config_a, config_b)
    runs = [contrastive_snapshots(config_a, device), contrastive_snapshots(config_b, device)]
    current: list[ContrastiveSnapshot | None] = [None, None]
    done = [False, False]
    while True:
        for index, run in enumerate(runs):
            if not done[index]:
                snapshot = next(run, None)
                if snapshot is None:
                    done[index] = True
                else:
                    current[index] = snapshot
        if all(done):
            return
        yield current[0], current[1]  # type: ignore[misc]


def train_pair(
    config_a: ContrastiveConfig,
    config_b: ContrastiveConfig,
    device: torch.device | str | None = None,
) -> tuple[ContrastiveRun, ContrastiveRun]:
    """Two runs in lockstep (see :func:`pair_snapshots` for what they share)."""
    frames = list(pair_snapshots(config_a, config_b, device))
    labels = probe_labels(config_a.seed)
    return (
        ContrastiveRun(config_a, tuple(dict.fromkeys(f[0] for f in frames)), labels),
        ContrastiveRun(config_b, tuple(dict.fromkeys(f[1] for f in frames)), labels),
    )


def contrastive_frame_json(frame: Sequence[ContrastiveSnapshot]) -> bytes:
    """One recorded step of each run as compact JSON bytes (what a shared run keeps per
    frame; the page draws its figures from the snapshots themselves):
    ``{"step", "runs": [{"step", "loss", "alignment", "uniformity", "effective_rank",
    "stopped"}, ...]}``, numbers that are not finite as ``null``."""
    runs = [
        {
            "step": s.step,
            "loss": finite_or_none(s.loss),
            "alignment": finite_or_none(s.alignment),
            "uniformity": finite_or_none(s.uniformity),
            "effective_rank": finite_or_none(s.effective_rank),
            "stopped": s.stopped,
        }
        for s in frame
    ]
    payload = {"step": max(s.step for s in frame), "runs": runs}
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


# --------------------------------------------------------------------------- presets

# name -> (config, the claim it demonstrates). Chosen by measuring seeds 0-4 at these
# settings (batch 128, 300 steps, Adam at 0.01); tests/test_contrastive_training.py holds
# each claim to five other seeds, 101-105.
PRESETS: dict[str, tuple[ContrastiveConfig, str]] = {
    "tau_small": (
        ContrastiveConfig(temperature=0.05, output_dim=2),
        "At temperature 0.05 the two views of a digit land almost on one spot (alignment "
        "below 0.1) but the digits stay bunched on part of the circle (uniformity above -0.9).",
    ),
    "tau_large": (
        ContrastiveConfig(temperature=1.0, output_dim=2),
        "At temperature 1 the same digits spread round the whole circle (uniformity below "
        "-1; evenly spread is -1.57) while a digit's two views drift apart (alignment above "
        "0.2).",
    ),
    "collapsing": (
        ContrastiveConfig(
            temperature=2.0, augment=Augment(noise_std=0.05, dropout=0.0, max_shift=3)
        ),
        "Views shifted by up to 3 pixels (of 8) at temperature 2 squeeze the 32-dimensional "
        "representation onto about two directions (effective rank at most 2.5).",
    ),
    "not_collapsing": (
        ContrastiveConfig(
            temperature=2.0, augment=Augment(noise_std=0.05, dropout=0.0, max_shift=0)
        ),
        "The same training without the shifts keeps the variance spread over about a dozen "
        "of the 32 directions (effective rank at least 8).",
    ),
}
# The presets a page shows side by side (each pair differs in one setting).
PRESET_PAIRS: tuple[tuple[str, str], ...] = (
    ("tau_small", "tau_large"),
    ("collapsing", "not_collapsing"),
)
