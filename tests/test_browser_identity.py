"""Who is at the other end: the client's address (trusting X-Forwarded-For only behind our
proxy) and the seat a browser's secret gives in a room."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from lossviz.ui import browser_identity as identity


def context(ip: str | None, forwarded: str | None = None) -> SimpleNamespace:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return SimpleNamespace(ip_address=ip, headers=headers, cookies={})


@pytest.fixture
def fake_st(monkeypatch):
    fake = SimpleNamespace(context=context(None), session_state={})
    monkeypatch.setattr(identity, "st", fake)
    return fake


@pytest.mark.parametrize(
    ("ip", "forwarded", "behind", "expected"),
    [
        ("192.168.1.20", None, False, "192.168.1.20"),  # a LAN student, straight in
        ("192.168.1.20", "6.6.6.6", True, "192.168.1.20"),  # the peer is no proxy of ours
        (None, None, False, "this machine"),
        (None, "6.6.6.6", False, "this machine"),  # make run: a local program wrote it
        (None, "6.6.6.6, 10.0.0.7", True, "10.0.0.7"),  # nginx added the last entry
        (None, "10.0.0.7", True, "10.0.0.7"),
        (None, "", True, "this machine"),
        ("10.0.0.2", "6.6.6.6, 10.0.0.7", "10.0.0.2", "10.0.0.7"),  # a trusted balancer
        ("10.0.0.3", "6.6.6.6, 10.0.0.7", "10.0.0.2", "10.0.0.3"),  # not that one
    ],
)  # fmt: skip
def test_the_client_address(fake_st, monkeypatch, ip, forwarded, behind, expected):
    fake_st.context = context(ip, forwarded)
    monkeypatch.delenv(identity.BEHIND_PROXY_ENV, raising=False)
    monkeypatch.delenv(identity.TRUSTED_PROXIES_ENV, raising=False)
    if behind is True:
        monkeypatch.setenv(identity.BEHIND_PROXY_ENV, "1")
    elif behind:
        monkeypatch.setenv(identity.TRUSTED_PROXIES_ENV, f" {behind} , 192.0.2.1")
    assert identity.client_address() == expected


def test_a_seat_is_the_browsers_secret_and_the_room(fake_st):
    fake_st.session_state[identity.SEAT_KEY] = "s" * 32
    seat = identity.seat_for("ABCDEF")
    assert seat == hashlib.sha256(("s" * 32 + ":ABCDEF").encode()).hexdigest()
    assert identity.seat_for("GHJKLM") != seat  # two rooms' seats cannot be linked


@pytest.mark.parametrize("cookie", [None, "short", "x" * 201, "bad value;", "ok" * 12])
def test_only_a_well_formed_cookie_is_read_back(fake_st, cookie):
    fake_st.context.cookies = {} if cookie is None else {identity.SEAT_COOKIE: cookie}
    secret = identity.seat_secret()
    assert (secret == cookie) == (cookie == "ok" * 12)
    assert len(secret) >= 16
