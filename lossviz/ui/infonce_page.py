"""The InfoNCE page's state and actions: drag on the circle, presets, reset, step, descend."""

from __future__ import annotations

import functools
import math

import streamlit as st

from lossviz.core.circle_reading import CircleReading, descend_circle, read_circle
from lossviz.scenes.scene import INFONCE_COORDS, INFONCE_NAMES, InfoNCEScene
from lossviz.ui.instruments.circle_plane import ON_CIRCLE_BOUNDS, CircleView
from lossviz.ui.points import ScenePoints
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(
    InfoNCEScene, "infonce",
    ("tau", "negatives", "normalize", "lr", "batch", "examples", "dim", "noise", "seed", "row"),
)  # fmt: skip
POINTS = ScenePoints(BINDING, INFONCE_NAMES, INFONCE_COORDS, in_use=InfoNCEScene.in_use)
OFF_CIRCLE_BOUNDS = POINTS.bounds  # the coordinates' own range: (-2, 2)
PLANE_KEY = "infonce.plane"
TAB_KEY = "infonce.tab"
TABS = ("One anchor on the circle", "A batch of 2N views")


def bounds(scene: InfoNCEScene) -> tuple[float, float]:
    """The plane's extent: snug around the unit circle, or the coordinates' whole range."""
    return ON_CIRCLE_BOUNDS if scene.normalize else OFF_CIRCLE_BOUNDS


def reset() -> None:
    POINTS.apply(InfoNCEScene())


def points_key(scene: InfoNCEScene) -> tuple[tuple[str, tuple[float, float]], ...]:
    """The scene's points as (name, (x, y)) pairs, A, P, N1 ... Nk: hashable."""
    return tuple(POINTS.of(scene).items())


@functools.lru_cache(maxsize=4096)
def reading_of(
    points: tuple[tuple[str, tuple[float, float]], ...], temperature: float, on_circle: bool
) -> CircleReading:
    """:func:`read_circle`, once per process for each scene (every student opens the default
    one). Raises ``DegenerateError`` as it does (errors are not cached)."""
    return read_circle(dict(points), temperature, on_circle)


def view(scene: InfoNCEScene) -> CircleView:
    """The circle plane for ``scene``. On the circle the points are drawn normalised, where
    the loss sees them (a link may give any length: the loss normalises it, and so does the
    first move); read the scene first (a point at the centre has no place to be drawn)."""
    points = points_key(scene)
    if scene.normalize:
        points = tuple((name, _unit(xy)) for name, xy in points)
    return CircleView(PLANE_KEY, points, scene.tau, scene.normalize, bounds(scene))


def _unit(xy: tuple[float, float]) -> tuple[float, float]:
    length = math.hypot(*xy)
    return (xy[0] / length, xy[1] / length) if length > 0 else xy


def step(scene: InfoNCEScene, steps: int = 1) -> None:
    """Move every point of ``scene`` (the one its buttons were drawn with: a drop redraws
    them) ``steps`` gradient-descent steps, along the circle when on it; animate when more
    than one."""
    frames = descend_circle(POINTS.of(scene), scene.tau, scene.lr, steps, scene.normalize,
                            OFF_CIRCLE_BOUNDS)  # fmt: skip
    POINTS.follow([list(frame.values()) for frame in frames])


def weights_table(reading: CircleReading) -> str:
    """One row per candidate (P, then N1 ...): its similarity to A, its softmax weight and
    the length of its gradient, what the bars and arrows show, as a Markdown table (numbers
    only: nothing from outside)."""
    names = ("P", *(f"N{i}" for i in range(1, len(reading.weights))))
    rows = ["| point | s(A, ·) | weight | ‖∇L‖ |", "|---|--:|--:|--:|"]
    for name, similarity, weight in zip(names, reading.similarities, reading.weights, strict=True):
        gx, gy = reading.gradients[name]
        rows.append(f"| {name} | {similarity:.3f} | {weight:.3f} | {math.hypot(gx, gy):.3g} |")
    return "\n".join(rows)


def measures_line(reading: CircleReading) -> str:
    """Wang and Isola's alignment and uniformity of the points, with their definitions."""
    return (
        f"**Alignment** ‖a − p‖² = **{reading.alignment:.3f}** (0 when P sits on A)  \n"
        f"**Uniformity** log mean e^(−2‖x − y‖²) over every pair = "
        f"**{reading.uniformity:.3f}** (lower: more evenly spread)"
    )


def weights_and_measures(reading: CircleReading) -> str:
    """The weights table, then the measures (one Markdown element: numbers only)."""
    return f"{weights_table(reading)}\n\n{measures_line(reading)}"


def infonce_explainer() -> None:
    with st.expander("What am I looking at?", icon=":material/help:"):
        st.markdown(
            """
**The points.** A is an anchor's embedding, P its positive (another view of the same
example) and N1 … Nk negatives (views of other examples). With *On the circle* each point is
L2-normalised, as SimCLR, CLIP and sentence-transformers do, and the similarity *s* is the
cosine; drag a point and it slides along the circle.

**The loss.** InfoNCE (van den Oord et al. 2018; NT-Xent in SimCLR) is a softmax over the
candidates: `L = −log( e^{s(a,p)/τ} / (e^{s(a,p)/τ} + Σ e^{s(a,n)/τ}) )`, the cross-entropy of
picking P among P and the negatives. It is computed in the log-sum-exp form, which never
overflows.

**Why it never reaches 0.** On the circle every similarity is at most 1 and at least −1, so
the best the loss can do is P on A and every negative opposite: `log(1 + k·e^{−2/τ})`.
At τ = 1 with 4 negatives that is 0.42: a loss that stays there is not a bug.

**The bars and arrows.** Each bar is a candidate's softmax weight. A negative's weight is
its share of the push on the anchor: the gradient on A is `(Σ_n w_n·n − (1 − w_p)·p) / τ`
(before the circle's projection). The arrows are −∇L from torch autograd, along the circle;
an arrow's width follows its point's weight.

**The temperature.** Small τ sharpens the softmax into a max: the closest negative takes
nearly all the weight and the gradient (hard-negative mining for free, and an unstable one).
Large τ flattens it: every negative weighs the same, near or far.

**Alignment and uniformity** (Wang and Isola 2020): alignment `‖a − p‖²` (0: the positive
sits on the anchor); uniformity `log mean exp(−2‖x − y‖²)` over every pair of points (lower:
spread more evenly over the circle). InfoNCE trades the two off.

**Off the circle.** Raw dot products grow with the points' lengths: the loss can fall by
making every vector longer without changing one angle. Normalisation removes that cheat.
"""
        )
