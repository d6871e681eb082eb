"""SimCLR page: its scene binding, presets, autostart and explainer (the runs themselves are
shown by :mod:`lossviz.ui.instruments.simclr_run`, which the lesson uses too). The default
scene (the teacher's link), the presets and the lesson's SimCLR steps are in the run
registry's priority lane and trained at start-up.
"""

from __future__ import annotations

import streamlit as st

from lossviz.figures.simclr import POINTS_DRAWN
from lossviz.scenes.scene import SimCLRScene
from lossviz.scenes.simclr_scenes import RUNS, configs, scene_from_preset
from lossviz.teaching.snippets import simclr_snippet
from lossviz.training.contrastive_training import PROBE_SIZE
from lossviz.ui.copy_code import copy_as_code
from lossviz.ui.instruments import shared_run
from lossviz.ui.instruments.simclr_run import SIMCLR_VIEW
from lossviz.ui.state import SceneBinding

RUN_FIELDS = ("tau", "dim", "shift", "noise", "dropout", "projector", "variance")
FIELDS = (*(f"{name}_a" for name in RUN_FIELDS), "compare",
          *(f"{name}_b" for name in RUN_FIELDS), "batch_size", "steps", "lr", "seed",
          "autostart")  # fmt: skip
BINDING = SceneBinding(SimCLRScene, "simclr", FIELDS)
VIEW = SIMCLR_VIEW
PRESET_KEY = "simclr.preset"
STARTED_KEY = "simclr.autostarted"
SHOWN_KEY = f"{VIEW.player}.shown"  # the step whose record the figure shows first


# --------------------------------------------------------------------------- configuration


def apply_preset() -> None:
    """The preset selectbox's callback: both runs and the training fields from the preset."""
    name = st.session_state[PRESET_KEY]
    BINDING.set(scene_from_preset(name, st.session_state[BINDING.scene_key]))


def autostart(scene: SimCLRScene) -> None:
    """A link with ``autostart=1`` asks for the runs on the session's first run only."""
    if STARTED_KEY in st.session_state:
        return
    st.session_state[STARTED_KEY] = True
    if scene.autostart:
        request_training()


def request_training() -> None:
    """The Train button's callback: the script starts (or joins) the run after the widgets."""
    shared_run.request_training(VIEW)


def copy_training_code(scene: SimCLRScene) -> None:
    """Copy as code: run A's whole training loop as a torch script that prints the page's last
    numbers for A (run B's is the same script with the settings the page says differ)."""
    key = configs(scene)
    what = "Run A's training loop" + (" (run B's: change the settings named above)"
                                      if len(key) > 1 else "")  # fmt: skip
    copy_as_code(lambda: simclr_snippet(key[0]), what, "simclr.copy_code")


def explainer() -> None:
    with st.expander("What am I looking at?", icon=":material/help:"):
        st.markdown(EXPLAINER)


EXPLAINER = f"""
**The training.** A small encoder (64 pixels → 64 → d) sees each digit of a batch twice,
as two augmented *views*. NT-Xent (SimCLR's loss) treats a digit's two views as the positive
pair and the other 2N − 2 views of the batch as negatives: a softmax over cosine similarities
divided by the temperature τ. Both runs start from the same weights and see the same
batches; only the settings named above differ.

**The points.** {POINTS_DRAWN} of the {PROBE_SIZE} probe digits (fixed, 10 classes evenly),
coloured by digit. With 2 output dimensions they are the outputs themselves, on the unit
circle. With more, they are the unit outputs projected on their first two principal
components at that step (a fresh projection each step).

**Alignment and uniformity** (Wang and Isola 2020), on the unit outputs of the probe:
alignment is the mean squared distance between a digit's two views (lower: views agree);
uniformity is log E exp(−2 ‖f(x) − f(y)‖²) over pairs of digits (lower: spread more evenly;
evenly round the circle it is about −1.57). The plane at the top right plots one against the
other: down and to the left is better on both.

**The spectrum and effective rank.** The singular values of the covariance of the
representation (the encoder's output, before any projector head), largest first, on a log
scale: how much the probe varies along each direction (Jing et al. 2021). When most values
fall by orders of magnitude, the embeddings use only a few of their dimensions although they
do not meet in one point: *dimensional collapse*. The effective rank (RankMe, Garrido et al.
2023) is exp of the entropy of the normalised values: 1 if everything lies on one line, d if
every direction is used alike.

**What we measured here.** A small τ kept each digit's views together but left the digits
bunched on part of the circle; a large τ spread them round the circle at the cost of
alignment. Views shifted by up to 3 of 8 pixels collapsed the 32-dimensional representation
to about two directions; without the shifts about a dozen stayed in use. Neither the projector
head nor the variance term lifted the shifted run's rank here: the variance hinge keeps
each dimension spread, which dimensions that all vary together satisfy; VICReg adds a
covariance term for that, which this demo does not have.
"""


__all__ = ["BINDING", "RUNS", "VIEW", "apply_preset", "autostart", "copy_training_code",
           "explainer", "request_training"]  # fmt: skip
