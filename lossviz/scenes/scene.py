"""Page state as frozen dataclasses (scenes), and shareable links.

Each page keeps its controls in one frozen dataclass. This module is the one
place where a control's default, bounds, step and options live, and its label,
help and option labels (what a student reads): the core's registries and ranges
feed it (the core never imports it), and the pages build their widgets from
``Scene.field_spec(name)`` (``lossviz.ui.widgets``) and never repeat one. A field
says the same on every page that draws it; a page that needs other words for it
states them in its own scene (:func:`reworded`).

Query format (``to_query`` / ``from_query``): one key per field, named like the
field, with a string value:

- numbers: floats written with ``repr`` so they round-trip exactly
  (``margin=0.1``, ``eps=1e-06``, ``p=inf`` where infinity is allowed),
  integers in decimal (``seed=42``);
- flags: ``1`` or ``0`` (``true``/``false``, ``yes``/``no``, ``on``/``off``
  are read too);
- choices: the option as written above (``distance=cosine``);
- text: as is (URL encoding is the caller's job).

Reading is forgiving: a missing key takes its default silently, an unknown key
is ignored, a repeated key (a list of values) uses the last value, and a bad
value (not parseable, NaN, infinite where not allowed, out of bounds, not an
option, too long, control characters, not a string) takes its default and adds
one human-readable note, e.g. ``"margin: 'abc' is not a number; using 1.0"``.
Nothing raises.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

from lossviz.batches.analysis import MINING_DISTANCES
from lossviz.batches.contrastive_views import DIMS as VIEW_DIMS
from lossviz.batches.contrastive_views import EXAMPLES as VIEW_EXAMPLES
from lossviz.batches.contrastive_views import NOISE as VIEW_NOISE
from lossviz.batches.contrastive_views import SOURCES as VIEW_SOURCES
from lossviz.batches.point_sets import BUNDLED, MAX_ROWS
from lossviz.core.circle_reading import MAX_NEGATIVES, point_names
from lossviz.core.distances import DISTANCE_LABELS, DISTANCES, TORCH_EPS
from lossviz.core.expr import ALLOWED_FUNCTIONS, EXAMPLES
from lossviz.core.ranges import SEED, Range
from lossviz.core.softmax_contrastive import TEMPERATURE
from lossviz.teaching.quiz_rounds import DIFFICULTIES, QUIZ_DISTANCES
from lossviz.training.collapse import (
    BATCH_SIZES,
    CLIP_GRAD,
    DATASETS,
    LOSS_LABELS,
    LOSSES,
    LR,
    MARGIN,
    OPTIMIZER_LABELS,
    OPTIMIZERS,
    STEPS,
)
from lossviz.training.contrastive_training import (
    DROPOUT,
    MAX_SHIFT,
    NOISE_STD,
    VARIANCE_WEIGHT,
    Augment,
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_BAD_CATEGORIES = frozenset({"Cc", "Cs"})  # control characters, lone surrogates
_MISSING = object()


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)


def _show(raw: object, limit: int = 40) -> str:
    """A short, safe rendering of a query value for a note."""
    if not isinstance(raw, str):
        return f"a value of type {type(raw).__name__}"
    shown = repr(raw)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """How one field is bounded, written, read and shown; pages build widgets from it.

    ``label`` and ``help`` are what its control says (the same on every page that draws the
    field; a page needing other words declares its own spec: :func:`reworded`), and
    ``option_labels`` what a value is called on screen (:meth:`shown`).
    """

    kind: Literal["number", "choice", "flag", "text"]
    default: Any
    lo: float | None = None  # number: inclusive bounds
    hi: float | None = None
    allow_inf: bool = False  # number: +inf allowed besides [lo, hi]
    integer: bool = False
    options: tuple[Any, ...] = ()  # choice
    max_len: int = 0  # text
    step: float | None = None  # number: a slider's step (None: the widget's own)
    marks: tuple[float, ...] = ()  # number: values offered on a select slider (others kept)
    label: str = ""  # the control's label ("": a field no control draws, e.g. a dragged point)
    help: str | None = None  # the control's tooltip (Markdown)
    option_labels: tuple[tuple[Any, str], ...] = ()  # (value, what it is called on screen)

    def shown(self, value: Any) -> str:
        """How ``value`` is written on screen: its option label, else the value (``:g`` floats)."""
        for option, label in self.option_labels:
            if option == value:
                return label
        return f"{value:g}" if isinstance(value, float) else str(value)

    def narrowed(self, lo: float | None = None, hi: float | None = None) -> FieldSpec:
        """This number field offering less (a page's narrower range, e.g. rows of the data).

        The default is clamped into the new range. ValueError when it is not inside.
        """
        new_lo, new_hi = self.lo if lo is None else lo, self.hi if hi is None else hi
        if self.kind != "number" or not self.lo <= new_lo <= new_hi <= self.hi:
            raise ValueError(f"[{new_lo}, {new_hi}] is not inside [{self.lo}, {self.hi}]")
        default = min(max(self.default, new_lo), new_hi)
        return dataclasses.replace(self, lo=new_lo, hi=new_hi, default=default)

    def encode(self, value: Any) -> str:
        return _fmt(value)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed for this field, or None when it is."""
        if self.kind == "flag":
            return None if isinstance(value, bool) else "is not 0 or 1"
        if self.kind == "choice":
            ok = value in self.options
            return None if ok else "is not one of " + ", ".join(map(_fmt, self.options))
        if self.kind == "text":
            if not isinstance(value, str):
                return "is not text"
            if len(value) > self.max_len:
                return f"is longer than {self.max_len} characters"
            if any(unicodedata.category(c) in _BAD_CATEGORIES for c in value):
                return "contains control characters"
            return None
        if isinstance(value, bool) or not isinstance(value, int if self.integer else int | float):
            return "is not an integer" if self.integer else "is not a number"
        if isinstance(value, float) and math.isnan(value):
            return "is not a number"
        if isinstance(value, float) and math.isinf(value):
            return None if self.allow_inf and value > 0 else "is not finite"
        if not self.lo <= value <= self.hi:
            extra = " (or inf)" if self.allow_inf else ""
            return f"is outside [{_fmt(self.lo)}, {_fmt(self.hi)}]{extra}"
        return None

    def decode(self, raw: object) -> Any:
        """The value a query string stands for; ValueError (the reason) when it is bad."""
        if not isinstance(raw, str):
            raise ValueError("is not text")
        value: Any = raw
        if self.kind == "flag":
            word = raw.strip().lower()
            value = True if word in _TRUE else False if word in _FALSE else raw
        elif self.kind == "number" or _is_number(self.default):
            try:
                integer = self.integer or (self.kind == "choice" and isinstance(self.default, int))
                value = int(raw) if integer else float(raw)
            except ValueError:
                if self.kind == "number":
                    raise ValueError(self.problem(raw)) from None
        problem = self.problem(value)
        if problem is not None:
            raise ValueError(problem)
        if self.kind == "choice":  # the declared option itself (e.g. 0.0, not -0.0)
            return self.options[self.options.index(value)]
        return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _field(spec: FieldSpec) -> Any:
    problem = spec.problem(spec.default)
    if problem is not None:
        raise ValueError(f"default {spec.default!r} {problem}")
    return dataclasses.field(default=spec.default, metadata={"spec": spec})


def _wording(
    label: str, help: str | None, option_labels: Mapping[Any, str] | None = None
) -> dict[str, Any]:
    return {"label": label, "help": help, "option_labels": tuple((option_labels or {}).items())}


def number(
    default: float,
    lo: float | Range,
    hi: float | None = None,
    *,
    allow_inf: bool = False,
    integer: bool = False,
    step: float | None = None,
    marks: Sequence[float] = (),
    label: str = "",
    help: str | None = None,
    option_labels: Mapping[float, str] | None = None,
):
    """A number field: ``[lo, hi]``, or a core :class:`~lossviz.core.ranges.Range` (closed)."""
    if isinstance(lo, Range):
        if lo.lo_open:
            raise ValueError(f"narrow {lo} to a closed range for a control")
        lo, hi, integer = lo.lo, lo.hi, lo.integer
    spec = FieldSpec("number", default, lo, hi, allow_inf=allow_inf, integer=integer, step=step,
                     marks=tuple(marks), **_wording(label, help, option_labels))  # fmt: skip
    return _field(spec)


def choice(
    default: Any,
    options: Sequence[Any],
    *,
    label: str = "",
    help: str | None = None,
    option_labels: Mapping[Any, str] | None = None,
):
    """A choice field: one of ``options``, each shown as ``option_labels`` calls it."""
    return _field(FieldSpec("choice", default, options=tuple(options),
                            **_wording(label, help, option_labels)))  # fmt: skip


def flag(default: bool, *, label: str = "", help: str | None = None):
    return _field(FieldSpec("flag", default, **_wording(label, help)))


def text(default: str, max_len: int, *, label: str = "", help: str | None = None):
    return _field(FieldSpec("text", default, max_len=max_len, **_wording(label, help)))


def reworded(scene: type[Scene], name: str, *, label: str | None = None,
             help: str | None = None):  # fmt: skip
    """``scene``'s field ``name`` with another label or help (a subclass's own words for it)."""
    spec = scene.field_spec(name)
    return _field(dataclasses.replace(spec, label=label or spec.label, help=help or spec.help))


class Scene:
    """Mixin for a page's frozen dataclass of controls; see the module docstring."""

    @classmethod
    def specs(cls) -> dict[str, FieldSpec]:
        return {f.name: f.metadata["spec"] for f in dataclasses.fields(cls)}

    @classmethod
    def field_spec(cls, name: str) -> FieldSpec:
        return cls.specs()[name]

    @classmethod
    def defaults(cls) -> Self:
        return cls()

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_query(self) -> dict[str, str]:
        return {name: spec.encode(getattr(self, name)) for name, spec in self.specs().items()}

    @classmethod
    def parse_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[Self, list[str]]:
        """The scene a query describes, and one note per present but bad field."""
        values: dict[str, Any] = {}
        notes: list[str] = []
        for name, spec in cls.specs().items():
            raw = query.get(name, _MISSING)
            if isinstance(raw, Sequence) and not isinstance(raw, str | bytes):
                raw = raw[-1] if len(raw) else _MISSING
            if raw is _MISSING:
                continue
            try:
                values[name] = spec.decode(raw)
            except ValueError as reason:
                notes.append(f"{name}: {_show(raw)} {reason}; using {spec.encode(spec.default)}")
        return cls(**values), notes

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> Self:
        return cls.parse_query(query)[0]


DISTANCE_NAMES = (*DISTANCES, "custom")  # "custom": a typed expression
P_MARKS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, math.inf)

# What the controls say. A field shared by several scenes (the margin, the distance, swap,
# the seed) is worded once here; the other fields are worded where their scene declares them.
DISTANCE_OPTION_LABELS = {**DISTANCE_LABELS, "custom": "Custom expression…"}
TRIPLET_MARGIN_HELP = (
    "How much farther the negative must be from the anchor than the positive is before the "
    "loss is zero."
)
SWAP_HELP = (
    "Balntas et al. 2016: use min(d(a, n), d(p, n)) as the negative distance, so a negative "
    "close to the positive counts too."
)
EXPR_HELP = f"Any distance in the points `a` and `b`, e.g. `{EXAMPLES[0]}`.\n\n" + "\n".join(
    f"- `{name}`: {text}" for name, text in ALLOWED_FUNCTIONS.items()
)


def _margin(default: float, lo: float | Range, hi: float | None = None, *, step: float):
    return number(default, lo, hi, step=step, label="Margin m", help=TRIPLET_MARGIN_HELP)


def _distance(default: str, options: Sequence[str], help: str | None = None):
    return choice(default, options, label="Distance", help=help,
                  option_labels=DISTANCE_OPTION_LABELS)  # fmt: skip


def _swap():
    return flag(False, label="Swap", help=SWAP_HELP)


def _seed(label: str = "Seed", help: str | None = None):
    return number(0, SEED, label=label, help=help)


def _learning_rate():
    return number(0.1, 1e-4, 10.0, label="Learning rate",
                  help="Step size of Step and Descend: each point moves by −lr · ∇L.")  # fmt: skip


def _coord(default: float):
    return number(default, -4.0, 4.0)  # dragged on a plane: no control, no label


@dataclasses.dataclass(frozen=True, kw_only=True)
class LossScene(Scene):
    """Controls every loss page shares."""

    margin: float = _margin(1.0, 0.05, 5.0, step=0.05)
    p: float = number(
        2.0, 0.5, 10.0, allow_inf=True, marks=P_MARKS, label="p (Minkowski)",
        help="The p of the p-norm (sum |x|^p)^(1/p): 1 is Manhattan, 2 Euclidean, ∞ the "
        "largest coordinate. Below 1 it is not a norm, but torch accepts it.",
        option_labels={math.inf: "∞"},
    )  # fmt: skip
    eps: float = choice(
        TORCH_EPS, (0.0, TORCH_EPS), label="eps",
        help="torch adds eps to the difference a − b before taking the norm, so two "
        "coincident points are eps·D^(1/p) apart and still have a gradient direction.",
        option_labels={0.0: "0", TORCH_EPS: "1e-6 (torch's default)"},
    )  # fmt: skip
    distance: str = _distance(
        "euclidean", DISTANCE_NAMES,
        help="How far apart two points are. The regions and the loss change with it.",
    )  # fmt: skip
    expr: str = text("max(abs(a - b))", 300, label="d(a, b) =", help=EXPR_HELP)
    lr: float = _learning_rate()
    seed: int = _seed()


@dataclasses.dataclass(frozen=True, kw_only=True)
class HomeScene(Scene):
    """Home page: the margin of the loss-along-delta picture."""

    margin: float = _margin(1.0, 0.1, 2.0, step=0.1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlaygroundScene(LossScene):
    """Triplet playground: anchor (ax, ay), positive (px, py), negative (nx, ny)."""

    ax: float = _coord(0.0)
    ay: float = _coord(0.0)
    px: float = _coord(1.0)
    py: float = _coord(0.5)
    nx: float = _coord(1.5)
    ny: float = _coord(-1.0)
    swap: bool = _swap()


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContrastiveScene(LossScene):
    """Contrastive page: a pair (x1x, x1y), (x2x, x2y), similar or not.

    Its margin is the loss pages' own, with what it does to a pair as its help.
    """

    margin: float = reworded(LossScene, "margin", help="A dissimilar pair closer than this is "
                             "pushed apart; beyond it, no loss.")  # fmt: skip
    x1x: float = _coord(0.0)
    x1y: float = _coord(0.0)
    x2x: float = _coord(1.0)
    x2y: float = _coord(0.5)
    similar: bool = flag(
        True, label="Similar pair (same class)",
        help="On: label y = 1, the pair is pulled together by d². Off: y = 0, the pair is "
        "pushed apart by max(m − d, 0)² until it is the margin m apart.",
    )  # fmt: skip


TEMPERATURE_MARKS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)


def _unit(default: float):
    """A coordinate of a point dragged on (or near) the unit circle: no control."""
    return number(default, -2.0, 2.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class InfoNCEScene(Scene):
    """InfoNCE page: an anchor (ax, ay), a positive (px, py) and ``negatives`` of the 16
    negatives (n1x, n1y) ... (n16x, n16y), at temperature ``tau``; on the unit circle
    (``normalize``: cosine similarities) or off it (raw dot products). The negatives beyond
    ``negatives`` keep their places, so lowering k and raising it again brings them back.
    """

    tau: float = number(
        0.1, TEMPERATURE, marks=TEMPERATURE_MARKS, label="Temperature τ",
        help="The softmax divides every similarity by τ. Small τ: the closest negative takes "
        "almost all the weight (a max). Large τ: every negative weighs the same (a mean).",
    )  # fmt: skip
    negatives: int = number(
        4, 1, MAX_NEGATIVES, integer=True, label="Negatives k",
        help="How many negatives share the softmax with the positive.",
    )  # fmt: skip
    normalize: bool = flag(
        True, label="On the circle (normalised)",
        help="On: every point is L2-normalised and similarity is the cosine. Off: raw dot "
        "products of the points as they are, what an encoder without normalisation gives.",
    )  # fmt: skip
    lr: float = _learning_rate()
    batch: str = choice(
        "blobs", VIEW_SOURCES, label="Batch of",
        option_labels={"blobs": "Generated points (4 classes)",
                       "digits": "Handwritten digits (random projection)"},
    )  # fmt: skip
    examples: int = number(
        8, VIEW_EXAMPLES, label="Examples N",
        help="The batch holds N examples, each seen twice (two noisy views): 2N rows.",
    )  # fmt: skip
    dim: int = choice(
        3, VIEW_DIMS, label="Embedding dimension",
        option_labels={2: "2 (the circle)", 3: "3 (the sphere)"},
    )  # fmt: skip
    noise: float = number(
        0.15, VIEW_NOISE, step=0.01, label="View noise",
        help="How far each view strays from its example (the augmentation's strength).",
    )  # fmt: skip
    seed: int = _seed()
    row: int = number(
        0, 0, 511, integer=True, label="Anchor row",
        help="The row of the similarity matrix whose softmax is drawn.",
    )  # fmt: skip
    ax: float = _unit(1.0)
    ay: float = _unit(0.0)
    px: float = _unit(0.866)
    py: float = _unit(0.5)
    n1x: float = _unit(-0.1855)
    n1y: float = _unit(0.9826)
    n2x: float = _unit(-0.1499)
    n2y: float = _unit(-0.9887)
    n3x: float = _unit(-0.9514)
    n3y: float = _unit(0.3079)
    n4x: float = _unit(0.7961)
    n4y: float = _unit(-0.6052)
    n5x: float = _unit(-0.726)
    n5y: float = _unit(-0.6876)
    n6x: float = _unit(-0.5611)
    n6y: float = _unit(0.8277)
    n7x: float = _unit(0.2558)
    n7y: float = _unit(-0.9667)
    n8x: float = _unit(-0.9954)
    n8y: float = _unit(-0.096)
    n9x: float = _unit(0.0663)
    n9y: float = _unit(0.9978)
    n10x: float = _unit(-0.3925)
    n10y: float = _unit(-0.9197)
    n11x: float = _unit(-0.8441)
    n11y: float = _unit(0.5362)
    n12x: float = _unit(0.6193)
    n12y: float = _unit(-0.7851)
    n13x: float = _unit(-0.875)
    n13y: float = _unit(-0.4841)
    n14x: float = _unit(-0.3362)
    n14y: float = _unit(0.9418)
    n15x: float = _unit(0.0058)
    n15y: float = _unit(-1.0)
    n16x: float = _unit(-0.9877)
    n16y: float = _unit(0.1561)

    def in_use(self) -> int:
        """How many points the scene shows: A, P and its ``negatives``."""
        return self.negatives + 2

    def points(self) -> dict[str, tuple[float, float]]:
        """name -> (x, y) of the points in use: A, P, N1 ... Nk."""
        used = self.in_use()
        return {name: (getattr(self, fx), getattr(self, fy))
                for name, (fx, fy) in zip(INFONCE_NAMES[:used], INFONCE_COORDS[:used],
                                          strict=True)}  # fmt: skip


INFONCE_NAMES = point_names(MAX_NEGATIVES)  # A, P, N1 ... N16: every point a scene holds
INFONCE_COORDS = tuple((f"{n.lower()}x", f"{n.lower()}y") for n in INFONCE_NAMES)


@dataclasses.dataclass(frozen=True, kw_only=True)
class QuizScene(Scene):
    """Quiz: the teacher's seed fixes the questions; the rest sets their kind."""

    seed: int = _seed(
        "Teacher's seed", help="The same seed and settings give every student the same questions."
    )
    difficulty: str = choice(
        "normal", DIFFICULTIES, label="Difficulty",
        help="Near the boundary: every triplet lies within 10% of the margin of a border.",
        option_labels={"normal": "normal", "boundary": "near the boundary"},
    )  # fmt: skip
    distance: str = _distance("euclidean", QUIZ_DISTANCES)
    swap: bool = _swap()
    margin: float = _margin(1.0, 0.05, 5.0, step=0.05)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MiningScene(Scene):
    """Batch mining page: the data (generated or bundled), the distance, the margin, the anchor.

    An uploaded file is not part of a link (the link says ``source=upload``
    and the page asks for the file again).
    """

    source: str = choice(
        "blobs", ("blobs", *BUNDLED, "upload"), label="Source",
        option_labels={"blobs": "Generated blobs (2-D)", "digits": "Handwritten digits (64-D)",
                       "iris": "Iris (4-D)", "upload": "Upload a CSV"},
    )  # fmt: skip
    classes: int = number(3, 2, 8, integer=True, label="Classes")
    per_class: int = number(8, 2, 30, integer=True, label="Points per class")
    spread: float = number(1.0, 0.0, 3.0, step=0.05, label="Spread")
    seed: int = _seed()
    space: str = choice(
        "raw", ("raw", "pca2"), label="Distances in",
        option_labels={"raw": "all dimensions", "pca2": "the 2-D picture (PCA)"},
    )  # fmt: skip
    distance: str = _distance("euclidean", MINING_DISTANCES)
    margin: float = _margin(1.0, 0.0, 5.0, step=0.01)
    anchor: int = number(0, 0, MAX_ROWS - 1, integer=True, label="Anchor (row)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CollapseScene(Scene):
    """Collapse demo: one training configuration, run with ``loss`` and beside it ``compare``.

    ``compare`` "none" trains one encoder only. ``autostart`` starts training as
    the link opens (a teacher's link for the class). Options and ranges are
    ``lossviz.training.collapse``'s (what ``TrainConfig`` accepts), narrowed where the page
    offers less; the batch sizes are the powers of two the page offers.
    """

    dataset: str = choice(
        "digits", DATASETS, label="Data",
        option_labels={"digits": "Digits (64-D)", "blobs": "Blobs (2-D)"},
    )  # fmt: skip
    loss: str = choice("batch_hard", LOSSES, label="Loss (left)", option_labels=LOSS_LABELS)
    compare: str = choice("batch_hard_fix", (*LOSSES, "none"), label="Beside it (right)",
                          option_labels={**LOSS_LABELS, "none": "nothing"})  # fmt: skip
    margin: float = _margin(0.2, MARGIN, step=0.01)
    lr: float = number(0.03, LR.narrowed(lo=1e-4), step=0.01, label="Learning rate")
    optimizer: str = choice("adam", OPTIMIZERS, label="Optimizer", option_labels=OPTIMIZER_LABELS)
    steps: int = number(300, STEPS.narrowed(lo=10), step=10, label="Steps")
    batch_size: int = choice(128, BATCH_SIZES, label="Batch size")
    l2_normalize: bool = flag(False, label="L2-normalise the outputs")
    clip_grad: float = number(0.0, CLIP_GRAD.narrowed(hi=100.0), step=0.5,
                              label="Clip gradient norm (0 = off)")  # fmt: skip
    seed: int = _seed()
    autostart: bool = flag(
        False, label="Start training when this link opens",
        help="For a class: share the address; every page that opens it trains.",
    )  # fmt: skip


# The SimCLR demo's output dimensions: 2 draws the circle, the others show a spectrum.
SIMCLR_DIMS = (2, 8, 16, 32, 64)
SIMCLR_BATCH_SIZES = (32, 64, 128, 256)
_RUN_WORDS = {"a": "A", "b": "B"}
_AUGMENT = Augment()  # the augmentation's defaults


def _simclr_run_fields(run: str, tau: float, dim: int, shift: int) -> dict[str, Any]:
    """The fields of one run of the SimCLR demo (``run`` "a" or "b"), its labels prefixed."""
    name = _RUN_WORDS[run]
    return {
        f"tau_{run}": number(
            tau,
            TEMPERATURE,
            marks=TEMPERATURE_MARKS,
            label=f"{name}: temperature τ",
            help="NT-Xent divides every cosine similarity by τ before the softmax. Small τ: "
            "only the nearest negatives push. Large τ: every negative pushes alike.",
        ),
        f"dim_{run}": choice(
            dim,
            SIMCLR_DIMS,
            label=f"{name}: output dimension",
            option_labels={
                2: "2 (the circle)",
                **{d: f"{d} (a spectrum)" for d in SIMCLR_DIMS[1:]},
            },
            help="2: the outputs are drawn on the unit circle as they are. More: the picture "
            "is a projection (PCA) and the spectrum shows how many directions are used.",
        ),
        f"shift_{run}": number(
            shift,
            MAX_SHIFT,
            label=f"{name}: shift up to (pixels)",
            help="Each view moves the 8x8 image by a random whole number of pixels, up to "
            "this many, in each direction.",
        ),
        f"noise_{run}": number(
            _AUGMENT.noise_std,
            NOISE_STD,
            step=0.05,
            label=f"{name}: pixel noise",
            help="Standard deviation of the Gaussian noise added to every pixel (pixels are "
            "0 to 1).",
        ),
        f"dropout_{run}": number(
            _AUGMENT.dropout,
            DROPOUT,
            step=0.05,
            label=f"{name}: pixel dropout",
            help="Each pixel of a view is set to 0 with this probability.",
        ),
        f"projector_{run}": flag(
            False,
            label=f"{name}: projector head",
            help="An extra two-layer head after the encoder, as in SimCLR; the loss sees its "
            "output and the spectrum is taken before it (the representation).",
        ),
        f"variance_{run}": number(
            0.0,
            VARIANCE_WEIGHT,
            step=1.0,
            label=f"{name}: variance term weight",
            help="A VICReg-style hinge that keeps each dimension's spread up (0 = off).",
        ),
    }


_SIMCLR = {
    **_simclr_run_fields("a", 0.05, 2, _AUGMENT.max_shift),
    "compare": flag(True, label="Train run B beside it",
                    help="Both runs start from the same weights and see the same batches."),
    **_simclr_run_fields("b", 1.0, 2, _AUGMENT.max_shift),
}  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimCLRScene(Scene):
    """SimCLR demo: the digits encoder trained with NT-Xent, run A and (``compare``) run B
    in lockstep. Each run's fields end in ``_a`` or ``_b``: temperature, output dimension,
    augmentation (shift, noise, dropout), projector head and variance weight; the rest is
    shared. The default is the temperature preset (tau 0.05 against tau 1 on the circle).
    Ranges are :mod:`lossviz.training.contrastive_training`'s, narrowed to what the page
    offers.
    """

    tau_a: float = _SIMCLR["tau_a"]
    dim_a: int = _SIMCLR["dim_a"]
    shift_a: int = _SIMCLR["shift_a"]
    noise_a: float = _SIMCLR["noise_a"]
    dropout_a: float = _SIMCLR["dropout_a"]
    projector_a: bool = _SIMCLR["projector_a"]
    variance_a: float = _SIMCLR["variance_a"]
    compare: bool = _SIMCLR["compare"]
    tau_b: float = _SIMCLR["tau_b"]
    dim_b: int = _SIMCLR["dim_b"]
    shift_b: int = _SIMCLR["shift_b"]
    noise_b: float = _SIMCLR["noise_b"]
    dropout_b: float = _SIMCLR["dropout_b"]
    projector_b: bool = _SIMCLR["projector_b"]
    variance_b: float = _SIMCLR["variance_b"]
    batch_size: int = choice(128, SIMCLR_BATCH_SIZES, label="Batch size")
    steps: int = number(300, 50, 1000, integer=True, step=50, label="Steps")
    lr: float = number(0.01, 1e-4, 0.1, step=0.001, label="Learning rate")
    seed: int = _seed()
    autostart: bool = flag(
        False, label="Start training when this link opens",
        help="For a class: share the address; every page that opens it trains.",
    )  # fmt: skip
