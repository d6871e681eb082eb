"""Page state as frozen dataclasses (scenes), and shareable links.

Each page keeps its controls in one frozen dataclass. This module is the one
place where a control's default, bounds, step and options live: the core's
registries and ranges feed it (the core never imports it), and the pages build
their widgets from ``Scene.field_spec(name)`` (``lossviz.ui.widgets``) and never
repeat one.

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
from lossviz.batches.point_sets import BUNDLED, MAX_ROWS
from lossviz.core.distances import DISTANCES, TORCH_EPS
from lossviz.core.ranges import SEED, Range
from lossviz.teaching.quiz_rounds import DIFFICULTIES, QUIZ_DISTANCES
from lossviz.training.collapse import (
    BATCH_SIZES,
    CLIP_GRAD,
    DATASETS,
    LOSSES,
    LR,
    MARGIN,
    OPTIMIZERS,
    STEPS,
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
    """How one field is bounded, written and read; pages build widgets from it."""

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


def number(
    default: float,
    lo: float | Range,
    hi: float | None = None,
    *,
    allow_inf: bool = False,
    integer: bool = False,
    step: float | None = None,
    marks: Sequence[float] = (),
):
    """A number field: ``[lo, hi]``, or a core :class:`~lossviz.core.ranges.Range` (closed)."""
    if isinstance(lo, Range):
        if lo.lo_open:
            raise ValueError(f"narrow {lo} to a closed range for a control")
        lo, hi, integer = lo.lo, lo.hi, lo.integer
    spec = FieldSpec("number", default, lo, hi, allow_inf=allow_inf, integer=integer, step=step,
                     marks=tuple(marks))  # fmt: skip
    return _field(spec)


def choice(default: Any, options: Sequence[Any]):
    return _field(FieldSpec("choice", default, options=tuple(options)))


def flag(default: bool):
    return _field(FieldSpec("flag", default))


def text(default: str, max_len: int):
    return _field(FieldSpec("text", default, max_len=max_len))


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


def _coord(default: float):
    return number(default, -4.0, 4.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LossScene(Scene):
    """Controls every loss page shares."""

    margin: float = number(1.0, 0.05, 5.0, step=0.05)
    p: float = number(2.0, 0.5, 10.0, allow_inf=True, marks=P_MARKS)
    eps: float = choice(TORCH_EPS, (0.0, TORCH_EPS))
    distance: str = choice("euclidean", DISTANCE_NAMES)
    expr: str = text("max(abs(a - b))", 300)
    lr: float = number(0.1, 1e-4, 10.0)
    seed: int = number(0, SEED)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HomeScene(Scene):
    """Home page: the margin of the loss-along-delta picture."""

    margin: float = number(1.0, 0.1, 2.0, step=0.1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlaygroundScene(LossScene):
    """Triplet playground: anchor (ax, ay), positive (px, py), negative (nx, ny)."""

    ax: float = _coord(0.0)
    ay: float = _coord(0.0)
    px: float = _coord(1.0)
    py: float = _coord(0.5)
    nx: float = _coord(1.5)
    ny: float = _coord(-1.0)
    swap: bool = flag(False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContrastiveScene(LossScene):
    """Contrastive page: a pair (x1x, x1y), (x2x, x2y), similar or not."""

    x1x: float = _coord(0.0)
    x1y: float = _coord(0.0)
    x2x: float = _coord(1.0)
    x2y: float = _coord(0.5)
    similar: bool = flag(True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class QuizScene(Scene):
    """Quiz: the teacher's seed fixes the questions; the rest sets their kind."""

    seed: int = number(0, SEED)
    difficulty: str = choice("normal", DIFFICULTIES)
    distance: str = choice("euclidean", QUIZ_DISTANCES)
    swap: bool = flag(False)
    margin: float = number(1.0, 0.05, 5.0, step=0.05)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MiningScene(Scene):
    """Batch mining page: the data (generated or bundled), the distance, the margin, the anchor.

    An uploaded file is not part of a link (the link says ``source=upload``
    and the page asks for the file again).
    """

    source: str = choice("blobs", ("blobs", *BUNDLED, "upload"))
    classes: int = number(3, 2, 8, integer=True)
    per_class: int = number(8, 2, 30, integer=True)
    spread: float = number(1.0, 0.0, 3.0, step=0.05)
    seed: int = number(0, SEED)
    space: str = choice("raw", ("raw", "pca2"))
    distance: str = choice("euclidean", MINING_DISTANCES)
    margin: float = number(1.0, 0.0, 5.0, step=0.01)
    anchor: int = number(0, 0, MAX_ROWS - 1, integer=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CollapseScene(Scene):
    """Collapse demo: one training configuration, run with ``loss`` and beside it ``compare``.

    ``compare`` "none" trains one encoder only. ``autostart`` starts training as
    the link opens (a teacher's link for the class). Options and ranges are
    ``lossviz.training.collapse``'s (what ``TrainConfig`` accepts), narrowed where the page
    offers less; the batch sizes are the powers of two the page offers.
    """

    dataset: str = choice("digits", DATASETS)
    loss: str = choice("batch_hard", LOSSES)
    compare: str = choice("batch_hard_fix", (*LOSSES, "none"))
    margin: float = number(0.2, MARGIN, step=0.01)
    lr: float = number(0.03, LR.narrowed(lo=1e-4), step=0.01)
    optimizer: str = choice("adam", OPTIMIZERS)
    steps: int = number(300, STEPS.narrowed(lo=10), step=10)
    batch_size: int = choice(128, BATCH_SIZES)
    l2_normalize: bool = flag(False)
    clip_grad: float = number(0.0, CLIP_GRAD.narrowed(hi=100.0), step=0.5)
    seed: int = number(0, SEED)
    autostart: bool = flag(False)
