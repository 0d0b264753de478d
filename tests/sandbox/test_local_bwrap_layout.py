"""The bubblewrap mount list: the order of binds decides what the agent sees."""

from __future__ import annotations

import sys

import pytest

from gym_core.sandbox.base import SandboxConfig
from gym_core.sandbox.local_backend import LocalSandbox


def test_python_of_a_checkout_under_tmp_stays_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI clones may live under /tmp; the sandbox's own /tmp must not hide their venv."""
    sb = LocalSandbox(SandboxConfig())
    sb.start()
    try:
        monkeypatch.setattr(sys, "prefix", "/tmp/ci-clone/.venv")
        argv = sb._bwrap_argv(["true"], "/workspace", {})
    finally:
        monkeypatch.undo()
        sb.stop()
    binds = [
        (argv[i], argv[i + 1], argv[i + 2])
        for i in range(len(argv) - 2)
        if argv[i] in ("--bind", "--ro-bind")
    ]
    targets = [target for _, _, target in binds]
    assert targets.index("/tmp/ci-clone/.venv") > targets.index("/tmp")
    assert ("--ro-bind", "/tmp/ci-clone/.venv", "/tmp/ci-clone/.venv") in binds
