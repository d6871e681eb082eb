"""Component data as compact JSON bytes: what the browser parses, without Streamlit's walk.

Handed a ``dict``, a Custom Components v2 mount walks it for data frames, serialises it
twice (once sorted, for the element's identity) and hashes both: for the plane's 60 KB
and a training run's 300 KB that was a large share of a rerun's server time. Handed
``bytes``, it hashes them once and sends them as they are; the browser receives a
``Uint8Array`` (each component's JS parses it with ``JSON.parse``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def json_payload(data: Mapping[str, Any], **raw: bytes) -> bytes:
    """``data`` as compact JSON (no NaN or infinity), with every ``raw`` key's value spliced
    in as it is: JSON serialised earlier and shared (e.g. a run's encoded frames)."""
    body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    if not raw:
        return body
    extra = b",".join(json.dumps(key).encode() + b":" + value for key, value in raw.items())
    return body[:-1] + (b"," if len(body) > 2 else b"") + extra + b"}"


def json_list(items: list[bytes]) -> bytes:
    """A JSON array of already-serialised JSON values."""
    return b"[" + b",".join(items) + b"]"


__all__ = ["json_list", "json_payload"]
