"""The app's pages, in menu order: one table read by app.py and the home page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError


@dataclass(frozen=True)
class PageInfo:
    path: str  # relative to the repository root
    title: str
    icon: str  # a Streamlit material icon
    summary: str  # one line for the home page


HOME = PageInfo(
    "pages/home.py",
    "Home",
    ":material/home:",
    "What lossviz teaches and where to start.",
)

# Teaching pages, linked from the home page in this order.
PAGES: tuple[PageInfo, ...] = (
    PageInfo(
        "pages/lesson.py",
        "Lesson",
        ":material/school:",
        "Start here: nine short steps, about ten minutes, each with something to do with "
        "your hands.",
    ),
    PageInfo(
        "pages/playground.py",
        "Triplet playground",
        ":material/open_with:",
        "Drag an anchor, a positive and a negative; watch the loss, its gradients and "
        "the easy / semi-hard / hard regions change.",
    ),
    PageInfo(
        "pages/contrastive.py",
        "Contrastive loss",
        ":material/compare_arrows:",
        "Two points, similar or not: pull together, push out to the margin, and the "
        "label convention that trips people up.",
    ),
    PageInfo(
        "pages/mining.py",
        "Batch mining",
        ":material/scatter_plot:",
        "Every triplet of a labelled batch counted, for generated, real or your own "
        "embeddings, and what each batch loss picks.",
    ),
    PageInfo(
        "pages/collapse.py",
        "Vector collapse",
        ":material/compress:",
        "Train an encoder live: batch-hard triplet loss pulls every embedding onto one "
        "point; the fix keeps them apart.",
    ),
    PageInfo(
        "pages/quiz.py",
        "Quiz",
        ":material/quiz:",
        "Is this triplet easy, semi-hard or hard? Rounds of ten; the same seed gives a "
        "class the same questions.",
    ),
    PageInfo(
        "pages/class_quiz.py",
        "Class quiz",
        ":material/groups:",
        "A teacher opens a room; students join by code with a nickname and answer the "
        "same round; the teacher sees the class's results live.",
    ),
)


def page_link(page: PageInfo) -> None:
    """A link to a page: Streamlit's page link under app.py's navigation, a plain one otherwise.

    A page run on its own (as in a headless test) has no navigation to link into.
    """
    label = f"**{page.title}**: {page.summary}"
    try:
        st.page_link(page.path, label=label, icon=page.icon)
    except StreamlitPageNotFoundError:
        st.markdown(f"- [{label}](/{Path(page.path).stem})")


def scene_link(path: str, label: str, query: Mapping[str, str], icon: str | None = None) -> None:
    """A link opening the page at ``path`` with ``query`` (e.g. a scene): as :func:`page_link`,
    Streamlit's page link under app.py's navigation, a plain Markdown link otherwise."""
    try:
        st.page_link(path, label=label, icon=icon, query_params=dict(query))
    except StreamlitPageNotFoundError:
        st.markdown(f"[{label}](/{Path(path).stem}?{urlencode(query)})")
