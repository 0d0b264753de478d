"""The labels every rgym container carries, so `rgym gc` can tell whose it is and whether its owner lives."""

from __future__ import annotations

import os
import socket

from gym_core.sandbox.base import LABEL_HOST, LABEL_MANAGED, LABEL_PID, LABEL_ROLE, SandboxConfig


def sandbox_labels(config: SandboxConfig) -> dict[str, str]:
    """``rgym.managed=1``, the creating process (pid, host), the role, plus the caller's run/episode labels."""
    return {
        **config.labels,
        LABEL_MANAGED: "1",
        LABEL_PID: str(os.getpid()),
        LABEL_HOST: socket.gethostname(),
        LABEL_ROLE: config.role,
    }
