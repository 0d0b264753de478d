"""Short, time-sortable ids for runs and episodes.

An id is 26 characters of Crockford base32, like a ULID: 48 bits of milliseconds since the epoch, then
80 random bits. Ids sort by creation time, and any unique prefix names one row (``rgym replay 01J9``).
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TIME_CHARS = 10
_RANDOM_CHARS = 16


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(now_ms: int | None = None) -> str:
    """A new 26-character id: time prefix, then randomness."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _encode(ms, _TIME_CHARS) + _encode(secrets.randbits(80), _RANDOM_CHARS)


def normalize_prefix(prefix: str) -> str:
    """Upper-case a user-typed id prefix and map the letters Crockford base32 reads as digits."""
    cleaned = prefix.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    return cleaned


def is_valid_prefix(prefix: str) -> bool:
    """Whether a normalized prefix could start an id."""
    return 0 < len(prefix) <= _TIME_CHARS + _RANDOM_CHARS and all(c in _ALPHABET for c in prefix)
