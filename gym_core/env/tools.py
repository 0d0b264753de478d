"""Running the actions that do not grade (bash, write_file, read_file) in the agent's sandbox.

Each returns a :class:`ToolOutcome`: the text the agent reads, an exit code, and the flags the trace keeps.
Failures the agent caused (a missing file, a path out of /workspace) are outcomes, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gym_core import faults
from gym_core.actions import Action
from gym_core.env.episode import EpisodeState
from gym_core.env.perturbations import Perturbations
from gym_core.errors import SandboxError
from gym_core.sandbox.base import ExecResult, Sandbox

INJECTED_FAILURE_TEXT = "Error: the command could not be started (transient tool failure); try again."


@dataclass(frozen=True)
class ToolOutcome:
    """What one action did, as the agent and the trace see it."""

    output: str
    exit_code: int | None
    result: ExecResult | None = None
    """The command's result (bash only)."""
    flags: dict[str, Any] = field(default_factory=dict)


def format_exec(result: ExecResult, timeout: float) -> str:
    """A command's output as the agent reads it, with markers for truncation, timeout and OOM."""
    parts = [result.stdout]
    if result.stderr:
        parts.append(result.stderr if not result.stdout else f"[stderr]\n{result.stderr}")
    if result.stdout_truncated or result.stderr_truncated:
        parts.append("[output truncated]")
    if result.timed_out:
        parts.append(f"[command timed out after {timeout:.0f}s and was killed]")
    if result.oom_killed:
        parts.append("[command was killed: out of memory]")
    return "\n".join(p.rstrip("\n") for p in parts if p)


def command_timeout(action: Action, episode: EpisodeState) -> float:
    """A bash command's timeout: as asked (default: the budget's), never more than ``command_timeout_s`` nor
    the wall time left."""
    budget = episode.budget
    requested = action.timeout_s or budget.command_timeout_s
    return max(0.1, min(requested, budget.command_timeout_s, episode.time_left()))


def run_tool(
    sandbox: Sandbox,
    action: Action,
    episode: EpisodeState,
    perturbations: Perturbations,
    *,
    read_cap_bytes: int,
) -> ToolOutcome:
    """Run a bash, write_file or read_file action."""
    if action.tool == "bash":
        assert action.command is not None
        rate = perturbations.tool_failure_rate
        if rate and episode.rng.random() < rate:
            episode.injected_failures += 1
            return ToolOutcome(INJECTED_FAILURE_TEXT, 1, flags={"injected_failure": True})
        timeout = command_timeout(action, episode)
        faults.check("exec_refused", "the sandbox engine refused to run the command")
        result = sandbox.exec(action.command, timeout_s=timeout)
        episode.oom_seen = episode.oom_seen or result.oom_killed
        flags = {
            "timed_out": result.timed_out,
            "oom_killed": result.oom_killed,
            "stdout_truncated": result.stdout_truncated,
            "stderr_truncated": result.stderr_truncated,
        }
        return ToolOutcome(format_exec(result, timeout), result.exit_code, result, flags)
    if action.tool == "write_file":
        assert action.path is not None and action.content is not None
        try:
            sandbox.write_file(action.path, action.content)
        except (SandboxError, OSError) as exc:
            return ToolOutcome(
                f"Error: cannot write {action.path}: {exc}", 1, flags={"error": "write_failed"}
            )
        return ToolOutcome(f"Wrote {len(action.content.encode())} bytes to {action.path}", 0)
    if action.tool == "read_file":
        assert action.path is not None
        try:
            data = sandbox.read_file(action.path, max_bytes=read_cap_bytes)
        except (SandboxError, OSError) as exc:
            return ToolOutcome(f"Error: cannot read {action.path}: {exc}", 1, flags={"error": "read_failed"})
        return ToolOutcome(data.decode("utf-8", errors="replace"), 0)
    raise ValueError(f"{action.tool} is not a tool run_tool handles")  # validate/submit: see evaluation.py
