"""Text that came from outside, shown as inert text inside Streamlit's Markdown.

Streamlit renders the body of ``st.warning``, ``st.error``, ``st.caption``, ``st.markdown``
and widget labels as Markdown with GitHub's extensions (links, autolinked addresses,
tables), LaTeX between dollars, raw-HTML-looking text, ``:red[...]`` colour directives,
``:material/...:`` icons and ``:emoji:`` shortcodes. A value a visitor controls (a link's
parameter, a nickname, an uploaded label, a typed expression, an error message that quotes
one) must never become any of those: ``?margin=![](http://host/x.png)`` would make every
student's browser fetch that address.

:func:`inert` is the one way to put such a value into Markdown: every ASCII punctuation
character is backslash-escaped (CommonMark allows it for all of them, so nothing can open
a link, an image, emphasis, code, a heading, a table, math or HTML, and no address can be
autolinked), a word joiner (U+2060, invisible) follows every colon so no ``:shortcode:``
or ``:material/icon:`` can match, and line breaks, control and invisible format characters
(bidi overrides, zero-width characters) become a visible ``?`` or a space. What the reader
sees is the value's characters, literally.

Use it for the whole of a message that quotes outside text (``inert(str(error))``), or for
the outside part of a sentence of ours (``f"**Margin**: {inert(value)}"``). Text that
never touches Markdown (``st.text``, ``st.code``, a dataframe's cells, a component's data
written with ``textContent``) needs nothing.
"""

from __future__ import annotations

import string
import unicodedata

WORD_JOINER = "\u2060"
_PUNCTUATION = frozenset(string.punctuation)
_SPACES = frozenset({"Zs", "Zl", "Zp"})


def _char(c: str) -> str:
    if c in _PUNCTUATION:
        return "\\" + c + (WORD_JOINER if c == ":" else "")
    if c in "\t\n\r\f\v":
        return " "
    category = unicodedata.category(c)
    if category in _SPACES:
        return " "
    if category.startswith("C"):  # control, format (bidi, zero-width), surrogate, unassigned
        return "?"
    return c


def inert(value: object, limit: int | None = None) -> str:
    """Markdown that shows ``str(value)`` as its literal characters (see the module).

    ``limit``: at most this many characters of the value are shown, then "…". Runs of
    spaces collapse to one and the ends are trimmed (four leading spaces would otherwise
    start a code block).
    """
    text = str(value)
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    shown = " ".join("".join(_char(c) for c in text).split())
    return shown + ("…" if cut else "")


def inert_list(lines: list[object], limit: int = 6) -> str:
    """Markdown of a bullet list of ``lines`` shown inertly: at most ``limit`` of them, then
    how many more (a hostile link with thirty bad values is one short notice)."""
    shown = [f"- {inert(line)}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"- and {len(lines) - limit} more")
    return "\n".join(shown)


__all__ = ["inert", "inert_list"]
