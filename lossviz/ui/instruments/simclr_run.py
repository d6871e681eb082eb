"""A SimCLR run pair, shown wherever the app shows one (the SimCLR page, the lesson's SimCLR
steps): computed once per server through the shared run registry, watched by many.

Pressing **Train** (or opening a link with ``autostart=1``) asks the process-wide run
registry (:mod:`lossviz.ui.instruments.shared_run`) for the runs of the scene: the first
session computes them once, every other session with the same settings waits on the same
run. When it is done :func:`show` draws one animated figure
(:class:`~lossviz.figures.simclr.TrainingFigure`, built once per run and shared), which
Plotly plays in the browser; the "Step shown" slider picks the record shown first (and the
text read-out below it), with the keyboard too.
"""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from lossviz.core.device import describe_device
from lossviz.figures.simclr import TrainingFigure, augmentation_figure
from lossviz.scenes.scene import SimCLRScene
from lossviz.scenes.simclr_scenes import PRESET_PAIRS, configs, preset_of, priority_keys
from lossviz.training.contrastive_training import (
    PRESETS,
    PROBE_SIZE,
    SETTING_WORDS,
    ContrastiveSnapshot,
    contrastive_snapshots,
    differences,
    make_probe,
    probe_labels,
    run_titles,
)
from lossviz.training.run_registry import RunKey, SharedRun
from lossviz.ui import widgets
from lossviz.ui.inert import inert
from lossviz.ui.instruments import shared_run
from lossviz.ui.instruments.gif_download import gif_download

SIMCLR_VIEW = shared_run.RunView("simclr")
AUGMENTED_DIGITS = 5  # digits in the augmentation picture
FIGURES = 16  # finished runs' figures kept per process (about 0.4 MB each)
PREVIEWS = 32  # step-0 pictures kept per process

# --------------------------------------------------------------------------- words


def what_differs(scene: SimCLRScene, key: RunKey) -> str:
    """One sentence: the preset's, or the settings in which the two runs differ."""
    preset = preset_of(scene)
    if preset is not None:
        return PRESET_PAIRS[preset][2]
    if len(key) < 2:
        return "One run: turn on *Train run B beside it* to compare two settings."
    differ = differences(key)
    if not differ:
        return "Both runs have the same settings: they are the same run twice."
    parts = [
        f"{SETTING_WORDS[n][0]} (A {SETTING_WORDS[n][1](key[0])}, B {SETTING_WORDS[n][1](key[1])})"
        for n in differ
    ]
    return "The runs differ in " + "; ".join(parts) + "; everything else is shared."


def preset_claims(scene: SimCLRScene) -> list[str]:
    """What each run of a preset pair shows (the claims the tests hold), else nothing."""
    preset = preset_of(scene)
    if preset is None:
        return []
    return [f"**{letter}.** {PRESETS[name][1]}"
            for letter, name in zip("AB", PRESET_PAIRS[preset][:2], strict=True)]  # fmt: skip


# --------------------------------------------------------------------------- figures


@functools.lru_cache(maxsize=PREVIEWS)
def augmentation_picture(key: RunKey):
    """A few probe digits and the two views each run's augmentation makes of them (the
    probe's own views: what alignment is measured on)."""
    probes = [make_probe(config) for config in key]
    rows = np.linspace(0, PROBE_SIZE - 1, AUGMENTED_DIGITS).astype(int)
    images = probes[0].images[rows].numpy()
    views, titles = [], []
    for letter, probe in zip("AB", probes, strict=False):
        views += [probe.view1[rows].numpy(), probe.view2[rows].numpy()]
        titles += [f"{letter}: view 1", f"{letter}: view 2"]
    return augmentation_figure(images, views, titles)


@functools.lru_cache(maxsize=PREVIEWS)
def preview(key: RunKey) -> tuple[TrainingFigure, list[tuple[ContrastiveSnapshot, ...]]]:
    """The runs' step 0 (the encoders before training, the same numbers as the shared run's
    first record) as the figure and its one record, without starting the run."""
    records = [tuple(next(contrastive_snapshots(config)) for config in key)]
    labels = probe_labels(key[0].seed).numpy()
    return TrainingFigure(records, labels, run_titles(key), steps=key[0].steps), records


@st.cache_resource(max_entries=FIGURES, show_spinner=False)
def finished_figure(identity: str, _run: SharedRun) -> TrainingFigure:
    """The animated figure of a finished shared run (``identity``: its run id), built once."""
    key = _run.key
    return TrainingFigure(_run.frames(), probe_labels(key[0].seed).numpy(), run_titles(key))


# --------------------------------------------------------------------------- the view


def show(
    scene: SimCLRScene, view: shared_run.RunView = SIMCLR_VIEW, gif: bool = True
) -> SharedRun | None:
    """What differs, the augmentations, the status, and the run's figure (step 0 until Train
    is pressed). ``view``: where it is shown (its player name keys the widgets); ``gif``: offer
    the finished run as a GIF for slides. Returns the
    shared run once it is done (None before, or when it could not be trained)."""
    key = tuple(configs(scene))
    st.markdown(what_differs(scene, key))  # built from validated settings only
    for claim in preset_claims(scene):
        st.markdown(claim)
    with st.expander("What the encoder sees: each digit's two views", icon=":material/image:"):
        st.plotly_chart(augmentation_picture(key), config={"displayModeBar": False},
                        key=f"{view.player}.augmentations",
                        alt="Five probe digits and the two augmented views each run makes "
                        "of them.")  # fmt: skip
        st.caption(
            "Each column pair is one run's augmentation of the digit at the left: a random "
            "shift, pixel dropout, then noise. NT-Xent pulls a digit's two views together and "
            "pushes every other image of the batch away."
        )
    status = st.empty()
    run = watch(key, status, view) if shared_run.watching(key, view) else None
    if run is None:
        shared_run.registry().unwatch(shared_run.viewer_id())
        status.caption("Step 0: the encoders before training. Press **Train** to train them.")
        draw(*preview(key), view)
        return None
    progress = run.progress()
    if not progress.ended:
        return None  # the tab closed
    if progress.state == "dropped":
        status.warning(shared_run.DROPPED_TEXT, icon=":material/hourglass_disabled:")
        return None
    if progress.error:
        status.error(f"The training could not be computed ({inert(progress.error)}).")
        return None
    speed = progress.steps_per_second
    speed = f", {speed:,.0f} training steps per second" if speed else ""
    status.caption(
        f"Trained once on this server ({describe_device()}{speed}) and shared by everyone who "
        "opens these settings. ▶ Play and the slider under the figure move only your view."
    )
    for message in {s.stopped for s in run.frames(-1)[0] if s.stopped}:
        st.error(inert(message), icon=":material/warning:")
    draw(finished_figure(run.id, run), run.frames(), view)
    if gif:
        gif_download(run)
    return run


def watch(key: RunKey, status, view: shared_run.RunView = SIMCLR_VIEW) -> SharedRun | None:
    """Hold a lease on the run of ``key`` until it ends (the status follows it); None when
    the server is busy (a warning says so)."""
    lease = shared_run.ask(key, status, view, priority=key in priority_keys())
    if lease is None:
        return None
    with shared_run.holding(lease) as run:
        shared_run.forward_frames(run, run.progress(), status, None)
        return run


def draw(
    figure: TrainingFigure,
    records: list[tuple[ContrastiveSnapshot, ...]],
    view: shared_run.RunView = SIMCLR_VIEW,
) -> None:
    """The figure showing the record the step slider picks, and that record as text."""
    steps = [frame[0].step for frame in records]
    shown = 0
    if len(steps) > 1:
        shown = steps.index(widgets.recorded_step(steps, f"{view.player}.shown"))
    words = readout(records[shown], len(records[0]))
    st.plotly_chart(figure.at(shown), config={"displayModeBar": False},
                    key=f"{view.player}.figure",
                    alt="Both runs' probe digits, the alignment-uniformity plane, the effective "
                    "rank, NT-Xent, the spectrum, alignment and uniformity; at the step shown: "
                    + words.replace("- ", "").replace("**", "").replace("\n", " "))  # fmt: skip
    st.markdown(words)


def readout(frame: tuple[ContrastiveSnapshot, ...], runs: int) -> str:
    """The shown record in words (also the figure's text alternative)."""
    lines = []
    for letter, snapshot in zip("AB", frame[:runs], strict=False):
        dim = snapshot.spectrum.numel()
        lines.append(
            f"- **{letter}**, step {snapshot.step}: NT-Xent {snapshot.nt_xent:.3f}, alignment "
            f"{snapshot.alignment:.3f}, uniformity {snapshot.uniformity:.3f}, effective rank "
            f"{snapshot.effective_rank:.1f} of {dim}."
        )
    return "\n".join(lines)


__all__ = ["SIMCLR_VIEW", "draw", "readout", "run_titles", "show", "what_differs"]
