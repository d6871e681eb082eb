"""The app's pages, in menu order: one table read by app.py and the home page."""

from __future__ import annotations

from dataclasses import dataclass


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
PAGES: tuple[PageInfo, ...] = ()
