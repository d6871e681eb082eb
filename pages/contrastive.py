"""Contrastive loss: drag X1 and X2, say whether they are similar; see the loss and its pull."""

import streamlit as st

from lossviz.core.losses import NonFiniteError
from lossviz.scenes.presets import CONTRASTIVE_PRESETS
from lossviz.teaching.formulas import contrastive_latex
from lossviz.teaching.references import inverted_snippet_code
from lossviz.teaching.snippets import pair_snippet
from lossviz.ui import contrastive_page, widgets
from lossviz.ui.controls import learning_rate_control, loss_controls, loss_settings
from lossviz.ui.copy_code import copy_as_code
from lossviz.ui.inert import inert
from lossviz.ui.instruments.pair_plane import pair_plane
from lossviz.ui.points import descent_buttons, page_header, presets_bar
from lossviz.ui.presenter import class_link
from lossviz.ui.reference_panel import pair_reference_panel
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = contrastive_page.BINDING
page_header(binding, "Contrastive loss", "Drag **X1** and **X2** and say whether they are similar.")

with st.sidebar:
    st.subheader("Pair")
    widgets.toggle(binding, "similar")
    st.subheader("Loss")
    loss_controls(binding)
    st.subheader("Gradient descent")
    learning_rate_control(binding)
scene = binding.commit()
with st.sidebar:
    class_link("pages/contrastive.py", scene.to_query())
settings = loss_settings(binding, scene)

presets_bar(contrastive_page.POINTS, CONTRASTIVE_PRESETS, on_reset=contrastive_page.reset)


@st.fragment
def pair_view(settings):
    """Everything a drop or the convention toggle changes (reruns only this part)."""
    scene = binding.commit()
    inverted = contrastive_page.inverted()
    try:  # the pair's two readings, once: everything below shows them
        reading, snippet = contrastive_page.readings_of(
            tuple(contrastive_page.POINTS.of(scene).values()), scene.similar, settings
        )
    except NonFiniteError as problem:
        st.error(inert(problem))
        return
    left, right = st.columns([5, 4], gap="large")
    with left:
        metrics = st.columns([1, 1, 2])
        metrics[0].metric("d", f"{reading.d:.3f}")
        metrics[1].metric("loss", f"{reading.loss:.3f}")
        metrics[2].metric("active term", reading.term.label)
        if inverted:
            st.warning(
                "The arrows show the **inverted snippet**, not the contrastive loss: "
                f"its loss here is {snippet.loss:.3f} ({snippet.term.label}).",
                icon=":material/swap_horiz:",
            )
        scale = pair_plane(
            key=contrastive_page.PLANE_KEY,
            points=contrastive_page.POINTS,
            scene=scene,
            reading=reading,
            settings=settings,
            arrows_of=snippet if inverted else None,
        )
        which = "the inverted snippet's" if inverted else "the loss's"
        descent_buttons(
            contrastive_page.step,
            settings,
            f"Arrows: −∇ of {which} value × {scale:.3g}; Step follows them.",
            widths=(2, 3, 4),
        )
        st.latex(contrastive_latex(reading.d, reading.loss, scene.margin, scene.similar))
        if inverted:
            st.latex(contrastive_latex(snippet.d, snippet.loss, scene.margin,
                                       scene.similar, inverted=True))  # fmt: skip
        positions = contrastive_page.POINTS.positions(scene)
        copy_as_code(lambda: pair_snippet(positions, scene.similar, settings), "This pair's loss",
                     key="contrastive.show_code")  # fmt: skip
    with right:
        marked = (snippet.d, snippet.loss) if inverted else None
        pair = (reading.d, reading.loss, scene.similar)
        st.plotly_chart(
            contrastive_page.curves_figure(scene.margin, pair, marked), width="stretch",
            alt=f"The contrastive loss against the distance d: a similar pair costs d², a "
            f"dissimilar pair (m − d)² until d reaches the margin m = {scene.margin:g}, then 0. "
            f"This pair: {'similar' if scene.similar else 'dissimilar'}, d = {reading.d:.3f}, "
            f"loss {reading.loss:.3f}.",
        )  # fmt: skip
        with st.container(border=True):
            st.markdown("**Label convention.** A widely copied snippet (written out here):")
            st.code(inverted_snippet_code(scene.margin), language="python", wrap_lines=True)
            st.toggle(
                "Use the inverted snippet", key=contrastive_page.INVERTED_KEY,
                help="Feed this pair to the snippet with label 1 = similar, as its docstring "
                "says, and draw its arrows on the plane.",
            )  # fmt: skip
            st.caption("Its docstring says label 1 = similar; its formula treats 0 as similar.")
            pair_reference_panel(reading, snippet)
            if inverted:
                st.metric("snippet's loss", f"{snippet.loss:.3f}")
                st.markdown(
                    "With label 1 meaning similar, it **pushes similar points apart and pulls "
                    "dissimilar points together**."
                )


pair_view(settings)
contrastive_page.contrastive_explainer()
