"""Content-addressed artifacts: workspace snapshots and full texts, stored once, zstd-compressed.

An artifact's digest is the sha256 of its uncompressed bytes, so the same workspace graded twice, or the
same long output printed twice, is stored once. Artifacts live in the database (the ``artifacts`` table)
so SQLite and PostgreSQL stores behave the same and a store is one thing to copy.

Workspace snapshots are deterministic tars (sorted names, zeroed mtimes and owners), so an unchanged
workspace always has the same digest. A snapshot that leaves files out (past the snapshot cap, see
:mod:`gym_core.env.evaluation`) is a POSIX tar whose global header says so (``RGYM.truncated``) and lists what it
omits and why (``RGYM.omitted``); its artifact's media type is :data:`MEDIA_TAR_TRUNCATED`. The header makes the
bytes differ, so a truncated snapshot never shares a digest with a complete one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import zstandard
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from gym_core.errors import NotFoundError, StoreError
from gym_core.store.models import Artifact

MEDIA_TAR = "application/x-tar"
MEDIA_TAR_TRUNCATED = "application/x-tar; rgym-truncated=1"
"""The media type of a snapshot that leaves files out."""
PAX_TRUNCATED = "RGYM.truncated"
PAX_OMITTED = "RGYM.omitted"
PAX_OMITTED_COUNT = "RGYM.omitted_count"
#: Entries of the omitted list written into a snapshot's header (the count says how many there were).
MAX_OMITTED_LISTED = 1000
MEDIA_TEXT = "text/plain; charset=utf-8"
COMPRESSION = "zstd"

_CHUNK = 1 << 20
_ZSTD_LEVEL = 3
# Snapshots up to this size are built in memory; larger ones spill to a temporary file.
_SPOOL_BYTES = 8 << 20


def sha256_hex(data: bytes) -> str:
    """The digest of ``data`` as stored: sha256, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def compress(data: bytes) -> bytes:
    """zstd-compress ``data`` (with its size in the frame header)."""
    return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(data)


def decompress(blob: bytes) -> bytes:
    """Undo :func:`compress`."""
    return zstandard.ZstdDecompressor().decompress(blob)


def cap_text(text: str, cap_bytes: int, *, kept: str = "the full text is kept as an artifact") -> str | None:
    """Cut ``text`` to about ``cap_bytes`` of UTF-8: head, a marker naming what was cut, tail.

    Args:
        kept: what the marker says of the full text.

    Returns None when the text fits and needs no cut.
    """
    encoded = text.encode("utf-8", errors="surrogateescape")
    if len(encoded) <= cap_bytes:
        return None
    half = cap_bytes // 2
    head = encoded[:half].decode("utf-8", errors="ignore")
    tail = encoded[-half:].decode("utf-8", errors="ignore")
    omitted = len(encoded) - len(head.encode()) - len(tail.encode())
    return f"{head}\n[... {omitted} bytes cut; {kept} ...]\n{tail}"


# --- database -------------------------------------------------------------------------------------


def put_blob(conn: Connection, *, digest: str, media_type: str, size: int, compressed: bytes) -> None:
    """Insert one artifact unless its digest is already stored (concurrent writers may race; both win)."""
    values = {
        "digest": digest,
        "media_type": media_type,
        "size": size,
        "compression": COMPRESSION,
        "data": compressed,
        "created_at": datetime.now(UTC),
    }
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.execute(sqlite.insert(Artifact).values(values).on_conflict_do_nothing(index_elements=["digest"]))
    elif dialect == "postgresql":
        conn.execute(
            postgresql.insert(Artifact).values(values).on_conflict_do_nothing(index_elements=["digest"])
        )
    else:  # pragma: no cover - open_store refuses other dialects
        raise StoreError(f"trace store: unsupported database dialect {dialect!r}")


def put_bytes(conn: Connection, data: bytes, *, media_type: str) -> str:
    """Store ``data`` as an artifact and return its digest."""
    digest = sha256_hex(data)
    if not has_blob(conn, digest):
        put_blob(conn, digest=digest, media_type=media_type, size=len(data), compressed=compress(data))
    return digest


def has_blob(conn: Connection, digest: str) -> bool:
    """Whether an artifact with this digest is stored."""
    return conn.scalar(select(Artifact.digest).where(Artifact.digest == digest)) is not None


def get_bytes(conn: Connection, digest: str) -> bytes:
    """The uncompressed bytes of an artifact.

    Raises:
        NotFoundError: no artifact has this digest.
    """
    row = conn.execute(select(Artifact.data, Artifact.compression).where(Artifact.digest == digest)).first()
    if row is None:
        raise NotFoundError(f"artifact {digest} is not in the trace store")
    data, compression = row
    if compression != COMPRESSION:
        raise StoreError(f"artifact {digest}: unknown compression {compression!r}")
    return decompress(bytes(data))


# --- workspace snapshots --------------------------------------------------------------------------


def _walk_sorted(root: Path) -> Iterator[Path]:
    """Every entry under ``root`` (not root itself) in a stable order; symlinked dirs are not followed."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        entries = sorted([*dirnames, *filenames])
        for name in entries:
            yield here / name


def snapshot_header(omitted: Sequence[tuple[str, str]], *, truncated: bool) -> dict[str, str]:
    """The global header of a snapshot that leaves files out (empty for a complete one)."""
    if not truncated and not omitted:
        return {}
    listed = [[path, reason] for path, reason in list(omitted)[:MAX_OMITTED_LISTED]]
    return {
        PAX_TRUNCATED: "1" if truncated else "0",
        PAX_OMITTED: json.dumps(listed, ensure_ascii=False),
        PAX_OMITTED_COUNT: str(len(omitted)),
    }


def write_snapshot_tar(
    root: Path, out: IO[bytes], *, omitted: Sequence[tuple[str, str]] = (), truncated: bool = False
) -> None:
    """Write a deterministic tar of the folder ``root`` to ``out``.

    Regular files, folders and symlinks are kept (symlinks as links, never followed); sockets, fifos and
    devices are skipped. Times, owners and set-id bits are dropped, so equal content gives equal bytes.

    Args:
        omitted: (path, reason) of workspace entries the copy at ``root`` left out; recorded in the header.
        truncated: the copy left files out for lack of room (the snapshot is marked truncated).

    Raises:
        StoreError: ``root`` is not a folder or a file cannot be read.
    """
    if not root.is_dir():
        raise StoreError(f"cannot snapshot {root}: not a folder")
    header = snapshot_header(omitted, truncated=truncated)
    fmt = tarfile.PAX_FORMAT if header else tarfile.GNU_FORMAT
    try:
        with tarfile.open(fileobj=out, mode="w", format=fmt, pax_headers=header or None) as tar:
            for path in _walk_sorted(root):
                st = path.lstat()
                if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                    continue
                info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode &= 0o777
                if info.isreg():
                    with path.open("rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
    except OSError as exc:
        raise StoreError(f"cannot snapshot {root}: {exc}") from exc


class Snapshot:
    """A workspace tar spooled to memory (up to a few MiB) or a temporary file, with its digest and size."""

    def __init__(
        self, root: Path, *, omitted: Sequence[tuple[str, str]] = (), truncated: bool = False
    ) -> None:
        self.truncated = truncated
        self.media_type = MEDIA_TAR_TRUNCATED if truncated else MEDIA_TAR
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        write_snapshot_tar(root, self._file, omitted=omitted, truncated=truncated)
        self.size = self._file.tell()
        self._file.seek(0)
        hasher = hashlib.sha256()
        while chunk := self._file.read(_CHUNK):
            hasher.update(chunk)
        self.digest = hasher.hexdigest()

    def compressed(self) -> bytes:
        """The tar, zstd-compressed in one frame that records its size."""
        self._file.seek(0)
        out = io.BytesIO()
        zstandard.ZstdCompressor(level=_ZSTD_LEVEL).copy_stream(self._file, out, size=self.size)
        return out.getvalue()

    def close(self) -> None:
        """Drop the spooled tar."""
        self._file.close()


def _skip_unsafe(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    # A workspace may hold links the agent pointed outside it; restoring must not follow them, so
    # members the "data" filter refuses are left out rather than failing the whole restore.
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


def read_snapshot_header(data: bytes) -> tuple[bool, list[tuple[str, str]], int]:
    """(truncated, the omitted entries listed, how many were omitted) of a snapshot tar."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        tar.next()  # reads the global header, if any, with the first member
        header = dict(tar.pax_headers)
    if PAX_TRUNCATED not in header:
        return False, [], 0
    listed = json.loads(header.get(PAX_OMITTED, "[]"))
    omitted = [(str(path), str(reason)) for path, reason in listed]
    return header[PAX_TRUNCATED] == "1", omitted, int(header.get(PAX_OMITTED_COUNT, len(omitted)))


def extract_snapshot_tar(data: bytes, dest: Path) -> None:
    """Unpack a snapshot tar into ``dest`` (created when missing), refusing anything that leaves it."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        tar.extractall(dest, filter=_skip_unsafe)
