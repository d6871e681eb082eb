"""SimCLR training: NT-Xent's temperature trade-off and dimensional collapse, two runs shared."""

import streamlit as st

from lossviz.scenes.simclr_scenes import PRESET_LABELS, PRESET_PAIRS, preset_index
from lossviz.ui import simclr_page, widgets
from lossviz.ui.instruments import simclr_run
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = simclr_page.BINDING
scene = binding.load()
st.title("SimCLR training")
st.caption(
    "A small encoder learns handwritten digits without labels: NT-Xent pulls each digit's "
    "two augmented views together and pushes the rest of the batch away. Press **Train** to "
    "train two runs side by side from the same start, and watch the temperature trade "
    "alignment against uniformity, or the spectrum collapse onto a few directions."
)
binding.warn_about_link()

with st.sidebar:
    st.selectbox("Preset", list(PRESET_PAIRS), index=preset_index(scene),
                 key=simclr_page.PRESET_KEY, format_func=PRESET_LABELS.get,
                 on_change=simclr_page.apply_preset, placeholder="Custom settings")  # fmt: skip
    for run in simclr_page.RUNS:
        st.subheader(f"Run {run.upper()}")
        if run == "b" and not widgets.toggle(binding, "compare"):
            continue
        widgets.marks(binding, f"tau_{run}")
        widgets.choice(binding, f"dim_{run}")
        widgets.slider(binding, f"shift_{run}")
        widgets.slider(binding, f"noise_{run}")
        widgets.slider(binding, f"dropout_{run}")
        widgets.toggle(binding, f"projector_{run}")
        widgets.number(binding, f"variance_{run}")
    st.subheader("Training (both runs)")
    widgets.choice(binding, "batch_size", style="slider")
    widgets.slider(binding, "steps")
    widgets.number(binding, "lr", format="%.4f")
    widgets.number(binding, "seed")
    widgets.toggle(binding, "autostart")
scene = binding.commit()
with st.sidebar:
    class_link("pages/simclr.py", scene.to_query(), autostart=True)

simclr_page.autostart(scene)
st.button("Train", icon=":material/play_arrow:", on_click=simclr_page.request_training,
          type="primary", help="Trains these settings once on the server (or joins the run if "
          "someone already started it) and shows it here.")  # fmt: skip
simclr_run.show(scene, simclr_page.VIEW)
simclr_page.copy_training_code(scene)
simclr_page.explainer()
