"""The default collapse run drawn two ways, for ``bench/collapse_motion.py``.

``?view=player``: the page's player (``lossviz/ui/components/player.py``) with every recorded frame.
``?view=plotly``: the Plotly figure with one frame per recorded step, built once
(``bench/apps/plotly_replay.py``), as the page drew it before the player.
"""

import numpy as np
import streamlit as st

from bench.apps.plotly_replay import training_figure
from lossviz.scenes.scene import CollapseScene
from lossviz.scenes.training_scenes import configs
from lossviz.training.collapse import LOSS_LABELS, load_points
from lossviz.training.frame_codec import encode_meta, frame_json
from lossviz.training.side_by_side import SideBySide
from lossviz.ui.components.player import player


@st.cache_resource
def default_run() -> SideBySide:
    run = SideBySide(configs(CollapseScene()))
    while not run.finished:
        run.advance()
    return run


run = default_run()
frames = run.frames()
if st.query_params.get("view") == "plotly":
    titles = [LOSS_LABELS[c.loss] for c in run.configs]
    embeddings = [np.stack([f[r].embeddings.numpy() for f in frames]) for r in range(2)]
    figure = training_figure(
        titles, embeddings, frames[0][0].labels.numpy(), load_points("digits").names,
        np.array([f[0].step for f in frames]),
        np.array([[f[r].loss for f in frames] for r in range(2)]),
        np.array([[f[r].spread for f in frames] for r in range(2)]),
        np.array([[f[r].shares for f in frames] for r in range(2)]),
        run.configs[0].margin, animate=True, frame_ms=40,
    )  # fmt: skip
    st.plotly_chart(figure)
else:
    meta = encode_meta(run.configs, frames[0], load_points("digits").names)
    encoded = [frame_json(frame, frames[0]) for frame in frames]
    player("motion", "motion", meta, encoded, finished=True)
