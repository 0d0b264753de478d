"""The provider registry: lookup, "did you mean", entry points, default backend."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from gym_core.errors import BackendUnavailableError
from gym_core.sandbox import SandboxConfig, available_backends, create_sandbox, default_backend, registry
from gym_core.sandbox.docker_backend import DockerSandbox
from gym_core.sandbox.local_backend import LocalSandbox


def test_builtin_backends_are_available() -> None:
    assert {"docker", "local"} <= set(available_backends())
    assert isinstance(create_sandbox("local", SandboxConfig()), LocalSandbox)
    assert isinstance(create_sandbox("docker", SandboxConfig()), DockerSandbox)


def test_unknown_backend_suggests_the_closest_name() -> None:
    with pytest.raises(BackendUnavailableError, match="did you mean docker"):
        create_sandbox("dokcer", SandboxConfig())


def test_entry_point_providers_are_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(
        name="thirdparty", value="gym_core.sandbox.local_backend:LocalSandbox", group="rgym.sandboxes"
    )
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep] if group == "rgym.sandboxes" else [])
    monkeypatch.delitem(registry._REGISTRY, "thirdparty", raising=False)
    assert "thirdparty" in available_backends()
    assert registry.sandbox_class("thirdparty") is LocalSandbox
    monkeypatch.delitem(registry._REGISTRY, "thirdparty")


def test_entry_point_that_is_not_a_sandbox_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="bogus", value="gym_core.errors:RgymError", group="rgym.sandboxes")
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep])
    with pytest.raises(BackendUnavailableError, match="not a Sandbox subclass"):
        registry.sandbox_class("bogus")


def test_default_backend_honours_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from gym_core.settings import get_settings

    monkeypatch.setenv("RGYM_BACKEND", "local")
    get_settings.cache_clear()
    assert default_backend() == "local"


def test_default_backend_falls_back_to_local_without_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert default_backend() == "local"
