"""The Docker engine images are built in, with a clear error when none answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gym_core.errors import BackendUnavailableError

if TYPE_CHECKING:
    import docker

#: Seconds one engine API call may take; builds stream, so this bounds silence, not the build.
API_TIMEOUT_S = 600


def docker_client(timeout: float = API_TIMEOUT_S) -> docker.DockerClient:
    """A client of the engine in DOCKER_HOST (default: the local socket), checked with a ping.

    The one way rgym connects to Docker: image builds, sandboxes, ``rgym gc`` and backend detection.
    The SDK is imported here, lazily, so importing rgym does not pay for it.

    Raises:
        BackendUnavailableError: no engine answers.
    """
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # the SDK raises DockerException, requests' errors or OSError by turns
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendUnavailableError(
            f"no Docker engine answers ({reason})",
            hint="run scripts/ensure-docker, or use --backend local",
        ) from None
    return client
