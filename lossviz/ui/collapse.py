"""Collapse demo: the training run in the session, one training at a time per server, the views.

The run (:class:`~lossviz.collapse_run.SideBySide`) lives in session state and
is advanced in short chunks while the script draws between them, so Pause
(which reruns the script) stops it after the current chunk and Train goes on
from there. Chunks of different sessions never overlap: each holds the
process-wide training slot, so a class of sixty cannot run sixty trainings at
once and slow every page down; the others see a "queued" note meanwhile.
"""

from __future__ import annotations

import threading

import numpy as np
import streamlit as st

from lossviz.collapse import COLLAPSE_RATIO, LOSS_LABELS, PRESETS, TrainConfig, load_points
from lossviz.collapse_run import SideBySide, record_interval
from lossviz.figures import training_figure
from lossviz.scene import CollapseScene
from lossviz.ui.state import SceneBinding

FIELDS = ("dataset", "loss", "compare", "margin", "lr", "optimizer", "steps", "batch_size",
          "l2_normalize", "clip_grad", "seed", "autostart")  # fmt: skip
BINDING = SceneBinding(CollapseScene, "collapse", FIELDS)
RUN_KEY = "collapse.run"
RUNNING_KEY = "collapse.running"
STARTED_KEY = "collapse.autostarted"
PRESET_KEY = "collapse.preset"
CHUNK_SECONDS = 0.12  # compute between two redraws while training
QUEUE_POLL_SECONDS = 0.25
EVAL_SIZE = 400
PRESET_LABELS = {
    "collapse": "Collapse: classic batch-hard vs the fix",
    "quaterion_fix": "The fix alone",
    "semihard": "Semi-hard mining",
    "blobs": "Toy: 2-D blobs",
}


# --------------------------------------------------------------------------- configuration


# The scene fields that are TrainConfig fields of the same name and meaning.
TRAINING_FIELDS = ("dataset", "loss", "margin", "lr", "optimizer", "steps", "batch_size",
                   "l2_normalize", "clip_grad", "seed")  # fmt: skip


def configs(scene: CollapseScene) -> list[TrainConfig]:
    """The run(s) a scene describes: ``loss``, and ``compare`` beside it unless "none"."""
    base = TrainConfig(
        **{field: getattr(scene, field) for field in TRAINING_FIELDS},
        record_every=record_interval(scene.steps),
        eval_size=EVAL_SIZE,
    )
    if scene.compare == "none" or scene.compare == scene.loss:
        return [base]
    return [base, base.replace(loss=scene.compare)]


def scene_from_preset(name: str, scene: CollapseScene) -> CollapseScene:
    """``scene`` with every training field from the preset (the collapse one beside the fix)."""
    config = PRESETS[name]
    compare = "batch_hard_fix" if name == "collapse" else "none"
    return scene.replace(compare=compare, **{f: getattr(config, f) for f in TRAINING_FIELDS})


def apply_preset() -> None:
    """The preset selectbox's callback: every training field from the preset."""
    name = st.session_state[PRESET_KEY]
    BINDING.set(scene_from_preset(name, st.session_state[BINDING.scene_key]))
    reset()


# --------------------------------------------------------------------------- the run


def current_run(scene: CollapseScene) -> SideBySide:
    """The session's run for this scene; a new one (at step 0) when the settings changed."""
    wanted = configs(scene)
    run = st.session_state.get(RUN_KEY)
    if run is None or list(run.configs) != wanted:
        load_points(scene.dataset)  # imports scikit-learn on first use: outside the timed part
        run = SideBySide(wanted)
        run.advance()  # step 0: the picture before training
        st.session_state[RUN_KEY] = run
        st.session_state[RUNNING_KEY] = False
    return run


def start() -> None:
    st.session_state[RUNNING_KEY] = True


def pause() -> None:
    st.session_state[RUNNING_KEY] = False


def step() -> None:
    """One recorded interval further for every run (paused)."""
    st.session_state[RUNNING_KEY] = False
    run = st.session_state.get(RUN_KEY)
    if run is not None and not run.finished:
        with training_slot():
            run.advance()


def reset() -> None:
    st.session_state.pop(RUN_KEY, None)
    st.session_state[RUNNING_KEY] = False


def is_running() -> bool:
    return bool(st.session_state.get(RUNNING_KEY))


def autostart(scene: CollapseScene) -> None:
    """A link with ``autostart=1`` starts training once, on the session's first run."""
    if scene.autostart and not st.session_state.get(STARTED_KEY):
        st.session_state[STARTED_KEY] = True
        start()


@st.cache_resource(show_spinner=False)
def _slot() -> threading.Lock:
    return threading.Lock()


class training_slot:  # noqa: N801 (used like a function: ``with training_slot():``)
    """The process-wide right to compute a training chunk (blocking)."""

    def __enter__(self) -> None:
        _slot().acquire()

    def __exit__(self, *exc: object) -> None:
        _slot().release()


def train_live(run: SideBySide, draw, status) -> None:
    """Advance ``run`` chunk by chunk, calling ``draw(run)`` after each, until done or paused.

    Waits for the process-wide slot between chunks, saying so in ``status``
    (an ``st.empty``). A click on Pause reruns the script, which stops this
    loop at its next Streamlit call; the run keeps what it has.
    """
    lock = _slot()
    while not run.finished and is_running():
        if not lock.acquire(timeout=QUEUE_POLL_SECONDS):
            status.info(
                "Queued: another training is running on this server. Yours goes on as soon "
                "as it pauses between chunks (a few tenths of a second).",
                icon=":material/hourglass_top:",
            )
            continue
        try:
            run.advance_for(CHUNK_SECONDS, keep_going=is_running)
        finally:
            lock.release()
        status.empty()
        draw(run)
    st.session_state[RUNNING_KEY] = False


# --------------------------------------------------------------------------- views


def show(run: SideBySide, slots: list | None, device: str, animate: bool) -> list:
    """Read-outs, figure and speed of ``run``, all at one step (read under the run's lock).

    ``slots``: the three ``st.empty`` of an earlier call (to redraw in place), or None
    to make them here: after the figure is built, so the page's previous figure stays
    on screen meanwhile (a final figure with frames takes about a second). Returns them.
    """
    with run.lock:
        figure_ = figure(run, animate)
        if slots is None:
            slots = [st.empty(), st.empty(), st.empty()]
        with slots[0].container():
            readouts(run)
        slots[1].plotly_chart(figure_, key=f"collapse.figure.{run.step}.{animate}")
        slots[2].caption(speed_caption(run, device))
    return slots


def figure(run: SideBySide, animate: bool):
    """The training figure of everything recorded so far (frames and a slider if ``animate``)."""
    history = run.history
    frames = run.frames()
    titles = [LOSS_LABELS[c.loss] for c in run.configs]
    embeddings = [np.stack([f[r].embeddings.numpy() for f in frames]) for r in range(len(titles))]
    steps = np.array([f[0].step for f in frames])
    loss = np.array([[f[r].loss for f in frames] for r in range(len(titles))])
    spread = np.array([[f[r].spread for f in frames] for r in range(len(titles))])
    shares = np.array([[f[r].shares for f in frames] for r in range(len(titles))])
    names = load_points(run.configs[0].dataset).names
    return training_figure(
        titles, [e.astype(np.float32) for e in embeddings], history[0][0].labels.numpy(),
        names, steps, loss, spread, shares, run.configs[0].margin, animate=animate,
        frame_ms=40,
    )  # fmt: skip


def readouts(run: SideBySide) -> None:
    """Per run: step, loss, spread against its start, and the collapsed badge."""
    columns = st.columns(len(run.configs))
    for column, config, history, collapsed in zip(
        columns, run.configs, run.history, run.collapsed(), strict=True
    ):
        first, last = history[0], history[-1]
        ratio = last.spread / first.spread if first.spread > 0 else float("nan")
        with column:
            st.markdown(f"**{LOSS_LABELS[config.loss]}**")
            if last.stopped:
                st.badge("stopped", icon=":material/warning:", color="orange")
            elif collapsed:
                st.badge("collapsed", icon=":material/compress:", color="red")
            else:
                st.badge("not collapsed", icon=":material/scatter_plot:", color="green")
            cells = st.columns(3)
            cells[0].metric("step", f"{last.step}")
            cells[1].metric("loss", f"{last.loss:.4f}", f"margin {config.margin:g}",
                            delta_color="off", delta_arrow="off")  # fmt: skip
            cells[2].metric("spread", spread_text(ratio), "of its start", delta_color="off",
                            delta_arrow="off")  # fmt: skip
    for message in run.stopped():
        st.error(message, icon=":material/warning:")


def spread_text(ratio: float) -> str:
    """A spread ratio that fits a metric: 0.05%, 98.31%, 3,874%, or 1.3e+12x."""
    if ratio < 10:
        return f"{ratio:.2%}"
    return f"{ratio:,.0%}" if ratio < 1e4 else f"{ratio:.1e}x"


def speed_caption(run: SideBySide, device: str) -> str:
    if run.step == 0:
        return f"Computing on {device}."
    return f"Computing on {device}: {run.steps_per_second:,.0f} training steps per second."


def explainer() -> None:
    with st.expander("Why does batch-hard collapse, and what prevents it?", icon=":material/help:"):
        st.markdown(
            f"**Collapse.** Batch-hard takes, for every anchor, its farthest positive and its "
            f"nearest negative: `relu(d(a,p) - d(a,n) + m)`. Early in training the hardest "
            f"negative is often closer than the hardest positive, so the cheapest way to lower "
            f"the loss is to shrink *all* distances together. When every embedding sits on one "
            f"point, d(a,p) = d(a,n) = 0 and the loss is exactly the margin m for every anchor: "
            f"the gradient that would pull classes apart is gone (at exact collapse it is zero), "
            f"so the run stays there. The badge says *collapsed* once the spread (mean distance "
            f"between the evaluation points) is below {COLLAPSE_RATIO:.0%} of its start.\n\n"
            f"**The fix** (Quaterion's normalised batch-hard) divides the gap by the batch's "
            f"mean hardest-negative distance: `relu((d(a,p) - d(a,n)) / mean d(a,n) + m)`. "
            f"The loss no longer depends on the scale of the embedding, so shrinking everything "
            f"earns nothing and only separating classes lowers it.\n\n"
            f"**Semi-hard mining** avoids the trap differently: it picks negatives farther "
            f"than the positive, so its triplets rarely reward moving everything together. "
            f"**L2-normalising the outputs** is often suggested, but it does not help here: "
            f"the points can still all gather at one spot of the circle (try it)."
        )


def preset_index(scene: CollapseScene) -> int | None:
    """The preset the scene equals, for the selectbox (None when it matches none)."""
    for index, name in enumerate(PRESETS):
        if scene_from_preset(name, scene) == scene:
            return index
    return None
