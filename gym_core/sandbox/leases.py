"""Lease files: a record, on the host, of what each live sandbox holds, so `rgym gc` can free it.

Docker containers carry labels, but a loop mount, a scratch folder or a cgroup of the local backend do not;
each sandbox writes ``<sandbox_dir>/<id>/lease.json`` naming its owner process and what it made.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

LEASE_FILE = "lease.json"


@dataclass
class Lease:
    """What one sandbox holds on the host."""

    sandbox_id: str
    backend: str
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    container_id: str | None = None
    cgroup: str | None = None
    mounts: list[str] = field(default_factory=list)
    uid: int | None = None
    """The sandbox's own uid (local backend as root), given back when the sandbox is freed."""
    dirs: list[str] = field(default_factory=list)
    """Folders outside the lease's own that belong to the sandbox (deleted with it)."""

    def save(self, folder: Path) -> None:
        """Write the lease atomically into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (LEASE_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(folder / LEASE_FILE)

    @classmethod
    def load(cls, folder: Path) -> Lease | None:
        """Read a lease, or None when it is missing or unreadable."""
        try:
            data = json.loads((folder / LEASE_FILE).read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this host (zombies count as dead)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_tree(folder: Path) -> None:
    """Delete a scratch folder, making read-only parts writable first; never raises.

    The folder holds what an agent made, symlinks included: nothing here follows a link. A folder that
    refuses deletion is made writable by a chmod of that folder itself (never through a link), and a
    file that refuses it gets its *parent* folder made writable, which is all unlinking needs.
    """
    import shutil

    def _onerror(func: object, path: str, exc: object) -> None:
        # NotImplementedError: the path became a symlink meanwhile, and chmod refuses to follow it
        with contextlib.suppress(OSError, NotImplementedError):
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700, follow_symlinks=False)
                shutil.rmtree(path, ignore_errors=True)
            else:
                parent = os.path.dirname(path)
                if not os.path.islink(parent):
                    os.chmod(parent, 0o700, follow_symlinks=False)
                os.unlink(path)

    with contextlib.suppress(OSError):
        shutil.rmtree(folder, onerror=_onerror)
