"""Host-side wheels for task images: pip inside a build has no index, so the host downloads for it.

Each distinct set of requirement files gets its own folder in the wheelhouse, named by a hash of the
files and the target platform, with a marker written last; a set that is complete is never downloaded
again, so a second build does not touch the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gym_core.errors import ImageError
from gym_core.images.docker_build import ProgressFn, no_progress
from gym_core.settings import get_settings

#: Written into a set's folder once every wheel is there.
MARKER = "rgym-wheelset.json"
#: Newest glibc minor covered: Debian bookworm ships glibc 2.36.
GLIBC_MINOR_MAX = 36
#: The oldest manylinux_2_x tag (manylinux2014 = manylinux_2_17).
GLIBC_MINOR_MIN = 17
#: Machine names as Python reports them -> as wheel tags spell them.
ARCH_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True)
class WheelSet:
    """The wheels one task's requirements need, in their own folder."""

    key: str
    path: Path
    files: tuple[str, ...]


def requirement_files(environment_dir: Path) -> list[Path]:
    """``requirements.txt`` plus every other ``*.txt`` beside it, which it may include with -r/-c."""
    return sorted(p for p in environment_dir.glob("*.txt") if p.is_file())


def has_requirements(requirements: Path) -> bool:
    """True when the file names at least one requirement (not only comments and blank lines)."""
    if not requirements.is_file():
        return False
    for raw in requirements.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.split("#", 1)[0].strip():
            return True
    return False


def wheel_arch(machine: str | None = None) -> str:
    """The architecture as wheel tags spell it (``x86_64``, ``aarch64``), default this machine's."""
    arch = (machine or platform.machine()).lower()
    return ARCH_ALIASES.get(arch, arch)


def wheel_platforms(machine: str | None = None) -> list[str]:
    """The manylinux platform tags the base image's glibc accepts, newest first."""
    arch = wheel_arch(machine)
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR_MAX, GLIBC_MINOR_MIN - 1, -1)]
    tags.append(f"manylinux2014_{arch}")
    if arch in {"x86_64", "i686"}:
        tags += [f"manylinux2010_{arch}", f"manylinux1_{arch}"]
    return tags


def wheelset_key(environment_dir: Path, python_version: str, platforms: list[str]) -> str:
    """A hash of the requirement files' names and bytes and of the target interpreter and platform."""
    digest = hashlib.sha256(f"py{python_version}\0{','.join(platforms)}\0".encode())
    for path in requirement_files(environment_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def ensure_wheels(
    requirements: Path,
    *,
    python_version: str,
    wheelhouse: Path | None = None,
    machine: str | None = None,
    progress: ProgressFn | None = None,
) -> WheelSet:
    """Download (once) every wheel ``requirements`` needs for CPython ``python_version`` on manylinux.

    Args:
        requirements: a task's ``environment/requirements.txt``; -r/-c paths are relative to it.
        python_version: ``"3.11"``, the interpreter of the base image.
        wheelhouse: default ``Settings.wheelhouse_dir``.
        machine: the architecture, default this machine's.
        progress: receives pip's output lines.

    Raises:
        ImageError: pip cannot find a wheel for some requirement, or cannot reach the index.
    """
    report = progress or no_progress
    platforms = wheel_platforms(machine)
    environment_dir = requirements.parent
    key = wheelset_key(environment_dir, python_version, platforms)
    home = wheelhouse or get_settings().wheelhouse_dir
    target = home / key
    if (target / MARKER).is_file():
        return _read_set(key, target)
    home.mkdir(parents=True, exist_ok=True)
    # Download into a private folder and rename it into place, so concurrent builds never see half a set.
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=home))
    try:
        _pip_download(requirements, staging, python_version, platforms, wheel_arch(machine), report)
        files = sorted(p.name for p in staging.iterdir() if p.is_file())
        (staging / MARKER).write_text(
            json.dumps(
                {"requirements": str(requirements), "python": python_version, "files": files}, indent=1
            )
        )
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / MARKER).is_file():
                raise
            # Someone else completed the same set first; theirs is identical.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _read_set(key, target)


def _read_set(key: str, folder: Path) -> WheelSet:
    meta = json.loads((folder / MARKER).read_text())
    return WheelSet(key=key, path=folder, files=tuple(meta["files"]))


def _pip_download(
    requirements: Path, dest: Path, python_version: str, platforms: list[str], arch: str, report: ProgressFn
) -> None:
    command = [
        sys.executable, "-m", "pip", "download",
        "--requirement", requirements.name,
        "--dest", str(dest),
        "--only-binary=:all:",
        "--python-version", python_version,
        "--implementation", "cp",
        "--no-input", "--progress-bar", "off", "--disable-pip-version-check",
    ]  # fmt: skip
    for tag in platforms:
        command += ["--platform", tag]
    report(f"downloading wheels for {requirements}")
    proc = subprocess.run(
        command,
        cwd=requirements.parent,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.strip():
            report(line)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR:")]
        reason = errors[0] if errors else (lines[-1] if lines else f"pip exited {proc.returncode}")
        raise ImageError(
            f"{requirements}: cannot download wheels: {reason}",
            hint=f"every requirement needs a wheel for CPython {python_version} on manylinux "
            f"{arch}; pin a version that ships one",
        )
