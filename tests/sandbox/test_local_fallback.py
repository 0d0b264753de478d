"""The local backend without bubblewrap: a plain subprocess with rlimits, and a warning that says so."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.errors import BackendUnavailableError
from gym_core.sandbox import Limits, Mount, SandboxConfig, local_backend
from gym_core.sandbox.local_backend import LocalSandbox, WeakIsolationWarning
from gym_core.settings import get_settings


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Pretend bubblewrap is missing; give the sandbox a data dir that nobody may traverse to."""
    monkeypatch.setattr(local_backend, "bubblewrap_usable", lambda: False)
    data = Path(tempfile.mkdtemp(prefix="rgym-fallback-", dir="/tmp"))
    data.chmod(0o711)
    monkeypatch.setenv("RGYM_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield data
    shutil.rmtree(data, ignore_errors=True)


def test_fallback_warns_and_keeps_the_contract(no_bwrap: Path) -> None:
    cfg = SandboxConfig(limits=Limits(memory_mb=256, pids=64, disk_mb=32))
    with pytest.warns(WeakIsolationWarning, match="isolation is weak"), LocalSandbox(cfg) as sb:
        assert not sb.isolated
        assert sb.exec("cd /tmp && export X=1", timeout_s=20).ok
        assert sb.exec("pwd; echo $X", timeout_s=20).stdout == "/tmp\n1\n"
        r = sb.exec("sleep 1000 & setsid sleep 1001 & sleep 1002", timeout_s=1)
        assert r.timed_out
        if os.geteuid() == 0:
            assert sb.exec("id -u", timeout_s=20).stdout.strip() == str(local_backend.NOBODY)
        sb.write_file("a/b.txt", "hi")
        assert sb.read_file("a/b.txt") == b"hi"
        assert sb.exec('cat "$RGYM_WS/a/b.txt"', timeout_s=20).stdout == "hi"


def test_fallback_refuses_mounts_it_cannot_make(no_bwrap: Path, tmp_path: Path) -> None:
    cfg = SandboxConfig(mounts=(Mount(tmp_path, "/eval"),))
    with pytest.raises(BackendUnavailableError, match="bubblewrap"):
        LocalSandbox(cfg).start()
