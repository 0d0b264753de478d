"""Freeing what crashed runs left behind: `rgym gc`, and :func:`reap_dead_leftovers` at every start.

Three sources of truth: Docker labels (every rgym container has ``rgym.managed=1`` plus the creating
``rgym.pid`` and ``rgym.host``), lease files under ``Settings.sandbox_dir`` (loop mounts, cgroups, uids
and scratch folders, which carry no labels) and the machine's sandbox uid claims
(:mod:`gym_core.sandbox.uids`). Something is garbage when its owner process is dead on this host;
``everything=True`` takes all of it, live or not.

``rgym run``, ``rgym resume`` and ``env.reset()`` call :func:`reap_dead_leftovers` themselves, so a run
killed with ``kill -9`` and resumed leaves nothing running; ``rgym gc`` remains for the rest (``--all``,
the egress network, a dry run).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_core.errors import BackendUnavailableError
from gym_core.sandbox.base import LABEL_HOST, LABEL_MANAGED, LABEL_PID
from gym_core.sandbox.cgroups import CGROUP_ROOT, CgroupV1
from gym_core.sandbox.disk import is_mounted, unmount
from gym_core.sandbox.leases import LEASE_FILE, Lease, pid_alive, remove_tree
from gym_core.sandbox.uids import reap_dead_claims, release_uid
from gym_core.settings import get_settings


@dataclass
class GcReport:
    """What a garbage collection removed, and what it left because its owner still runs."""

    containers: list[str] = field(default_factory=list)
    scratch_dirs: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    uids: list[int] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    kept_live: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        """How many things were removed in all."""
        return (
            len(self.containers)
            + len(self.scratch_dirs)
            + len(self.mounts)
            + len(self.cgroups)
            + len(self.uids)
            + len(self.networks)
        )


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
        report,
        everything=everything,
        dry_run=dry_run,
        only_labels=only_labels,
        client=docker_client,
        network=only_labels is None,
    )
    # leases live under this data dir's sandbox folder, so they are always ours to judge
    _collect_leases(report, everything=everything, dry_run=dry_run)
    if not dry_run:
        report.uids += reap_dead_claims()
    return report


_REAP_LOCK = threading.Lock()


def reap_dead_leftovers(*, docker_client: Any | None = None) -> GcReport:
    """Free what dead rgym processes of this host left: containers, mounts, cgroups, uids, scratch.

    Cheap enough for every ``env.reset()``: one label-filtered container listing (skipped when no Docker
    engine answers within a second), a look at this data dir's leases and at the uid claims. Never
    raises; what could not be freed is in the report's ``problems``.
    """
    report = GcReport()
    with _REAP_LOCK:
        try:
            _collect_containers(
                report,
                everything=False,
                dry_run=False,
                only_labels={LABEL_HOST: socket.gethostname()},
                client=docker_client,
                network=False,
                connect_timeout=1.0,
            )
        except Exception as exc:  # the engine went away mid-listing: leave it for `rgym gc`
            report.problems.append(f"docker: {exc}")
        try:
            _collect_leases(report, everything=False, dry_run=False)
            report.uids += reap_dead_claims()
        except OSError as exc:
            report.problems.append(str(exc))
    return report


def _collect_containers(
    report: GcReport,
    *,
    everything: bool,
    dry_run: bool,
    only_labels: dict[str, str] | None,
    client: Any,
    network: bool,
    connect_timeout: float = 30,
) -> None:
    own_client = client is None
    if client is None:
        try:
            from gym_core.images.engine import docker_client as make_client

            client = make_client(timeout=connect_timeout)
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
                    if "No such container" in str(exc):
                        continue  # another process reaped it first
                    report.problems.append(f"container {name}: {exc}")
                    continue
            report.containers.append(name)
        if network:
            from gym_core.sandbox.docker_network import (
                EGRESS_NETWORK,
                FILTERED_NETWORK,
                remove_egress_network,
                remove_filtered_network,
            )

            if remove_egress_network(client, dry_run=dry_run):
                report.networks.append(EGRESS_NETWORK)
            if remove_filtered_network(client, dry_run=dry_run):
                report.networks.append(FILTERED_NETWORK)
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
    if lease is not None and lease.uid is not None and not dry_run:
        release_uid(lease.uid)  # kills what still runs as it (escaped processes of a dead sandbox)
        report.uids.append(lease.uid)
    for m in mounts:
        if is_mounted(m):
            if not dry_run and not unmount(m):
                report.problems.append(f"{m}: still mounted (busy); left in place")
                return
            report.mounts.append(str(m))
    for extra in lease.dirs if lease is not None else []:
        if not dry_run:
            remove_tree(Path(extra))
        report.scratch_dirs.append(extra)
    if not dry_run:
        remove_tree(folder)
    report.scratch_dirs.append(str(folder))
