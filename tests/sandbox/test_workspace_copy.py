"""The bounded workspace copy's bookkeeping, against a stand-in sandbox that answers its helper commands.

The real copies run in tests/sandbox/test_conformance.py and tests/env/test_bounded_traces.py; here the
sandbox's answers are chosen, so an archive cut in the middle of a file is certain, not a race.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from gym_core.sandbox import shell_session as sh
from gym_core.sandbox.base import RawResult
from gym_core.sandbox.workspace_copy import WorkspaceCopier

FILES = {"a.csv": b"a" * 3000, "b.csv": b"b" * 3000, "predictions.csv": b"1,2\n" * 10}


def _listing(files: dict[str, bytes]) -> bytes:
    return b"".join(f"f\t{len(data)}\t./{name}".encode() + b"\0" for name, data in files.items())


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class ScriptedSandbox:
    """Answers the listing with ``FILES`` and the tar batch with ``tar_stream`` (cut or whole)."""

    workspace_root = "/workspace"

    def __init__(self, tar_stream: bytes, *, truncated: bool) -> None:
        self.tar_stream = tar_stream
        self.truncated = truncated

    def exec_argv_raw(self, argv: list[str], **_: object) -> RawResult:
        script = argv[2]
        if script == sh.LIST_SCRIPT:
            return RawResult(exit_code=0, stdout=_listing(FILES), stderr=b"", duration_s=0.0)
        assert script == sh.TAR_LIST_SCRIPT, argv
        return RawResult(
            exit_code=0, stdout=self.tar_stream, stderr=b"", duration_s=0.0, stdout_truncated=self.truncated
        )


def _copy(sandbox: ScriptedSandbox, dest: Path) -> tuple[set[str], dict[str, str]]:
    copier = WorkspaceCopier(sandbox, dest, max_bytes=1 << 20, timeout_s=None)  # type: ignore[arg-type]
    report = copier.run(None)
    return set(report.copied), dict(report.refused)


def test_a_whole_batch_is_copied_whole(tmp_path: Path) -> None:
    copied, refused = _copy(ScriptedSandbox(_tar(FILES), truncated=False), tmp_path / "o")
    assert copied == set(FILES) and refused == {}
    assert (tmp_path / "o" / "predictions.csv").read_bytes() == FILES["predictions.csv"]


def test_an_archive_cut_inside_a_file_names_every_file_it_left_out(tmp_path: Path) -> None:
    whole = _tar(FILES)
    # a file grew after the listing, so the stream reached its cap inside b.csv: b.csv and everything
    # after it are missing, and each is named, never a bare "(rest of archive)"
    cut = whole[: 512 + 3072 + 512 + 1000]
    copied, refused = _copy(ScriptedSandbox(cut, truncated=True), tmp_path / "o")
    assert copied == {"a.csv"}
    assert set(refused) == {"b.csv", "predictions.csv"}
    assert all("outgrew its listed size" in reason for reason in refused.values())
    # no half of b.csv is left on the host to be snapshotted or graded
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.csv"]


def test_an_archive_cut_inside_a_file_without_reaching_the_cap_says_so(tmp_path: Path) -> None:
    whole = _tar(FILES)
    cut = whole[: 512 + 3072 + 512 + 1000]  # tar died inside b.csv
    copied, refused = _copy(ScriptedSandbox(cut, truncated=False), tmp_path / "o")
    assert copied == {"a.csv"} and set(refused) == {"b.csv", "predictions.csv"}
    assert all(reason.startswith("not copied: the archive was cut short") for reason in refused.values())


def test_files_missing_from_a_well_formed_archive_are_named(tmp_path: Path) -> None:
    # b.csv was deleted between the listing and the tar, and the archive ends cleanly after a.csv
    whole = _tar({"a.csv": FILES["a.csv"]})
    copied, refused = _copy(ScriptedSandbox(whole, truncated=False), tmp_path / "o")
    assert copied == {"a.csv"} and set(refused) == {"b.csv", "predictions.csv"}
    assert all("vanished" in reason for reason in refused.values())
