"""Who is at the other end of a session: this browser's seat secret, its teacher keys, its address.

A Streamlit session lives in one server process's memory and ends with a reload, a
closed tab, a server restart or a worker that died. What must outlive it lives in the
browser, as cookies the server reads when a session opens (``st.context.cookies``) and
the ``cookies`` element (``assets/cookies.js``) writes:

- ``lossviz_seat``: a random secret of this browser (``secrets.token_urlsafe(24)``). A
  class-quiz seat is bound to ``seat_for(code)``, a digest of the secret and the room
  code, so one browser holds one seat per room, the same after a reload or a restart,
  and its seats in two rooms cannot be linked.
- ``lossviz_key_<CODE>``: the teacher's key of room CODE, kept by the browser that opened
  the room (or opened the teacher's link once), so the teacher's and the projector's
  addresses carry no secret.

Cookies are ``SameSite=Strict``, ``Secure`` on https, and readable by the page's scripts
(the element writes them; Streamlit has no way to send a ``Set-Cookie``). Only values of
URL-safe characters are read back (anything else is as good as no cookie).

The client's address (:func:`client_address`) is the websocket peer's. When that peer is
this machine and the app runs behind a proxy of ours (``LOSSVIZ_BEHIND_PROXY=1``, which
``make serve`` sets for workers behind its nginx), it is the last ``X-Forwarded-For``
entry, the one nginx adds; likewise when the peer is one of ``LOSSVIZ_TRUSTED_PROXIES``
(a balancer on another machine, by address). An earlier entry, or the header when no proxy
of ours is in front (``make run``: a local program could write it), is never trusted.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets

import streamlit as st

from lossviz.ui.components.component import asset_component
from lossviz.ui.components.wire import json_payload

SEAT_COOKIE = "lossviz_seat"
KEY_COOKIE_PREFIX = "lossviz_key_"
BEHIND_PROXY_ENV = "LOSSVIZ_BEHIND_PROXY"  # deploy.serve sets it for workers behind nginx
TRUSTED_PROXIES_ENV = "LOSSVIZ_TRUSTED_PROXIES"  # a balancer on another machine
SEAT_KEY = "identity.seat"  # session state: this browser's seat secret
KEYS_KEY = "identity.keys"  # session state: room code -> teacher key
SEAT_MAX_AGE_S = 30 * 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,200}")
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")

_mount = asset_component("cookies")


def _valid(value: object) -> str | None:
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else None


def _cookie(name: str) -> str | None:
    try:
        return _valid(st.context.cookies.get(name))
    except (AttributeError, RuntimeError):  # no request behind this run (a bare script)
        return None


def seat_secret() -> str:
    """This browser's seat secret: the session's, else its cookie's, else a new one."""
    state = st.session_state
    if SEAT_KEY not in state:
        state[SEAT_KEY] = _cookie(SEAT_COOKIE) or secrets.token_urlsafe(24)
    return state[SEAT_KEY]


def seat_for(code: str) -> str:
    """The seat token of this browser in room ``code`` (a hex digest: 64 characters)."""
    return hashlib.sha256(f"{seat_secret()}:{code}".encode()).hexdigest()


def teacher_key(code: str) -> str | None:
    """The teacher's key of room ``code`` that this browser holds, if any."""
    keys = st.session_state.setdefault(KEYS_KEY, {})
    if code not in keys and (found := _cookie(KEY_COOKIE_PREFIX + code)) is not None:
        keys[code] = found
    return keys.get(code)


def keep_teacher_key(code: str, key: str) -> None:
    """Remember ``key`` for room ``code`` in this session (and, via :func:`keep`, the browser)."""
    if _valid(key) and _NAME.fullmatch(code):
        st.session_state.setdefault(KEYS_KEY, {})[code] = key


def forget_teacher_key(code: str) -> None:
    st.session_state.setdefault(KEYS_KEY, {}).pop(code, None)


def _cookie_path() -> str:
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else "/"


def keep(key_max_age_s: float) -> None:
    """Mount the element that writes this session's cookies into the browser.

    The seat secret (kept 30 days) and each teacher key held (kept ``key_max_age_s``, a
    room's lifetime). Call once per run of a page that uses them; it draws nothing.
    """
    path = _cookie_path()
    cookies = [{"name": SEAT_COOKIE, "value": seat_secret(), "max_age": SEAT_MAX_AGE_S,
                "path": path}]  # fmt: skip
    for code, key in sorted(st.session_state.get(KEYS_KEY, {}).items()):
        cookies.append({"name": KEY_COOKIE_PREFIX + code, "value": key,
                        "max_age": int(key_max_age_s), "path": path})  # fmt: skip
    _mount(key="identity.cookies", data=json_payload({"cookies": cookies}), height="content")


def _trusted_proxies() -> frozenset[str]:
    """Addresses of proxies of ours on other machines (``LOSSVIZ_TRUSTED_PROXIES``, commas)."""
    raw = os.environ.get(TRUSTED_PROXIES_ENV, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def client_address() -> str:
    """The client's network address as far as this server can tell (see the module)."""
    peer = st.context.ip_address  # None for this machine (127.0.0.1 or ::1)
    local_proxy = peer is None and os.environ.get(BEHIND_PROXY_ENV, "").strip() == "1"
    if local_proxy or (peer is not None and peer in _trusted_proxies()):
        forwarded = st.context.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return peer if peer is not None else "this machine"


__all__ = ["client_address", "forget_teacher_key", "keep", "keep_teacher_key", "seat_for",
           "seat_secret", "teacher_key"]  # fmt: skip
