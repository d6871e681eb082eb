"""Nicknames: blank-looking, invisible and stacked characters refused with a reason, and
lookalikes (Cyrillic, Greek, fullwidth, digits) taken when the look-alike is in the room."""

from __future__ import annotations

import unicodedata

import pytest

from lossviz.rooms import (
    HOMOGLYPHS,
    BadNicknameError,
    NicknameTakenError,
    clean_nickname,
    nickname_fold,
    nickname_key,
    nickname_keys,
)
from tests.rooms_support import KEY, SETTINGS, store_at


@pytest.mark.parametrize(
    ("nickname", "reason"),
    [
        ("\u2800", "looks blank"),  # Braille pattern blank
        ("\u2800\u2800ada", "looks blank"),
        ("\u3164", "looks blank"),  # Hangul filler
        ("ada\u3164", "looks blank"),
        ("\u115f\u1160", "looks blank"),  # Hangul choseong / jungseong fillers
        ("\uffa0", "looks blank"),  # halfwidth Hangul filler
        ("a\u034fb", "looks blank"),  # combining grapheme joiner
        ("\u0301\u0301\u0301", "accent"),  # combining marks only
        ("\u0301", "accent"),
        ("ada \u0301", "accent"),  # a mark after a space sits on nothing
        ("\ufe0f", "accent"),  # a lone variation selector
        ("Z\u0351\u036b\u0343\u036a\u0302", "Too many accents"),  # zalgo
        ("a\u0301\u0302\u0303", "Too many accents"),  # 3 marks, even though NFC folds one
        ("😀🎉", "letter or digit"),
        ("!!!", "letter or digit"),
        ("\u00a0\u3000", "Type a nickname"),  # spaces only: empty once trimmed
        ("zero\u200bwidth", "invisible"),
        ("\u202egnp.exe", "invisible"),
    ],
)
def test_invisible_and_blank_looking_nicknames_are_refused_with_a_reason(nickname, reason):
    with pytest.raises(BadNicknameError, match=reason):
        clean_nickname(nickname)


@pytest.mark.parametrize(
    "nickname",
    ["ada", "Nguyễn", "Zoë", "José", "क्षत्रिय", "山田　太郎", "김민준", "Ωmega", "ada 😀🎉",
     "#️⃣ 5", "❤️ ada", "Ⅻ", "7", "O'Brien-Smith", "e\u0301"],
)  # fmt: skip
def test_ordinary_nicknames_of_many_scripts_are_kept(nickname):
    assert clean_nickname(nickname) == unicodedata.normalize("NFC", nickname)


@pytest.mark.parametrize(
    ("first", "lookalike"),
    [
        ("alice", "\u0430lice"),  # Cyrillic а
        ("alice", "ΑLICE"),  # Greek capital alpha
        ("alice", "ａｌｉｃｅ"),  # fullwidth, through NFKC
        ("bob", "B0B"),  # zero for O
        ("Ian", "lan"),  # capital I and small l
        ("lil", "1i|"),
        ("paul", "раul"),  # Cyrillic р and а
        ("Ada", "ADA"),  # case
        ("Ada", "ada\ufe0f"),  # a variation selector draws nothing here
        ("ada lovelace", "ada   lovelace"),  # runs of spaces
        ("ada lovelace", "ada\u3000lovelace"),  # ideographic space
        ("Ёлка", "ëлка"),  # Cyrillic ё and Latin ë, an accent on a lookalike
        ("x-y", "x\u2013y"),  # en dash
        ("IVY", "ivy"),  # the table sends I to l, the fold keeps the pair equal anyway
    ],
)
def test_lookalike_nicknames_have_a_common_key(first, lookalike):
    (key, fold), (other_key, other_fold) = nickname_keys(first), nickname_keys(lookalike)
    assert key == other_key or fold == other_fold  # the store's rule for "taken"


@pytest.mark.parametrize(("one", "other"), [("Ella", "Elia"), ("ada", "adam"), ("kim", "tim")])
def test_different_nicknames_have_different_keys(one, other):
    assert nickname_key(one) != nickname_key(other)
    assert nickname_fold(one) != nickname_fold(other)


def test_the_keys_are_the_documented_skeletons():
    assert nickname_key("\u0430lice") == nickname_fold("\u0430lice") == "alice"
    assert nickname_key("Ian") == "lan" and nickname_fold("Ian") == "ian"
    assert all(len(k) == 1 for k in HOMOGLYPHS)


@pytest.mark.parametrize(
    ("taken", "lookalike"),
    [("alice", "\u0430lice"), ("\u0430lice", "alice"), ("Ian", "lan"), ("IVY", "ivy"),
     ("bob", "B0B"), ("Ada", "ａｄａ")],
)  # fmt: skip
def test_a_lookalike_of_a_nickname_in_the_room_is_taken(db, taken, lookalike):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    store.join(room.code, taken)
    with pytest.raises(NicknameTakenError, match="looks the same"):
        store.join(room.code, lookalike)
    other, _ = store.create_room(SETTINGS, KEY)
    assert store.join(other.code, lookalike).nickname == lookalike  # another room: fine
    assert store.results(room.code, secret).joined == 1


def test_near_names_that_do_not_look_alike_both_join(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    for name in ("Ella", "Elia", "ada", "adam", "Zoe", "Zoë"):
        store.join(room.code, name)
    assert store.results(room.code, secret).joined == 6


@pytest.mark.parametrize("nickname", ["\u2800", "\u3164", "\u0301\u0301", "Z\u0351\u036b\u0343"])
def test_the_store_refuses_blank_and_zalgo_nicknames(db, nickname):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    with pytest.raises(BadNicknameError):
        store.join(room.code, nickname)
    assert store.results(room.code, secret).joined == 0
