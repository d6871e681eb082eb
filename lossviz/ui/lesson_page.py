"""The lesson page's state and instruments: the step in the link, each step's scene, ticks.

State flow: the step is the link's ``step`` query value (1-based; a bad one opens
step 1 with a notice), written back by Next, Back and the step list. Each step keeps
its own scene in session state (``lesson.<slug>.scene``), starting from the step's
preset, with widgets keyed ``lesson.<slug>.<field>`` (never in the link: only the
step is). A task, once done, stays ticked for the session (``lesson.done``) even if
the student moves on and the state changes. The instruments are the full pages':
the plane, a batch counted by the mining core, a shared collapse run, shared SimCLR runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from lossviz.batches.analysis import BatchAnalysis
from lossviz.batches.point_sets import make_blobs
from lossviz.core.losses import NonFiniteError
from lossviz.core.pair_reading import POINT_NAMES as PAIR_NAMES
from lossviz.core.softmax_contrastive import DegenerateError
from lossviz.core.triplet_reading import POINT_NAMES as TRIPLET_NAMES
from lossviz.core.triplets import Kind
from lossviz.figures import CLASS_COLORS
from lossviz.scenes.lesson import (
    STEPS,
    BatchObservation,
    Step,
    lesson_batch,
    observe_batch,
    observe_circle,
    observe_pair,
    observe_triplet,
    pair_settings,
    simclr_observation,
    step_number,
    training_observation,
    triplet_settings,
)
from lossviz.scenes.scene import INFONCE_COORDS, INFONCE_NAMES, InfoNCEScene, MiningScene, Scene
from lossviz.ui import widgets
from lossviz.ui.components.plane import PlaneSpec, plane
from lossviz.ui.inert import inert
from lossviz.ui.instruments import shared_run, simclr_run
from lossviz.ui.instruments.circle_plane import ON_CIRCLE_BOUNDS, CircleView, circle_plane
from lossviz.ui.instruments.pair_plane import pair_plane
from lossviz.ui.instruments.triplet_plane import DRAG_CAPTION, triplet_plane
from lossviz.ui.points import ScenePoints
from lossviz.ui.readouts import kind_badge
from lossviz.ui.state import SessionSceneBinding

S = TypeVar("S", bound=Scene)
O = TypeVar("O")

STEP_PARAM = "step"
DONE_KEY = "lesson.done"  # the slugs of the steps whose task this session has done
PLANE_BOUNDS = (-4.0, 4.0)
PLANE_HEIGHT_PX = 440


BINDINGS = {
    step.slug: SessionSceneBinding(step.scene, f"lesson.{step.slug}", step.controls)
    for step in STEPS
}
TRIPLET_COORDS = (("ax", "ay"), ("px", "py"), ("nx", "ny"))
PAIR_COORDS = (("x1x", "x1y"), ("x2x", "x2y"))


# --------------------------------------------------------------------------- where we are


def current_step() -> tuple[int, str | None]:
    """The 1-based step of the link, and a notice when the link named no step."""
    number, notice = step_number(st.query_params.get(STEP_PARAM))
    if notice is not None:
        st.query_params[STEP_PARAM] = "1"
    return number, notice


def go_to(number: int) -> None:
    """Next, Back and the step list's callback: show step ``number`` (1-based)."""
    st.query_params[STEP_PARAM] = str(min(max(number, 1), len(STEPS)))


def done_steps() -> set[str]:
    return st.session_state.setdefault(DONE_KEY, set())


# On a phone Streamlit stacks columns; the progress bar, Back and Next stay one row there.
_NAV_CSS = """
@media (max-width: 640px) {
  .st-key-lesson-nav [data-testid="stHorizontalBlock"] { flex-wrap: nowrap; gap: 0.5rem; }
  .st-key-lesson-nav [data-testid="stColumn"] { min-width: 0; width: auto; flex: 1 1 0; }
  .st-key-lesson-nav [data-testid="stColumn"]:first-child { flex: 2.2 1 0; }
}
"""


def nav_row() -> list:
    """Three slots in one row, also on a phone: the progress bar, Back and Next."""
    st.html(f"<style>{_NAV_CSS}</style>")
    return st.container(key="lesson-nav").columns([4, 1, 1], vertical_alignment="bottom")


def show_progress(slot, number: int) -> None:
    """The progress bar in ``slot`` (an ``st.empty``): tasks done, and where we are."""
    done = len(done_steps())
    slot.progress(
        done / len(STEPS), text=f"Step {number} of {len(STEPS)} · {done} of {len(STEPS)} tasks done"
    )


def step_list(number: int) -> None:
    """Every step as a button, ticked when its task is done; the current one disabled."""
    st.subheader("Steps")
    done = done_steps()
    for index, each in enumerate(STEPS, start=1):
        mark = "✓" if each.slug in done else "○"
        st.button(
            f"{mark} {index}. {each.title}", key=f"lesson.goto.{index}", on_click=go_to,
            args=(index,), type="tertiary", disabled=index == number,
        )  # fmt: skip


def restart_step(step: Step) -> None:
    """Put a step's scene back to its preset (its tick stays)."""
    BINDINGS[step.slug].set(step.scene)
    st.session_state.pop(f"lesson.{step.slug}.trajectory", None)


def full_page_query(step: Step) -> dict[str, str]:
    """The step's current scene as the full page's link query (after its widgets ran)."""
    return st.session_state.get(BINDINGS[step.slug].scene_key, step.scene).to_query()


# --------------------------------------------------------------------------- instruments


def _metric_row(values: list[tuple[str, str]], kind: Kind | None = None) -> None:
    columns = st.columns(len(values) + (kind is not None))
    for column, (label, value) in zip(columns, values, strict=False):
        column.metric(label, value)
    if kind is not None:
        with columns[-1]:
            kind_badge(kind)


def _observed(binding: SessionSceneBinding[S], observe: Callable[[S], O]) -> O | None:
    """The step's scene, as its widgets left it, observed: ``observe(scene)``; None, with
    the reason shown, when the core cannot read it."""
    try:
        return observe(binding.commit())
    except NonFiniteError as problem:
        st.error(inert(problem))
        return None


def _plane_args(step: Step, points: ScenePoints, scene: Scene, reading: object) -> dict[str, Any]:
    """What a step's plane (triplet or pair) takes from the step: its key, points, scene,
    reading, height and the downloads' file stem."""
    return {"key": f"lesson.{step.slug}.plane", "points": points, "scene": scene,
            "reading": reading, "height_px": PLANE_HEIGHT_PX,
            "download_name": f"lossviz-lesson-{step.slug}"}  # fmt: skip


def triplet_instrument(step: Step) -> bool:
    """The playground's plane for a triplet step; whether the step's task is done."""
    binding = BINDINGS[step.slug]
    points = ScenePoints(binding, TRIPLET_NAMES, TRIPLET_COORDS)
    binding.load()
    if "p" in step.controls:
        widgets.marks(binding, "p")
    if "swap" in step.controls:
        widgets.toggle(binding, "swap")
    observation = _observed(binding, observe_triplet)
    if observation is None:
        return False
    scene, reading = observation.scene, observation.reading
    an = ("min(d(a,n), d(p,n))", f"{reading.d_an_used:.3f}") if scene.swap else None
    _metric_row(
        [("d(a, p)", f"{reading.d_ap:.3f}"), an or ("d(a, n)", f"{reading.d_an:.3f}"),
         ("loss", f"{reading.loss:.3f}")],
        reading.kind,
    )  # fmt: skip
    fixed = "The points stay put in this step: change p above."
    triplet_plane(**_plane_args(step, points, scene, reading), settings=triplet_settings(scene),
                  caption=DRAG_CAPTION if step.draggable else fixed,
                  draggable=step.draggable)  # fmt: skip
    return step.done(observation)


def pair_instrument(step: Step) -> bool:
    """The contrastive page's plane for a pair step; whether the step's task is done."""
    binding = BINDINGS[step.slug]
    points = ScenePoints(binding, PAIR_NAMES, PAIR_COORDS)
    binding.load()
    widgets.toggle(binding, "similar")
    observation = _observed(binding, observe_pair)
    if observation is None:
        return False
    scene, reading = observation.scene, observation.reading
    _metric_row([("d", f"{reading.d:.3f}"), ("loss", f"{reading.loss:.3f}"),
                 ("active term", reading.term.label)])  # fmt: skip
    pair_plane(**_plane_args(step, points, scene, reading), settings=pair_settings(scene))
    return step.done(observation)


def circle_instrument(step: Step) -> bool:
    """The InfoNCE page's circle for a circle step; whether the step's task is done."""
    binding = BINDINGS[step.slug]
    points = ScenePoints(binding, INFONCE_NAMES, INFONCE_COORDS, in_use=InfoNCEScene.in_use)
    binding.load()
    if "tau" in step.controls:
        widgets.marks(binding, "tau")
    try:
        observation = observe_circle(binding.commit())
    except DegenerateError as problem:
        st.error(inert(problem))
        return False
    scene, reading = observation.scene, observation.reading
    hardest = reading.hardest
    _metric_row([("loss", f"{reading.loss:.3f}"), ("τ", f"{scene.tau:g}"),
                 ("P takes", f"{100 * reading.weights[0]:.0f} %"),
                 (f"N{hardest} takes", f"{100 * reading.weights[hardest]:.0f} %")])  # fmt: skip
    view = CircleView(f"lesson.{step.slug}.plane", tuple(points.of(scene).items()), scene.tau,
                      scene.normalize, ON_CIRCLE_BOUNDS, height_px=PLANE_HEIGHT_PX,
                      download_name=f"lossviz-lesson-{step.slug}")  # fmt: skip
    circle_plane(view, reading, points)
    return step.done(observation)


@st.cache_resource(max_entries=4, show_spinner=False)
def batch_analysis(scene: MiningScene) -> BatchAnalysis:
    """The lesson batch's analysis, once per process (``scene``'s margin is ignored)."""
    return lesson_batch(scene.replace(margin=0.0))


@st.cache_data(max_entries=256, show_spinner=False)
def batch_counts(scene: MiningScene) -> dict[Kind, int]:
    """The batch's triplets counted at the scene's margin (shared by every student)."""
    return observe_batch(scene, batch_analysis(scene)).counts


def batch_instrument(step: Step) -> bool:
    """A labelled batch, its triplets counted at the margin; whether the task is done."""
    binding = BINDINGS[step.slug]
    binding.load()
    widgets.slider(binding, "margin")
    scene = binding.commit()
    observation = BatchObservation(scene, batch_counts(scene))
    shares = {kind: observation.share(kind) for kind in Kind}
    kinds = (Kind.EASY, Kind.SEMI_HARD, Kind.HARD)
    _metric_row([("triplets", f"{observation.total:,}")]
                + [(kind.label, f"{shares[kind]:.1%}") for kind in kinds])  # fmt: skip
    st.progress(
        shares[Kind.EASY],
        text=" · ".join(f"{observation.counts[kind]:,} {kind.label}" for kind in kinds),
    )
    points = make_blobs(scene.classes, scene.per_class, scene.spread, scene.seed)
    named = {f"b{i}": (float(x), float(y)) for i, (x, y) in enumerate(points.embeddings.tolist())}
    colors = {
        name: CLASS_COLORS[label % len(CLASS_COLORS)]
        for name, label in zip(named, points.labels.tolist(), strict=True)
    }
    spec = PlaneSpec(
        key=f"lesson.{step.slug}.plane",
        points=named,
        bounds=PLANE_BOUNDS,
        labels=dict.fromkeys(named, ""),
        colors=colors,
        lines=[],
        caption=f"The batch: {len(named)} embeddings, one colour per class.",
        height_px=PLANE_HEIGHT_PX,
        static=True,  # the browser never sends: no on_change
        download_name=f"lossviz-lesson-{step.slug}",
    )
    plane(spec)
    return step.done(observation)


def _train_button(step: Step) -> shared_run.RunView:
    """A training step's Train button; the view its shared run is shown in."""
    view = shared_run.RunView(f"lesson-{step.slug}")
    st.button("Train", icon=":material/play_arrow:", on_click=shared_run.request_training,
              args=(view,), type="primary", key=f"lesson.{step.slug}.train",
              help="Trains once on the server (or joins the run if someone already started "
                   "it) and shows it here.")  # fmt: skip
    return view


def training_instrument(step: Step) -> bool:
    """The collapse page's shared run for a training step; whether it was watched to its end."""
    binding = BINDINGS[step.slug]
    scene = binding.load()
    view = _train_button(step)
    run = shared_run.show(scene, view, gif=False)
    if run is None:
        return False
    progress = run.progress()
    if not progress.finished or progress.error or not progress.frames:
        return step.done(training_observation(False))
    first, last = run.frames(0, 1)[0], run.frames(-1)[0]
    return step.done(training_observation(True, first, last))


def simclr_instrument(step: Step) -> bool:
    """The SimCLR page's shared runs for a SimCLR step (its controls first); whether the
    task holds for the runs watched to their end."""
    binding = BINDINGS[step.slug]
    binding.load()
    for field in step.controls:
        spec = binding.scene_cls.field_spec(field)
        if spec.marks:
            widgets.marks(binding, field)
        else:
            widgets.slider(binding, field)
    scene = binding.commit()
    view = _train_button(step)
    run = simclr_run.show(scene, view, gif=False)
    if run is None:
        return step.done(simclr_observation(False))
    return step.done(simclr_observation(True, run.frames(-1)[0]))


INSTRUMENTS = {
    "triplet": triplet_instrument,
    "pair": pair_instrument,
    "circle": circle_instrument,
    "batch": batch_instrument,
    "training": training_instrument,
    "simclr": simclr_instrument,
}


def instrument(step: Step) -> bool:
    """Show the step's instrument; whether its task is done now (then it is ticked)."""
    done = INSTRUMENTS[step.instrument](step)
    if done:
        done_steps().add(step.slug)
    return done
