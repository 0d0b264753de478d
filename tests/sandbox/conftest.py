"""Fixtures for the sandbox tests: one parametrised factory over both backends, with leak checks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.sandbox import Limits, Sandbox, SandboxConfig, create_sandbox
from gym_core.sandbox.base import LABEL_RUN

BACKENDS = ["docker", "local"]
SMALL = Limits(cpus=1.0, memory_mb=256, pids=64, disk_mb=64)
SandboxFactory = Callable[..., Sandbox]


def running_processes(sb: Sandbox) -> list[str]:
    """Processes alive in the sandbox other than its own keep-alive (init + sleep for Docker)."""
    from gym_core.sandbox.docker_backend import DockerSandbox
    from gym_core.sandbox.local_backend import LocalSandbox

    if isinstance(sb, DockerSandbox):
        assert sb._client is not None and sb.container_id is not None
        top = sb._client.api.top(sb.container_id, ps_args="-eo pid,args")
        rows = [" ".join(p) for p in top.get("Processes") or []]
        keep_alive = ("docker-init", "sleep infinity", "<defunct>")
        return [r for r in rows if not any(k in r for k in keep_alive)]
    assert isinstance(sb, LocalSandbox)
    return [str(p) for p in (sb._cgroup.pids() if sb._cgroup else [])]


def docker_containers_labelled(run_id: str) -> list[str]:
    """Our test run's containers (by a unique label), so concurrent tests never interfere."""
    import docker

    client = docker.from_env()
    try:
        return [c.id for c in client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})]
    finally:
        client.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn; Docker ones carry the docker marker and need an engine."""
    name: str = request.param
    if name == "docker":
        request.getfixturevalue("docker_client")
    return name


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
    for sb in made:
        sb.stop()
    if backend == "docker":
        assert docker_containers_labelled(run_id) == []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs on the docker backend with ``docker``."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        if (
            callspec.params.get("backend") == "docker"
            or callspec.params.get("inspect_provider") == "rgym-docker"
        ):
            item.add_marker(pytest.mark.docker)
