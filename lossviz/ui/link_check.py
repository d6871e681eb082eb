"""Link parameters the page does not read: a notice naming the nearest name it does read.

A teacher who types ``?MARGIN=0.5`` or ``?marign=0.5`` would otherwise see the default
margin and no hint why: the page reads only the names of its scene's fields and of its
own extras (:attr:`lossviz.ui.navigation.PageInfo.link_params`) and the presenter's
(``hide``, ``present``, ``projector``). Streamlit keeps its own ``embed`` parameters out
of ``st.query_params``.

Names are case-sensitive, as the scene's reader is; a name that differs from a known one
only in case gets "names are lowercase". The notice shows each name inertly
(:func:`lossviz.ui.inert.inert`); at most :data:`MAX_NAMED` names are listed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import streamlit as st

from lossviz.ui.inert import inert
from lossviz.ui.navigation import PageInfo
from lossviz.ui.presenter import PRESENTER_PARAMS

MAX_NAMED = 6
NAME_LIMIT = 40  # characters of an unknown name quoted in the notice


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` most likely meant (another case, a typo), or None."""
    known = sorted(known)
    lowered = name.strip().lower()
    if lowered in known:
        return lowered
    close = difflib.get_close_matches(lowered, known, n=1, cutoff=0.7)
    return close[0] if close else None


def unknown_params(names: Iterable[str], known: Iterable[str]) -> list[tuple[str, str | None]]:
    """Each name not in ``known``, with :func:`nearest`'s suggestion, in link order."""
    known = frozenset(known)
    return [(name, nearest(name, known)) for name in names if name not in known]


def _describe(name: str, suggestion: str | None) -> str:
    shown = inert(name, NAME_LIMIT) or "(an empty name)"
    if suggestion is None:
        return shown
    why = "names are lowercase" if suggestion == name.strip().lower() else "a typo?"
    return f"{shown} (did you mean {inert(suggestion)}? {why})"


def warn_unknown_params(page: PageInfo) -> None:
    """One notice listing the link's parameters that ``page`` does not read, if any."""
    found = unknown_params(st.query_params, page.link_params | set(PRESENTER_PARAMS))
    if not found:
        return
    listed = "; ".join(_describe(name, hint) for name, hint in found[:MAX_NAMED])
    more = f"; and {len(found) - MAX_NAMED} more" if len(found) > MAX_NAMED else ""
    st.warning(
        f"This link has settings this page does not know, so they are ignored: {listed}{more}.",
        icon=":material/link_off:",
    )


__all__ = ["nearest", "unknown_params", "warn_unknown_params"]
