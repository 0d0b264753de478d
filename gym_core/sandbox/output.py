"""Capped capture of a command's output streams.

A hostile command may print gigabytes. We keep the first ``cap`` bytes of each stream, count the rest and
drop it, so a flood neither blocks the pipe (the reader keeps draining) nor eats the host's memory.
"""

from __future__ import annotations

import threading


class CappedBuffer:
    """Bytes kept up to a cap, plus a count of everything seen. Safe to feed from one reader thread."""

    def __init__(self, cap: int) -> None:
        self.cap = max(0, cap)
        self.total = 0
        self._chunks: list[bytes] = []
        self._kept = 0
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        """Account for ``data``; keep what still fits under the cap."""
        with self._lock:
            self.total += len(data)
            room = self.cap - self._kept
            if room > 0:
                piece = data[:room]
                self._chunks.append(piece)
                self._kept += len(piece)

    @property
    def truncated(self) -> bool:
        """True when bytes were dropped."""
        return self.total > self._kept

    def getvalue(self) -> bytes:
        """The bytes kept."""
        with self._lock:
            return b"".join(self._chunks)


def decode_output(data: bytes) -> str:
    """Decode command output for humans and models: UTF-8, invalid bytes replaced, never an exception.

    A cut in the middle of a multi-byte character (at the cap) also ends up as one replacement char.
    """
    return data.decode("utf-8", errors="replace")
