"""Fixtures for the sandbox tests: one factory over both backends and both cgroup modes, with leak checks.

Every conformance case runs four ways: docker and local, each with the host's cgroup v1 files in use and
in the forced no-v1 mode (``RGYM_CGROUP_V1=off``, with the cgroup root pointed at an empty folder), which
is what a Debian 12 or current Ubuntu host without cgroup v1 looks like to rgym.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.sandbox import Limits, Sandbox, SandboxConfig, create_sandbox
from gym_core.sandbox.base import LABEL_RUN
from gym_core.settings import get_settings

#: "local-namespaces" is the local backend as root without bubblewrap (pretended missing).
BACKENDS = ["docker", "local", "local-namespaces"]
CGROUP_MODES = ["v1", "no-v1"]
SMALL = Limits(cpus=1.0, memory_mb=256, pids=64, disk_mb=64)
SandboxFactory = Callable[..., Sandbox]


def running_processes(sb: Sandbox) -> list[str]:
    """Processes alive in the sandbox other than its own supervisor (docker-init + rgym's supervisor)."""
    from gym_core.sandbox.docker_backend import DockerSandbox
    from gym_core.sandbox.local_backend import LocalSandbox

    if isinstance(sb, DockerSandbox):
        assert sb._client is not None and sb.container_id is not None
        top = sb._client.api.top(sb.container_id, ps_args="-eo pid,args")
        rows = [p for p in top.get("Processes") or [] if int(p[0]) not in sb.channel_host_pids]
        keep_alive = ("docker-init", "rgym-supervisor", "<defunct>")
        return [" ".join(r) for r in rows if not any(k in " ".join(r) for k in keep_alive)]
    assert isinstance(sb, LocalSandbox)
    return [str(p) for p in sb.leftover_processes()]


def docker_containers_labelled(run_id: str) -> list[str]:
    """Our test run's containers (by a unique label), so concurrent tests never interfere."""
    import docker

    client = docker.from_env()
    try:
        return [c.id for c in client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})]
    finally:
        client.close()


def force_no_cgroup_v1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Make this process see a host without cgroup v1: the setting off, and no v1 files either."""
    from gym_core.sandbox import cgroups

    empty = tmp_path / "no-cgroup-v1"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("RGYM_CGROUP_V1", "off")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", empty)
    get_settings.cache_clear()


@pytest.fixture(params=CGROUP_MODES)
def cgroup_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The host's cgroup v1 files in use ("v1"), or the forced no-v1 mode ("no-v1")."""
    mode: str = request.param
    if mode == "no-v1":
        force_no_cgroup_v1(monkeypatch, tmp_path)
    return mode


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, cgroup_mode: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each backend in turn, in each cgroup mode; Docker ones carry the docker marker and need an engine."""
    name: str = request.param
    if name == "docker":
        request.getfixturevalue("docker_client")
    if name == "local-namespaces":
        if not as_root():
            pytest.skip("without bubblewrap only root gets namespaces")
        from gym_core.sandbox import local_backend

        monkeypatch.setattr(local_backend, "bubblewrap_usable", lambda: False)
        return "local"
    return name


def has_cgroup_limits(sb: Sandbox) -> bool:
    """True when the sandbox's memory, pids and cpu limits are a cgroup's (every docker sandbox)."""
    from gym_core.sandbox.local_backend import LocalSandbox

    return not isinstance(sb, LocalSandbox) or sb._cgroup is not None


@pytest.fixture
def make_sandbox(backend: str, tmp_path: Path) -> Iterator[SandboxFactory]:
    """Start sandboxes of ``backend`` labelled with a unique run id; stop them and check nothing is left."""
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    made: list[Sandbox] = []

    def factory(*, limits: Limits = SMALL, files: dict[str, str] | None = None, **kw: Any) -> Sandbox:
        src = None
        if files is not None:
            src = tmp_path / f"ws{len(made)}"
            for rel, text in files.items():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                (src / rel).write_text(text)
        cfg = SandboxConfig(workspace_src=src, limits=limits, labels={LABEL_RUN: run_id}, **kw)
        sb = create_sandbox(backend, cfg)
        made.append(sb)
        sb.start()
        return sb

    yield factory
    uids = [getattr(sb, "uid", None) for sb in made]
    for sb in made:
        sb.stop()
    if backend == "docker":
        assert docker_containers_labelled(run_id) == []
    from gym_core.sandbox.uids import processes_of

    for uid in uids:
        if uid is not None:
            assert processes_of(uid) == []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that runs on the docker backend with ``docker``; run the forced no-v1 mode only for
    tests marked ``cgroups`` (limits, usage, kills), since nothing else depends on cgroups."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            kept.append(item)
            continue
        if callspec.params.get("cgroup_mode") == "no-v1" and item.get_closest_marker("cgroups") is None:
            dropped.append(item)
            continue
        kept.append(item)
        if (
            callspec.params.get("backend") == "docker"
            or callspec.params.get("inspect_provider") == "rgym-docker"
        ):
            item.add_marker(pytest.mark.docker)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def as_root() -> bool:
    """True when the tests run as root (namespaces, uids and firewall tests need it)."""
    return os.geteuid() == 0


def python_reachable_by_others(keep: Path) -> list[str]:
    """An argv prefix that makes the Python running the tests usable by another user.

    A normal user's rgym runs on a Python that user can read; the tests' Python may sit under a folder
    closed to others (a pyenv in /root). Then the script runs in a private mount namespace where that
    folder is an open tmpfs holding only the Python: nothing changes on the host.
    """
    base = Path(sys.base_prefix).resolve()
    closed = [p for p in reversed(base.parents) if p != Path("/") and not p.stat().st_mode & 0o001]
    if not closed:
        return []
    top = closed[0]
    setup = (
        'set -e; mkdir -p "$3"; mount --bind "$1" "$3"; '
        'mount -t tmpfs -o mode=755 rgym-test "$2"; mkdir -p "$1"; mount --bind "$3" "$1"; shift 3; exec "$@"'
    )
    args = [str(base), str(top), str(keep)]
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", setup, "sh", *args]
