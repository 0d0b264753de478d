"""The task checksum names the exact task: stable across copies and time, sensitive to content."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gym_core.tasks.checksum import task_checksum

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"


def _copy(tmp_path: Path, name: str = "copy") -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURE, dest)
    return dest


def test_same_content_same_checksum_anywhere(tmp_path: Path) -> None:
    a, b = _copy(tmp_path, "a"), _copy(tmp_path, "b")
    os.utime(b / "task.yaml", (0, 0))
    assert task_checksum(a) == task_checksum(b) == task_checksum(FIXTURE)
    assert len(task_checksum(a)) == 64


def test_caches_are_ignored(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = task_checksum(root)
    (root / "workspace" / "__pycache__").mkdir()
    (root / "workspace" / "__pycache__" / "baseline.cpython-311.pyc").write_bytes(b"junk")
    (root / ".DS_Store").write_bytes(b"junk")
    assert task_checksum(root) == before


def test_any_change_changes_it(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    seen = {task_checksum(root)}
    (root / "eval" / "private.txt").write_text("8\n12\n9\n12\n")
    seen.add(task_checksum(root))
    (root / "workspace" / "extra.txt").write_text("")
    seen.add(task_checksum(root))
    (root / "workspace" / "extra.txt").rename(root / "workspace" / "extra2.txt")
    seen.add(task_checksum(root))
    (root / "workspace" / "extra2.txt").chmod(0o755)
    seen.add(task_checksum(root))
    assert len(seen) == 5


def test_file_boundaries_are_unambiguous(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "a").write_bytes(b"xy")
    (one / "b").write_bytes(b"")
    (two / "a").write_bytes(b"x")
    (two / "b").write_bytes(b"y")
    assert task_checksum(one) != task_checksum(two)


def test_image_tag_follows_environment_only(tmp_path: Path) -> None:
    from gym_core.tasks.loader import load_task

    root = _copy(tmp_path, "tiny-mean")
    (root / "environment").mkdir()
    (root / "environment" / "requirements.txt").write_text("six==1.16.0\n")
    first = load_task(root)
    checksum, tag = first.checksum, first.image_tag
    (root / "README.md").write_text("# Reworded\n")
    second = load_task(root)
    assert second.checksum != checksum  # a score names the exact task
    assert second.image_tag == tag  # but the image is the same
    (root / "environment" / "requirements.txt").write_text("six==1.17.0\n")
    assert load_task(root).image_tag != tag


def test_maintainers_notes_scripts_and_measurements_are_not_the_task(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = task_checksum(root)
    (root / "MAINTAINERS.md").write_text("# Notes\nbaseline 0.61 +- 0.02 over 3 data seeds\n")
    (root / "maintainer").mkdir()
    (root / "maintainer" / "make_data.py").write_text("print('regenerates the data')\n")
    (root / "measured.json").write_text("{}\n")
    assert task_checksum(root) == before
    (root / "workspace" / "MAINTAINERS.md").write_text("the agent sees this one\n")  # only the top level
    assert task_checksum(root) != before
