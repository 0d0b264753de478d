"""The local backend's isolation modes: bubblewrap, namespaces (root without bubblewrap), and weak.

Root runs every sandbox as its own uid; without bubblewrap the namespaces mode hides the task folders,
the data dir and the trace store; weak isolation needs an explicit opt-in.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.errors import BackendUnavailableError
from gym_core.sandbox import Limits, Mount, SandboxConfig, local_backend
from gym_core.sandbox.local_backend import Isolation, LocalSandbox, WeakIsolationWarning
from gym_core.sandbox.uids import processes_of, uid_range
from gym_core.settings import get_settings
from tests.sandbox.conftest import as_root

SMALL = Limits(memory_mb=256, pids=64, disk_mb=32)
FIXTURE_TASK = Path(__file__).resolve().parents[1] / "fixtures" / "tasks" / "tiny-mean"
root_only = pytest.mark.skipif(not as_root(), reason="per-sandbox uids and namespaces need root")


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend bubblewrap is not installed."""
    monkeypatch.setattr(local_backend, "bubblewrap_usable", lambda: False)


@pytest.fixture
def no_namespaces(monkeypatch: pytest.MonkeyPatch, no_bwrap: None) -> None:
    """Pretend neither bubblewrap nor unshare can make namespaces here (an unprivileged container)."""
    monkeypatch.setattr(local_backend, "namespaces_usable", lambda: False)


@pytest.fixture
def sandbox_of(tmp_path: Path) -> Iterator[list[LocalSandbox]]:
    made: list[LocalSandbox] = []
    yield made
    for sb in made:
        sb.stop()


def _start(made: list[LocalSandbox], **kw: object) -> LocalSandbox:
    sb = LocalSandbox(SandboxConfig(limits=SMALL, **kw))  # type: ignore[arg-type]
    made.append(sb)
    sb.start()
    return sb


@root_only
def test_each_sandbox_runs_as_its_own_uid(sandbox_of: list[LocalSandbox]) -> None:
    a, b = _start(sandbox_of), _start(sandbox_of)
    uid_a = int(a.exec("id -u", timeout_s=20).stdout)
    uid_b = int(b.exec("id -u", timeout_s=20).stdout)
    assert uid_a != uid_b and {uid_a, uid_b} <= set(uid_range())
    assert a.exec("whoami", timeout_s=20).stdout == "rgym\n"  # a passwd entry exists for it
    a.stop()
    assert processes_of(uid_a) == []


def test_bubblewrap_binds_only_what_commands_need(sandbox_of: list[LocalSandbox]) -> None:
    if not local_backend.bubblewrap_usable():
        pytest.skip("bubblewrap is not usable here")
    sb = _start(sandbox_of)
    assert sb.isolation == Isolation.BUBBLEWRAP
    r = sb.exec("ls /etc; ls /; ls /opt", timeout_s=20)
    etc = set(r.stdout.split())
    assert {"passwd", "ssl", "ld.so.cache"} <= etc
    for secret in ("pip.conf", "gitconfig", "environment", "shadow", "ssh", "docker", "postgresql"):
        assert secret not in etc
    assert "No such file" in r.stderr  # no /opt
    assert sb.exec("python3 -c 'import ssl, numpy'", timeout_s=60).ok


@root_only
def test_namespaces_mode_keeps_the_contract(no_bwrap: None, sandbox_of: list[LocalSandbox]) -> None:
    sb = _start(sandbox_of)
    assert sb.isolation == Isolation.NAMESPACES and sb.isolated
    assert sb.exec("pwd", timeout_s=20).stdout == "/workspace\n"
    assert sb.exec("cd /tmp && export X=1", timeout_s=20).ok
    assert sb.exec("pwd; echo $X", timeout_s=20).stdout == "/tmp\n1\n"
    r = sb.exec("sleep 1000 & setsid env -i sleep 1001 & sleep 1002", timeout_s=1)
    assert r.timed_out
    assert sb.leftover_processes() == []
    sb.write_file("a/b.txt", "hi")
    assert sb.read_file("a/b.txt") == b"hi"
    assert sb.exec('cat "$RGYM_WS/a/b.txt"', timeout_s=20).stdout == "hi"
    r = sb.exec("echo $$; ls /proc | grep -c '^[0-9]'; tail -n +3 /proc/net/dev | cut -d: -f1", timeout_s=20)
    _pid, count, *ifaces = r.stdout.split()
    assert int(count) < 10  # its own pid namespace: only its own few processes
    assert ifaces == ["lo"]
    status = sb.exec("grep -E '^(CapEff|NoNewPrivs):' /proc/self/status", timeout_s=20).stdout
    assert "CapEff:\t0000000000000000" in status and "NoNewPrivs:\t1" in status


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder anybody may read (pytest's own tmp folders are closed to other users, which would hide
    everything from the sandbox's uid whatever rgym does)."""
    folder = Path(tempfile.mkdtemp(prefix="rgym-test-open-", dir="/var/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@root_only
@pytest.mark.parametrize("isolation", ["bubblewrap", "namespaces"])
def test_an_isolated_command_sees_only_what_it_needs(
    isolation: str,
    sandbox_of: list[LocalSandbox],
    open_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Task folders (and the git history holding them), the data dir, the store, the rest of /etc, /opt and
    everything else of the host are simply not there, however readable they are on the host."""
    if isolation == "namespaces":
        monkeypatch.setattr(local_backend, "bubblewrap_usable", lambda: False)
    elif not local_backend.bubblewrap_usable():
        pytest.skip("bubblewrap is not usable here")
    tasks, data_dir, elsewhere = open_folder / "tasks", open_folder / "data", open_folder / "elsewhere"
    (tasks / "other" / "eval").mkdir(parents=True)
    (tasks / "other" / "eval" / "labels.csv").write_text("secret\n")
    data_dir.mkdir()
    elsewhere.mkdir()
    for folder in (tasks, tasks / "other", tasks / "other" / "eval", data_dir, elsewhere):
        folder.chmod(0o755)
    monkeypatch.setenv("RGYM_TASKS_PATH", str(tasks))
    monkeypatch.setenv("RGYM_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    store = elsewhere / "traces.db"
    db = sqlite3.connect(store)  # a store open anywhere, as the trace store is during a run
    db.execute("create table t (x)")
    db.commit()
    store.chmod(0o644)
    try:
        sb = _start(sandbox_of, workspace_src=FIXTURE_TASK / "workspace")
        assert sb.isolation == isolation
        for target in (
            tasks / "other" / "eval" / "labels.csv",
            FIXTURE_TASK / "eval" / "private.txt",
            FIXTURE_TASK / "task.yaml",
            FIXTURE_TASK.parents[2] / ".git",  # the repository: its history holds every task's eval/
            FIXTURE_TASK.parents[2] / "README.md",  # the checkout around the Python: only its .venv
            data_dir,
            store,
            Path("/etc/pip.conf"),
            Path("/opt"),
            Path("/root/.bashrc"),
        ):
            r = sb.exec(f"ls -d {target}", timeout_s=20)
            assert r.exit_code != 0 and "No such file" in r.stderr, target
        grade = FIXTURE_TASK / "eval" / "grade.py"
        before = grade.read_bytes()
        assert sb.exec(f"echo 'print(1)' >> {grade}", timeout_s=20).exit_code != 0
        assert grade.read_bytes() == before
        assert sqlite3.connect(store).execute("select count(*) from t").fetchone() == (0,)
        r = sb.exec(
            "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c RGYM_DATA_DIR", timeout_s=20
        )
        assert r.stdout == "0\n"  # rgym's own environment (API keys) is not readable
        r = sb.exec("python3 -c 'import numpy, ssl; print(1)'; whoami; ls /etc | wc -l", timeout_s=60)
        assert r.stdout.split()[:2] == ["1", "rgym"] and int(r.stdout.split()[2]) < 40
    finally:
        db.close()


@root_only
def test_namespaces_mode_mounts_eval_read_only_for_the_grader(
    no_bwrap: None, sandbox_of: list[LocalSandbox], open_folder: Path
) -> None:
    eval_dir = open_folder / "eval"
    eval_dir.mkdir()
    (eval_dir / "labels.csv").write_text("42\n")
    eval_dir.chmod(0o755)
    grader = _start(sandbox_of, mounts=(Mount(eval_dir, "/eval"),))
    assert grader.exec("cat /eval/labels.csv", timeout_s=20).stdout == "42\n"
    assert grader.exec("touch /eval/x", timeout_s=20).exit_code != 0
    agent = _start(sandbox_of)
    assert agent.exec("ls /eval", timeout_s=20).exit_code != 0


@root_only
def test_without_namespaces_weak_isolation_needs_the_opt_in(
    no_namespaces: None, sandbox_of: list[LocalSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BackendUnavailableError, match="allow-weak-isolation"):
        _start(sandbox_of)
    monkeypatch.setenv("RGYM_ALLOW_WEAK_ISOLATION", "1")
    get_settings.cache_clear()
    with pytest.warns(WeakIsolationWarning, match="isolation is weak"):
        sb = _start(sandbox_of)
    assert sb.isolation == Isolation.WEAK
    assert int(sb.exec("id -u", timeout_s=20).stdout) in uid_range()
    assert "NoNewPrivs:\t1" in sb.exec("grep NoNewPrivs /proc/self/status", timeout_s=20).stdout
    assert sb.exec("(setsid env -i sleep 1000 >/dev/null 2>&1 &); echo ok", timeout_s=20).stdout == "ok\n"
    assert sb.leftover_processes() == []  # its uid is swept, escaped jobs too


@root_only
def test_namespaces_mode_refuses_a_submission_runner(
    no_bwrap: None, sandbox_of: list[LocalSandbox], open_folder: Path
) -> None:
    """Without bubblewrap the grader's commands have no privilege left to run code apart from /eval."""
    eval_dir = open_folder / "eval"
    eval_dir.mkdir()
    with pytest.raises(BackendUnavailableError, match="without bubblewrap") as info:
        _start(sandbox_of, mounts=(Mount(eval_dir, "/eval"),), submission_runner=True)
    assert "\n" not in str(info.value)
    assert sandbox_of[0].runner_prefix is None and sandbox_of[0].uid is None
    grader = _start(sandbox_of, mounts=(Mount(eval_dir, "/eval"),))  # a files grader still starts
    assert grader.isolation == Isolation.NAMESPACES and grader.runner_prefix is None


def test_sandbox_uids_never_hold_nobody_or_users(monkeypatch: pytest.MonkeyPatch) -> None:
    from gym_core.errors import ConfigError
    from gym_core.sandbox.submission_runner import RUNNER_UID

    assert RUNNER_UID not in uid_range() and 0 not in uid_range()
    for base in ("0", "1000", str(RUNNER_UID - 10), str(2**32 - 100)):
        monkeypatch.setenv("RGYM_SANDBOX_UID_BASE", base)
        get_settings.cache_clear()
        with pytest.raises(ConfigError, match="RGYM_SANDBOX_UID_BASE"):
            uid_range()
    monkeypatch.setenv("RGYM_SANDBOX_UID_BASE", "65536")
    get_settings.cache_clear()
    assert RUNNER_UID not in uid_range()
    get_settings.cache_clear()


def test_without_bubblewrap_mounts_are_refused(
    no_namespaces: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RGYM_ALLOW_WEAK_ISOLATION", "1")
    get_settings.cache_clear()
    with pytest.raises(BackendUnavailableError, match="bubblewrap"):
        LocalSandbox(SandboxConfig(mounts=(Mount(tmp_path, "/eval"),))).start()


def test_python_of_a_checkout_under_tmp_stays_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI clones may live under /tmp; the sandbox's own /tmp must not hide their venv."""
    import sys

    if not local_backend.bubblewrap_usable():
        pytest.skip("bubblewrap is not usable here")
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


_ = os
