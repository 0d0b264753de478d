"""A machine-wide lock per image, so parallel runs never build the same image twice at once."""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs


def lock_dir() -> Path:
    """Where the lock files live: the user cache, shared by every process of this user."""
    return Path(platformdirs.user_cache_dir("rgym", appauthor=False)) / "locks"


@contextmanager
def image_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock named after an image tag until the block ends.

    The lock is an ``flock`` on a file, so the kernel releases it when a holder dies.
    """
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".lock")
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
