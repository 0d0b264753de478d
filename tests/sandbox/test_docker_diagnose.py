"""DockerSandbox.diagnose(): whose doing a failed sandbox operation was, from what the engine says.

The rule (gym_core/attribution.py): whatever the agent's input can cause is the agent's. A container gone
or stopped from outside is the environment's; an OOM kill, the pids limit reached or the wall time over are
the agent's. Each branch with the engine's answers at unit level, then the real ones on Docker.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gym_core.attribution import attribute_exception
from gym_core.errors import SandboxError
from gym_core.outcomes import ErrorKind, Origin
from gym_core.sandbox.base import LABEL_RUN, Limits, SandboxConfig
from gym_core.sandbox.docker_backend import DockerSandbox


class _FakeAPI:
    def __init__(self, state: dict[str, Any] | Exception, pids: int = 3) -> None:
        self.state, self.pids = state, pids

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        if isinstance(self.state, Exception):
            raise self.state
        return {"State": self.state}

    def stats(self, container_id: str, **kw: Any) -> dict[str, Any]:
        return {"pids_stats": {"current": self.pids, "limit": 64}}


class _FakeClient:
    def __init__(self, api: _FakeAPI) -> None:
        self.api = api


def _diagnosed(state: dict[str, Any] | Exception, pids: int = 3, *, deadline_past: bool = False) -> Any:
    sb = DockerSandbox(SandboxConfig(limits=Limits(pids=64)), client=_FakeClient(_FakeAPI(state, pids)))
    sb._container_id = "f" * 64
    if deadline_past:
        sb._deadline = time.monotonic() - 1
    return sb.diagnose()


RUNNING = {"Running": True, "Paused": False, "OOMKilled": False, "Status": "running", "ExitCode": 0}


def test_each_branch_of_the_diagnosis() -> None:
    import docker.errors

    gone = _diagnosed(docker.errors.NotFound("No such container"))
    assert (gone.alive, gone.agent_could_cause) == (False, False) and "gone" in gone.reason
    engine = _diagnosed(docker.errors.APIError("connection refused"))
    assert (engine.alive, engine.agent_could_cause) == (False, False) and "engine" in engine.reason
    oom = _diagnosed({**RUNNING, "Running": False, "OOMKilled": True, "Status": "exited", "ExitCode": 137})
    assert (oom.alive, oom.agent_could_cause) == (False, True) and "OOM" in oom.reason
    killed = _diagnosed({**RUNNING, "Running": False, "Status": "exited", "ExitCode": 137})
    assert (killed.alive, killed.agent_could_cause) == (False, False) and "137" in killed.reason
    late = _diagnosed({**RUNNING, "Running": False, "Status": "exited"}, deadline_past=True)
    assert late.agent_could_cause and "wall time" in late.reason
    full = _diagnosed(RUNNING, pids=63)
    assert (full.alive, full.agent_could_cause) == (True, True) and "63 of 64" in full.reason
    fine = _diagnosed(RUNNING, pids=5)
    assert (fine.alive, fine.agent_could_cause) == (True, False)
    stalled = DockerSandbox(SandboxConfig(limits=Limits(pids=64)), client=_FakeClient(_FakeAPI(RUNNING)))
    stalled._container_id, stalled._supervisor_stalled = "f" * 64, True
    assert stalled.diagnose().agent_could_cause and "supervisor" in stalled.diagnose().reason
    stopped = DockerSandbox(SandboxConfig()).diagnose()
    assert (stopped.alive, stopped.agent_could_cause) == (False, False)


def test_attribution_follows_the_diagnosis() -> None:
    exc = SandboxError("the sandbox engine refused to run the command")
    killed = _diagnosed({**RUNNING, "Running": False, "Status": "exited", "ExitCode": 137})
    assert attribute_exception(exc, killed).origin == Origin.ENVIRONMENT
    assert attribute_exception(exc, killed).kind == ErrorKind.SANDBOX_LOST
    assert attribute_exception(exc, _diagnosed(RUNNING, pids=5)).origin == Origin.ENVIRONMENT
    assert attribute_exception(exc, _diagnosed(RUNNING, pids=64)).origin == Origin.AGENT


@pytest.fixture
def sandbox(docker_client: Any) -> Iterator[DockerSandbox]:
    sb = DockerSandbox(
        SandboxConfig(
            limits=Limits(memory_mb=256, pids=64, disk_mb=32),
            labels={LABEL_RUN: f"test-{uuid.uuid4().hex[:10]}"},
        )
    )
    sb.start()
    yield sb
    sb.stop()


@pytest.mark.docker
def test_a_container_killed_from_outside_is_the_environments(
    sandbox: DockerSandbox, docker_client: Any
) -> None:
    assert sandbox.diagnose().alive and not sandbox.diagnose().agent_could_cause
    docker_client.api.kill(sandbox.container_id)
    with pytest.raises(SandboxError) as info:
        sandbox.exec("true", timeout_s=20)
    health = sandbox.diagnose()
    assert (health.alive, health.agent_could_cause) == (False, False)
    assert attribute_exception(info.value, health).origin == Origin.ENVIRONMENT
    docker_client.api.remove_container(sandbox.container_id, force=True)
    gone = sandbox.diagnose()
    assert (gone.alive, gone.agent_could_cause) == (False, False) and "gone" in gone.reason


#: Forks sleeping children until fork fails, then holds them (until the command's timeout sweeps them).
FILL_PIDS = """
import os, time
try:
    while True:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
except OSError:
    time.sleep(600)
"""


@pytest.mark.docker
def test_the_pids_limit_reached_is_the_agents(sandbox: DockerSandbox) -> None:
    """A fork bomb holds every pid while a diagnosis runs; once it is swept, the sandbox is fine again."""
    done = threading.Event()

    def bomb() -> None:
        try:
            sandbox.exec(f"python3 -c '{FILL_PIDS}'", timeout_s=30)
        finally:
            done.set()

    threading.Thread(target=bomb, daemon=True).start()
    deadline = time.monotonic() + 60
    health = sandbox.diagnose()
    while not health.agent_could_cause and not done.wait(0.1) and time.monotonic() < deadline:
        health = sandbox.diagnose()  # the engine's count of the container's processes, until it is full
    assert health.alive and health.agent_could_cause and "pids limit" in health.reason
    done.wait(90)
    after = sandbox.diagnose()
    assert after.alive and not after.agent_could_cause
