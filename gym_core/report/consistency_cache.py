"""The key under which a run's method consistency is cached in the trace store.

Method consistency restores and diffs the final workspace of every successful attempt, then compares
every pair: seconds to minutes for a large run. The value depends only on which attempts are compared
(each with its final snapshot), on the task's initial workspace, and on the algorithm. :func:`cache_key`
hashes exactly those, so the cached value (``TraceStore.get_run_consistency``) is used while they are
unchanged and computed again as soon as one is not: a new successful attempt, a resumed one, a changed
task, or a new version of the algorithm.

The algorithm's version is :data:`ALGORITHM_VERSION` together with a digest of the source of the modules
that decide what a workspace diff holds and how diffs are compared (:data:`ALGORITHM_MODULES`), so
changing either recomputes every cached value without anyone having to remember to bump a number.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from collections.abc import Iterable
from pathlib import Path

ALGORITHM_VERSION = 1
"""Bump to recompute every cached value when the meaning changes outside :data:`ALGORITHM_MODULES`."""

ALGORITHM_MODULES = (
    "gym_core.scoring.consistency",
    "gym_core.scoring.method_code",
    "gym_core.report.store_loader",
)
"""The modules whose source is part of the algorithm's version."""


@functools.cache
def algorithm_version() -> str:
    """:data:`ALGORITHM_VERSION` and the digest of the source of :data:`ALGORITHM_MODULES`."""
    digest = hashlib.sha256(str(ALGORITHM_VERSION).encode())
    for name in ALGORITHM_MODULES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            digest.update(Path(origin).read_bytes() if origin else name.encode())
        except OSError:  # no source shipped (a zipped install): the module's name stands in
            digest.update(name.encode())
    return f"{ALGORITHM_VERSION}:{digest.hexdigest()[:16]}"


def cache_key(task_checksum: str, compared: Iterable[tuple[str, ...]]) -> str:
    """The sha256 of what a run's method consistency is computed from.

    Args:
        task_checksum: the checksum of the task whose initial workspace the diffs start from.
        compared: per attempt that gets a workspace diff, the strings that decide its part (its episode
            id, status, origin, final snapshot digest and whether that snapshot is truncated).
    """
    payload = json.dumps([algorithm_version(), task_checksum, sorted(compared)], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
