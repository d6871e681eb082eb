"""The guided lesson: thirteen short steps from one triplet to a batch, a collapse and its
fix, a contrastive pair, InfoNCE's softmax on the circle, and SimCLR training's temperature
trade-off and dimensional collapse.

Each :class:`Step` is a few sentences, a preset scene of one of the full pages
(its instrument: ``"triplet"`` the playground's plane, ``"batch"`` a labelled batch
as on the mining page, ``"training"`` a collapse run, ``"pair"`` the contrastive
plane, ``"circle"`` the InfoNCE page's circle, ``"simclr"`` a SimCLR page's shared run), one
task for the student's hands, and
the test that says the task is done.
The test reads an *observation* of the step's current state that the core computed
(:func:`observe_triplet`, :func:`observe_batch`, :func:`observe_pair`,
:func:`observe_circle`, :func:`observe_training`, :func:`simclr_observation`), never the
page: the same numbers the full pages show.

Every sentence that states a fact about numbers is checked against the core in
``tests/test_lesson.py`` (e.g. step 7's "the loss stops at the margin" trains the
preset and checks its last loss). Steps are numbered from 1 in links (``?step=5``);
:func:`step_number` reads a link's value forgivingly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from lossviz.batches.analysis import BatchAnalysis
from lossviz.batches.point_sets import make_blobs
from lossviz.core.circle_reading import CircleReading, read_circle
from lossviz.core.loss_settings import LossSettings
from lossviz.core.pair_reading import PairReading, read_pair
from lossviz.core.triplet_reading import TripletReading, read_triplet
from lossviz.core.triplets import Kind
from lossviz.scenes.presets import INFONCE_PRESETS
from lossviz.scenes.scene import (
    CollapseScene,
    ContrastiveScene,
    InfoNCEScene,
    MiningScene,
    PlaygroundScene,
    Scene,
    SimCLRScene,
)
from lossviz.training.collapse import Snapshot
from lossviz.training.contrastive_training import ContrastiveSnapshot

Instrument = Literal["triplet", "batch", "training", "pair", "circle", "simclr"]

EASY_SHARE_RANGE = (0.4, 0.6)  # step 6: "about half" of the batch's triplets easy
LOSS_AT_MARGIN_TOLERANCE = 1e-3  # step 7: a collapsed run's loss is the margin to this
MOST_OF_THE_SOFTMAX = 0.5  # steps 10 and 11: "more than half", "less than half"
RANK_IN_USE = 8.0  # step 13: "at least 8 of its 32 directions"


# --------------------------------------------------------------------------- observations


@dataclass(frozen=True)
class TripletObservation:
    """A triplet step's scene and what the core reads from it."""

    scene: PlaygroundScene
    reading: TripletReading


@dataclass(frozen=True)
class BatchObservation:
    """A batch step's scene and its triplets counted at the scene's margin."""

    scene: MiningScene
    counts: dict[Kind, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, kind: Kind) -> float:
        """The fraction of the batch's valid triplets of ``kind`` (0 when there is none)."""
        return self.counts[kind] / self.total if self.total else 0.0


@dataclass(frozen=True)
class PairObservation:
    """A pair step's scene and what the core reads from it."""

    scene: ContrastiveScene
    reading: PairReading


@dataclass(frozen=True)
class CircleObservation:
    """A circle step's scene and what InfoNCE reads from it."""

    scene: InfoNCEScene
    reading: CircleReading


@dataclass(frozen=True)
class TrainingObservation:
    """A training step's run as this student watched it: ``None`` snapshots until it is done.

    ``first`` and ``last``: one snapshot per run (the scene's ``loss``, then ``compare``).
    """

    finished: bool
    first: tuple[Snapshot, ...] = ()
    last: tuple[Snapshot, ...] = ()


@dataclass(frozen=True)
class SimCLRObservation:
    """A SimCLR step's runs as this student watched them: ``last`` (run A's, run B's last
    record) once they are done, empty before."""

    finished: bool
    last: tuple[ContrastiveSnapshot, ...] = ()


Observation = (
    TripletObservation | BatchObservation | PairObservation | CircleObservation
    | TrainingObservation | SimCLRObservation
)  # fmt: skip


def triplet_settings(scene: PlaygroundScene) -> LossSettings:
    """The core's loss settings of a lesson's triplet scene (built-in distances only)."""
    return LossSettings(scene.margin, scene.p, scene.eps, scene.swap, scene.distance, "")


def triplet_points(scene: PlaygroundScene) -> list[list[float]]:
    """A, P and N as rows (3, 2)."""
    return [[scene.ax, scene.ay], [scene.px, scene.py], [scene.nx, scene.ny]]


def observe_triplet(scene: PlaygroundScene) -> TripletObservation:
    """Distances, loss, gradients and kind of a triplet scene (raises ``NonFiniteError``)."""
    return TripletObservation(scene, read_triplet(triplet_points(scene), triplet_settings(scene)))


def pair_points(scene: ContrastiveScene) -> list[list[float]]:
    """X1 and X2 as rows (2, 2)."""
    return [[scene.x1x, scene.x1y], [scene.x2x, scene.x2y]]


def pair_settings(scene: ContrastiveScene) -> LossSettings:
    """The core's loss settings of a lesson's pair scene (built-in distances, no swap)."""
    return LossSettings(scene.margin, scene.p, scene.eps, False, scene.distance, "")


def observe_pair(scene: ContrastiveScene) -> PairObservation:
    """Distance, contrastive loss and active term of a pair scene."""
    return PairObservation(
        scene, read_pair(pair_points(scene), scene.similar, pair_settings(scene))
    )


def observe_circle(scene: InfoNCEScene) -> CircleObservation:
    """InfoNCE's loss, weights and gradients of a circle scene."""
    return CircleObservation(scene, read_circle(scene.points(), scene.tau, scene.normalize))


def lesson_batch(scene: MiningScene) -> BatchAnalysis:
    """The blobs a batch step shows, analysed as the mining page analyses them."""
    points = make_blobs(scene.classes, scene.per_class, scene.spread, scene.seed)
    return BatchAnalysis(points.embeddings, points.labels, scene.distance)


def observe_batch(scene: MiningScene, analysis: BatchAnalysis | None = None) -> BatchObservation:
    """The batch's triplets counted at the scene's margin (``analysis``: a cached one)."""
    analysis = analysis if analysis is not None else lesson_batch(scene)
    return BatchObservation(scene, analysis.counts(scene.margin))


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Step:
    """One step: what it says, what the student does, and when that is done.

    ``text``: two or three sentences (Markdown). ``task``: one instruction.
    ``controls``: the scene fields the student may change beside dragging
    (``draggable`` says whether points move at all). ``done``: the task's test on an
    observation of the step's current state. ``page``: the full page's url path,
    which ``scene``'s query opens there.
    """

    slug: str
    title: str
    text: str
    task: str
    done_text: str
    instrument: Instrument
    scene: Scene
    page: str
    done: Callable[[Observation], bool]
    controls: tuple[str, ...] = ()
    draggable: bool = True


def _triplet(anchor, positive, negative, **settings) -> PlaygroundScene:
    (ax, ay), (px, py), (nx, ny) = anchor, positive, negative
    return PlaygroundScene(ax=ax, ay=ay, px=px, py=py, nx=nx, ny=ny, **settings)


def _farther_than_positive(o: Observation) -> bool:
    return o.reading.d_an_used > o.reading.d_ap


def _loss_is_zero(o: Observation) -> bool:
    return o.reading.loss == 0.0


def _is(kind: Kind) -> Callable[[Observation], bool]:
    return lambda o: o.reading.kind == kind


def _easy_with_swap(o: Observation) -> bool:
    return o.scene.swap and o.reading.kind == Kind.EASY


def _about_half_easy(o: Observation) -> bool:
    low, high = EASY_SHARE_RANGE
    return o.total > 0 and low <= o.share(Kind.EASY) <= high


def _trained(o: Observation) -> bool:
    return o.finished


def _dissimilar_at_rest(o: Observation) -> bool:
    return not o.scene.similar and o.reading.loss == 0.0


def _positive_takes_most(o: Observation) -> bool:
    return o.reading.weights[0] > MOST_OF_THE_SOFTMAX


def _no_negative_takes_most(o: Observation) -> bool:
    return max(o.reading.weights[1:]) < MOST_OF_THE_SOFTMAX


def _b_more_uniform_a_better_aligned(o: Observation) -> bool:
    if not o.finished or len(o.last) < 2:
        return False
    a, b = o.last
    return b.uniformity < a.uniformity and a.alignment < b.alignment


def _b_uses_many_directions(o: Observation) -> bool:
    return o.finished and len(o.last) == 2 and o.last[1].effective_rank >= RANK_IN_USE


# The batch of step 6: 60 blobs points in 3 classes (20 each), at a small margin.
BATCH_SCENE = MiningScene(source="blobs", classes=3, per_class=20, spread=1.0, seed=0, margin=1.0)
# Steps 7 and 8: the collapse page's own preset, alone and beside the fix.
COLLAPSE_ALONE = CollapseScene(compare="none")
COLLAPSE_AND_FIX = CollapseScene(compare="batch_hard_fix")


# Step 12: the SimCLR page's default (the temperature preset) with B at A's temperature.
SIMCLR_SAME_TAU = SimCLRScene(tau_b=SimCLRScene().tau_a)
# Step 13: the dimensional-collapse preset with B shifted as A is (both collapse).
SIMCLR_BOTH_SHIFTED = SimCLRScene(
    tau_a=2.0, dim_a=32, shift_a=3, noise_a=0.05, dropout_a=0.0,
    tau_b=2.0, dim_b=32, shift_b=3, noise_b=0.05, dropout_b=0.0,
)  # fmt: skip


def _triplet_count(scene: MiningScene) -> int:
    """Valid triplets of ``classes`` blobs of ``per_class`` points: N (n_c - 1) (N - n_c)."""
    n = scene.classes * scene.per_class
    return n * (scene.per_class - 1) * (n - scene.per_class)


STEPS: tuple[Step, ...] = (
    Step(
        "asks",
        "What the triplet loss asks for",
        "A triplet is an anchor **A**, a positive **P** of the same class and a negative **N** "
        "of another class. The triplet loss `max(d(a,p) − d(a,n) + m, 0)` asks that N be "
        "farther from A than P is, by at least the margin m = 1. Here N is closer to A than P "
        "is, so the loss is larger than the margin.",
        "Drag **N** until it is farther from A than P is.",
        "N is now farther from A than P is: the loss dropped below the margin.",
        "triplet",
        _triplet((0.0, 0.0), (2.0, 1.0), (0.5, -0.5)),
        "playground",
        _farther_than_positive,
    ),
    Step(
        "margin",
        "The margin",
        "Farther is not enough. While d(a,n) − d(a,p) is smaller than the margin, the loss is "
        "still positive and its gradient (the arrows) still pushes N away. Once N is a full "
        "margin farther than P, the loss is exactly 0 and so is every gradient: the triplet "
        "teaches nothing more.",
        "Drag **N** until the loss is exactly 0.",
        "The loss is 0 and the arrows are gone: N is a full margin farther than P.",
        "triplet",
        _triplet((0.0, 0.0), (1.0, 0.5), (-1.5, 0.5)),
        "playground",
        _loss_is_zero,
    ),
    Step(
        "kinds",
        "Easy, semi-hard, hard",
        "Triplets are named by δ = d(a,n) − d(a,p): **hard** when δ ≤ 0, **semi-hard** when "
        "0 < δ ≤ m, **easy** when δ > m. The background colours every spot by the kind N would "
        "have there: :red[hard] inside the circle through P, :orange[semi-hard] in the band one "
        "margin wide around it, :green[easy] beyond. This triplet is easy.",
        "Drag **N** into the orange band: make this triplet semi-hard.",
        "Semi-hard: the right order, but inside the margin. Miners love these.",
        "triplet",
        _triplet((0.0, 0.0), (1.0, 0.0), (-2.5, 1.5)),
        "playground",
        _is(Kind.SEMI_HARD),
    ),
    Step(
        "pnorm",
        "The p-norm changes the shape of “close”",
        "A distance decides what *close* means. The points at one p-norm distance from A form "
        "a diamond for p = 1, a circle for p = 2 and a square for p = ∞, so the same three "
        "points can be another kind under another p. With p = 2 this triplet is semi-hard; "
        "with p = 0.5 it is even hard.",
        "Without moving a point, change **p** until this triplet is easy.",
        "Easy: for large p only the largest coordinate counts, and P's is 1.",
        "triplet",
        _triplet((0.0, 0.0), (1.0, 1.0), (2.2, 0.0), distance="minkowski", p=2.0),
        "playground",
        _is(Kind.EASY),
        controls=("p",),
        draggable=False,
    ),
    Step(
        "swap",
        "Swap",
        "With **swap** (Balntas et al., 2016) the loss measures N against both A and P and "
        "uses the nearer one, min(d(a,n), d(p,n)). A negative far from the anchor but next to "
        "the positive then counts as close. Without swap this triplet is easy; with swap it "
        "is hard.",
        "Turn **swap** on, then drag **N** until the triplet is easy again.",
        "Easy with swap: N is now a margin beyond both A's and P's reach.",
        "triplet",
        _triplet((-2.0, 0.0), (0.0, 0.0), (1.0, 1.5)),
        "playground",
        _easy_with_swap,
        controls=("swap",),
    ),
    Step(
        "batch",
        "A batch has thousands of triplets",
        "Training never looks at one triplet. A batch of labelled embeddings holds every "
        "(anchor, positive, negative) it can form: these "
        f"{BATCH_SCENE.classes * BATCH_SCENE.per_class} points in {BATCH_SCENE.classes} "
        f"classes make {_triplet_count(BATCH_SCENE):,} triplets. The margin decides how many of "
        "them are easy, and an easy triplet teaches nothing.",
        "Move the **margin** until about half of this batch's triplets are easy "
        f"(between {EASY_SHARE_RANGE[0]:.0%} and {EASY_SHARE_RANGE[1]:.0%}).",
        "About half are easy: at this margin half the batch's triplets still teach something.",
        "batch",
        BATCH_SCENE,
        "mining",
        _about_half_easy,
        controls=("margin",),
        draggable=False,
    ),
    Step(
        "collapse",
        "Batch-hard, and why it can collapse",
        "Batch-hard keeps, for each anchor, only its farthest positive and its nearest "
        "negative. Early in training the cheapest way to lower that loss is to pull every "
        "embedding together; once they all sit on one point, d(a,p) = d(a,n) = 0 and the loss "
        f"is exactly the margin (m = {COLLAPSE_ALONE.margin:g}), with no gradient left to pull "
        "the classes apart.",
        "Press **Train** and watch the loss stop at the margin while the points gather into one.",
        "Collapsed: every digit on one point, the loss stuck at the margin.",
        "training",
        COLLAPSE_ALONE,
        "collapse",
        _trained,
    ),
    Step(
        "fix",
        "The fix",
        "Quaterion's fix divides the gap by the batch's mean hardest-negative distance, so "
        "shrinking every distance together no longer lowers the loss. The same encoder, seed "
        "and batches then spread the classes apart instead of collapsing.",
        "Press **Train**: the left run collapses, the right one keeps the classes apart.",
        "Same start, same batches: only the loss differs, and only the fix learns.",
        "training",
        COLLAPSE_AND_FIX,
        "collapse",
        _trained,
    ),
    Step(
        "contrastive",
        "The contrastive loss and its label convention",
        "The contrastive loss looks at pairs. Here label 1 means *similar*: a similar pair is "
        "pulled together by d², a dissimilar pair is pushed apart by (m − d)² until it is the "
        "margin apart, and then its loss is 0. Widely copied code reads 1 as *dissimilar*: "
        "check the convention before you reuse a formula.",
        "Turn **similar** off, then drag the points apart until the loss is 0.",
        "A dissimilar pair beyond the margin costs nothing.",
        "pair",
        ContrastiveScene(x1x=0.0, x1y=0.0, x2x=0.6, x2y=0.3, similar=True),
        "contrastive",
        _dissimilar_at_rest,
        controls=("similar",),
    ),
    Step(
        "infonce",
        "InfoNCE: one positive against many negatives",
        "Today's contrastive losses put the points on a circle (a sphere in more dimensions) "
        "and take a softmax: the loss is −log of the positive's share among the positive and "
        "the negatives. Each bar is a share; a negative's share is also its share of the push "
        "on the anchor. Here N1 sits closer to A than P does, so N1 takes most of it.",
        "Drag **N1** away round the circle (or **P** towards A) until P takes more than half.",
        "P takes most of the softmax now: the loss is small, and the negatives share what is "
        "left of the push.",
        "circle",
        INFONCE_PRESETS["hard_negative"].scene,
        "infonce",
        _positive_takes_most,
    ),
    Step(
        "temperature",
        "Temperature: who takes the gradient",
        "Every similarity is divided by the temperature τ before the softmax. At τ = 0.02 the "
        "softmax is nearly a max: N1, only a little closer to A than N2, takes almost all the "
        "weight, and the far negatives get no gradient at all. Raising τ spreads the weight.",
        "Turn **τ** up until no negative takes more than half of the softmax.",
        "The weight is spread: every negative pushes a little. Too large a τ treats near and "
        "far negatives alike.",
        "circle",
        INFONCE_PRESETS["tau_small"].scene,
        "infonce",
        _no_negative_takes_most,
        controls=("tau",),
    ),
    Step(
        "simclr_temperature",
        "Training with InfoNCE: the temperature's trade-off",
        "SimCLR trains an encoder with this softmax: each digit is seen twice (two augmented "
        "views), and NT-Xent pulls the two views together and pushes the rest of the batch "
        "away. Wang and Isola split what that does in two: *alignment* (a digit's views close "
        "together) and *uniformity* (the digits spread over the circle). Here A and B are the "
        "same run, both at τ = 0.05.",
        "Raise **B's τ** and press **Train**: find a τ at which B spreads the digits more "
        "evenly than A (lower uniformity) while A keeps each digit's views closer (lower "
        "alignment).",
        "The temperature trades one for the other: a small τ keeps the views together but "
        "leaves the digits bunched; a large τ spreads them at the cost of alignment.",
        "simclr",
        SIMCLR_SAME_TAU,
        "simclr",
        _b_more_uniform_a_better_aligned,
        controls=("tau_b",),
        draggable=False,
    ),
    Step(
        "dimensional_collapse",
        "Dimensional collapse",
        "With 32 output dimensions the embeddings can fail without meeting in one point: they "
        "use only a few directions. The spectrum shows how much the embeddings vary along each "
        "direction; the effective rank counts the directions in use. Here both runs shift "
        "each view by up to 3 of the 8 pixels, and both end on about two directions.",
        f"Change **B's shift** and press **Train** until B uses at least {RANK_IN_USE:g} of "
        "its 32 directions (effective rank) while A stays collapsed.",
        "Augmentations that are too strong for the encoder collapse its representation onto "
        "a few directions. That's the lesson: well done!",
        "simclr",
        SIMCLR_BOTH_SHIFTED,
        "simclr",
        _b_uses_many_directions,
        controls=("shift_b",),
        draggable=False,
    ),
)


def step_number(raw: object) -> tuple[int, str | None]:
    """The 1-based step a link's ``step`` value names, and a notice when it names none.

    A missing value is step 1 silently; anything but a whole number from 1 to
    ``len(STEPS)`` is step 1 with a notice (the value shown shortened).
    """
    if raw is None or raw == "":
        return 1, None
    text = str(raw).strip()
    if re.fullmatch(r"[0-9]{1,3}", text) and 1 <= int(text) <= len(STEPS):
        return int(text), None
    shown = text if len(text) <= 40 else text[:37] + "..."
    return 1, (
        f"This link asked for step {shown!r}, which does not exist (steps 1 to {len(STEPS)}): "
        "starting at step 1."
    )


def simclr_observation(
    finished: bool, last: Sequence[ContrastiveSnapshot] = ()
) -> SimCLRObservation:
    return SimCLRObservation(finished, tuple(last))


def training_observation(
    finished: bool, first: Sequence[Snapshot] = (), last: Sequence[Snapshot] = ()
) -> TrainingObservation:
    return TrainingObservation(finished, tuple(first), tuple(last))
