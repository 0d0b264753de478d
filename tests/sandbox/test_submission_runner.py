"""The runner prefixes (gym_core.sandbox.submission_runner), as argv: what they keep and what they drop.

Their isolation is tested for real, against a hostile policy, in tests/grading/test_code_submission.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gym_core.errors import SandboxError
from gym_core.sandbox import submission_runner as sr

OUTER = [
    "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
    "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev",
    "--bind", "/host/scratch/ws", "/workspace", "--bind", "/host/scratch/tmp", "/tmp",
    "--perms", "0755", "--dir", "/opt/py", "--ro-bind", "/opt/py/venv", "/opt/py/venv",
    "--ro-bind", "/host/task/eval", "/eval", "--ro-bind", "/host/sub", "/submission",
    "--ro-bind-try", "/host/etc/hosts", "/etc/hosts", "--file", "11", "/etc/passwd",
    "--perms", "0700", "--tmpfs", "/run/x",
    "--setenv", "SECRET", "value", "--chdir", "/workspace", "--", "bash", "-c", "true",
]  # fmt: skip


def _nested(**kw: object) -> list[str]:
    args: dict[str, object] = {
        "hidden": ["/eval", "/submission", "/workspace", "/tmp"],
        "shared": ["/submission"],
        "env": {"PATH": "/usr/bin"},
        "proc": True,
    }
    args.update(kw)
    return sr.nested_bwrap_prefix(OUTER, **args)  # type: ignore[arg-type]


def test_nested_bwrap_keeps_the_read_only_system_view_and_adds_the_shared_mounts() -> None:
    argv = _nested()
    assert argv[-1] == "--"
    start = argv.index("env")
    assert argv[start : start + 2] == ["env", "-i"]  # bwrap's own /proc entry must not hold the grader's env
    assert {"--unshare-all", "--as-pid-1", "--die-with-parent", "--new-session", "--clearenv"} <= set(argv)
    triples = {tuple(argv[i : i + 3]) for i in range(len(argv) - 2)}
    for kept in (
        ("--ro-bind", "/usr", "/usr"),
        ("--symlink", "usr/bin", "/bin"),
        ("--ro-bind", "/opt/py/venv", "/opt/py/venv"),
        ("--ro-bind-try", "/etc/hosts", "/etc/hosts"),  # re-bound from where the outer sandbox shows it
        ("--ro-bind", "/etc/passwd", "/etc/passwd"),  # a file bwrap wrote: visible, read-only
        ("--ro-bind", "/submission", "/submission"),
        ("--tmpfs", "/tmp", "--ro-bind"),  # a fresh /tmp, and then the shared mounts
    ):
        assert kept in triples, kept
    assert ("--perms", "0755", "--dir") in triples
    assert argv[argv.index("--proc") : argv.index("--proc") + 2] == ["--proc", "/proc"]


def test_nested_bwrap_drops_private_and_writable_mounts_and_the_outer_environment() -> None:
    argv = _nested()
    joined = " ".join(argv)
    for gone in ("/eval", "/workspace", "/host/", "SECRET", "/run/x", "0700", "--chdir", "--bind "):
        assert gone not in joined, gone
    assert argv.count("/tmp") == 1  # only the fresh tmpfs


def test_nested_bwrap_without_proc_when_the_kernel_refuses_one() -> None:
    assert "--proc" not in _nested(proc=False)


def test_nested_bwrap_refuses_an_option_it_does_not_know() -> None:
    with pytest.raises(SandboxError, match="--new-flag"):
        sr.nested_bwrap_prefix(
            ["bwrap", "--new-flag", "x", "--", "true"], hidden=[], shared=[], env={}, proc=True
        )


def test_first_working_prefix_or_the_last_reason() -> None:
    calls: list[list[str]] = []

    def starts(prefix: list[str]) -> str | None:
        calls.append(prefix)
        return None if prefix == ["b"] else f"{prefix[0]} failed"

    assert sr.first_working([["a"], ["b"], ["c"]], starts) == (("b",), "")
    assert calls == [["a"], ["b"]]
    assert sr.first_working([["a"]], starts) == (None, "a failed")


def test_docker_prefix_drops_everything() -> None:
    argv = sr.docker_prefix(65534)
    setpriv = argv[argv.index("setpriv") :]
    for flag in (
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ):
        assert flag in setpriv
    assert "--no-new-privs" in setpriv
    assert argv[argv.index("env") + 1] == "-i"
    assert argv[:7] == ("choom", "-n", "1000", "--", "nice", "-n", "10")


def test_the_runner_never_shares_the_host_users_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host user owns the private copy of /eval, so a runner with its uid could read it."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert sr.runner_uid() == sr.RUNNER_UID
    monkeypatch.setattr(os, "geteuid", lambda: sr.RUNNER_UID)
    assert sr.runner_uid() not in (sr.RUNNER_UID, 0)


def test_private_copy_is_closed_to_others_and_leaves_the_source_alone(tmp_path: Path) -> None:
    source = tmp_path / "eval"
    (source / "sub").mkdir(parents=True)
    (source / "labels.csv").write_text("secret")
    (source / "link").symlink_to("labels.csv")
    source.chmod(0o755)
    copy = sr.private_copy(source, tmp_path / "copy")
    assert copy.stat().st_mode & 0o777 == 0o700
    assert (copy / "labels.csv").read_text() == "secret" and (copy / "link").is_symlink()
    assert (copy / "labels.csv").stat().st_ino != (source / "labels.csv").stat().st_ino  # a copy, not a link
    assert source.stat().st_mode & 0o777 == 0o755
    single = sr.private_copy(source / "labels.csv", tmp_path / "one.csv")
    assert single.stat().st_mode & 0o777 == 0o600
