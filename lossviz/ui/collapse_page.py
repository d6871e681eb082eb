"""Collapse demo: one shared run per configuration, computed once per server, watched by many.

Pressing **Train** (or opening a link with ``autostart=1``) asks the
process-wide :class:`~lossviz.training.run_registry.RunRegistry` for the run of the
page's settings: the first session starts it in the registry's worker thread,
every other session with the same settings attaches to it, live while it
computes and as a replay when it is done. The session's script run then only
waits and forwards the frames the worker publishes (encoded once per run) to
the browser's player, which animates them itself. Playback (pause, step,
scrub, restart) lives in each browser and never touches the computation.

While it watches, the script run holds a lease on the run (released in a
``finally``: Streamlit ends a script run by raising at its next yield point).
It checks every ``PUSH_SECONDS`` whether it should stop: a pending rerun or stop
(Streamlit asks a disconnected session's script run to stop) raises, and a tab
no longer connected ends the watch, so a closed tab's queued run is dropped
within a second instead of after ``server.disconnectedSessionTTL``. The
presets, the default scene (the teacher's ``/collapse?autostart=1``) and the
lesson's training steps use the registry's priority lane (:func:`priority_keys`);
:func:`prewarm` queues them all at start-up.
"""

from __future__ import annotations

import streamlit as st

from lossviz.scenes.scene import CollapseScene
from lossviz.scenes.training_scenes import scene_from_preset
from lossviz.training.collapse import COLLAPSE_RATIO
from lossviz.training.run_registry import (
    MAX_BYTES,
    MAX_RUNS,
)
from lossviz.ui.instruments.shared_run import request_training
from lossviz.ui.state import SceneBinding

FIELDS = ("dataset", "loss", "compare", "margin", "lr", "optimizer", "steps", "batch_size",
          "l2_normalize", "clip_grad", "seed", "autostart")  # fmt: skip
BINDING = SceneBinding(CollapseScene, "collapse", FIELDS)
STARTED_KEY = "collapse.autostarted"
PRESET_KEY = "collapse.preset"
PRESET_LABELS = {
    "collapse": "Collapse: classic batch-hard vs the fix",
    "quaterion_fix": "The fix alone",
    "semihard": "Semi-hard mining",
    "blobs": "Toy: 2-D blobs",
}


# --------------------------------------------------------------------------- configuration


def apply_preset() -> None:
    """The preset selectbox's callback: every training field from the preset."""
    name = st.session_state[PRESET_KEY]
    BINDING.set(scene_from_preset(name, st.session_state[BINDING.scene_key]))


# --------------------------------------------------------------------------- shared runs


def autostart(scene: CollapseScene) -> None:
    """A link with ``autostart=1`` asks for the run on the session's first run, and only then
    (turning the toggle on later changes the link, not this page)."""
    if STARTED_KEY in st.session_state:
        return
    st.session_state[STARTED_KEY] = True
    if scene.autostart:
        request_training()


# --------------------------------------------------------------------------- the view


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
            f"the points can still all gather at one spot of the circle (try it).\n\n"
            f"**One run for the whole class.** A run is a pure function of its settings, so "
            f"the server trains each configuration once and everyone who opens it watches the "
            f"same run. It keeps the {MAX_RUNS} most recently used runs (at most "
            f"{MAX_BYTES // 2**20} MB of recorded frames); an older one is trained again, "
            f"identically, when someone asks for it."
        )
