"""The Docker engine images are built in, with a clear error when none answers."""

from __future__ import annotations

import docker
from docker.errors import DockerException

from gym_core.errors import BackendUnavailableError

#: Seconds one engine API call may take; builds stream, so this bounds silence, not the build.
API_TIMEOUT_S = 600


def docker_client() -> docker.DockerClient:
    """A client of the engine in DOCKER_HOST (default: the local socket), checked with a ping.

    Raises:
        BackendUnavailableError: no engine answers.
    """
    try:
        client = docker.from_env(timeout=API_TIMEOUT_S)
        client.ping()
    except DockerException as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendUnavailableError(
            f"no Docker engine answers ({reason})", hint="run scripts/ensure-docker"
        ) from None
    return client
