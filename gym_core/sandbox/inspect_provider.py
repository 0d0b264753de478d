"""rgym's backends as Inspect AI sandbox providers: ``rgym-docker`` and ``rgym-local``.

Inspect finds them through the ``inspect_ai`` entry-point group (``rgym = "gym_core.inspect_registry"`` in
pyproject, which imports this module), or when this module is imported. Use them in an Inspect task as
``sandbox=("rgym-docker", RgymSandboxConfig(image="rgym/base:py3.11"))`` (a plain image name also works).

Inspect's interface is async; rgym's contract is synchronous, so every call runs in a worker thread.
Unlike rgym's own file API (confined to /workspace), Inspect's files may be anywhere the sandbox user can
reach; they are read and written inside the sandbox *as that user*, so permissions are the sandbox's own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar, Literal, overload

from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    SandboxUserUnsupportedError,
    sandboxenv,
)
from pydantic import BaseModel, ConfigDict, Field

from gym_core.errors import OutputLimitExceededError as RgymOutputLimitExceededError
from gym_core.errors import SandboxError
from gym_core.sandbox.base import Limits, NetworkMode, SandboxConfig, SandboxRole
from gym_core.sandbox.command_sandbox import CommandSandbox
from gym_core.sandbox.registry import create_sandbox


class RgymSandboxConfig(BaseModel):
    """How to make one rgym sandbox for an Inspect sample."""

    model_config = ConfigDict(frozen=True)

    image: str = Field(default="rgym/base:py3.11", description="Docker image (ignored by rgym-local).")
    workspace: Path | None = Field(default=None, description="Host folder copied into /workspace at start.")
    cpus: float = Field(default=1.0, description="CPU cores.")
    memory_mb: int = Field(default=2048, description="Memory limit in MiB.")
    pids: int = Field(default=256, description="Process limit.")
    disk_mb: int = Field(default=2048, description="Size of /workspace in MiB.")
    network: Literal["none", "egress"] = Field(default="none", description="Network access.")
    blocked_urls: tuple[str, ...] = Field(
        default=(),
        description="URL patterns the sandbox may not reach with egress (a task's blocked_urls; docs/tasks.md).",
    )

    def sandbox_config(self) -> SandboxConfig:
        """The rgym SandboxConfig this describes."""
        limits = Limits(
            cpus=self.cpus,
            memory_mb=self.memory_mb,
            pids=self.pids,
            disk_mb=self.disk_mb,
            network=NetworkMode(self.network),
        )
        return SandboxConfig(
            image=self.image,
            workspace_src=self.workspace,
            limits=limits,
            output_cap_bytes=SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE,
            role=SandboxRole.INSPECT,
            blocked_urls=self.blocked_urls,
        )


def _config(config: SandboxEnvironmentConfigType | None) -> RgymSandboxConfig:
    if config is None:
        return RgymSandboxConfig()
    if isinstance(config, RgymSandboxConfig):
        return config
    if isinstance(config, str):
        return RgymSandboxConfig(image=config)
    return RgymSandboxConfig.model_validate(config.model_dump())


class RgymSandboxEnvironment(SandboxEnvironment):
    """An Inspect sandbox backed by one rgym sandbox."""

    backend: ClassVar[str] = ""

    def __init__(self, sandbox: CommandSandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        """Inspect calls this for configs given as plain dicts."""
        return RgymSandboxConfig.model_validate(config)

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        """Start one sandbox for the sample."""
        sb = create_sandbox(cls.backend, _config(config).sandbox_config())
        assert isinstance(sb, CommandSandbox)
        await asyncio.to_thread(sb.start)
        return {"default": cls(sb)}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        """Stop the sample's sandboxes."""
        for env in environments.values():
            if isinstance(env, RgymSandboxEnvironment):
                await asyncio.to_thread(env.sandbox.stop)

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        """Run ``cmd`` directly (outside rgym's shell session); a timeout raises TimeoutError."""
        try:
            raw = await asyncio.to_thread(
                self.sandbox.exec_argv_raw,
                cmd,
                timeout_s=timeout,
                cwd=cwd,
                env=env,
                stdin=input,
                user=user,
                cap=SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE,
            )
        except SandboxError as exc:
            if user is not None and "cannot run as" in str(exc):
                raise SandboxUserUnsupportedError(str(exc)) from exc
            raise
        if raw.timed_out:
            raise TimeoutError(f"command timed out after {timeout} s: {cmd[0]}")
        result = raw.decoded()
        code = result.exit_code if result.exit_code is not None else -1
        # the program could not be started (not executable): Inspect wants PermissionError. rgym's exec
        # paths say "<program>: cannot execute: <reason>"; the Docker engine's own exec says "OCI runtime".
        lowered = result.stderr.lower()
        not_started = f"{cmd[0]}: cannot execute: ".lower() in lowered or "oci runtime exec failed" in lowered
        if code == 126 and not_started and "permission denied" in lowered:
            raise PermissionError(f"{cmd[0]}: permission denied")
        return ExecResult(success=code == 0, returncode=code, stdout=result.stdout, stderr=result.stderr)

    def _target(self, file: str) -> str:
        return file if file.startswith("/") else f"{self.sandbox.workspace_root}/{file}"

    async def write_file(self, file: str, contents: str | bytes) -> None:
        """Write ``file`` (relative to /workspace, or absolute) as the sandbox user."""
        await asyncio.to_thread(self.sandbox.write_any, self._target(file), contents, root="/", shown=file)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        """Read ``file`` as the sandbox user, up to Inspect's read limit."""
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        try:
            data = await asyncio.to_thread(
                self.sandbox.read_any, self._target(file), max_bytes=limit, root="/", shown=file
            )
        except RgymOutputLimitExceededError as exc:
            raise OutputLimitExceededError(
                limit_str=SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, truncated_output=None
            ) from exc
        return data.decode("utf-8") if text else data


@sandboxenv(name="rgym-docker")
class RgymDockerSandboxEnvironment(RgymSandboxEnvironment):
    """rgym's hardened Docker backend as an Inspect provider."""

    backend = "docker"


@sandboxenv(name="rgym-local")
class RgymLocalSandboxEnvironment(RgymSandboxEnvironment):
    """rgym's local (bubblewrap) backend as an Inspect provider."""

    backend = "local"


# The entry point loads this module: importing the task module too registers ``gym_core/rgym``, the Inspect
# task that runs any rgym task (gym_core/inspect_task.py).
import gym_core.inspect_task  # noqa: E402, F401
