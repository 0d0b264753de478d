"""Copying files out of a sandbox in bounded pieces: the host never holds more than one piece in memory.

The copy is planned on the host from a listing made inside the sandbox (types and apparent sizes, links
never followed), so nothing is read that would not fit:

* files are taken in path order while they fit ``max_bytes`` (counted as tar bytes: a header and the content
  rounded up to tar blocks); a file that does not fit is refused with :func:`~safe_paths.cap_reason` and the
  copy goes on with the next, so one huge file does not push every small one out;
* a sparse file counts at its apparent size, so ``truncate -s 2T x`` is refused before a byte of it is read;
* small files travel in tar batches of at most :data:`CHUNK_BYTES`, unpacked with the strict filter of
  :func:`~safe_paths.extract_tar_safely`; a larger file travels in ranges of :data:`CHUNK_BYTES`;
* links, fifos, sockets and devices are refused with a reason, never followed or read;
* a copy that runs out of time (``timeout_s``) stops and refuses the rest: it never raises for it.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gym_core.errors import SandboxPathError
from gym_core.sandbox import shell_session as sh
from gym_core.sandbox.base import CopyReport
from gym_core.sandbox.safe_paths import (
    CAP_REASON,
    REST_OF_ARCHIVE,
    cap_reason,
    copy_report,
    extract_tar_safely,
    workspace_relpath,
    write_range,
)

if TYPE_CHECKING:
    from gym_core.sandbox.command_sandbox import CommandSandbox

#: The largest piece (tar batch or file range) held in host memory at once.
CHUNK_BYTES = 16 * 1024 * 1024
#: Most entries in one tar batch (their names travel on stdin).
MAX_BATCH_ENTRIES = 4096
#: Bytes of listing read from the sandbox; a workspace with more entries is copied in part.
LIST_CAP_BYTES = 16 * 1024 * 1024
#: Deadline of one helper command when the caller sets none.
HELPER_TIMEOUT_S = 300.0
_BLOCK = 512
OUT_OF_TIME = "the copy ran out of time"
LINK_REASON = "is a link; links are never followed"
SPECIAL_REASON = "not a regular file (device, fifo or socket)"


@dataclass(frozen=True)
class Entry:
    """One listed path: find's type letter, its apparent size, its workspace-relative name."""

    kind: str
    size: int
    name: str

    @property
    def tar_bytes(self) -> int:
        """What it adds to a tar: a header, a long-name header when needed, the content in whole blocks."""
        name = len(self.name.encode("utf-8", errors="surrogateescape"))
        long_name = _BLOCK + _round_up(name + 1) if name >= 100 else 0
        content = _round_up(self.size) if self.kind == "f" else 0
        return _BLOCK + long_name + content


def _round_up(n: int) -> int:
    return -(-n // _BLOCK) * _BLOCK


def parse_listing(data: bytes) -> list[Entry]:
    """The entries of :data:`~shell_session.LIST_SCRIPT` output; a cut last record is dropped."""
    entries = []
    for record in data.split(b"\0")[:-1]:
        parts = record.split(b"\t", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        name = posixpath.normpath(parts[2].decode("utf-8", errors="surrogateescape"))
        if name in (".", "") or name.startswith(("/", "../")) or name == "..":
            continue
        entries.append(Entry(parts[0].decode("ascii", errors="replace"), int(parts[1]), name))
    return entries


class WorkspaceCopier:
    """One bounded copy out of a sandbox's workspace (see the module docstring)."""

    def __init__(
        self, sandbox: CommandSandbox, dest: Path, *, max_bytes: int, timeout_s: float | None
    ) -> None:
        self.sandbox = sandbox
        self.dest = dest
        self.max_bytes = max_bytes
        # No timeout: each command still gets HELPER_TIMEOUT_S, but the copy as a whole is not bounded.
        self.deadline = None if timeout_s is None else time.monotonic() + max(0.0, timeout_s)
        self.copied: list[str] = []
        self.refused: list[tuple[str, str]] = []
        self.total = 0
        self.planned = 0
        self.out_of_time = False

    def _time_left(self) -> float:
        if self.deadline is None:
            return HELPER_TIMEOUT_S
        return min(HELPER_TIMEOUT_S, self.deadline - time.monotonic())

    def run(self, paths: list[str] | None) -> CopyReport:
        """Copy ``paths`` (relative to /workspace; None: all of it) and report what came and what did not."""
        pre_refused: list[tuple[str, str]] = []
        wanted: list[str] = []
        for p in ["."] if paths is None else paths:
            if posixpath.isabs(p):
                pre_refused.append((p, "absolute paths are not allowed; give it relative to /workspace"))
                continue
            try:
                rel = workspace_relpath(p)
            except SandboxPathError:
                pre_refused.append((p, "leaves /workspace"))
                continue
            if rel == "." and paths is not None:
                pre_refused.append((p, "is the workspace itself"))
                continue
            wanted.append(rel)
        self.dest.mkdir(parents=True, exist_ok=True)
        if wanted:
            self._copy(self._list(wanted))
        return copy_report(paths, self.copied, self.refused, self.total, pre_refused)

    def _list(self, wanted: list[str]) -> list[Entry]:
        raw = self.sandbox.exec_argv_raw(
            ["bash", "-c", sh.LIST_SCRIPT, "rgym-list", self.sandbox.workspace_root]
            + [f"./{rel}" if rel != "." else "." for rel in wanted],
            timeout_s=max(0.1, self._time_left()),
            cap=LIST_CAP_BYTES,
        )
        entries = sorted(set(parse_listing(raw.stdout)), key=lambda e: e.name)
        if raw.timed_out:
            self.out_of_time = True
            self.refused.append(("(rest of the workspace)", f"{OUT_OF_TIME} while listing it"))
        elif raw.stdout_truncated:
            self.refused.append(
                ("(rest of the workspace)", f"{CAP_REASON} of the listing ({LIST_CAP_BYTES} bytes) exceeded")
            )
        return entries

    def _copy(self, entries: list[Entry]) -> None:
        batch: list[Entry] = []
        batch_bytes = 0
        for entry in entries:
            if self.out_of_time:
                self.refused.append((entry.name, OUT_OF_TIME))
                continue
            if entry.kind == "l":
                self.refused.append((entry.name, LINK_REASON))
                continue
            if entry.kind not in ("f", "d"):
                self.refused.append((entry.name, SPECIAL_REASON))
                continue
            if self.planned + entry.tar_bytes > self.max_bytes:
                self.refused.append((entry.name, cap_reason(self.max_bytes)))
                continue
            self.planned += entry.tar_bytes
            if entry.kind == "f" and entry.tar_bytes > CHUNK_BYTES:
                self._flush(batch)
                batch, batch_bytes = [], 0
                self._copy_ranges(entry)
                continue
            if batch and (batch_bytes + entry.tar_bytes > CHUNK_BYTES or len(batch) >= MAX_BATCH_ENTRIES):
                self._flush(batch)
                batch, batch_bytes = [], 0
            batch.append(entry)
            batch_bytes += entry.tar_bytes
        self._flush(batch)

    def _flush(self, batch: list[Entry]) -> None:
        if not batch:
            return
        if self.out_of_time or self._time_left() <= 0:
            self._give_up(batch)
            return
        names = b"".join(f"./{e.name}".encode("utf-8", errors="surrogateescape") + b"\0" for e in batch)
        raw = self.sandbox.exec_argv_raw(
            ["bash", "-c", sh.TAR_LIST_SCRIPT, "rgym-tar", self.sandbox.workspace_root],
            stdin=names,
            timeout_s=max(0.1, self._time_left()),
            cap=sum(e.tar_bytes for e in batch) + 2 * _BLOCK * 20 + (1 << 20),
        )
        if raw.timed_out:
            self._give_up(batch)
            return
        copied, refused, total = extract_tar_safely(
            raw.stdout, self.dest, max_bytes=self.max_bytes - self.total, truncated=raw.stdout_truncated
        )
        files = {e.name for e in batch if e.kind == "f"}
        self.copied += [name for name in copied if name in files]
        # A file of the batch that neither came nor was refused by name is missing from the archive: it
        # ended early (a file grew past its listed size, or tar failed) or the file vanished. Each is named,
        # so a snapshot never leaves out a file without saying which.
        cut = [reason for path, reason in refused if path == REST_OF_ARCHIVE]
        why = (
            f"not copied: {cut[0]}"
            if cut
            else "not in the archive (it vanished, or could not be read, during the copy)"
        )
        accounted = set(copied) | {path for path, _reason in refused}
        refused = [(path, reason) for path, reason in refused if path != REST_OF_ARCHIVE]
        refused += [(e.name, why) for e in batch if e.kind == "f" and e.name not in accounted]
        self.refused += refused
        self.total += total

    def _give_up(self, batch: list[Entry]) -> None:
        self.out_of_time = True
        self.refused += [(e.name, OUT_OF_TIME) for e in batch if e.kind == "f"]

    def _copy_ranges(self, entry: Entry) -> None:
        offset = 0
        while offset < entry.size:
            length = min(CHUNK_BYTES, entry.size - offset)
            if self._time_left() <= 0:
                self._drop(entry, OUT_OF_TIME)
                self.out_of_time = True
                return
            raw = self.sandbox.exec_argv_raw(
                [
                    "bash",
                    "-c",
                    sh.RANGE_SCRIPT,
                    "rgym-range",
                    self.sandbox.workspace_root,
                    f"./{entry.name}",
                    str(offset),
                    str(length),
                ],
                timeout_s=max(0.1, self._time_left()),
                cap=length,
            )
            if raw.timed_out:
                self.out_of_time = True
                self._drop(entry, OUT_OF_TIME)
                return
            if raw.exit_code != 0 or len(raw.stdout) != length:
                why = {
                    sh.RC_ESCAPES: "resolves outside the workspace (a link?)",
                    sh.RC_NOT_FOUND: "vanished while it was copied",
                }.get(raw.exit_code or 0, "changed while it was copied")
                self._drop(entry, why)
                return
            try:
                write_range(self.dest, entry.name, raw.stdout, first=offset == 0)
            except OSError as exc:
                self._drop(entry, f"could not be written on the host ({exc})")
                return
            del raw  # one piece in memory at a time: not this one while the next arrives
            offset += length
        self.copied.append(entry.name)
        self.total += entry.size

    def _drop(self, entry: Entry, why: str) -> None:
        partial = self.dest.joinpath(*entry.name.split("/"))
        if partial.is_file() and not partial.is_symlink():
            partial.unlink()
        self.refused.append((entry.name, why))


def copy_out_bounded(
    sandbox: CommandSandbox,
    paths: list[str] | None,
    dest: Path,
    *,
    max_bytes: int,
    timeout_s: float | None = None,
) -> CopyReport:
    """Copy ``paths`` (None: the whole workspace) out of ``sandbox`` into ``dest``, in bounded pieces."""
    return WorkspaceCopier(sandbox, dest, max_bytes=max_bytes, timeout_s=timeout_s).run(paths)
