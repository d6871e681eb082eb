"""Teacher tools: link parameters for presenting, and the "link for the class" button.

Link parameters (any page, beside the page's own scene fields)::

    ?hide=margin,p,swap   hide those controls; their values still come from the link
    ?hide=all             hide every control built by lossviz.ui.widgets (on every page)
    ?hide=sidebar         hide the whole sidebar (its controls, the menu, the badge)
    ?present=1            projector layout: large type, large numbers, sidebar collapsed
                          (a bare ``?present`` and ``projector=1`` are the same;
                          ``present=0`` turns it off)

Names in ``hide`` are scene field names (``lossviz.scenes.scene``); several are separated by
commas. A name no page knows is ignored, and one notice lists all such names; a bad
``present`` value gives a notice too; nothing raises. The parameters survive every
rewrite of the address: :meth:`SceneBinding.commit` keeps :data:`PRESENTER_PARAMS`, and
:func:`presenter_setup` puts them back after a switch to another page (Streamlit opens a
page without its query), so a whole session stays in the mode its link asked for.

API (``pages/lesson.py`` and ``pages/class_quiz.py`` call it like the other pages):

- :func:`presenter_setup` once per run, from ``app.py`` before ``navigation.run()``:
  remembers the parameters, writes the notices, injects the projector CSS.
- :func:`sidebar_state` for ``st.set_page_config(initial_sidebar_state=...)`` in ``app.py``.
- :func:`is_hidden(field)` is what :mod:`lossviz.ui.widgets` asks before drawing a control.
- :func:`class_link(page_path, query, autostart=False)` draws the button (a popover with the
  address in a code block, copied with its copy icon) for the page at ``page_path``
  showing ``query`` (its scene, ``scene.to_query()``), with the presenter parameters in use;
  ``autostart=True`` adds ``autostart=1`` (the collapse page trains when it opens).
  Put it in the sidebar after ``binding.commit()``. Opening it reruns the page, so the
  address always holds the scene as it is now (dragged points included).
- :func:`class_url` is the same address as a string.

The address is :func:`lossviz.ui.navigation.page_address`: the server's address as the
browser reached it (e.g. the LAN address a teacher opened) with the page's path; without
it (a headless test) a relative one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from lossviz.scenes.scene import Scene
from lossviz.ui.inert import inert_list
from lossviz.ui.navigation import page_address

HIDE_PARAM = "hide"
PRESENT_PARAMS = ("present", "projector")
PRESENTER_PARAMS = (HIDE_PARAM, *PRESENT_PARAMS)  # kept by SceneBinding.commit
HIDE_ALL = "all"
HIDE_SIDEBAR = "sidebar"
_SPECIAL_HIDES = frozenset({HIDE_ALL, HIDE_SIDEBAR})
STATE_KEY = "presenter.params"  # the session's presenter parameters (outlive a page switch)
RUN_KEY = "presenter.this_run"  # the parameters presenter_setup found for this run
_ON = frozenset({"", "1", "true", "yes", "on"})  # "": a bare ?present
_OFF = frozenset({"0", "false", "no", "off"})
_MAX_SHOWN = 60  # characters of a bad value quoted in a notice


def _fields() -> frozenset[str]:
    """Every scene field of every page (a ``hide`` name any page knows)."""
    found: set[str] = set()
    pending = list(Scene.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        found.update(cls.specs())
    return frozenset(found)


def _shown(raw: str) -> str:
    raw = "".join(c if c.isprintable() else "?" for c in raw)
    return raw if len(raw) <= _MAX_SHOWN else raw[:_MAX_SHOWN] + "…"


def _url_params() -> dict[str, str]:
    """The presenter parameters in the address now (the last value of each)."""
    found = {}
    for name in PRESENTER_PARAMS:
        values = st.query_params.get_all(name)
        if values:
            found[name] = values[-1]
    return found


def params() -> dict[str, str]:
    """The presenter parameters in use: the address's, else the session's (after a page
    switch, before :func:`presenter_setup` has put them back). Read once per run by
    :func:`presenter_setup` (each widget asks: reading the address costs ~60 µs a name)."""
    found = st.session_state.get(RUN_KEY)
    if found is not None:
        return found
    return _url_params() or dict(st.session_state.get(STATE_KEY, {}))


def _hide_names(raw: str | None) -> list[str]:
    return [name.strip().lower() for name in (raw or "").split(",") if name.strip()]


def hidden() -> frozenset[str]:
    """The names ``hide`` asks to hide (known or not; unknown ones match no control)."""
    return frozenset(_hide_names(params().get(HIDE_PARAM)))


def is_hidden(field: str) -> bool:
    """Whether the control of scene field ``field`` is hidden by the link."""
    names = hidden()
    return field in names or HIDE_ALL in names


def projector() -> bool:
    """Whether the link asks for the projector layout (``present=1`` or ``projector=1``)."""
    found = params()
    return any(name in found and found[name].strip().lower() in _ON for name in PRESENT_PARAMS)


def sidebar_state() -> str:
    """``initial_sidebar_state`` for ``st.set_page_config``: collapsed on a projector."""
    return "collapsed" if projector() or HIDE_SIDEBAR in hidden() else "auto"


def notices() -> list[str]:
    """What is wrong with the presenter parameters in use (empty when nothing is)."""
    found = params()
    out = []
    names = _hide_names(found.get(HIDE_PARAM))
    unknown = [n for n in names if n not in _fields() and n not in (HIDE_ALL, HIDE_SIDEBAR)]
    if unknown:
        shown = ", ".join(_shown(n) for n in unknown[:8]) + (", …" if len(unknown) > 8 else "")
        out.append(f"hide: no control is called {shown}; ignored.")
    for name in PRESENT_PARAMS:
        if name in found and found[name].strip().lower() not in _ON | _OFF:
            out.append(f"{name}: {_shown(found[name])!r} is not 1 or 0; the usual layout is used.")
    return out


# Projector: everything in Streamlit is sized in rem, so a larger root font enlarges the
# text, the widgets and the metrics together (the metrics' numbers stay 1.8rem, as in
# config.toml, so that five still fit a row). The components' own text (the plane's
# labels, the heatmap's ticks) is in px and keeps its size.
_PROJECTOR_CSS = """
html { font-size: 22px; }
[data-testid="stMetricLabel"] p { font-size: 1rem; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
"""
_NO_SIDEBAR_CSS = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
"""


def usable(found: Mapping[str, str]) -> dict[str, str]:
    """The presenter parameters with what means something: ``hide``'s known names, and
    ``present`` / ``projector`` values that are 1 or 0. Only these are kept for the session
    and passed on in "Link for the class", so a link's junk does not travel further."""
    kept = {}
    names = [n for n in _hide_names(found.get(HIDE_PARAM)) if n in _fields() | _SPECIAL_HIDES]
    if names:
        kept[HIDE_PARAM] = ",".join(dict.fromkeys(names))
    for name in PRESENT_PARAMS:
        if name in found and found[name].strip().lower() in _ON | _OFF:
            kept[name] = found[name].strip().lower()
    return kept


def presenter_setup() -> None:
    """Once per run, from app.py: say what is wrong with a link's parameters (once: the
    address is then rewritten with only the usable ones), remember them for the session,
    put them back in the address after a page switch, apply the projector and
    ``hide=sidebar`` styles."""
    in_url = _url_params()
    if in_url:
        st.session_state[RUN_KEY] = in_url
        if found := notices():
            st.warning(f"This link's presenter settings:\n\n{inert_list(found)}",
                       icon=":material/co_present:")  # fmt: skip
        kept = usable(in_url)
        st.session_state[STATE_KEY] = kept
        if kept != in_url:
            for name in in_url:
                del st.query_params[name]
    kept = st.session_state.get(STATE_KEY, {})
    for name, value in kept.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    st.session_state[RUN_KEY] = dict(kept)
    css = (_PROJECTOR_CSS if projector() else "") + (
        _NO_SIDEBAR_CSS if HIDE_SIDEBAR in hidden() else ""
    )
    if css:
        st.html(f"<style>{css}</style>")


def class_url(page_path: str, query: Mapping[str, str], autostart: bool = False) -> str:
    """The address of the page at ``page_path`` showing ``query``, with the presenter
    parameters in use (and ``autostart=1`` when asked)."""
    full = {**dict(query), **params()}
    if autostart:
        full["autostart"] = "1"
    return f"{page_address(page_path)}?{urlencode(full)}" if full else page_address(page_path)


def class_link(page_path: str, query: Mapping[str, str], autostart: bool = False) -> None:
    """A "Link for the class" button: a popover with this scene's address, to copy."""
    key = f"presenter.link.{Path(page_path).stem}"
    box = st.popover("Link for the class", icon=":material/share:", key=key, on_change="rerun")
    if not box.open:
        return  # drawn only when opened: a closed popover costs every rerun nothing
    with box:
        st.caption(
            "Everyone who opens this address sees this page as it is now"
            + (" and starts training at once" if autostart else "")
            + ". Copy it with the icon at the right of the box."
        )
        st.code(class_url(page_path, query, autostart), language=None, wrap_lines=True)
        st.caption(
            "Add `&hide=margin,p` to hide controls (their values stay), `&hide=all` to hide "
            "every control, `&present=1` for a projector."
        )


__all__ = ["HIDE_PARAM", "PRESENTER_PARAMS", "class_link", "class_url", "hidden", "is_hidden",
           "notices", "params", "presenter_setup", "projector", "sidebar_state"]  # fmt: skip
