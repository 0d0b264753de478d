"""The host-side wheelhouse: platform tags, cache keys, and no second download for the same set."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from gym_core.errors import ImageError
from gym_core.images import wheelhouse
from gym_core.images.wheelhouse import ensure_wheels, has_requirements, wheel_platforms, wheelset_key


def _requirements(tmp_path: Path, text: str) -> Path:
    env = tmp_path / "environment"
    env.mkdir(exist_ok=True)
    path = env / "requirements.txt"
    path.write_text(text)
    return path


def test_platforms_cover_bookworm_glibc_down_to_manylinux2014() -> None:
    tags = wheel_platforms("x86_64")
    assert tags[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_28_x86_64" in tags
    assert tags.index("manylinux_2_17_x86_64") < tags.index("manylinux2014_x86_64")
    assert tags[-1] == "manylinux1_x86_64"
    arm = wheel_platforms("arm64")
    assert "manylinux2014_aarch64" in arm
    assert not any("manylinux1" in t for t in arm)


def test_comment_only_requirements_need_nothing(tmp_path: Path) -> None:
    assert not has_requirements(tmp_path / "missing.txt")
    assert not has_requirements(_requirements(tmp_path, "# nothing\n\n   # still nothing\n"))
    assert has_requirements(_requirements(tmp_path, "six  # small\n"))


def test_key_follows_every_requirement_file_and_the_target(tmp_path: Path) -> None:
    req = _requirements(tmp_path, "-c constraints.txt\nsix\n")
    (req.parent / "constraints.txt").write_text("six==1.16.0\n")
    platforms = wheel_platforms("x86_64")
    key = wheelset_key(req.parent, "3.11", platforms)
    assert key == wheelset_key(req.parent, "3.11", platforms)
    assert key != wheelset_key(req.parent, "3.12", platforms)
    assert key != wheelset_key(req.parent, "3.11", wheel_platforms("aarch64"))
    (req.parent / "constraints.txt").write_text("six==1.17.0\n")
    assert key != wheelset_key(req.parent, "3.11", platforms)


def test_a_complete_set_is_not_downloaded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_pip(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        dest = Path(command[command.index("--dest") + 1])
        (dest / "six-1.16.0-py2.py3-none-any.whl").write_bytes(b"wheel")
        return subprocess.CompletedProcess(command, 0, "Saved six-1.16.0-py2.py3-none-any.whl\n", "")

    monkeypatch.setattr(wheelhouse.subprocess, "run", fake_pip)
    req = _requirements(tmp_path, "six==1.16.0\n")
    home = tmp_path / "wheelhouse"
    first = ensure_wheels(req, python_version="3.11", wheelhouse=home)
    second = ensure_wheels(req, python_version="3.11", wheelhouse=home)
    assert len(calls) == 1
    assert first == second
    assert first.files == ("six-1.16.0-py2.py3-none-any.whl",)
    assert (first.path / first.files[0]).read_bytes() == b"wheel"
    command = calls[0]
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.11"
    assert "--platform" in command
    # No staging folder is left behind.
    assert sorted(p.name for p in home.iterdir()) == [first.key]


def test_pip_failure_names_the_file_and_the_missing_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_pip(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        stderr = "ERROR: Could not find a version that satisfies the requirement nope\nERROR: No matching distribution\n"
        return subprocess.CompletedProcess(command, 1, "", stderr)

    monkeypatch.setattr(wheelhouse.subprocess, "run", failing_pip)
    req = _requirements(tmp_path, "nope==1.0\n")
    home = tmp_path / "wheelhouse"
    with pytest.raises(ImageError) as info:
        ensure_wheels(req, python_version="3.11", wheelhouse=home, machine="x86_64")
    message = str(info.value)
    assert str(req) in message
    assert "satisfies the requirement nope" in message
    assert "CPython 3.11" in message and "x86_64" in message
    assert list(home.iterdir()) == []
