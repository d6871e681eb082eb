"""Batch mining: every triplet in a labelled batch, counted and drawn."""

import streamlit as st

from lossviz.scene import MINING_DISTANCES, MINING_SOURCES
from lossviz.ui import mining as mn
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = mn.BINDING
scene = binding.load()
st.title("Batch mining")
st.caption(
    "Training code never sees one triplet; it sees a batch. Here is every valid triplet of one "
    "batch, counted exactly: how many are easy, semi-hard and hard at your margin, and which "
    "ones batch-all, batch-hard and batch-semi-hard actually use."
)
binding.warn_about_link()

with st.sidebar:
    st.subheader("Data")
    st.radio("Source", MINING_SOURCES, key=binding.widget_key("source"),
             format_func=mn.SOURCE_LABELS.get)  # fmt: skip
    source = st.session_state[binding.widget_key("source")]
    if source == "blobs":
        st.slider("Classes", 2, 8, key=binding.widget_key("classes"))
        st.slider("Points per class", 2, 30, key=binding.widget_key("per_class"))
        st.slider("Spread", 0.0, 3.0, step=0.05, key=binding.widget_key("spread"))
        st.number_input("Seed", 0, 2**31 - 1, key=binding.widget_key("seed"))
    else:
        st.radio("Distances in", ("raw", "pca2"), key=binding.widget_key("space"),
                 format_func=mn.SPACE_LABELS.get, horizontal=True)  # fmt: skip
    if source == "upload":
        st.file_uploader("CSV file", type=["csv"], key=mn.UPLOAD_KEY, on_change=mn.store_upload,
                         help=mn.CSV_FORMAT)  # fmt: skip
        st.button("Use the example file", on_click=mn.use_example)
        st.download_button("Download the example", mn.example_bytes(),
                           file_name="embeddings.csv", mime="text/csv")  # fmt: skip
    st.subheader("Triplets")
    st.selectbox("Distance", MINING_DISTANCES, key=binding.widget_key("distance"),
                 format_func=mn.DISTANCE_LABELS.get)  # fmt: skip
    st.slider("Margin m", 0.0, 5.0, step=0.01, key=binding.widget_key("margin"))
scene = binding.commit()

batch = mn.current_batch(scene)
if isinstance(batch, str):
    st.warning(batch, icon=":material/upload_file:")
    st.markdown(f"**File format.** {mn.CSV_FORMAT}")
    st.stop()

analysis = mn.analysis(batch, scene.distance)
mn.clamp_anchor(analysis.size)
counts, losses, comparison = mn.margin_results(batch.key, scene.distance, scene.margin, analysis)
st.caption(batch.description)
mn.kind_metrics(counts)

left, right = st.columns([3, 2], gap="large")
with left:
    st.number_input("Anchor (row)", 0, analysis.size - 1, key=binding.widget_key("anchor"))
    scene = binding.commit()
    view = analysis.anchor_view(scene.anchor, scene.margin)
    mn.picture(batch, scene, view)
    if mn.blobs_moved(scene):
        st.button("Put the points back", on_click=mn.reset_blobs,
                  help="Moved points are not part of the link: it reproduces the generated "
                  "blobs.")  # fmt: skip
with right:
    histogram, sweep = mn.distribution_figures(batch.key, scene.distance, analysis, scene.margin)
    st.plotly_chart(histogram, width="stretch")
    st.plotly_chart(sweep, width="stretch")
    st.caption(mn.distributions_note(analysis))

st.subheader("This anchor's triplets")
mn.anchor_table(view, batch.points.labels, batch.points.names)
st.subheader("Batch losses at this margin")
mn.loss_metrics(losses)
st.subheader("Which semi-hard?")
mn.semihard_table(comparison, analysis.total)
mn.downloads(batch, scene, analysis, counts)
mn.explainer()
