"""The sandbox contract every backend keeps (SPEC.md section 2).

A sandbox is one isolated place where an agent's (or a grader's) commands run. The contract is
synchronous: the Gymnasium API is synchronous, and the Inspect AI adapter wraps it in threads.

Lifecycle::

    with create_sandbox("docker", config) as sb:      # start() on enter, stop() on exit
        r = sb.exec("python baseline.py", timeout_s=60) # persistent shell session: cd/export survive
        sb.write_file("notes.txt", "hello")            # paths are relative to /workspace
        sb.copy_out(["predictions.csv"], dest_dir)     # safe: no symlink escapes, bounded size

Raises:
    SandboxError: the sandbox could not be started or used.
    SandboxPathError: a path leaves /workspace or is a symlink out of it (also a PermissionError).
    SandboxFileNotFoundError: a file asked for does not exist (also a FileNotFoundError).
    OutputLimitExceededError: a file or copy is larger than its cap.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

#: Where the agent's files live inside every sandbox.
WORKSPACE = "/workspace"
#: Where the grader sandbox finds the task's eval/ folder (read-only) and the copied submission.
EVAL_MOUNT = "/eval"
SUBMISSION_MOUNT = "/submission"

#: Container/process labels, so `rgym gc` can find what a crashed run left behind.
LABEL_MANAGED = "rgym.managed"
LABEL_RUN = "rgym.run"
LABEL_EPISODE = "rgym.episode"
LABEL_PID = "rgym.pid"
LABEL_HOST = "rgym.host"
LABEL_ROLE = "rgym.role"  # "agent" | "grader" | "verify"


class NetworkMode(StrEnum):
    """Whether a sandbox may reach the network."""

    NONE = "none"
    EGRESS = "egress"


@dataclass(frozen=True)
class Limits:
    """Resource limits a backend enforces (not trusts)."""

    cpus: float = 1.0
    memory_mb: int = 2048
    pids: int = 256
    disk_mb: int = 2048
    gpus: int = 0
    network: NetworkMode = NetworkMode.NONE
    wall_time_s: float | None = None
    """Hard lifetime of the sandbox; None means the caller ends it."""


@dataclass(frozen=True)
class Mount:
    """A host folder bound into the sandbox."""

    source: Path
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a backend needs to start one sandbox."""

    image: str = "rgym/base:py3.11"
    """Docker image (ignored by the local backend, which uses the host's python)."""
    workspace_src: Path | None = None
    """Host folder whose contents are copied into /workspace at start (never bind-mounted)."""
    mounts: tuple[Mount, ...] = ()
    """Extra read-only binds, e.g. eval/ at /eval for the grader sandbox only."""
    limits: Limits = field(default_factory=Limits)
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables for every command."""
    output_cap_bytes: int = 64 * 1024
    """Bytes kept of stdout and of stderr per command; beyond it the stream is marked truncated."""
    role: str = "agent"
    """agent | grader | verify: goes into the rgym.role label."""


@dataclass(frozen=True)
class ExecResult:
    """What one command did. A timeout or an OOM kill is a result, never an exception."""

    exit_code: int | None
    """None when the command was killed before it exited (timeout)."""
    stdout: str
    stderr: str
    duration_s: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False
    oom_killed: bool = False
    cpu_s: float | None = None
    """CPU seconds the command used, where the backend can measure it."""
    peak_memory_mb: float | None = None
    """Peak memory of the sandbox while the command ran, where the backend can measure it."""

    @property
    def ok(self) -> bool:
        """True when the command exited 0 on its own."""
        return self.exit_code == 0 and not self.timed_out and not self.oom_killed


@dataclass(frozen=True)
class Usage:
    """Resources a sandbox has used since it started."""

    cpu_s: float = 0.0
    peak_memory_mb: float = 0.0
    disk_mb: float = 0.0
    commands: int = 0


@dataclass(frozen=True)
class CopyReport:
    """What `copy_out` copied and what it refused, with reasons (a symlink, too big, missing...)."""

    copied: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    """(path, reason) pairs."""
    total_bytes: int = 0


class Sandbox(abc.ABC):
    """One isolated place to run commands. Subclasses register with ``@sandbox("name")``."""

    name: ClassVar[str] = ""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config

    # --- lifecycle ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def start(self) -> None:
        """Create the sandbox and populate /workspace from ``config.workspace_src``.

        Raises:
            SandboxError: it could not be started (image missing, engine gone).
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Kill everything inside and remove the sandbox. Idempotent; never raises for a gone sandbox."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- commands ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def exec(
        self,
        command: str,
        *,
        timeout_s: float | None = None,
        env: dict[str, str] | None = None,
        stdin: str | bytes | None = None,
    ) -> ExecResult:
        """Run ``command`` with bash in the persistent shell session of this sandbox.

        The working directory and exported variables left by one command are there for the next,
        as in a terminal; a fresh session starts in /workspace. On timeout the whole process tree of
        the command is killed and ``timed_out`` is set; the session stays usable.
        """

    @abc.abstractmethod
    def exec_argv(
        self,
        argv: list[str],
        *,
        timeout_s: float | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        stdin: str | bytes | None = None,
        user: str | None = None,
    ) -> ExecResult:
        """Run one program directly, outside the shell session (no state carried, none left)."""

    # --- files -------------------------------------------------------------------------------------

    @abc.abstractmethod
    def read_file(self, path: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
        """Read a file under /workspace (relative paths are relative to it)."""

    @abc.abstractmethod
    def write_file(self, path: str, data: str | bytes) -> None:
        """Write a file under /workspace, creating parent folders; refuses ``..`` escapes and symlinks out."""

    @abc.abstractmethod
    def copy_out(
        self, paths: list[str] | None, dest: Path, *, max_bytes: int = 256 * 1024 * 1024
    ) -> CopyReport:
        """Copy files from /workspace to the host folder ``dest`` safely.

        ``paths`` are relative to /workspace; None copies the whole workspace. Symlinks, absolute
        paths, ``..``, device files and anything past ``max_bytes`` in total are refused and reported,
        never followed.
        """

    # --- accounting --------------------------------------------------------------------------------

    @abc.abstractmethod
    def usage(self) -> Usage:
        """Resources used so far."""

    @property
    @abc.abstractmethod
    def alive(self) -> bool:
        """True while the sandbox is running."""
