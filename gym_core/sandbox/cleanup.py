"""`rgym gc`: free what crashed runs left behind.

Two sources of truth: Docker labels (every rgym container has ``rgym.managed=1`` plus the creating
``rgym.pid`` and ``rgym.host``) and lease files under ``Settings.sandbox_dir`` (loop mounts, cgroups and
scratch folders, which carry no labels). Something is garbage when its owner process is dead on this host;
``everything=True`` takes all of it, live or not.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_core.errors import BackendUnavailableError
from gym_core.sandbox.base import LABEL_HOST, LABEL_MANAGED, LABEL_PID
from gym_core.sandbox.cgroups import CGROUP_ROOT, CgroupV1
from gym_core.sandbox.disk import is_mounted, unmount
from gym_core.sandbox.leases import LEASE_FILE, Lease, pid_alive, remove_tree
from gym_core.settings import get_settings


@dataclass
class GcReport:
    """What a garbage collection removed, and what it left because its owner still runs."""

    containers: list[str] = field(default_factory=list)
    scratch_dirs: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    kept_live: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        """How many things were removed in all."""
        return len(self.containers) + len(self.scratch_dirs) + len(self.mounts) + len(self.cgroups)


def _owner_dead(pid_text: str | None, host: str | None) -> bool:
    """True when the owner is a dead process of this host (owners on other hosts are never judged)."""
    if host and host != socket.gethostname():
        return False
    try:
        return not pid_alive(int(pid_text or "0"))
    except ValueError:
        return True


def collect_garbage(
    *,
    everything: bool = False,
    dry_run: bool = False,
    only_labels: dict[str, str] | None = None,
    docker_client: Any | None = None,
) -> GcReport:
    """Remove containers, mounts, cgroups and scratch folders of dead rgym processes.

    Args:
        everything: remove every rgym sandbox, including those of live runs.
        dry_run: report what would go, remove nothing.
        only_labels: restrict container removal to these labels (e.g. one run id); lease-tracked
            leftovers under this data dir are collected either way.
        docker_client: a client to use; by default one is made, and Docker is skipped when none answers.
    """
    report = GcReport()
    _collect_containers(
        report, everything=everything, dry_run=dry_run, only_labels=only_labels, client=docker_client
    )
    # leases live under this data dir's sandbox folder, so they are always ours to judge
    _collect_leases(report, everything=everything, dry_run=dry_run)
    return report


def _collect_containers(
    report: GcReport, *, everything: bool, dry_run: bool, only_labels: dict[str, str] | None, client: Any
) -> None:
    own_client = client is None
    if client is None:
        try:
            from gym_core.images.engine import docker_client as make_client

            client = make_client(timeout=30)
        except BackendUnavailableError:
            return
    try:
        filters = [f"{LABEL_MANAGED}=1", *(f"{k}={v}" for k, v in (only_labels or {}).items())]
        for c in client.api.containers(all=True, filters={"label": filters}):
            labels = c.get("Labels") or {}
            if not everything and not _owner_dead(labels.get(LABEL_PID), labels.get(LABEL_HOST)):
                report.kept_live += 1
                continue
            name = (c.get("Names") or [c["Id"]])[0].lstrip("/")
            if not dry_run:
                try:
                    client.api.remove_container(c["Id"], force=True, v=True)
                except Exception as exc:
                    report.problems.append(f"container {name}: {exc}")
                    continue
            report.containers.append(name)
    finally:
        if own_client:
            client.close()


def _collect_leases(report: GcReport, *, everything: bool, dry_run: bool) -> None:
    root = get_settings().sandbox_dir
    live_cgroups: set[str] = set()
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            lease = Lease.load(folder)
            if lease is not None and not everything and not _owner_dead(str(lease.pid), lease.host):
                report.kept_live += 1
                if lease.cgroup:
                    live_cgroups.add(lease.cgroup)
                continue
            if lease is None and (folder / LEASE_FILE).exists():
                report.problems.append(f"{folder}: unreadable lease, removed anyway")
            _free_folder(report, folder, lease, dry_run=dry_run)
    # groups whose lease is gone (scratch deleted by hand, data dir elsewhere): only when no process is left
    base = CGROUP_ROOT / "memory" / "rgym"
    if base.is_dir():
        for group in sorted(base.iterdir()):
            name = f"rgym/{group.name}"
            cg = CgroupV1(name)
            if name in live_cgroups or not group.is_dir() or (cg.pids() and not everything):
                continue
            owner, sep, _ = group.name.partition("-")
            if sep and owner.isdigit() and not everything and not _owner_dead(owner, None):
                report.kept_live += 1  # an idle group of a live sandbox whose lease is in another data dir
                continue
            if not dry_run:
                cg.destroy()
            report.cgroups.append(name)


def _free_folder(report: GcReport, folder: Path, lease: Lease | None, *, dry_run: bool) -> None:
    mounts = [Path(m) for m in (lease.mounts if lease else [])]
    mounts += [p for p in folder.iterdir() if p.is_dir() and is_mounted(p) and p not in mounts]
    if lease is not None and lease.cgroup:
        if not dry_run:
            CgroupV1(lease.cgroup).destroy()
        report.cgroups.append(lease.cgroup)
    if lease is not None and lease.container_id and not dry_run:
        with contextlib.suppress(Exception):
            from gym_core.images.engine import docker_client

            client = docker_client(timeout=30)
            with contextlib.suppress(Exception):
                client.api.remove_container(lease.container_id, force=True, v=True)
            client.close()
    for m in mounts:
        if is_mounted(m):
            if not dry_run and not unmount(m):
                report.problems.append(f"{m}: still mounted (busy); left in place")
                return
            report.mounts.append(str(m))
    if not dry_run:
        remove_tree(folder)
    report.scratch_dirs.append(str(folder))
