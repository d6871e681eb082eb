"""Vector collapse: train an encoder live; batch-hard pulls every embedding onto one point."""

import streamlit as st

from lossviz.scenes.training_scenes import preset_index
from lossviz.training.collapse import PRESETS
from lossviz.ui import collapse_page, widgets
from lossviz.ui.instruments import shared_run
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = collapse_page.BINDING
scene = binding.load()
st.title("Vector collapse")
st.caption(
    "A small encoder maps handwritten digits to the plane. Press **Train** and watch classic "
    "batch-hard triplet loss pull every embedding onto one point while its loss sinks to "
    "exactly the margin; beside it, the same encoder, seed and batches with the fix."
)
binding.warn_about_link()

with st.sidebar:
    st.selectbox("Preset", list(PRESETS), index=preset_index(scene), key=collapse_page.PRESET_KEY,
                 format_func=collapse_page.PRESET_LABELS.get, on_change=collapse_page.apply_preset,
                 placeholder="Custom settings")  # fmt: skip
    st.subheader("Losses")
    widgets.choice(binding, "loss")
    widgets.choice(binding, "compare")
    widgets.slider(binding, "margin")
    st.subheader("Training")
    widgets.choice(binding, "dataset", style="radio", horizontal=True)
    widgets.choice(binding, "optimizer", style="radio", horizontal=True)
    widgets.number(binding, "lr", format="%.4f")
    widgets.slider(binding, "steps")
    widgets.choice(binding, "batch_size", style="slider")
    widgets.toggle(binding, "l2_normalize")
    widgets.number(binding, "clip_grad")
    widgets.number(binding, "seed")
    widgets.toggle(binding, "autostart")
scene = binding.commit()
with st.sidebar:
    class_link("pages/collapse.py", scene.to_query(), autostart=True)

collapse_page.autostart(scene)
st.button("Train", icon=":material/play_arrow:", on_click=shared_run.request_training,
          type="primary", help="Trains these settings once on the server (or joins the run if "
          "someone already started it) and plays it here.")  # fmt: skip
shared_run.show(scene)
st.caption(
    "Pause, the step buttons and the slider move only your view: the training runs once on "
    "the server for everyone with these settings and goes on while you pause."
)
collapse_page.explainer()
