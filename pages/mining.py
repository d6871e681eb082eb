"""Batch mining: every triplet in a labelled batch, counted and drawn."""

import streamlit as st

from lossviz.ui import mining_page, widgets
from lossviz.ui.presenter import class_link
from lossviz.ui.readouts import kinds_in_words
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = mining_page.BINDING
scene = binding.load()
st.title("Batch mining")
st.caption(
    "Training code sees a batch, never one triplet. **Drag a point or pick an anchor row**: "
    "every valid triplet of the batch is counted (easy, semi-hard, hard at your margin), and "
    "below, which ones batch-all, batch-hard and batch-semi-hard use."
)
binding.warn_about_link()

with st.sidebar:
    st.subheader("Data")
    source = widgets.choice(binding, "source", style="radio")
    if source == "blobs":
        widgets.slider(binding, "classes")
        widgets.slider(binding, "per_class")
        widgets.slider(binding, "spread")
        widgets.number(binding, "seed")
    else:
        widgets.choice(binding, "space", style="radio", horizontal=True)
    if source == "upload":
        st.file_uploader(
            "CSV file",
            type=["csv"],
            key=mining_page.UPLOAD_KEY,
            on_change=mining_page.store_upload,
            help=mining_page.CSV_FORMAT,
        )
        st.button("Use the example file", on_click=mining_page.use_example)
        st.download_button("Download the example", mining_page.example_bytes(),
                           file_name="embeddings.csv", mime="text/csv")  # fmt: skip
    st.subheader("Triplets")
    widgets.choice(binding, "distance")
    widgets.slider(binding, "margin")
scene = binding.commit()
link_place = st.sidebar.empty()  # filled once the anchor row is known (below)

batch = mining_page.current_batch(scene)
if isinstance(batch, str):
    st.warning(batch, icon=":material/upload_file:")
    st.markdown(f"**File format.** {mining_page.CSV_FORMAT}")
    st.stop()

analysis = mining_page.analysis(batch, scene.distance)
counts, losses, comparison = mining_page.margin_results(
    batch.key, scene.distance, scene.margin, analysis
)
st.caption(batch.description)
mining_page.kind_metrics(counts)

left, right = st.columns([3, 2], gap="large")
with left:
    rows = scene.field_spec("anchor").narrowed(hi=analysis.size - 1)  # this data's rows
    widgets.number(binding, "anchor", spec=rows)
    scene = binding.commit()
    view = analysis.anchor_view(scene.anchor, scene.margin)
    with link_place.container():
        class_link("pages/mining.py", scene.to_query())
    mining_page.picture(batch, scene, view)
    if mining_page.blobs_moved(scene):
        st.button("Put the points back", on_click=mining_page.reset_blobs,
                  help="Moved points are not part of the link: it reproduces the generated "
                  "blobs.")  # fmt: skip
with right:
    histogram, sweep = mining_page.distribution_figures(
        batch.key, scene.distance, analysis, scene.margin
    )
    st.plotly_chart(histogram, width="stretch",
                    alt=f"Histogram of δ = d(a, n) − d(a, p) over the batch's "
                    f"{sum(counts.values()):,} valid triplets at margin {scene.margin:g}: "
                    f"{kinds_in_words(counts)}.")  # fmt: skip
    st.plotly_chart(sweep, width="stretch",
                    alt="The shares of easy, semi-hard and hard triplets as the margin grows "
                    f"from 0; the current margin {scene.margin:g} is marked.")  # fmt: skip
    st.caption(mining_page.distributions_note(analysis))

st.subheader("This anchor's triplets")
mining_page.anchor_table(view, batch.points.labels, batch.points.names)
st.subheader("Batch losses at this margin")
mining_page.loss_metrics(losses)
st.subheader("Which semi-hard?")
mining_page.semihard_table(comparison, analysis.total)
st.subheader("Every triplet on one plane")
mining_page.triplet_diagram(
    batch.key, scene.distance, analysis, scene.margin, counts, embeddings=batch.points.embeddings
)
mining_page.downloads(batch, scene, analysis, counts)
mining_page.explainer()
