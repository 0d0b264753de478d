"""Sandboxes: where agents' and graders' commands run (docs/api.md, "Sandboxes").

Public API::

    from gym_core.sandbox import SandboxConfig, create_sandbox, default_backend
    with create_sandbox(default_backend(), SandboxConfig(workspace_src=task.workspace_dir)) as sb:
        print(sb.exec("ls").stdout)
"""

from __future__ import annotations

from gym_core.sandbox.base import (
    WORKSPACE,
    CopyReport,
    ExecResult,
    Limits,
    Mount,
    NetworkMode,
    Sandbox,
    SandboxConfig,
    SandboxRole,
    Usage,
)
from gym_core.sandbox.cleanup import reap_dead_leftovers
from gym_core.sandbox.registry import available_backends, create_sandbox, default_backend, sandbox

__all__ = [
    "WORKSPACE",
    "CopyReport",
    "ExecResult",
    "Limits",
    "Mount",
    "NetworkMode",
    "Sandbox",
    "SandboxConfig",
    "SandboxRole",
    "Usage",
    "available_backends",
    "create_sandbox",
    "default_backend",
    "reap_dead_leftovers",
    "sandbox",
]
