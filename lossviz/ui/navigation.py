"""The app's pages, in menu order: one table read by app.py and the home page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from lossviz.scenes.scene import (
    CollapseScene,
    ContrastiveScene,
    HomeScene,
    InfoNCEScene,
    MiningScene,
    PlaygroundScene,
    QuizScene,
    Scene,
    SimCLRScene,
)


@dataclass(frozen=True)
class PageInfo:
    """One page of the menu, and the link parameters it reads.

    ``scene``: the page's scene, whose fields are link parameters; ``extra_params``: the
    other names its link may hold (the lesson's ``step``, the class quiz's ``room``).
    """

    path: str  # relative to the repository root
    title: str
    icon: str  # a Streamlit material icon
    summary: str  # one line for the home page
    scene: type[Scene] | None = None
    extra_params: tuple[str, ...] = ()

    @property
    def link_params(self) -> frozenset[str]:
        """Every parameter name this page's link may hold (the presenter's are extra)."""
        fields = self.scene.specs() if self.scene is not None else ()
        return frozenset((*fields, *self.extra_params))


HOME = PageInfo(
    "pages/home.py",
    "Home",
    ":material/home:",
    "What lossviz teaches and where to start.",
    HomeScene,
)

# Teaching pages, linked from the home page in this order.
PAGES: tuple[PageInfo, ...] = (
    PageInfo(
        "pages/lesson.py",
        "Lesson",
        ":material/school:",
        "Start here: thirteen short steps, about twenty minutes, each with something to do with "
        "your hands.",
        extra_params=("step",),
    ),
    PageInfo(
        "pages/playground.py",
        "Triplet playground",
        ":material/open_with:",
        "Drag an anchor, a positive and a negative; watch the loss, its gradients and "
        "the easy / semi-hard / hard regions change.",
        PlaygroundScene,
    ),
    PageInfo(
        "pages/contrastive.py",
        "Contrastive loss",
        ":material/compare_arrows:",
        "Two points, similar or not: pull together, push out to the margin, and the "
        "label convention that trips people up.",
        ContrastiveScene,
    ),
    PageInfo(
        "pages/infonce.py",
        "InfoNCE",
        ":material/donut_large:",
        "Softmax contrastive learning on the circle: drag negatives, turn the temperature, "
        "see who takes the gradient; NT-Xent, SupCon and CLIP on a batch.",
        InfoNCEScene,
    ),
    PageInfo(
        "pages/mining.py",
        "Batch mining",
        ":material/scatter_plot:",
        "Every triplet of a labelled batch counted, for generated, real or your own "
        "embeddings, and what each batch loss picks.",
        MiningScene,
    ),
    PageInfo(
        "pages/collapse.py",
        "Vector collapse",
        ":material/compress:",
        "Train an encoder live: batch-hard triplet loss pulls every embedding onto one "
        "point; the fix keeps them apart.",
        CollapseScene,
    ),
    PageInfo(
        "pages/simclr.py",
        "SimCLR training",
        ":material/blur_circular:",
        "Train an encoder with NT-Xent, two runs side by side: the temperature's trade-off "
        "between alignment and uniformity, and dimensional collapse in the spectrum.",
        SimCLRScene,
    ),
    PageInfo(
        "pages/quiz.py",
        "Quiz",
        ":material/quiz:",
        "Is this triplet easy, semi-hard or hard? Rounds of ten; the same seed gives a "
        "class the same questions.",
        QuizScene,
    ),
    PageInfo(
        "pages/class_quiz.py",
        "Class quiz",
        ":material/groups:",
        "A teacher opens a room; students join by code with a nickname and answer the "
        "same round; the teacher sees the class's results live.",
        QuizScene,
        extra_params=("room", "key", "view"),
    ),
)


def page_by_url_path(url_path: str) -> PageInfo | None:
    """The page that app.py's navigation serves at ``url_path`` ("" is home)."""
    return next((p for p in (HOME, *PAGES) if page_path_of(p.path) == url_path), None)


def page_path_of(page_path: str) -> str:
    """The URL path of the page at ``page_path`` under app.py's navigation ("" for home)."""
    return "" if page_path == HOME.path else Path(page_path).stem


def page_address(page_path: str) -> str:
    """The page's address as the browser reaches this server, else its path (``/name``).

    From the websocket's ``Origin`` header (the scheme, host and port the browser used,
    behind a proxy too) and the server's base path, never from ``st.context.url``: Streamlit
    1.67 trims a page's name off that address by a suffix rule ("quiz" off
    ".../class_quiz" leaves ".../class_"), so a link built on it opened a blank page.
    """
    path = "/" + page_path_of(page_path)
    origin = urlsplit(st.context.headers.get("Origin", "").strip())
    if origin.scheme not in ("http", "https") or not origin.netloc or origin.path.strip("/"):
        return path
    if origin.query or origin.fragment or any(c in origin.netloc for c in "@\\ "):
        return path
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{origin.scheme}://{origin.netloc}{'/' + base if base else ''}{path}"


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
