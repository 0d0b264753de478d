"""The base image every task image extends (``rgym/base:py3.11``; contract in containers/base/README.md).

It is made once and kept: pulled and built ``FROM python:3.11-slim`` when a registry answers, else
bootstrapped offline from the machine's Debian mirror by ``containers/base/bootstrap.sh``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from enum import StrEnum

import docker
from docker.errors import DockerException, ImageNotFound

from gym_core.errors import ConfigError, ImageError
from gym_core.images.docker_build import ImageResult, ProgressFn, build_log_path, no_progress, stream_build
from gym_core.images.engine import docker_client
from gym_core.images.lock import image_lock
from gym_core.images.mirror import debian_mirror
from gym_core.settings import REPO_ROOT, get_settings

#: The image the pull path starts from; its Python must match PYTHON_VERSION.
PYTHON_IMAGE = "python:3.11-slim"
#: The CPython version inside the base image, which host-side wheel downloads target.
PYTHON_VERSION = "3.11"
CONTAINERS_DIR = REPO_ROOT / "containers" / "base"
BOOTSTRAP_SCRIPT = CONTAINERS_DIR / "bootstrap.sh"
#: How long `auto` waits for the registry before it falls back to debootstrap.
REGISTRY_PROBE_TIMEOUT_S = 15.0


class BootstrapMethod(StrEnum):
    """How the base image is made (``RGYM_BASE_BOOTSTRAP``)."""

    AUTO = "auto"
    PULL = "pull"
    DEBOOTSTRAP = "debootstrap"


def ensure_base_image(
    client: docker.DockerClient | None = None, *, rebuild: bool = False, progress: ProgressFn | None = None
) -> str:
    """Make sure the base image exists and return its tag (``Settings.base_image``).

    Raises:
        BackendUnavailableError: no Docker engine answers.
        ImageError: the image cannot be made (the message says why, the hint where the log is).
    """
    return prepare_base_image(client, rebuild=rebuild, progress=progress).tag


def prepare_base_image(
    client: docker.DockerClient | None = None, *, rebuild: bool = False, progress: ProgressFn | None = None
) -> ImageResult:
    """Like :func:`ensure_base_image`, also telling the image id and whether a build happened."""
    client = client or docker_client()
    report = progress or no_progress
    tag = get_settings().base_image
    if not rebuild and (image_id := _image_id(client, tag)):
        return ImageResult(tag=tag, image_id=image_id, built=False)
    with image_lock(tag):
        # Another process may have built it while we waited for the lock.
        if not rebuild and (image_id := _image_id(client, tag)):
            return ImageResult(tag=tag, image_id=image_id, built=False)
        method = bootstrap_method()
        if method is BootstrapMethod.AUTO:
            report(f"checking whether a registry serves {PYTHON_IMAGE}")
            method = BootstrapMethod.PULL if registry_reachable(client) else BootstrapMethod.DEBOOTSTRAP
        if method is BootstrapMethod.PULL:
            image_id = _build_by_pull(client, tag, report)
        else:
            image_id = _build_by_debootstrap(client, tag, report)
    return ImageResult(tag=tag, image_id=image_id, built=True)


def bootstrap_method() -> BootstrapMethod:
    """The configured method, checked.

    Raises:
        ConfigError: RGYM_BASE_BOOTSTRAP is not one of auto, pull, debootstrap.
    """
    value = get_settings().base_bootstrap
    try:
        return BootstrapMethod(value)
    except ValueError:
        choices = ", ".join(m.value for m in BootstrapMethod)
        raise ConfigError(f"RGYM_BASE_BOOTSTRAP: {value!r} must be one of {choices}") from None


def registry_reachable(client: docker.DockerClient, timeout_s: float = REGISTRY_PROBE_TIMEOUT_S) -> bool:
    """True when the engine can read PYTHON_IMAGE's manifest from its registry within ``timeout_s``."""
    # The engine's own resolver and proxy decide reachability, so ask the engine, not a socket of ours.
    # A daemon thread bounds the wait even when the engine hangs, and never delays interpreter exit.
    answers: list[bool] = []

    def probe() -> None:
        try:
            client.api.inspect_distribution(PYTHON_IMAGE)
        except Exception:  # any failure (API error, timeout, refused) means "not reachable"
            answers.append(False)
        else:
            answers.append(True)

    thread = threading.Thread(target=probe, name="rgym-registry-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(answers) and answers[0]


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return str(client.images.get(tag).id)
    except ImageNotFound:
        return None
    except DockerException as exc:
        raise ImageError(f"cannot inspect image {tag}: {str(exc).splitlines()[0]}") from None


def _build_by_pull(client: docker.DockerClient, tag: str, report: ProgressFn) -> str:
    report(f"pulling {PYTHON_IMAGE}")
    repository, _, version = PYTHON_IMAGE.partition(":")
    try:
        for event in client.api.pull(repository, tag=version, stream=True, decode=True):
            if "error" in event:
                raise ImageError(f"pulling {PYTHON_IMAGE} failed: {event['error']}")
            if "status" in event:
                report(f"{event.get('id', '')} {event['status']}".strip())
    except DockerException as exc:
        raise ImageError(
            f"pulling {PYTHON_IMAGE} failed: {str(exc).splitlines()[0]}",
            hint="set RGYM_BASE_BOOTSTRAP=debootstrap to build without a registry",
        ) from None
    report(f"building {tag} from {CONTAINERS_DIR / 'Dockerfile'}")
    return stream_build(
        client,
        tag=tag,
        progress=report,
        path=str(CONTAINERS_DIR),
        dockerfile="Dockerfile",
        buildargs={"PYTHON_IMAGE": PYTHON_IMAGE},
        pull=False,
    )


def _build_by_debootstrap(client: docker.DockerClient, tag: str, report: ProgressFn) -> str:
    if os.geteuid() != 0:
        raise ImageError(
            f"building {tag} offline needs root (debootstrap and chroot)",
            hint="run `sudo rgym images build`, or set RGYM_BASE_BOOTSTRAP=pull where a registry answers",
        )
    if not BOOTSTRAP_SCRIPT.is_file():
        raise ImageError(
            f"{BOOTSTRAP_SCRIPT} not found", hint="building the base image needs an rgym checkout"
        )
    mirror = debian_mirror()
    report(f"bootstrapping {tag} from {mirror} (a few minutes)")
    log_path = build_log_path(tag)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    recent: deque[str] = deque(maxlen=40)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["bash", str(BOOTSTRAP_SCRIPT), "--tag", tag, "--mirror", mirror]
    with (
        log_path.open("w", encoding="utf-8") as log,
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        ) as proc,
    ):
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = raw.rstrip()
                log.write(line + "\n")
                recent.append(line)
                report(line)
            code = proc.wait()
        except BaseException:
            # SIGTERM lets the script's trap unmount and delete its half-built root filesystem.
            proc.terminate()
            proc.wait(timeout=120)
            raise
    if code != 0:
        errors = [line for line in recent if "error" in line.lower() or line.startswith("E:")]
        reason = errors[-1] if errors else (recent[-1] if recent else f"exit code {code}")
        raise ImageError(f"bootstrapping {tag} failed: {reason}", hint=f"full log: {log_path}")
    image_id = _image_id(client, tag)
    if image_id is None:
        raise ImageError(
            f"bootstrapping {tag} finished but the engine has no such image", hint=f"log: {log_path}"
        )
    return image_id
