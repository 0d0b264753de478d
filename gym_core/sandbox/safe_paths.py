"""Path rules for everything that crosses the sandbox boundary.

Paths an agent (or a task) hands us are resolved *lexically* against /workspace, before anything touches a
filesystem: ``..`` that climbs out, NUL bytes and absolute paths elsewhere are refused. Symlinks are checked
where the file lives (inside the sandbox, as the agent user), and submissions come out as a tar stream that
is unpacked here with a strict filter: regular files and folders only, never a link, a device or a name
outside the destination.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gym_core.errors import SandboxPathError
from gym_core.sandbox.base import WORKSPACE, CopyReport


def workspace_relpath(path: str) -> str:
    """Normalise ``path`` to a path relative to /workspace, or refuse it.

    Args:
        path: relative to /workspace, or absolute but inside /workspace.

    Returns:
        The normalised relative path (``"."`` for /workspace itself).

    Raises:
        SandboxPathError: the path is empty, contains NUL, or leaves /workspace.
    """
    if not path or "\x00" in path:
        raise SandboxPathError(f"{path!r}: not a valid path", hint="give a path relative to /workspace")
    joined = posixpath.normpath(posixpath.join(WORKSPACE, path))
    if joined != WORKSPACE and not joined.startswith(WORKSPACE + "/"):
        raise SandboxPathError(
            f"{path}: leaves {WORKSPACE}", hint="use a path inside /workspace, without '..' climbing out"
        )
    rel = posixpath.relpath(joined, WORKSPACE)
    return rel


#: Every reason for a file left out because a copy's size cap was reached starts with this.
CAP_REASON = "size cap"
#: The path named in a refusal when a tar stream ends early: every member after the cut is missing.
REST_OF_ARCHIVE = "(rest of archive)"


def cap_reason(max_bytes: int) -> str:
    """Why a file was left out of a copy capped at ``max_bytes``."""
    return f"{CAP_REASON} of {max_bytes} bytes exceeded"


@dataclass
class _Extraction:
    copied: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0


def _dest_for(dest: Path, name: str) -> Path | None:
    """Where member ``name`` goes under ``dest``, or None when the name is unsafe."""
    norm = posixpath.normpath(name)
    if norm in (".", "") or norm.startswith("/") or norm == ".." or norm.startswith("../"):
        return None
    return dest.joinpath(*norm.split("/"))


def extract_tar_safely(
    stream: bytes, dest: Path, *, max_bytes: int, truncated: bool = False
) -> tuple[list[str], list[tuple[str, str]], int]:
    """Unpack a tar stream from a sandbox into ``dest``, refusing anything unsafe.

    Only regular files and folders are written; symlinks, hard links, devices and FIFOs are refused with
    a reason. Files are written with fresh modes (0644/0755), never the archive's owners or setuid bits.
    Each file is created with O_NOFOLLOW|O_EXCL inside folders we just made, so nothing is followed.

    Returns:
        (copied files, (path, reason) refused, total bytes written).
    """
    out = _Extraction()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        archive = tarfile.open(fileobj=io.BytesIO(stream), mode="r|")  # noqa: SIM115 - closed below
    except tarfile.TarError:
        return [], [(".", "the sandbox produced no readable archive")], 0
    try:
        for member in archive:
            name = posixpath.normpath(member.name)
            target = _dest_for(dest, member.name)
            if target is None:
                if name not in (".", ""):
                    out.refused.append((member.name, "name leaves the workspace"))
                continue
            if member.issym() or member.islnk():
                out.refused.append((name, f"is a link (to {member.linkname}); links are never followed"))
                continue
            if member.isdir():
                if target.is_symlink():
                    out.refused.append((name, "destination is a link"))
                    continue
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                out.refused.append((name, "not a regular file (device, fifo or socket)"))
                continue
            if out.total + member.size > max_bytes:
                out.refused.append((name, cap_reason(max_bytes)))
                continue
            data = archive.extractfile(member)
            if data is None:
                out.refused.append((name, "could not be read"))
                continue
            _write_new_file(target, data, dest)
            out.copied.append(name)
            out.total += member.size
    except (tarfile.TarError, EOFError, OSError) as exc:
        reason = "the archive outgrew its listed size" if truncated else f"the archive was cut short ({exc})"
        out.refused.append((REST_OF_ARCHIVE, reason))
    finally:
        archive.close()
    return out.copied, out.refused, out.total


def _make_parent(target: Path, root: Path) -> None:
    """Create ``target``'s folder under ``root``, refusing when any component under root is a symlink (we
    made them, but be strict)."""
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    rel = parent.relative_to(root)
    probe = root
    for part in rel.parts:
        probe = probe / part
        if stat.S_ISLNK(os.lstat(probe).st_mode):
            raise OSError(f"{probe} is a link")


def _write_new_file(target: Path, data: IO[bytes], root: Path) -> None:
    """Create ``target`` (no symlink anywhere between ``root`` and it) and copy ``data`` into it."""
    _make_parent(target, root)
    if target.is_symlink() or target.exists():
        target.unlink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            while True:
                chunk = data.read(1 << 20)
                if not chunk:
                    break
                fh.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)  # never leave half a file (an archive cut inside it) to be graded
        raise


def write_range(dest: Path, name: str, data: bytes, *, first: bool) -> None:
    """Write one range of a file copied in pieces: the first creates it (never through a link), the next
    ones append.

    Raises:
        OSError: the name is unsafe, or a link is in the way.
    """
    target = _dest_for(dest, name)
    if target is None:
        raise OSError(f"{name}: name leaves the workspace")
    if first:
        _write_new_file(target, io.BytesIO(data), dest)
        return
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    with os.fdopen(fd, "ab") as fh:
        fh.write(data)


def copy_report(
    wanted: list[str] | None,
    copied: list[str],
    refused: list[tuple[str, str]],
    total: int,
    pre_refused: list[tuple[str, str]],
) -> CopyReport:
    """Build the CopyReport, reporting asked-for paths that never came out as missing."""
    refused_all = list(pre_refused) + list(refused)
    if wanted is not None:
        seen = set(copied) | {p for p, _ in refused_all}
        for w in wanted:
            prefix = w.rstrip("/") + "/"
            if w not in seen and not any(c.startswith(prefix) for c in seen):
                refused_all.append((w, "not found in /workspace"))
    return CopyReport(copied=tuple(copied), refused=tuple(refused_all), total_bytes=total)
