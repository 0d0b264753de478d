"""The sandbox provider registry: ``@sandbox("name")`` plus the ``rgym.sandboxes`` entry-point group.

Built-in backends register when their module is imported; the registry imports them lazily, so importing
:mod:`gym_core.sandbox` stays cheap. Third-party providers declare, in their pyproject::

    [project.entry-points."rgym.sandboxes"]
    mybackend = "my_pkg.sandbox:MySandbox"
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TypeVar

from gym_core.errors import BackendUnavailableError
from gym_core.sandbox.base import Sandbox, SandboxConfig

ENTRY_POINT_GROUP = "rgym.sandboxes"
_BUILTIN_MODULES = {
    "docker": "gym_core.sandbox.docker_backend",
    "local": "gym_core.sandbox.local_backend",
}
_REGISTRY: dict[str, type[Sandbox]] = {}

S = TypeVar("S", bound=type[Sandbox])


def sandbox(name: str) -> Callable[[S], S]:
    """Class decorator registering a :class:`Sandbox` subclass under ``name``."""

    def register(cls: S) -> S:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return register


def _external() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_backends() -> list[str]:
    """Every backend name known here: the built-in ones and those from entry points."""
    return sorted({*_BUILTIN_MODULES, *_REGISTRY, *_external()})


def sandbox_class(name: str) -> type[Sandbox]:
    """The class registered under ``name``, importing its module on first use.

    Raises:
        BackendUnavailableError: no backend has that name (with a "Did you mean" hint).
    """
    if name not in _REGISTRY:
        if name in _BUILTIN_MODULES:
            importlib.import_module(_BUILTIN_MODULES[name])
        else:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if ep.name == name:
                    loaded = ep.load()
                    if not (isinstance(loaded, type) and issubclass(loaded, Sandbox)):
                        raise BackendUnavailableError(
                            f"sandbox entry point {name} = {ep.value} is not a Sandbox subclass"
                        )
                    _REGISTRY.setdefault(name, loaded)
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, available_backends(), n=1)
        hint = f"did you mean {close[0]}?" if close else f"choose one of: {', '.join(available_backends())}"
        raise BackendUnavailableError(f"unknown sandbox backend {name!r}", hint=hint)
    return _REGISTRY[name]


def create_sandbox(backend: str, config: SandboxConfig) -> Sandbox:
    """A new, not yet started sandbox of ``backend`` (use it as a context manager to start and stop it)."""
    return sandbox_class(backend)(config)


def default_backend() -> str:
    """RGYM_BACKEND when set, else "docker" when an engine answers, else "local"."""
    from gym_core.settings import get_settings

    chosen = get_settings().backend
    if chosen:
        return chosen
    try:
        from gym_core.images.engine import docker_client

        docker_client(timeout=5).close()
    except BackendUnavailableError:
        return "local"
    return "docker"
