"""Path rules and the strict tar unpacking used by copy_out (no sandbox needed)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from gym_core.errors import SandboxPathError
from gym_core.sandbox.output import CappedBuffer, decode_output
from gym_core.sandbox.safe_paths import extract_tar_safely, workspace_relpath


@pytest.mark.parametrize(
    ("given", "expected"),
    [("a.txt", "a.txt"), ("./d/../a.txt", "a.txt"), ("/workspace/d/x", "d/x"), ("/workspace", ".")],
)
def test_workspace_relpath_normalises(given: str, expected: str) -> None:
    assert workspace_relpath(given) == expected


@pytest.mark.parametrize("bad", ["", "../x", "/etc/passwd", "a/../../x", "/workspace/../etc", "a\x00b"])
def test_workspace_relpath_refuses_escapes(bad: str) -> None:
    with pytest.raises(SandboxPathError):
        workspace_relpath(bad)


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def test_extract_refuses_links_devices_and_escaping_names(tmp_path: Path) -> None:
    dev = tarfile.TarInfo("dev")
    dev.type = tarfile.CHRTYPE
    stream = _tar(
        [
            _file("ok.csv", b"1\n", mode=0o4755),
            _link("pw", "/etc/passwd"),
            _link("hard", "/etc/shadow", tarfile.LNKTYPE),
            _file("../../evil", b"x"),
            _file("/abs", b"x"),
            (dev, None),
        ]
    )
    copied, refused, total = extract_tar_safely(stream, tmp_path / "out", max_bytes=1000)
    assert copied == ["ok.csv"] and total == 2
    assert {p for p, _ in refused} == {"pw", "hard", "../../evil", "/abs", "dev"}
    out = tmp_path / "out" / "ok.csv"
    assert out.read_bytes() == b"1\n" and out.stat().st_mode & 0o7777 == 0o644
    assert not (tmp_path / "evil").exists()


def test_extract_stops_at_the_size_cap(tmp_path: Path) -> None:
    stream = _tar([_file("a", b"x" * 600), _file("b", b"y" * 600)])
    copied, refused, total = extract_tar_safely(stream, tmp_path, max_bytes=1000)
    assert copied == ["a"] and total == 600 and refused[0][0] == "b"


def test_extract_reports_a_cut_archive(tmp_path: Path) -> None:
    stream = _tar([_file("a", b"x" * 5000)])[:2000]
    copied, refused, _ = extract_tar_safely(stream, tmp_path, max_bytes=10_000, truncated=True)
    assert copied == [] and refused == [("(rest of archive)", "the archive outgrew its listed size")]
    assert not (tmp_path / "a").exists()  # no half file is left behind


def test_capped_buffer_keeps_the_head_and_counts_the_rest() -> None:
    buf = CappedBuffer(5)
    for chunk in (b"abc", b"defg", b"hij"):
        buf.feed(chunk)
    assert buf.getvalue() == b"abcde" and buf.total == 10 and buf.truncated


def test_decode_output_never_raises() -> None:
    assert decode_output(b"ok \xff\xc3") == "ok \ufffd\ufffd"
