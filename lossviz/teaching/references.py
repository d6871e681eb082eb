"""Check a reference: implementations people copy, run on a page's scene next to the core.

A student should test a reference before trusting it. This module runs two widely
copied implementations on the current scene and compares them, number by number,
with what the torch core (:mod:`lossviz.core.triplet_reading`,
:mod:`lossviz.core.pair_reading`) computes:

- the NumPy triplet loss of many tutorials, whose distance is
  ``np.power(np.sum(np.power(np.abs(x - y + eps), p)), 1 / p)``: right for every
  finite ``p``, but at ``p = inf`` every distance is 1.0;
- the "inverted snippet" of the contrastive loss (see :mod:`lossviz.core.pair_reading`), fed the
  labels its docstring promises (1 = similar).

Conventions: a triplet is ``(3, 2)`` points (rows A, P, N), a pair ``(2, 2)`` (rows X1,
X2), as the core takes them; settings are :class:`~lossviz.core.loss_settings.LossSettings`.
Two numbers agree when they are within a relative 1e-6 (absolute floor 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from lossviz.core.loss_settings import LossSettings
from lossviz.core.pair_reading import PairReading, read_pair
from lossviz.core.triplet_reading import TripletReading, read_triplet

REL_TOL = 1e-6
ABS_TOL = 1e-9

TUTORIAL = "NumPy tutorial triplet loss"
# The reference as tutorials print it (tests/test_references.py runs this text and
# compares it with tutorial_lp_distance and tutorial_triplet_loss).
TUTORIAL_CODE = """import numpy as np

def distance(x, y, p=2, eps=1e-6):
    return np.power(np.sum(np.power(np.abs(x - y + eps), p)), 1 / p)

def triplet_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6):
    d_ap = distance(anchor, positive, p, eps)
    d_an = distance(anchor, negative, p, eps)
    return max(d_ap - d_an + margin, 0.0)
"""
INVERTED_SNIPPET = "Inverted contrastive snippet"

# The p-norm each Lp distance of the registry uses; minkowski takes the page's p.
_FIXED_ORDERS = {"euclidean": 2.0, "manhattan": 1.0, "chebyshev": math.inf}

INF_DISTANCE_REASON = (
    "At p = ∞ the tutorial's `power(|x|, p) ** (1/p)` is `inf**0` or `0**0`, which NumPy "
    "evaluates to 1: every distance is 1.0. torch takes the largest coordinate."
)
INF_LOSS_REASON = (
    "Every tutorial distance is 1.0 at p = ∞, so its loss is max(1 − 1 + m, 0) = m "
    "wherever the points are."
)
OTHER_REASON = "The tutorial's NumPy formula and torch differ here by more than rounding."
SAME_DISTANCE_REASON = "The snippet measures d differently from the core here."
NOT_LP_MESSAGE = (
    "The tutorial reference covers only p-norms (Euclidean, Manhattan, Chebyshev, "
    "Minkowski): there is nothing to compare for this distance."
)
NO_SWAP_MESSAGE = (
    "The loss is not compared because the tutorial has no swap: only the distances are."
)
SNIPPET_MESSAGE = (
    "The snippet is fed label 1 for a similar pair and 0 for a dissimilar one, "
    "as its docstring promises."
)
SIMILAR_REASON = (
    "The snippet's docstring says label 1 = similar, but its formula treats 0 as "
    "similar: fed 1 for this similar pair it computes the push term (m − d)² instead "
    "of the pull d²."
)
DISSIMILAR_REASON = (
    "The snippet's docstring says label 1 = similar, but its formula treats 0 as "
    "similar: fed 0 for this dissimilar pair it computes the pull term d² instead "
    "of the push (m − d)²."
)


@dataclass(frozen=True)
class ReferenceRow:
    """One compared number: the core's value, the reference's, and why they differ."""

    name: str  # what is compared, e.g. "d(a, p)" or "loss"
    core: float
    reference: float
    agree: bool
    reason: str  # one sentence for a student when they disagree; "" when they agree


@dataclass(frozen=True)
class ReferenceCheck:
    """A reference run on one scene; ``applicable=False`` means nothing was compared."""

    reference: str  # which reference, e.g. TUTORIAL
    applicable: bool
    rows: tuple[ReferenceRow, ...]
    message: str  # a note for the whole check ("" when there is none)

    @property
    def agree(self) -> bool:
        """Every compared number agrees (vacuously True when nothing was compared)."""
        return all(row.agree for row in self.rows)


def inverted_snippet_code(margin: float) -> str:
    """The widely copied snippet, written out with the page's margin (what its curve uses)."""
    return (
        "def contrastive_loss(x1, x2, label):\n"
        '    """label 1 = similar, 0 = not."""\n'
        f"    m = {margin!r}  # the margin\n"
        "    d = F.pairwise_distance(x1, x2)\n"
        "    pull = (1 - label) * d**2\n"
        "    push = label * F.relu(m - d)**2\n"
        "    return (pull + push).mean()"
    )


def agrees(core: float, reference: float) -> bool:
    """Within a relative REL_TOL, or an absolute ABS_TOL near zero."""
    return math.isclose(core, reference, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def lp_order(settings: LossSettings) -> float | None:
    """The p of the settings' distance when it is a p-norm; None for any other distance."""
    if settings.distance == "minkowski":
        return float(settings.p)
    return _FIXED_ORDERS.get(settings.distance)


def tutorial_lp_distance(x: np.ndarray, y: np.ndarray, p: float, eps: float = 1e-6) -> float:
    """The tutorials' NumPy p-norm distance, exactly as they write it.

    ``x`` and ``y`` are 1-D arrays (converted to float64). At ``p = inf`` it returns
    1.0 for every pair: the inner power is inf or 0, and ``inf**0 == 0**0 == 1``.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        return float(np.power(np.sum(np.power(np.abs(x - y + eps), p)), 1 / p))


def tutorial_triplet_loss(
    a: np.ndarray, p_: np.ndarray, n: np.ndarray, margin: float, p: float, eps: float
) -> float:
    """The tutorials' ``max(d(a, p) - d(a, n) + margin, 0)``; a, p_, n are 1-D arrays."""
    d_ap = tutorial_lp_distance(a, p_, p, eps)
    d_an = tutorial_lp_distance(a, n, p, eps)
    return max(d_ap - d_an + margin, 0.0)


def _row(name: str, core: float, reference: float, reason: str) -> ReferenceRow:
    agree = agrees(core, reference)
    return ReferenceRow(name, core, reference, agree, "" if agree else reason)


def _points(points: Tensor | Sequence[Sequence[float]], rows: int) -> list[np.ndarray]:
    array = np.asarray(points.tolist() if isinstance(points, Tensor) else points, np.float64)
    if array.shape != (rows, 2):
        raise ValueError(f"expected ({rows}, 2) points; got {array.shape}")
    return list(array)


def triplet_reference_check(
    points: Tensor | Sequence[Sequence[float]],
    settings: LossSettings,
    reading: TripletReading | None = None,
) -> ReferenceCheck:
    """The NumPy tutorial triplet loss against :func:`~lossviz.core.triplet_reading.read_triplet`.

    ``points`` is ``(3, 2)``: rows A, P, N. ``reading``: the core's reading of these
    points under ``settings`` when the page has it (else read here). Rows compared:
    d(a, p), d(a, n) and the loss; with swap on, d(a, p), d(a, n) and d(p, n) (the
    tutorial has no swap). Not applicable (no rows) for a distance that is not a p-norm.
    Raises ``NonFiniteError`` when the core cannot read the scene.
    """
    p = lp_order(settings)
    if p is None:
        return ReferenceCheck(TUTORIAL, False, (), NOT_LP_MESSAGE)
    a, pos, neg = _points(points, 3)
    if reading is None:
        reading = read_triplet(points, settings)
    eps = settings.eps
    reason = INF_DISTANCE_REASON if math.isinf(p) else OTHER_REASON
    rows = [
        _row("d(a, p)", reading.d_ap, tutorial_lp_distance(a, pos, p, eps), reason),
        _row("d(a, n)", reading.d_an, tutorial_lp_distance(a, neg, p, eps), reason),
    ]
    if settings.swap:
        rows.append(_row("d(p, n)", reading.d_pn, tutorial_lp_distance(pos, neg, p, eps), reason))
        return ReferenceCheck(TUTORIAL, True, tuple(rows), NO_SWAP_MESSAGE)
    loss = tutorial_triplet_loss(a, pos, neg, settings.margin, p, eps)
    rows.append(_row("loss", reading.loss, loss, INF_LOSS_REASON if math.isinf(p) else reason))
    return ReferenceCheck(TUTORIAL, True, tuple(rows), "")


def contrastive_reference_check(
    points: Tensor | Sequence[Sequence[float]], similar: bool, settings: LossSettings
) -> ReferenceCheck:
    """The inverted snippet, fed label = 1 if similar else 0, against the core's loss.

    ``points`` is ``(2, 2)``: rows X1, X2. Both are read here
    (:func:`~lossviz.core.pair_reading.read_pair`, the snippet's with ``inverted=True``),
    then compared by :func:`compare_pair_readings`. Raises ``NonFiniteError`` when the
    core cannot read the scene.
    """
    _points(points, 2)
    core = read_pair(points, similar, settings)
    return compare_pair_readings(core, read_pair(points, similar, settings, inverted=True))


def compare_pair_readings(core: PairReading, snippet: PairReading) -> ReferenceCheck:
    """The core's reading of a pair beside the inverted snippet's reading of the same pair
    (same points, label and settings; ``snippet.inverted``). Rows: "d" (the snippet uses
    the same distance, so it always agrees) and "loss", which agrees only where the pull
    d² and the push relu(m − d)² happen to be equal (d = m / 2).
    """
    if core.inverted or not snippet.inverted or core.similar != snippet.similar:
        raise ValueError("compare the core's reading with the snippet's, of the same label")
    reason = SIMILAR_REASON if core.similar else DISSIMILAR_REASON
    rows = (
        _row("d", core.d, snippet.d, SAME_DISTANCE_REASON),
        _row("loss", core.loss, snippet.loss, reason),
    )
    return ReferenceCheck(INVERTED_SNIPPET, True, rows, SNIPPET_MESSAGE)
