""" "Copy as code": the page's scene as a short torch script whose printout equals the page.

The scripts come from :mod:`lossviz.teaching.snippets` (torch only; a typed distance rebuilt from
its parsed form, never from the text typed). ``st.code`` gives the copy button.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from lossviz.ui.inert import inert


def copy_as_code(
    make_snippet: Callable[[], str], what: str, key: str, toggle_in: Any = None
) -> None:
    """A toggle (in ``toggle_in``, e.g. a column; else here) that shows, here, the script
    ``make_snippet()`` writes, or why there is none.

    A toggle, not an expander: an expander's content is built and sent on every rerun,
    and a drop of a point would carry the highlighted script to every student each time.
    """
    toggle = (toggle_in or st).toggle
    if not toggle("Copy as code", key=key, help="This scene as a short PyTorch script."):
        return
    try:
        code = make_snippet()
    except ValueError as problem:  # e.g. a margin torch's loss refuses
        st.info(f"No script for this scene: {inert(problem)}")
        return
    st.caption(
        f"{what} in plain PyTorch: paste it into a notebook and it prints the numbers shown "
        "here (the copy button is at the code's top right)."
    )
    st.code(code, language="python")


__all__ = ["copy_as_code"]
