"""The sandbox contract every backend keeps (docs/api.md, "Sandboxes").

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
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Generic, Self, TypeVar

from gym_core.sandbox.egress_proxy import Refusal
from gym_core.sandbox.output import decode_output
from gym_core.tasks.spec import Network

#: Where the agent's files live inside every sandbox.
WORKSPACE = "/workspace"
#: Where the grader sandbox finds the task's eval/ folder (read-only) and the copied submission.
EVAL_MOUNT = "/eval"
SUBMISSION_MOUNT = "/submission"
#: Set for the commands of a sandbox started with ``SandboxConfig.submission_runner``: a command prefix
#: (shell-split argv) that starts a program as another identity, which cannot read the sandbox's private
#: mounts (/eval), see, signal or trace the sandbox's own processes, or reach the network.
SUBMISSION_RUNNER_ENV = "RGYM_SUBMISSION_RUNNER"

#: Container/process labels, so `rgym gc` can find what a crashed run left behind.
LABEL_MANAGED = "rgym.managed"
LABEL_RUN = "rgym.run"
LABEL_EPISODE = "rgym.episode"
LABEL_PID = "rgym.pid"
LABEL_HOST = "rgym.host"
LABEL_ROLE = "rgym.role"  # a SandboxRole

#: The task spec's network setting is the sandbox's too: one enum, ``none`` or ``egress``.
NetworkMode = Network


class SandboxRole(StrEnum):
    """What a sandbox is for; it goes into the ``rgym.role`` label and the container's name."""

    AGENT = "agent"
    """Where the agent works (``env.step``)."""
    GRADER = "grader"
    """Where a task's grader scores a copied-out submission, with eval/ bound read-only."""
    VERIFY = "verify"
    """``rgym tasks verify``: baseline and reference runs, and the eval/ hiding probe."""
    INSPECT = "inspect"
    """A sandbox made for Inspect AI through the ``rgym-docker`` / ``rgym-local`` providers."""


@dataclass(frozen=True)
class Limits:
    """Resource limits a backend enforces (not trusts)."""

    cpus: float = 1.0
    memory_mb: int = 2048
    pids: int = 256
    disk_mb: int = 2048
    gpus: int = 0
    network: Network = Network.NONE
    wall_time_s: float | None = None
    """Hard lifetime of the sandbox; None means the caller ends it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "network", Network(self.network))  # "egress" works as well


@dataclass(frozen=True)
class Mount:
    """A host folder bound into the sandbox."""

    source: Path
    target: str
    read_only: bool = True
    shared_with_runner: bool = False
    """In a sandbox with a submission runner: also readable by the programs the runner starts (the
    submission itself). Every other mount is private to the sandbox's own commands."""


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
    role: SandboxRole = SandboxRole.AGENT
    """What the sandbox is for: goes into the rgym.role label."""
    blocked_urls: tuple[str, ...] = ()
    """URL patterns the sandbox may not reach (a task's ``blocked_urls``): with ``network: egress`` its only
    way out is then a filtering proxy (:mod:`gym_core.sandbox.egress_proxy`); a backend that cannot enforce
    them refuses to start."""
    submission_runner: bool = False
    """Grade code: commands get ``RGYM_SUBMISSION_RUNNER``, a prefix that runs a program (the submitted
    policy) as another identity that cannot read the private mounts, nor see, signal or trace the
    sandbox's own processes. A backend that cannot provide it refuses to start (never runs it unsafely)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", SandboxRole(self.role))  # "grader" works as well
        object.__setattr__(self, "blocked_urls", tuple(self.blocked_urls))


Output = TypeVar("Output", str, bytes)


@dataclass(frozen=True)
class CommandResult(Generic[Output]):
    """What one command did, with its output as text (:class:`ExecResult`) or bytes (:class:`RawResult`).

    A timeout or an OOM kill is a result, never an exception.
    """

    exit_code: int | None
    """None when the command was killed before it exited (timeout)."""
    stdout: Output
    stderr: Output
    duration_s: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False
    oom_killed: bool = False
    cpu_s: float | None = None
    """CPU seconds the sandbox used while the command ran, where the backend can measure it."""
    peak_memory_mb: float | None = None
    """Peak memory of the sandbox while the command ran, where the backend can measure it."""

    @property
    def ok(self) -> bool:
        """True when the command exited 0 on its own."""
        return self.exit_code == 0 and not self.timed_out and not self.oom_killed


class ExecResult(CommandResult[str]):
    """A command's result with its output decoded (UTF-8, invalid bytes replaced): what callers get."""


class RawResult(CommandResult[bytes]):
    """A command's result with its output still bytes: what backends produce and file transfers use."""

    def decoded(self) -> ExecResult:
        """The same result with its output decoded (see :func:`~gym_core.sandbox.output.decode_output`)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(stdout=decode_output(self.stdout), stderr=decode_output(self.stderr))
        return ExecResult(**values)


@dataclass(frozen=True)
class Usage:
    """Resources a sandbox has used since it started."""

    cpu_s: float = 0.0
    peak_memory_mb: float = 0.0
    disk_mb: float = 0.0
    commands: int = 0


@dataclass(frozen=True)
class SandboxHealth:
    """What a backend can tell about a sandbox after one of its operations failed (see ``diagnose``)."""

    alive: bool
    """True when the sandbox still runs."""
    agent_could_cause: bool
    """True when what happened is within the agent's power (an OOM kill, the pid limit reached, a backend
    whose sandbox the agent's own uid can end); such a failure is the agent's."""
    reason: str = ""


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

    @property
    def runner_prefix(self) -> tuple[str, ...] | None:
        """The submission runner's argv prefix (``SandboxConfig.submission_runner``); None without one."""
        return None

    # --- files -------------------------------------------------------------------------------------

    @abc.abstractmethod
    def read_file(self, path: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
        """Read a file under /workspace (relative paths are relative to it)."""

    @abc.abstractmethod
    def write_file(self, path: str, data: str | bytes) -> None:
        """Write a file under /workspace, creating parent folders; refuses ``..`` escapes and symlinks out."""

    @abc.abstractmethod
    def copy_out(
        self,
        paths: list[str] | None,
        dest: Path,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        timeout_s: float | None = None,
    ) -> CopyReport:
        """Copy files from /workspace to the host folder ``dest`` safely.

        ``paths`` are relative to /workspace; None copies the whole workspace. Symlinks, absolute
        paths, ``..``, device files and anything past ``max_bytes`` in total are refused and reported,
        never followed. A copy that runs out of ``timeout_s`` stops and reports the rest as refused.
        """

    # --- accounting --------------------------------------------------------------------------------

    @abc.abstractmethod
    def usage(self) -> Usage:
        """Resources used so far."""

    @property
    @abc.abstractmethod
    def alive(self) -> bool:
        """True while the sandbox is running."""

    def take_network_refusals(self) -> tuple[list[Refusal], int]:
        """Requests the sandbox's network refused since the last call (a blocked URL, a local address...),
        and how many more were not kept. Backends without a filtering proxy have none."""
        return [], 0

    def diagnose(self) -> SandboxHealth:
        """After an operation failed: is the sandbox alive, and could the agent inside have caused it?

        Backends override it with what they can observe. The default assumes the worst for the agent: it
        could have caused whatever happened (whatever the agent's input can cause is the agent's).
        """
        return SandboxHealth(alive=self.alive, agent_could_cause=True, reason="no diagnosis on this backend")
