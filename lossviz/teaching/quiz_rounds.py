"""The quiz: rounds of triplets to classify as easy, semi-hard or hard.

A round is fixed by its seed and settings (its own ``torch.Generator``, CPU), so
every student who opens the same link gets the same questions. Kinds follow
:func:`lossviz.core.triplets.classify` (pytorch-metric-learning's boundaries) on the
distances :func:`lossviz.core.triplet_reading.read_triplet` computes; with swap the kind
uses min(d(a, n), d(p, n)), as the loss does.

"normal" questions stay at least 15% of the margin away from both boundaries
(delta = 0 and delta = margin); "boundary" questions lie within 10% of the
margin of one of them, never on it. Torch and the standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from lossviz.core.distances import TORCH_EPS
from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import triplet_distances
from lossviz.core.triplet_reading import read_triplet
from lossviz.core.triplets import Kind

BOUNDS = (-4.0, 4.0)
DIFFICULTIES = ("normal", "boundary")
QUIZ_DISTANCES = ("euclidean", "manhattan", "chebyshev", "cosine")
ROUND_LENGTH = 10

NORMAL_GAP = 0.15  # normal: |delta - boundary| >= 0.15 m for both boundaries
BOUNDARY_NEAR = 0.09  # boundary: 0.01 m <= |delta - boundary| <= 0.09 m (spec: <= 0.1 m)
BOUNDARY_FAR = 0.01

_POINT_SPAN = 3.5  # A and P in [-3.5, 3.5]^2, N in [-3.8, 3.8]^2: away from the edges
_NEGATIVE_SPAN = 3.8
_CANDIDATES = 4096  # negatives tried per (A, P) draw
_ATTEMPTS = 60  # (A, P) draws per question before the kind is given up
_MIN_NORM = 0.4  # cosine: points too near the origin have an arbitrary direction


class QuizError(ValueError):
    """Settings no round can be made for (a bad difficulty, distance or margin)."""


@dataclass(frozen=True)
class Question:
    """One triplet to classify, with the answer and the distances behind it."""

    index: int
    points: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]  # A, P, N
    settings: LossSettings
    kind: Kind
    d_ap: float
    d_an: float
    d_pn: float
    d_an_used: float  # d(a, n), or min(d(a, n), d(p, n)) with swap
    swap_used: bool  # swap is on and d(p, n) < d(a, n)

    @property
    def margin(self) -> float:
        return self.settings.margin

    @property
    def delta(self) -> float:
        return self.d_an_used - self.d_ap

    @property
    def named_points(self) -> dict[str, tuple[float, float]]:
        return dict(zip(("A", "P", "N"), self.points, strict=True))


@dataclass(frozen=True)
class RoundSummary:
    """Score, streaks and a confusion count ``confusion[true kind][answered kind]``."""

    total: int
    score: int
    best_streak: int
    streak: int  # the current run of right answers (ends at the last answer)
    confusion: tuple[tuple[int, int, int], ...]

    def count(self, true: Kind, answered: Kind) -> int:
        return self.confusion[int(true)][int(answered)]


def quiz_settings(distance: str, swap: bool, margin: float) -> LossSettings:
    """The loss settings of a quiz: a named distance, p = 2, torch's eps."""
    return LossSettings(
        margin=float(margin), p=2.0, eps=TORCH_EPS, swap=bool(swap), distance=distance, expr=""
    )


def _window(kind: Kind, difficulty: str, margin: float) -> list[tuple[float, float]]:
    """Open-or-closed delta intervals (lo, hi) a question of ``kind`` must fall in."""
    m = margin
    if difficulty == "normal":
        gap = NORMAL_GAP * m
        return {
            Kind.HARD: [(-math.inf, -gap)],
            Kind.SEMI_HARD: [(gap, m - gap)],
            Kind.EASY: [(m + gap, math.inf)],
        }[kind]
    near, far = BOUNDARY_NEAR * m, BOUNDARY_FAR * m
    return {
        Kind.HARD: [(-near, -far)],
        Kind.SEMI_HARD: [(far, near), (m - near, m - far)],
        Kind.EASY: [(m + far, m + near)],
    }[kind]


def _in_window(delta: torch.Tensor | float, window: list[tuple[float, float]]):
    if isinstance(delta, torch.Tensor):
        mask = torch.zeros_like(delta, dtype=torch.bool)
        for lo, hi in window:
            mask |= (delta >= lo) & (delta <= hi)
        return mask
    return any(lo <= delta <= hi for lo, hi in window)


def _uniform(generator: torch.Generator, shape: tuple[int, ...], span: float) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * span


def _balanced_kinds(length: int, generator: torch.Generator) -> list[Kind]:
    """``length`` kinds, as equal in number as possible, in a seeded random order."""
    cycle = (Kind.SEMI_HARD, Kind.HARD, Kind.EASY)  # a remainder favours semi-hard, then hard
    kinds = [cycle[i % 3] for i in range(length)]
    order = torch.randperm(length, generator=generator).tolist()
    return [kinds[i] for i in order]


def _draw(
    kind: Kind, difficulty: str, settings: LossSettings, generator: torch.Generator
) -> tuple[list[list[float]], object] | None:
    """Points (A, P, N) whose triplet is ``kind`` within the difficulty's window, or None."""
    distance = settings.pair_distance()
    window = _window(kind, difficulty, settings.margin)
    for _ in range(_ATTEMPTS):
        anchor_positive = _uniform(generator, (2, 2), _POINT_SPAN)
        negatives = _uniform(generator, (_CANDIDATES, 2), _NEGATIVE_SPAN)
        pick = torch.rand((), generator=generator, dtype=torch.float64).item()
        a, p = anchor_positive[0], anchor_positive[1]
        gap = torch.linalg.vector_norm(a - p).item()
        if not 0.6 <= gap <= 4.0:
            continue
        if settings.distance == "cosine" and min(a.norm(), p.norm()) < _MIN_NORM:
            continue
        count = negatives.shape[0]
        with torch.no_grad():
            d_ap, d_an = triplet_distances(
                a.expand(count, 2),
                p.expand(count, 2),
                negatives,
                swap=settings.swap,
                distance_function=distance,
            )
        ok = _in_window(d_an - d_ap, window)
        ok &= torch.linalg.vector_norm(negatives - a, dim=1) >= 0.3  # N visibly apart from A
        ok &= torch.linalg.vector_norm(negatives - p, dim=1) >= 0.3
        if settings.distance == "cosine":
            ok &= torch.linalg.vector_norm(negatives, dim=1) >= _MIN_NORM
        found = ok.nonzero().flatten()
        if found.numel() == 0:
            continue
        n = negatives[found[min(int(pick * found.numel()), found.numel() - 1)]]
        points = [a.tolist(), p.tolist(), n.tolist()]
        reading = read_triplet(points, settings)  # the page's own numbers decide
        if reading.kind == kind and _in_window(reading.delta, window):
            return points, reading
    return None


def make_round(
    seed: int,
    difficulty: str = "normal",
    distance: str = "euclidean",
    swap: bool = False,
    margin: float = 1.0,
    length: int = ROUND_LENGTH,
) -> list[Question]:
    """``length`` questions, the same for the same arguments; kinds balanced and shuffled.

    A kind the settings cannot produce (e.g. easy with the cosine distance, at most
    2, and a margin of 2 or more) is replaced by the next kind that can be.
    Raises ``QuizError`` for an unknown difficulty or distance or a bad margin.
    """
    if difficulty not in DIFFICULTIES:
        raise QuizError(f"difficulty must be one of {DIFFICULTIES}; got {difficulty!r}")
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin > 0):
        raise QuizError(f"the margin must be a finite number > 0; got {margin!r}")
    if length < 1:
        raise QuizError(f"a round needs at least one question; got {length}")
    settings = quiz_settings(distance, swap, margin)
    try:
        settings.pair_distance()  # an unknown distance name raises here, before any draw
    except ValueError as problem:
        raise QuizError(str(problem)) from None
    generator = torch.Generator(device="cpu")
    generator.manual_seed(int(seed))
    impossible: set[Kind] = set()
    questions: list[Question] = []
    for index, wanted in enumerate(_balanced_kinds(length, generator)):
        tries = [wanted, *(k for k in (Kind.SEMI_HARD, Kind.HARD, Kind.EASY) if k != wanted)]
        drawn = None
        for kind in tries:
            if kind in impossible:
                continue
            drawn = _draw(kind, difficulty, settings, generator)
            if drawn is not None:
                break
            impossible.add(kind)
        if drawn is None:
            raise QuizError("no triplet of any kind fits these settings: try a smaller margin")
        points, reading = drawn
        questions.append(
            Question(
                index=index,
                points=tuple((float(x), float(y)) for x, y in points),
                settings=settings,
                kind=reading.kind,
                d_ap=reading.d_ap,
                d_an=reading.d_an,
                d_pn=reading.d_pn,
                d_an_used=reading.d_an_used,
                swap_used=reading.swap_used,
            )
        )
    return questions


def margin_ruler(
    points: Sequence[Sequence[float]], margin: float, inset: float = 0.5
) -> tuple[tuple[float, float], tuple[float, float]]:
    """A horizontal segment of length ``margin`` (clipped to the plane) to draw the margin.

    It sits along the bottom or top edge, in the corner farthest from the points, and
    runs inward; horizontal, so its p-norm length is ``margin`` for every p.
    """
    lo, hi = BOUNDS
    length = min(float(margin), hi - lo - 2 * inset)
    corners = [(x, y) for y in (lo + inset, hi - inset) for x in (lo + inset, hi - inset)]

    def clearance(corner: tuple[float, float]) -> float:
        x0, y0 = corner
        x1 = x0 + length if x0 < 0 else x0 - length
        segment = [(x0 + (x1 - x0) * t / 8, y0) for t in range(9)]
        return min(math.dist(s, p) for s in segment for p in points)

    x0, y0 = max(corners, key=clearance)
    x1 = x0 + length if x0 < 0 else x0 - length
    return (min(x0, x1), y0), (max(x0, x1), y0)


def explain(question: Question) -> str:
    """One sentence: why the question's triplet has its kind."""
    m = question.margin
    delta = question.delta
    name = "d(p,n)" if question.swap_used else "d(a,n)"
    lead = f"d(a,n) − d(a,p) = {delta:.3g}"
    if question.settings.swap:
        lead = (
            f"with swap the negative distance is min(d(a,n), d(p,n)) = {name} = "
            f"{question.d_an_used:.3g}, so {name} − d(a,p) = {delta:.3g}"
        )
        lead = lead[0].upper() + lead[1:]
    if question.kind == Kind.HARD:
        return (
            f"{lead}, at most 0: the negative is as close to the anchor as the positive or "
            "closer, so it is hard."
        )
    if question.kind == Kind.SEMI_HARD:
        return (
            f"{lead}, between 0 and the margin {m:g}: the negative is farther than the "
            "positive but inside the margin, so it is semi-hard."
        )
    return (
        f"{lead}, more than the margin {m:g}: the negative is farther than the positive "
        "by more than the margin, so the loss is 0 and it is easy."
    )


def summarize(answers: Iterable[tuple[Kind, Kind]]) -> RoundSummary:
    """Score, best and current streak, and confusion counts of ``(true, answered)`` pairs."""
    confusion = [[0, 0, 0] for _ in range(3)]
    score = best = streak = total = 0
    for true, answered in answers:
        true, answered = Kind(true), Kind(answered)
        total += 1
        confusion[int(true)][int(answered)] += 1
        if true == answered:
            score += 1
            streak += 1
            best = max(best, streak)
        else:
            streak = 0
    return RoundSummary(
        total=total,
        score=score,
        best_streak=best,
        streak=streak,
        confusion=tuple(tuple(row) for row in confusion),
    )


def question_pairs(questions: Sequence[Question], answers: Sequence[Kind]):
    """``(true, answered)`` pairs of the questions answered so far, for :func:`summarize`."""
    return [(q.kind, Kind(a)) for q, a in zip(questions, answers, strict=False)]


__all__ = [
    "BOUNDS",
    "DIFFICULTIES",
    "ROUND_LENGTH",
    "Question",
    "QuizError",
    "RoundSummary",
    "explain",
    "make_round",
    "margin_ruler",
    "question_pairs",
    "quiz_settings",
    "summarize",
]
