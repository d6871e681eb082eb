"""Nicknames: what a student may be called, and when two nicknames count as the same.

:func:`clean_nickname` is the rule (the stored form, or :class:`BadNicknameError` saying
why in a student's words). :func:`nickname_keys` says which nicknames collide: a new one is
taken when either of its two keys equals that key of a student already in the room.

Nicknames are data: never evaluated, and the UI shows them as text only, so markup
(``<b>``, ``**``) and emoji are kept as long as a visible letter or digit comes with them.

Scope of the lookalike keys, honestly: they catch the usual impersonations (Cyrillic and
Greek letters that draw like Latin ones, fullwidth and other compatibility forms through
NFKC, ``0`` for ``o``, ``1``/``I``/``|`` for ``l``, dashes for ``-``, variation selectors
and runs of spaces). They are not Unicode's full confusables list (UTS #39): multi-letter
lookalikes (``rn``/``m``, ``vv``/``w``), accents that draw alike (``é``/``ė``), letters of
other scripts (Cherokee, Armenian beyond a few, mathematical alphabets that NFKC leaves
alone) and font-specific lookalikes are not caught. Two students with such names are told
apart by the teacher's table order and student ids.
"""

from __future__ import annotations

import unicodedata

from lossviz.rooms.errors import BadNicknameError

NICKNAME_MAX = 24
MAX_MARKS_IN_A_ROW = 2  # combining marks after one character: more is "zalgo" text

# Control, format (invisible: bidi overrides, zero-width), surrogate, private-use and
# unassigned characters, and line or paragraph separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

# Characters that draw nothing, or a blank, although their category is a letter, a symbol
# or a mark: Unicode's default-ignorable code points outside Cf/Cn (Hangul fillers,
# the combining grapheme joiner, Khmer inherent vowels, Mongolian free variation
# selectors), the Braille blank and a few fillers like them. Variation selectors are not
# here: they follow emoji (U+FE0F) and are dropped from the keys instead.
BLANK_LOOKING = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800,
     0x3164, 0xFFA0, 0x16FE4, 0x1D159}
)  # fmt: skip
_VARIATION_SELECTORS = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))

# Lookalikes of Latin letters (and of "-"), applied after NFKD so that an accented
# lookalike keeps its accent (Cyrillic "ё" becomes Latin "ë").
HOMOGLYPHS: dict[str, str] = {
    # Cyrillic capitals and small letters that draw like Latin ones.
    "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "l", "Ј": "J", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ү": "Y",
    "Һ": "H", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "l", "ӏ": "l",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
    "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ү": "y",
    # Greek capitals and small letters that draw like Latin ones.
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "l", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    "α": "a", "ι": "i", "ν": "v", "ο": "o", "ρ": "p", "υ": "u", "ϲ": "c", "ϳ": "j",
    # Armenian and Latin extensions.
    "օ": "o", "ս": "u", "հ": "h", "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i",
    "ǀ": "l",
    # Digits and symbols.
    "0": "o", "1": "l", "I": "l", "|": "l", "∣": "l",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
}  # fmt: skip
_TABLE = str.maketrans(HOMOGLYPHS)


def clean_nickname(raw: object) -> str:
    """The nickname as stored: trimmed, NFC, 1..24 characters; BadNicknameError if not.

    Refused, each with its reason: not text; empty; too long; control or invisible
    characters (categories Cc, Cf, Cs, Co, Cn, Zl, Zp: zero-width, bidi overrides...);
    blank-looking characters (:data:`BLANK_LOOKING`: U+2800, U+3164...); a combining mark
    at the start or after a space, or more than 2 in a row ("zalgo"); no visible letter or
    digit (Unicode L* or N*, fillers excluded: an emoji-only name is refused).
    """
    if not isinstance(raw, str):
        raise BadNicknameError("A nickname is text.")
    if len(raw) > 8 * NICKNAME_MAX:  # cheap refusal before normalising a huge string
        raise BadNicknameError(f"A nickname has at most {NICKNAME_MAX} characters.")
    nickname = unicodedata.normalize("NFC", raw.strip())
    if not nickname:
        raise BadNicknameError(f"Type a nickname (1 to {NICKNAME_MAX} characters).")
    if len(nickname) > NICKNAME_MAX:
        raise BadNicknameError(f"A nickname has at most {NICKNAME_MAX} characters.")
    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in nickname):
        raise BadNicknameError("A nickname cannot contain control or invisible characters.")
    if any(ord(c) in BLANK_LOOKING for c in nickname):
        raise BadNicknameError(
            "Your nickname has a character that looks blank: use letters or digits instead."
        )
    _check_marks(nickname)
    if not any(_is_visible_letter_or_digit(c) for c in nickname):
        raise BadNicknameError("A nickname needs at least one letter or digit.")
    return nickname


def _check_marks(nickname: str) -> None:
    """Marks counted on the decomposed form: "á" + 2 more accents is 3 in a row."""
    run = 0
    previous = " "  # as if a space came first: a leading mark has nothing to sit on
    for c in unicodedata.normalize("NFD", nickname):
        if unicodedata.category(c).startswith("M"):
            if run == 0 and previous.isspace():
                raise BadNicknameError("An accent or mark must come right after a letter.")
            run += 1
            if run > MAX_MARKS_IN_A_ROW:
                raise BadNicknameError(
                    f"Too many accents on one letter: at most {MAX_MARKS_IN_A_ROW}."
                )
        else:
            run = 0
            previous = c


def _is_visible_letter_or_digit(c: str) -> bool:
    return unicodedata.category(c)[0] in "LN" and ord(c) not in BLANK_LOOKING


def _skeleton(nickname: str, fold_first: bool) -> str:
    text = unicodedata.normalize("NFKD", nickname)
    text = "".join(c for c in text if ord(c) not in _VARIATION_SELECTORS)
    text = " ".join(text.split())
    text = text.casefold().translate(_TABLE) if fold_first else text.translate(_TABLE).casefold()
    return unicodedata.normalize("NFC", text)


def nickname_key(nickname: str) -> str:
    """The lookalike skeleton: NFKC (as NFKD), :data:`HOMOGLYPHS`, then casefold.

    ``"аlice"`` (Cyrillic а), ``"ALICE"`` and ``"ａｌｉｃｅ"`` give ``"alice"``; ``"Ian"``
    and ``"lan"`` both give ``"lan"`` (capital I draws like small l). Because the table
    comes first, ``"IVY"`` (``"lvy"``) and ``"ivy"`` differ here: :func:`nickname_fold`
    is the case-insensitive half. See the module docstring for the table's scope.
    """
    return _skeleton(nickname, fold_first=False)


def nickname_fold(nickname: str) -> str:
    """The case-insensitive skeleton: casefold first, then :data:`HOMOGLYPHS`.

    ``"IVY"`` and ``"ivy"`` give ``"ivy"``; ``"Ian"`` gives ``"ian"``, not ``"lan"``.
    """
    return _skeleton(nickname, fold_first=True)


def nickname_keys(nickname: str) -> tuple[str, str]:
    """``(nickname_key, nickname_fold)``: two nicknames collide when either pair is equal."""
    return nickname_key(nickname), nickname_fold(nickname)
