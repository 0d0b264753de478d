"""Redacting credentials from text rgym stores or serves.

An error can quote a URL with credentials in it (``OPENAI_BASE_URL=https://user:key@host/v1`` shows up in
the OpenAI client's connection errors) or a secret from the environment. :func:`redact` is the one function
that hides them: the trace store applies it to every error it records, and ``rgym serve`` to every text it
answers with (so traces recorded before it existed are covered too).

What is hidden:

* the user-info part of any ``scheme://user:password@host`` or ``scheme://token@host`` URL;
* the value of any environment variable of this process whose name says it is a secret (``*_API_KEY``,
  ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD``), when it is at least 8 characters long.
"""

from __future__ import annotations

import os
import re
from typing import Final

#: What a hidden credential becomes.
REDACTED: Final = "***"

# scheme://userinfo@ — userinfo stops at "/", whitespace, quotes and backslashes, so the pattern never runs
# past the end of a JSON string or across two URLs.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{1,30}://)([^/\s@\"'\\<>]+)@")
_SECRET_NAME = re.compile(r"(?i)(API_KEY|_TOKEN|_SECRET|PASSWORD)$")
_MIN_SECRET = 8


def _env_secrets() -> list[str]:
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET}
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with URL credentials and this process's secret environment values replaced by ``***``."""
    if not text:
        return text
    if "://" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    for secret in _env_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_optional(text: str | None) -> str | None:
    """:func:`redact` that passes None through."""
    return None if text is None else redact(text)
