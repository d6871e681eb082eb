"""Triplet playground: drag A, P and N; see the loss, its gradients and the kind, live."""

import streamlit as st

from lossviz.core.losses import NonFiniteError
from lossviz.figures import COLORS
from lossviz.scenes.presets import PLAYGROUND_PRESETS
from lossviz.teaching.formulas import triplet_latex
from lossviz.teaching.snippets import triplet_snippet
from lossviz.ui import playground_page, widgets
from lossviz.ui.components.heatmap import heatmap
from lossviz.ui.controls import learning_rate_control, loss_controls, loss_settings
from lossviz.ui.copy_code import copy_as_code
from lossviz.ui.inert import inert
from lossviz.ui.instruments.triplet_plane import triplet_plane
from lossviz.ui.points import descent_buttons, page_header, presets_bar
from lossviz.ui.presenter import class_link
from lossviz.ui.readouts import kind_badge, playground_explainer
from lossviz.ui.reference_panel import triplet_reference_panel
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = playground_page.BINDING
page_header(binding, "Triplet playground",
            "Drag the anchor **A**, the positive **P** and the negative **N**.")  # fmt: skip

with st.sidebar:
    st.subheader("Loss")
    loss_controls(binding)
    widgets.toggle(binding, "swap")
    st.subheader("Gradient descent")
    learning_rate_control(binding)
scene = binding.commit()
with st.sidebar:
    class_link("pages/playground.py", scene.to_query())
settings = loss_settings(binding, scene, swap=scene.swap)

presets_bar(playground_page.POINTS, PLAYGROUND_PRESETS, on_reset=playground_page.reset)


@st.fragment
def triplet_view(settings):
    """Everything an N drop changes; a drag of N reruns only this part (A or P: the page)."""
    scene = binding.commit()
    if playground_page.heatmap_is_stale(scene):
        st.rerun()  # A or P moved: the heatmap beside this fragment must follow
    try:
        reading = playground_page.reading_of(
            tuple(playground_page.POINTS.of(scene).values()), settings
        )
    except NonFiniteError as problem:
        st.error(inert(problem))
        return

    metrics = st.columns(5)
    metrics[0].metric("d(a, p)", f"{reading.d_ap:.3f}")
    metrics[1].metric("d(a, n)", f"{reading.d_an:.3f}")
    metrics[2].metric("d(p, n)", f"{reading.d_pn:.3f}")
    metrics[3].metric("loss", f"{reading.loss:.3f}")
    with metrics[4]:
        kind_badge(reading.kind)
    if scene.swap:
        used = "d(p, n)" if reading.swap_used else "d(a, n)"
        st.caption(f"Swap is on: the loss and the kind use **{used}** = {reading.d_an_used:.3f}.")

    scale = triplet_plane(
        key="playground.plane", points=playground_page.POINTS, scene=scene, reading=reading,
        settings=settings,
    )  # fmt: skip
    descent_buttons(
        playground_page.step,
        settings,
        f"Arrows: −∇L × {scale:.3g} (each point's direction of steepest descent).",
        widths=(2, 3, 4),
    )
    st.latex(triplet_latex(reading, scene.margin, scene.swap))
    positions = playground_page.POINTS.positions(scene)
    toggles = st.columns(2)
    copy_as_code(lambda: triplet_snippet(positions, settings), "This triplet and its loss",
                 key="playground.show_code", toggle_in=toggles[0])  # fmt: skip
    triplet_reference_panel(positions, settings, reading, key="playground.check_reference",
                            toggle_in=toggles[1])  # fmt: skip


left, right = st.columns([3, 2], gap="large")
with right:
    # Outside the fragment: dragging N (the common case) leaves this chart untouched.
    anchor, positive = playground_page.heatmap_drawn_for(scene)
    heatmap("playground.landscape", playground_page.landscape_heatmap(anchor, positive, settings))
    st.caption(
        "The loss for every position N could take, A and P where they are; the white line "
        "is where it reaches zero (the easy border)."
    )
with left:
    triplet_view(settings)
st.caption(
    f"Colours: :green[easy] / :orange[semi-hard] / :red[hard] ({COLORS['easy']}, "
    f"{COLORS['semi-hard']}, {COLORS['hard']}). Share this exact scene by copying the address."
)
playground_explainer()
