"""Home: what lossviz teaches, the three kinds of triplet, and links to every page."""

import streamlit as st

from lossviz.core.triplets import loss_along_delta
from lossviz.figures.curves import kinds_along_delta
from lossviz.ui import home_page, widgets
from lossviz.ui.navigation import HOME, PAGES, page_link
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

home_page.BINDING.load()
st.title("lossviz: see what metric-learning losses do")
home_page.BINDING.warn_about_link()
st.caption("Pick a page to begin: each has something to drag, press or answer.")

# The pages first (beside the introduction on a wide screen, above it on a phone): what a
# first-time student does first is choose one.
pages, intro = st.columns([1, 1], gap="large")
with pages:
    if PAGES:
        st.subheader("Pages")
        for page in PAGES:
            page_link(page)
with intro:
    st.markdown(
        """
Metric learning trains an encoder so that things of the same class land close
together and things of different classes land far apart. The **triplet loss**
looks at three points at a time: an **anchor** *a*, a **positive** *p* (same
class) and a **negative** *n* (another class), and asks that the negative be
farther from the anchor than the positive by at least a **margin** *m*:
"""
    )
    st.latex(r"L(a, p, n) = \max\bigl(d(a, p) - d(a, n) + m,\; 0\bigr)")
    st.markdown(
        """
Everything on these pages is computed live by a small PyTorch core, the
same numbers `torch.nn.functional.triplet_margin_loss` and
pytorch-metric-learning give.
"""
    )

st.subheader("Easy, semi-hard and hard")
margin = widgets.slider(home_page.BINDING, "margin", format="%.1f")
scene = home_page.BINDING.commit()
with st.sidebar:
    class_link(HOME.path, scene.to_query())
deltas, losses, kinds = loss_along_delta(margin)
figure = kinds_along_delta(deltas.tolist(), losses.tolist(), kinds.tolist(), margin)
st.plotly_chart(
    figure, width="stretch",
    alt=f"The triplet loss against δ = d(a, n) − d(a, p) at margin m = {margin:g}: hard where "
    f"δ ≤ 0, semi-hard where 0 < δ ≤ m, easy where δ > m, where the loss is 0.",
)  # fmt: skip
st.markdown(
    f"""
With δ = d(a, n) − d(a, p):
- **hard** (δ ≤ 0): the negative is at least as close as the positive;
- **semi-hard** (0 < δ ≤ {margin:g}): the negative is farther, but inside the margin, so the loss
  is still positive;
- **easy** (δ > {margin:g}): the loss is zero and the triplet teaches nothing.

These are pytorch-metric-learning's boundaries (a tie is hard). Other libraries draw the
semi-hard line differently; the pages say which definition they use.
"""
)
