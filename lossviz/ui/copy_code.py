""" "Copy as code": the page's scene as a short torch script whose printout equals the page.

The scripts come from :mod:`lossviz.snippets` (torch only; a typed distance rebuilt from
its parsed form, never from the text typed). ``st.code`` gives the copy button.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def copy_as_code(make_snippet: Callable[[], str], what: str) -> None:
    """An expander with the script ``make_snippet()`` writes, or why there is none."""
    with st.expander("Copy as code", icon=":material/code:"):
        try:
            code = make_snippet()
        except ValueError as problem:  # e.g. a margin torch's loss refuses
            st.info(f"No script for this scene: {problem}")
            return
        st.caption(
            f"{what} in plain PyTorch: paste it into a notebook and it prints the numbers "
            "shown here."
        )
        st.code(code, language="python")


__all__ = ["copy_as_code"]
