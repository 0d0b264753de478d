"""The per-episode artifact quota: how many bytes of full texts and snapshots one episode may add to the store.

An agent controls what it writes (``write_file`` content) and what its workspace holds (snapshots at each
evaluation), so without a bound one episode could fill the trace store. Each episode gets an
:class:`ArtifactQuota` (``RGYM_EPISODE_ARTIFACT_QUOTA_MB``, see :mod:`gym_core.settings`). What does not fit
is never dropped silently: the step keeps its inline (capped) copy and a flag saying what was not kept.
"""

from __future__ import annotations

import threading

MIB = 1024 * 1024


class ArtifactQuota:
    """Bytes an episode may still add to the store as artifacts. Thread-safe."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = max(0, int(limit_bytes))
        self.used_bytes = 0
        self._lock = threading.Lock()

    @classmethod
    def unlimited(cls) -> ArtifactQuota:
        """A quota that never runs out (a store written outside an episode, tests)."""
        return cls(1 << 62)

    @property
    def left_bytes(self) -> int:
        """Bytes still allowed (0 when spent)."""
        return max(0, self.limit_bytes - self.used_bytes)

    def take(self, nbytes: int) -> bool:
        """Reserve ``nbytes`` if they fit; False (nothing reserved) when they do not."""
        with self._lock:
            if self.used_bytes + nbytes > self.limit_bytes:
                return False
            self.used_bytes += nbytes
            return True

    def charge(self, nbytes: int) -> None:
        """Count ``nbytes`` already stored (a snapshot sized before it was known to fit)."""
        with self._lock:
            self.used_bytes += max(0, nbytes)

    def describe(self) -> str:
        """The quota in words, for markers and flags."""
        return f"the episode's artifact quota of {self.limit_bytes / MIB:g} MiB"
