"""Room codes, secrets and the digests that stand for them in the database.

- Room codes: ``CODE_LENGTH`` characters of ``ALPHABET`` (uppercase, no 0/O/1/I);
  :func:`parse_code` reads one typed by hand or found in a link (case-insensitive).
- The teacher's key: a ``secrets.token_urlsafe`` string, stored as :func:`digest` (SHA-256
  hex) and compared with ``hmac.compare_digest`` (:func:`matches`).
- A student's token is their seat secret: the browser's own (a cookie, 16..200
  characters) or one drawn here. It is stored as :func:`seat_digest`, bound to the room,
  so one browser's seat in two rooms gives two unrelated digests.
- A client's address is stored only as :func:`address_digest`, an HMAC under the room's
  random salt: not the address, and not linkable across rooms. It is no strong secret (an
  IPv4 address can be found again from a leaked database by trying all 2^32 of them), so
  the store also keeps it only for the join interval (see ``RoomStore.join``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_SECRET_LENGTH = 200  # longer is no key or token of ours: refused before hashing
SEAT_MIN_LENGTH = 16  # a browser's seat secret: 16..MAX_SECRET_LENGTH characters


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def seat_digest(code: str, secret: str) -> str:
    """The stored form of a student's seat secret in room ``code``."""
    return digest(f"{code}\n{secret}")


def address_digest(salt: str, address: str) -> str:
    """The stored form of a client's address for the room whose salt is ``salt``."""
    key = salt.encode("ascii")
    return hmac.new(key, address.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def new_secret() -> str:
    """A teacher's key or a student's token: 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def is_secret(secret: object) -> bool:
    """Whether ``secret`` could be a key or a token of ours (checked before hashing)."""
    return isinstance(secret, str) and 0 < len(secret) <= MAX_SECRET_LENGTH


def is_seat(seat: object) -> bool:
    """Whether ``seat`` is an acceptable seat secret from a browser (16..200 characters)."""
    return isinstance(seat, str) and SEAT_MIN_LENGTH <= len(seat) <= MAX_SECRET_LENGTH


def matches(secret: object, stored_hash: str) -> bool:
    if not is_secret(secret):
        return False
    return hmac.compare_digest(digest(secret), stored_hash)


def parse_code(raw: object) -> str | None:
    """The room code ``raw`` stands for (trimmed, uppercased), or None if it is none."""
    if not isinstance(raw, str) or len(raw) > 4 * CODE_LENGTH:
        return None
    code = raw.strip().upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
