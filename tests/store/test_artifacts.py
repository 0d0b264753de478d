"""Content-addressed artifacts and workspace snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gym_core.errors import StoreError
from gym_core.store import TraceStore
from gym_core.store.artifacts import Snapshot, cap_text, sha256_hex


def _make_workspace(root: Path) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "train.py").write_text("print('train')\n")
    (root / "src" / "pkg" / "model.py").write_text("W = 1\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    os.symlink("train.py", root / "link-inside")
    os.symlink("/etc/passwd", root / "link-outside")
    return root


def test_snapshot_is_deterministic_and_deduplicated(store: TraceStore, tmp_path: Path) -> None:
    ws = _make_workspace(tmp_path / "ws")
    first = store.snapshot_workspace(ws)
    os.utime(ws / "train.py", (1, 1))  # times do not matter, content does
    assert store.snapshot_workspace(ws) == first
    other = _make_workspace(tmp_path / "other")  # same content elsewhere, created later
    assert store.snapshot_workspace(other) == first
    (ws / "train.py").write_text("print('changed')\n")
    assert store.snapshot_workspace(ws) != first


def test_snapshot_digest_is_the_sha256_of_the_tar(store: TraceStore, tmp_path: Path) -> None:
    ws = _make_workspace(tmp_path / "ws")
    digest = store.snapshot_workspace(ws)
    assert sha256_hex(store.get_artifact(digest)) == digest


def test_restore_gives_back_the_workspace_without_escaping_links(store: TraceStore, tmp_path: Path) -> None:
    ws = _make_workspace(tmp_path / "ws")
    digest = store.snapshot_workspace(ws)
    dest = tmp_path / "restored"
    store.restore_snapshot(digest, dest)
    assert (dest / "train.py").read_text() == "print('train')\n"
    assert (dest / "src" / "pkg" / "model.py").read_text() == "W = 1\n"
    assert (dest / "empty").is_dir()
    assert os.access(dest / "run.sh", os.X_OK)
    assert os.readlink(dest / "link-inside") == "train.py"
    assert not (dest / "link-outside").exists() and not (dest / "link-outside").is_symlink()


def test_snapshot_of_a_missing_folder_is_a_clear_error(store: TraceStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a folder"):
        store.snapshot_workspace(tmp_path / "nope")


def test_large_snapshot_spools_to_disk_and_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gym_core.store.artifacts as artifacts

    monkeypatch.setattr(artifacts, "_SPOOL_BYTES", 1024)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "big.bin").write_bytes(os.urandom(200_000))
    snap = Snapshot(ws)
    try:
        assert snap.size > 200_000
        data = artifacts.decompress(snap.compressed())
        assert sha256_hex(data) == snap.digest
    finally:
        snap.close()


def test_put_artifact_dedupes(store: TraceStore) -> None:
    a = store.put_artifact(b"hello", media_type="text/plain")
    assert store.put_artifact(b"hello", media_type="text/plain") == a == sha256_hex(b"hello")
    assert store.get_artifact(a) == b"hello"


def test_cap_text_keeps_head_and_tail_and_leaves_short_text_alone() -> None:
    assert cap_text("short", 100) is None
    text = "A" * 500 + "B" * 500
    cut = cap_text(text, 100)
    assert cut is not None
    assert cut.startswith("A" * 50) and cut.endswith("B" * 50)
    assert "900 bytes cut" in cut
    # Multi-byte characters are never split into invalid UTF-8.
    cut_utf8 = cap_text("é" * 1000, 101)
    assert cut_utf8 is not None
    cut_utf8.encode("utf-8")
