"""InfoNCE on the circle: drag an anchor, its positive and k negatives; turn the temperature."""

import streamlit as st

from lossviz.core.softmax_contrastive import DegenerateError
from lossviz.scenes.presets import INFONCE_PRESETS
from lossviz.teaching.formulas import infonce_latex
from lossviz.teaching.snippets import infonce_snippet
from lossviz.ui import infonce_batch_view, infonce_page, widgets
from lossviz.ui.copy_code import copy_as_code
from lossviz.ui.inert import inert
from lossviz.ui.instruments.circle_plane import circle_plane
from lossviz.ui.points import descent_buttons, page_header, presets_bar
from lossviz.ui.presenter import class_link
from lossviz.ui.readouts import small_number
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

binding = infonce_page.BINDING
page_header(binding, "InfoNCE on the circle",
            "Drag the anchor **A**, its positive **P** and the negatives **N1 … Nk**; turn the "
            "temperature τ.")  # fmt: skip

with st.sidebar:
    st.subheader("Softmax")
    widgets.marks(binding, "tau")
    widgets.slider(binding, "negatives")
    widgets.toggle(binding, "normalize")
    st.subheader("Gradient descent")
    widgets.number(binding, "lr", format="%.4g")
scene = binding.commit()
with st.sidebar:
    class_link("pages/infonce.py", scene.to_query())

presets_bar(infonce_page.POINTS, INFONCE_PRESETS, on_reset=infonce_page.reset)


@st.fragment
def circle_view():
    """Everything a drop changes (a drop reruns only this part)."""
    scene = binding.commit()
    try:
        reading = infonce_page.reading_of(
            infonce_page.points_key(scene), scene.tau, scene.normalize
        )
    except DegenerateError as problem:
        st.error(f"{inert(problem)} Drag the point away, pick a preset or press Reset.")
        return
    hardest = reading.hardest
    metrics = st.columns(4)  # short labels: four to a line on a phone too
    metrics[0].metric("loss", f"{reading.loss:.3f}")
    bound = "none" if reading.lower_bound is None else small_number(reading.lower_bound)
    metrics[1].metric("lowest", bound, help="The lowest the loss can be on the circle, "
                      "log(1 + k·e^(−2/τ)): P on A, every negative opposite. None off it: "
                      "raw dot products grow without bound.")  # fmt: skip
    metrics[2].metric("collapsed", f"{reading.collapsed:.3f}", help="The loss with every "
                      "point on one spot, log(1 + k): every weight 1/(k + 1).")  # fmt: skip
    metrics[3].metric(f"N{hardest} takes", f"{100 * reading.weights[hardest]:.0f} %",
                      help="The hardest negative (the largest softmax weight) and its "
                      "weight: its share of the push on A.")  # fmt: skip

    left, right = st.columns([3, 2], gap="large")
    with left:
        scale = circle_plane(infonce_page.view(scene), reading, infonce_page.POINTS)
        descent_buttons(infonce_page.step, scene,
                        f"Arrows: −∇L × {scale:.3g}, along the circle when on it; widths and "
                        "bars: the softmax weights.", widths=(2, 3, 4))  # fmt: skip
        st.latex(infonce_latex(reading, scene.tau))
    with right:
        st.markdown(infonce_page.weights_and_measures(reading))  # one element: a drop's cost
        positions = [list(xy) for _name, xy in infonce_page.points_key(scene)]
        toggles = st.columns(2)
        copy_as_code(lambda: infonce_snippet(positions, scene.tau, scene.normalize),
                     "This scene's InfoNCE", key="infonce.show_code",
                     toggle_in=toggles[0])  # fmt: skip
        infonce_batch_view.conventions_panel(reading, scene.tau, key="infonce.conventions",
                                             toggle_in=toggles[1])  # fmt: skip


# Lazy tabs: only the open one runs (the batch's charts cost a drop nothing).
circle_tab, batch_tab = st.tabs(infonce_page.TABS, key=infonce_page.TAB_KEY, on_change="rerun")
if circle_tab.open:
    with circle_tab:
        circle_view()
if batch_tab.open:
    with batch_tab:
        infonce_batch_view.batch_view(binding)
infonce_page.infonce_explainer()
