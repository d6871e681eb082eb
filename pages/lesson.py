"""Lesson: nine short steps, each with a live instrument and a task done with the hands."""

import streamlit as st

from lossviz.scenes.lesson import STEPS
from lossviz.ui import lesson_page
from lossviz.ui.inert import inert
from lossviz.ui.navigation import scene_link
from lossviz.ui.presenter import class_link
from lossviz.ui.setup import ensure_navigation

ensure_navigation()

number, notice = lesson_page.current_step()
step = STEPS[number - 1]

st.title("Lesson")
if notice:
    st.warning(inert(notice), icon=":material/link_off:")
# Filled once this run's task is checked (they show whether it is done); placed first.
top = lesson_page.nav_row()
progress, back, forward = top[0].empty(), top[1].container(), top[2].container()
lesson_page.show_progress(progress, number)

text, instrument = st.columns([2, 3], gap="large")
with text:
    st.subheader(f"{number}. {step.title}")
    st.markdown(step.text)
    task = st.empty()
    task.info(f"**Your task:** {step.task}", icon=":material/touch_app:")
with instrument:
    finished = lesson_page.instrument(step)
    links = st.container()
done = finished or step.slug in lesson_page.done_steps()
if done:
    task.success(f"**Done:** {step.task}  \n{step.done_text}", icon=":material/check_circle:")
lesson_page.show_progress(progress, number)

back.button("Back", icon=":material/arrow_back:", on_click=lesson_page.go_to, args=(number - 1,),
            disabled=number == 1, key="lesson.back", width="stretch")  # fmt: skip
forward.button(
    "Next",
    icon=":material/arrow_forward:",
    on_click=lesson_page.go_to,
    args=(number + 1,),
    disabled=number == len(STEPS),
    key="lesson.next",
    type="primary" if done else "secondary",
    width="stretch",
)
with links:
    if len(lesson_page.done_steps()) == len(STEPS):
        st.success(
            "You did every task of the lesson. Everything here is on the full pages, with "
            "every control: the playground, the contrastive page, batch mining and vector "
            "collapse.",
            icon=":material/celebration:",
        )
    scene_link(
        f"pages/{step.page}.py",
        "Open this in the full page",
        lesson_page.full_page_query(step),
        icon=":material/open_in_new:",
    )
    st.button("Start this step over", icon=":material/restart_alt:", type="tertiary",
              on_click=lesson_page.restart_step, args=(step,), key="lesson.restart")  # fmt: skip

with st.sidebar:
    class_link("pages/lesson.py", {"step": str(number)})
    lesson_page.step_list(number)
