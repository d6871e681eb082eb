"""Vector collapse: train an encoder live; batch-hard pulls every embedding onto one point."""

import streamlit as st

from lossviz.collapse import LOSS_LABELS, OPTIMIZER_LABELS, PRESETS
from lossviz.scene import COLLAPSE_LOSSES
from lossviz.ui import collapse as cl
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = cl.BINDING
scene = binding.load()
st.title("Vector collapse")
st.caption(
    "A small encoder maps handwritten digits to the plane. Press **Train** and watch classic "
    "batch-hard triplet loss pull every embedding onto one point while its loss sinks to "
    "exactly the margin; beside it, the same encoder, seed and batches with the fix."
)
binding.warn_about_link()

with st.sidebar:
    st.selectbox("Preset", list(PRESETS), index=cl.preset_index(scene), key=cl.PRESET_KEY,
                 format_func=cl.PRESET_LABELS.get, on_change=cl.apply_preset,
                 placeholder="Custom settings")  # fmt: skip
    st.subheader("Losses")
    st.selectbox("Loss (left)", COLLAPSE_LOSSES, key=binding.widget_key("loss"),
                 format_func=LOSS_LABELS.get)  # fmt: skip
    st.selectbox("Beside it (right)", (*COLLAPSE_LOSSES, "none"),
                 key=binding.widget_key("compare"),
                 format_func=lambda name: LOSS_LABELS.get(name, "nothing"))  # fmt: skip
    st.slider("Margin m", 0.0, 2.0, step=0.01, key=binding.widget_key("margin"))
    st.subheader("Training")
    st.radio("Data", ("digits", "blobs"), key=binding.widget_key("dataset"), horizontal=True,
             format_func={"digits": "Digits (64-D)", "blobs": "Blobs (2-D)"}.get)  # fmt: skip
    st.radio("Optimizer", ("adam", "sgd"), key=binding.widget_key("optimizer"),
             format_func=OPTIMIZER_LABELS.get, horizontal=True)  # fmt: skip
    st.number_input("Learning rate", 1e-4, 10.0, step=0.01, format="%.4f",
                    key=binding.widget_key("lr"))  # fmt: skip
    st.slider("Steps", 10, 2000, step=10, key=binding.widget_key("steps"))
    st.select_slider("Batch size", (8, 16, 32, 64, 128, 256), key=binding.widget_key("batch_size"))
    st.toggle("L2-normalise the outputs", key=binding.widget_key("l2_normalize"))
    st.number_input("Clip gradient norm (0 = off)", 0.0, 100.0, step=0.5,
                    key=binding.widget_key("clip_grad"))  # fmt: skip
    st.number_input("Seed", 0, 2**31 - 1, key=binding.widget_key("seed"))
    st.toggle("Start training when this link opens", key=binding.widget_key("autostart"),
              help="For a class: share the address; every page that opens it trains.")  # fmt: skip
scene = binding.commit()

cl.autostart(scene)
st.button("Train", icon=":material/play_arrow:", on_click=cl.request_training, type="primary",
          help="Trains these settings once on the server (or joins the run if someone already "
               "started it) and plays it here.")  # fmt: skip
cl.show(scene)
st.caption(
    "Pause, the step buttons and the slider move only your view: the training runs once on "
    "the server for everyone with these settings and goes on while you pause."
)
cl.explainer()
