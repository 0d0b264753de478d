"""A stable checksum of a task folder, stored with every run so a score names the exact task."""

from __future__ import annotations

import hashlib
from pathlib import Path

#: Names that never count towards a task's identity (caches, editor droppings).
IGNORED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".DS_Store", ".ipynb_checkpoints", ".git"})

#: Entries at the top of a task folder that describe the task rather than make it up: measurements taken of
#: the task (``rgym tasks verify --measure``) must not change the checksum they record, and neither do the
#: maintainers' notes and scripts (MAINTAINERS.md, maintainer/: the data generator, measure.py). Nothing in
#: them reaches an agent or the grader; the data they generate is counted where it ships.
ABOUT_FILES = frozenset({"measured.json", "MAINTAINERS.md", "maintainer"})


def iter_task_files(root: Path) -> list[Path]:
    """Files under ``root`` that make up the task, sorted, without caches."""
    files: list[Path] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in IGNORED_NAMES for part in rel.parts) or path.suffix == ".pyc":
            continue
        if rel.parts[0] in ABOUT_FILES:
            continue
        if path.is_file() or path.is_symlink():
            files.append(path)
    return files


def task_checksum(root: Path) -> str:
    """SHA-256 over every file's relative path, mode bit for executables, and content.

    Independent of timestamps, of the folder's location and of the order the filesystem lists files in.
    """
    digest = hashlib.sha256()
    for path in iter_task_files(root):
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"L" + str(path.readlink()).encode() + b"\0")
            continue
        stat = path.stat()
        # The size prefix keeps one file's content from running into the next file's name.
        digest.update((b"X" if stat.st_mode & 0o111 else b"F") + f"{stat.st_size}:".encode())
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
