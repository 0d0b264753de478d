"""The single error hierarchy of rgym.

Catch :class:`RgymError` to catch everything rgym raises on purpose. Every error carries a message that
names what was wrong and, where one is known, a ``hint`` saying how to fix it. The CLI prints
``str(error)`` as one line and exits with ``error.exit_code``; it never shows a traceback for these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


class RgymError(Exception):
    """Root of every error rgym raises on purpose."""

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigError(RgymError):
    """Raised when a setting, option or CLI argument is invalid."""


# --- tasks -----------------------------------------------------------------------------------------


class TaskError(RgymError):
    """Raised when a task folder cannot be used."""


@dataclass(frozen=True)
class Problem:
    """One field-level problem in a file: ``tasks/x/task.yaml: budget.memory_mb: must be > 0``."""

    file: str
    location: str
    message: str

    def __str__(self) -> str:
        if self.location:
            return f"{self.file}: {self.location}: {self.message}"
        return f"{self.file}: {self.message}"


class TaskSpecError(TaskError):
    """Raised when a task.yaml (or the folder around it) is invalid; carries one problem per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class SuiteError(TaskSpecError):
    """Raised when a suite file (tasks/suites/<name>.yaml) is missing, invalid, or names a task that does not
    exist; carries one problem per line."""


class TaskNotFoundError(TaskError):
    """Raised when a task id is not found along RGYM_TASKS_PATH."""


class ImportSourceError(TaskError):
    """Raised when a task in another benchmark's format (MLGym, ResearchGym) cannot be imported.

    The message names the source file and the field, e.g. ``configs/tasks/x.yaml: evaluation_paths: ...``.
    """


# --- images and sandboxes --------------------------------------------------------------------------


class ImageError(RgymError):
    """Raised when the base image or a task image cannot be built."""

    exit_code = EXIT_CHECK_FAILED


class SandboxError(RgymError):
    """Raised when a sandbox cannot be started, used or stopped."""

    exit_code = EXIT_CHECK_FAILED


class BackendUnavailableError(SandboxError):
    """Raised when a sandbox backend cannot run here (no Docker engine answers, unknown backend name)."""

    exit_code = EXIT_BAD_INPUT


class SandboxPathError(SandboxError, PermissionError):
    """Raised when a path leaves /workspace, is a symlink out of it, or is otherwise unsafe."""

    exit_code = EXIT_BAD_INPUT


class SandboxFileNotFoundError(SandboxError, FileNotFoundError):
    """Raised when a file asked for does not exist inside the sandbox."""

    exit_code = EXIT_BAD_INPUT


class OutputLimitExceededError(SandboxError):
    """Raised when a file or copy is larger than the allowed cap."""

    exit_code = EXIT_BAD_INPUT


class ChannelBrokenError(SandboxError):
    """Raised inside a backend when a sandbox's exec channel ended, stalled or sent a frame out of order.

    Backends catch it: they reopen the channel or fall back to one exec per command, so callers never see it.
    """


# --- environment, grading, agents ------------------------------------------------------------------


class ActionError(RgymError):
    """Raised when an agent's action is malformed; the environment turns it into an error observation."""


class EpisodeError(RgymError):
    """Raised when the environment is used out of order (step before reset, step after the end)."""


class GradingError(RgymError):
    """Raised when the grader cannot run at all (as opposed to rejecting a submission)."""

    exit_code = EXIT_CHECK_FAILED


class GraderBroken(GradingError):
    """Raised when the grader fails on a submission, again on a regrade, and on the task's reference too."""


class AgentError(RgymError):
    """Raised when an agent cannot be loaded or configured (bad --agent value, missing file)."""


class AgentHostError(RgymError):
    """Raised when rgym cannot start an agent's own process on this host (no free uid, a full disk, no
    bubblewrap): the environment's failure, retried like one, never the agent's."""


# --- traces and runs -------------------------------------------------------------------------------


class StoreError(RgymError):
    """Raised when the trace store cannot be opened, migrated or written."""

    exit_code = EXIT_CHECK_FAILED


class StoreURLError(StoreError):
    """Raised when a trace store URL is malformed or names an unsupported database (bad input)."""

    exit_code = EXIT_BAD_INPUT


class NotFoundError(StoreError):
    """Raised when a run, episode or artifact id is not in the store."""

    exit_code = EXIT_BAD_INPUT


class RunError(RgymError):
    """Raised when a run cannot be started or resumed."""

    exit_code = EXIT_CHECK_FAILED


class ClusterError(RunError):
    """Raised when the Ray cluster of ``--executor ray`` cannot run a run's attempts: it does not answer, no
    node is large enough, or a node lacks the task folder or the trace store."""

    exit_code = EXIT_BAD_INPUT


class SandboxIsADirectoryError(SandboxError, IsADirectoryError):
    """Raised when a file operation inside a sandbox names a directory."""

    exit_code = EXIT_BAD_INPUT
