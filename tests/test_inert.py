"""Outside text is never Markdown: :func:`lossviz.ui.inert.inert`, and every page's notices.

The unit tests check the escaping rules; the page tests open every page (alone, and
through app.py for the notices app.py writes) with every link parameter it reads, the
presenter's and an unknown one set to Markdown, HTML, LaTeX and Streamlit-directive
payloads, and fail when any Markdown-bearing element (text, captions, alerts, headings,
labels) holds a payload as it was typed: a payload can only reach the screen escaped.
What the escaped text looks like in a real browser (no image fetched, no link, no
formatting) is tests/browser/test_inert_browser.py's.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.ui.inert import WORD_JOINER, inert
from lossviz.ui.navigation import HOME, PAGES
from lossviz.ui.presenter import PRESENTER_PARAMS
from tests.apptest_helpers import ok

REPO = Path(__file__).resolve().parents[1]
PAYLOADS = {
    "markdown": "![x](http://127.0.0.1:9/x.png)",
    "link": "[click](http://127.0.0.1:9/)",
    "bold": "**bold** _em_ ~~del~~",
    "html": "<img src=x onerror=alert(1)><b>b</b>",
    "latex": r"$\frac{1}{2}$ $$x$$",
    "directive": ":red[red] :material/home: :smile:",
    "autolink": "http://127.0.0.1:9/auto www.example.com",
    "heading": "# head\n> quote\n| a | b |",
    "code": "`code` ```fence```",
}
UNKNOWN_PARAM = "**unknown**"
MARKDOWN_ELEMENTS = ("markdown", "caption", "latex", "warning", "error", "info", "success",
                     "title", "header", "subheader")  # fmt: skip
WIDGET_KINDS = ("slider", "select_slider", "selectbox", "radio", "toggle", "number_input",
                "text_input", "checkbox", "button", "multiselect")  # fmt: skip


# --------------------------------------------------------------------------- inert()


def test_every_ascii_punctuation_is_escaped():
    shown = inert(string.punctuation)
    unescaped = shown.replace(WORD_JOINER, "")
    assert unescaped == "".join("\\" + c for c in string.punctuation)


def test_letters_digits_and_unicode_are_kept():
    assert inert("alice 42 Ünïcødé 😀 ж") == "alice 42 Ünïcødé 😀 ж"


def test_shortcodes_cannot_match_after_a_colon():
    shown = inert(":smile: :material/home:")
    assert ":smile:" not in shown and ":material" not in shown
    assert shown.replace(WORD_JOINER, "").replace("\\", "") == ":smile: :material/home:"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a\nb\r\nc\td", "a b c d"), ("  lead  and   trail  ", "lead and trail"),
     ("bidi\u202eover\u200bzero", "bidi?over?zero"), ("nul\x00", "nul?"),
     ("\u00a0nbsp\u2028line", "nbsp line")],
)  # fmt: skip
def test_breaks_and_invisible_characters_become_visible_or_spaces(raw, expected):
    assert inert(raw) == expected


def test_a_limit_cuts_and_says_so():
    assert inert("abcdef", limit=3) == "abc…"
    assert inert("abc", limit=3) == "abc"
    assert inert("a.b.c.d", limit=3) == "a\\.b…"


def _unescaped_punctuation(shown: str) -> list[str]:
    """Punctuation in ``shown`` that no backslash escapes (Markdown could act on it)."""
    found, i = [], 0
    while i < len(shown):
        if shown[i] == "\\":
            i += 2  # an escape pair: the backslash and the character it makes literal
            continue
        if shown[i] in string.punctuation:
            found.append(shown[i])
        i += 1
    return found


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS)
def test_no_payload_survives_as_typed(payload):
    shown = inert(payload)
    assert not _unescaped_punctuation(shown), shown
    assert shown.replace(WORD_JOINER, "").replace("\\", "") == " ".join(
        payload.replace("\\", "").split()
    )


# --------------------------------------------------------------------------- every page


def _markdown_texts(at: AppTest) -> list[str]:
    texts = [e.value for kind in MARKDOWN_ELEMENTS for e in getattr(at, kind)]
    texts += [m.label for m in at.metric]
    for kind in WIDGET_KINDS:
        for widget in getattr(at, kind):
            texts.append(widget.label or "")
            texts.append(getattr(widget, "help", None) or "")
    return texts


def _query(page, payload: str) -> dict[str, str]:
    names = sorted(page.link_params | set(PRESENTER_PARAMS))
    query = {name: payload for name in names}
    query[UNKNOWN_PARAM] = payload
    if "room" in query:  # the class quiz: a well-formed code, so its other views run too
        query["room"] = "ABCDEF"
    return query


def _live_at(text: str, piece: str) -> bool:
    """Whether ``piece`` occurs in ``text`` with none of its punctuation backslash-escaped."""
    chars: list[tuple[str, bool]] = []  # (character, escaped)
    i = 0
    while i < len(text):
        escaped = text[i] == "\\" and i + 1 < len(text)
        chars.append((text[i + 1], True) if escaped else (text[i], False))
        i += 2 if escaped else 1
    width = len(piece)
    for start in range(len(chars) - width + 1):
        window = chars[start : start + width]
        if "".join(c for c, _ in window) == piece and not any(
            escaped for c, escaped in window if c in string.punctuation
        ):
            return True
    return False


def _raw_payload_places(at: AppTest, payload: str) -> list[str]:
    """Markdown texts of the page in which a piece of ``payload`` is live (unescaped)."""
    pieces = [p for p in payload.split() if len(p) >= 3 and set(p) & set(string.punctuation)]
    return [text for text in _markdown_texts(at) for piece in pieces if _live_at(text, piece)]


PAGE_FILES = [HOME, *PAGES]


@pytest.fixture(autouse=True)
def rooms_db(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSVIZ_ROOMS_DB", str(tmp_path / "rooms.sqlite3"))


@pytest.mark.parametrize("kind", PAYLOADS)
@pytest.mark.parametrize("page", PAGE_FILES, ids=lambda p: Path(p.path).stem)
def test_a_page_shows_link_values_inertly(page, kind):
    payload = PAYLOADS[kind]
    at = AppTest.from_file(str(REPO / page.path), default_timeout=60)
    for name, value in _query(page, payload).items():
        at.query_params[name] = value
    ok(at.run())
    assert not _raw_payload_places(at, payload)


@pytest.mark.parametrize("kind", ["markdown", "html", "latex", "directive"])
def test_app_notices_show_link_values_inertly(kind):
    """Through app.py: the presenter's and the unknown-parameter notices it writes."""
    payload = PAYLOADS[kind]
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for name, value in _query(HOME, payload).items():
        at.query_params[name] = value
    ok(at.run())
    notices = " ".join(w.value for w in at.warning)
    assert "presenter settings" in notices and "does not know" in notices
    assert not _raw_payload_places(at, payload)
