"""The base image: its contract for real, and how it is made (kept, pulled or bootstrapped)."""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any

import docker
import pytest
from docker.errors import DockerException, ImageNotFound

from gym_core.errors import ConfigError, ImageError
from gym_core.images import base, ensure_base_image, prepare_base_image
from gym_core.images.base import BootstrapMethod, bootstrap_method, registry_reachable
from gym_core.settings import get_settings


class _NoImages:
    """A fake engine that has no image at all and no registry."""

    class images:
        @staticmethod
        def get(tag: str) -> Any:
            raise ImageNotFound(f"no such image: {tag}")

    class api:
        @staticmethod
        def inspect_distribution(name: str) -> Any:
            raise DockerException("registry unreachable")


@pytest.mark.docker
def test_base_image_contract(docker_client: docker.DockerClient) -> None:
    tag = ensure_base_image(docker_client)
    assert tag == get_settings().base_image
    script = 'python3 --version; command -v python3; id -un; pwd; stat -c %U /workspace; echo "$LANG"; ps -o comm= -p 1'
    output = docker_client.containers.run(
        tag,
        ["sh", "-c", script],
        user="1000:1000",
        network_mode="none",
        labels={"rgym.test": "images"},
        remove=True,
    )
    lines = output.decode().split()
    assert lines[0:2] == ["Python", lines[1]] and lines[1].startswith("3.11.")
    assert lines[2:] == ["/opt/venv/bin/python3", "agent", "/workspace", "agent", "C.UTF-8", "sh"]
    assert docker_client.images.get(tag).labels.get("rgym.base") == "1"


@pytest.mark.docker
def test_a_present_base_image_is_kept(
    docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_base_image(docker_client)

    def no_build(*args: object) -> str:
        raise AssertionError("the base image was built although present")

    monkeypatch.setattr(base, "_build_by_debootstrap", no_build)
    monkeypatch.setattr(base, "_build_by_pull", no_build)
    result = prepare_base_image(docker_client)
    assert not result.built
    assert result.image_id == docker_client.images.get(result.tag).id


def test_unknown_bootstrap_method_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RGYM_BASE_BOOTSTRAP", "magic")
    get_settings.cache_clear()
    with pytest.raises(
        ConfigError, match="RGYM_BASE_BOOTSTRAP: 'magic' must be one of auto, pull, debootstrap"
    ):
        bootstrap_method()


def test_auto_falls_back_to_debootstrap_without_a_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[str] = []
    monkeypatch.setattr(
        base, "_build_by_debootstrap", lambda client, tag, report: chosen.append(tag) or "sha256:x"
    )
    monkeypatch.setattr(base, "_build_by_pull", lambda *a: pytest.fail("pulled without a registry"))
    assert not registry_reachable(_NoImages())  # type: ignore[arg-type]
    result = prepare_base_image(_NoImages())  # type: ignore[arg-type]
    assert result.built and chosen == [get_settings().base_image]
    assert bootstrap_method() is BootstrapMethod.AUTO


def test_offline_bootstrap_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RGYM_BASE_BOOTSTRAP", "debootstrap")
    get_settings.cache_clear()
    monkeypatch.setattr(base.os, "geteuid", lambda: 1000)
    with pytest.raises(ImageError, match="needs root"):
        prepare_base_image(_NoImages())  # type: ignore[arg-type]


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.longest_first
@pytest.mark.timeout(1500)  # 3.5 to 4.5 minutes on an idle machine; a slow mirror or a busy one takes longer
def test_bootstrap_from_scratch(docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The offline path, for real: debootstrap a Debian root, import it, and run Python in it.

    It takes a few minutes (most of it debootstrap fetching packages from the Debian mirror), and runs in
    CI on purpose: a base image loaded from elsewhere would skip the very steps under test.
    """
    if os.geteuid() != 0:
        message = "bootstrapping a base image needs root (debootstrap and chroot)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    tag = f"rgym-test/base:{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("RGYM_BASE_IMAGE", tag)
    monkeypatch.setenv("RGYM_BASE_BOOTSTRAP", "debootstrap")
    get_settings.cache_clear()
    lines: list[str] = []
    try:
        result = prepare_base_image(docker_client, progress=lines.append)
        assert result.built and result.tag == tag
        image = docker_client.images.get(tag)
        assert image.labels["rgym.base.method"] == "debootstrap"
        assert any(line.startswith("==> docker import") for line in lines)
        output = docker_client.containers.run(
            tag, ["python3", "-c", "import sys; print(sys.prefix)"], user="1000:1000",
            network_mode="none", labels={"rgym.test": "images"}, remove=True,
        )  # fmt: skip
        assert output.decode().strip() == "/opt/venv"
        assert not [p for p in os.listdir("/var/tmp") if p.startswith("rgym-rootfs.")]
    finally:
        with contextlib.suppress(ImageNotFound):
            docker_client.images.remove(tag, force=True)
