"""What every process-running backend shares: the shell session, file access and safe copy-out.

A backend only has to run one argv inside its sandbox with a deadline and capped output
(:meth:`CommandSandbox._run_raw`); everything the contract builds on top (the persistent shell, reading
and writing files as the agent user, tar-based copy-out) is done here once, so both backends behave alike.
"""

from __future__ import annotations

import abc
import posixpath
import shlex
from pathlib import Path

from gym_core.errors import (
    OutputLimitExceededError,
    SandboxError,
    SandboxFileNotFoundError,
    SandboxIsADirectoryError,
    SandboxPathError,
)
from gym_core.sandbox import shell_session as sh
from gym_core.sandbox.base import SUBMISSION_RUNNER_ENV, CopyReport, ExecResult, RawResult, Sandbox
from gym_core.sandbox.output import decode_output
from gym_core.sandbox.safe_paths import workspace_relpath
from gym_core.sandbox.workspace_copy import copy_out_bounded

#: Linux refuses a single argv element longer than this (MAX_ARG_STRLEN).
MAX_COMMAND_BYTES = 128 * 1024 - 1
#: Deadline of the internal helper commands (file reads, writes, copies) when the caller sets none.
HELPER_TIMEOUT_S = 300.0


class CommandSandbox(Sandbox, abc.ABC):
    """A sandbox whose every operation is a command run inside it as the agent user."""

    #: The agent's user inside the sandbox (a backend may map it).
    agent_user: str = "1000:1000"

    @property
    @abc.abstractmethod
    def workspace_root(self) -> str:
        """The workspace folder as commands inside the sandbox see it (normally /workspace)."""

    @property
    def state_file(self) -> str:
        """Where the shell session keeps its state, as commands see it."""
        return sh.STATE_FILE

    @abc.abstractmethod
    def _run_raw(
        self,
        argv: list[str],
        *,
        stdin: bytes | None,
        user: str | None,
        cwd: str,
        env: dict[str, str],
        timeout_s: float | None,
        cap: int,
    ) -> RawResult:
        """Run ``argv`` inside the sandbox; on timeout kill its whole process tree and set ``timed_out``.

        Keeps at most ``cap`` bytes of each stream while draining the rest.
        """

    # --- commands ----------------------------------------------------------------------------------

    def _require_alive(self) -> None:
        if not self.alive:
            raise SandboxError(f"the {self.name} sandbox is not running", hint="start() it first")

    def exec(
        self,
        command: str,
        *,
        timeout_s: float | None = None,
        env: dict[str, str] | None = None,
        stdin: str | bytes | None = None,
    ) -> ExecResult:
        """Run ``command`` in the persistent shell session (see :mod:`shell_session`)."""
        self._require_alive()
        if len(command.encode("utf-8", errors="surrogateescape")) > MAX_COMMAND_BYTES:
            raise SandboxError(
                f"command is longer than {MAX_COMMAND_BYTES} bytes",
                hint="write the script to a file with write_file and run the file",
            )
        argv = ["bash", "-c", sh.SESSION_SCRIPT, "rgym-shell", command, self.state_file, self.workspace_root]
        raw = self._run_raw(
            argv,
            stdin=_as_bytes(stdin),
            user=None,
            cwd=self.workspace_root,
            env=self._command_env(env),
            timeout_s=timeout_s,
            cap=self.config.output_cap_bytes,
        )
        return raw.decoded()

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
        """Run one program directly, outside the shell session."""
        return self.exec_argv_raw(
            argv, timeout_s=timeout_s, cwd=cwd, env=env, stdin=stdin, user=user
        ).decoded()

    def exec_argv_raw(
        self,
        argv: list[str],
        *,
        timeout_s: float | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        stdin: str | bytes | None = None,
        user: str | None = None,
        cap: int | None = None,
    ) -> RawResult:
        """Like :meth:`exec_argv`, but output stays bytes and the cap can be raised (file transfers)."""
        self._require_alive()
        if not argv:
            raise SandboxError("empty command", hint="give at least the program to run")
        return self._run_raw(
            list(argv),
            stdin=_as_bytes(stdin),
            user=user,
            cwd=self._resolve_cwd(cwd),
            env=self._command_env(env),
            timeout_s=timeout_s,
            cap=self.config.output_cap_bytes if cap is None else cap,
        )

    def _command_env(self, env: dict[str, str] | None) -> dict[str, str]:
        """The sandbox's env, the caller's, and the submission runner's prefix (which nothing overrides)."""
        merged = {**self.config.env, **(env or {})}
        prefix = self.runner_prefix
        if prefix is not None:
            merged[SUBMISSION_RUNNER_ENV] = shlex.join(prefix)
        return merged

    def _resolve_cwd(self, cwd: str | None) -> str:
        if cwd is None:
            return self.workspace_root
        return posixpath.normpath(posixpath.join(self.workspace_root, cwd))

    # --- files -------------------------------------------------------------------------------------

    def _workspace_path(self, path: str) -> str:
        return posixpath.join(self.workspace_root, workspace_relpath(path))

    def read_file(self, path: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
        """Read a file under /workspace as the agent user; symlinks out of /workspace are refused."""
        target = self._workspace_path(path)
        return self.read_any(target, max_bytes=max_bytes, root=self.workspace_root, shown=path)

    def read_any(self, target: str, *, max_bytes: int, root: str = "/", shown: str | None = None) -> bytes:
        """Read any file the agent user may read; ``root`` confines it ("/" for no confinement)."""
        shown = shown or target
        raw = self.exec_argv_raw(
            ["bash", "-c", sh.READ_SCRIPT, "rgym-read", target, str(max_bytes), root],
            timeout_s=HELPER_TIMEOUT_S,
            cap=max_bytes + 1,
        )
        _raise_for_file_rc(raw, shown, max_bytes=max_bytes)
        return raw.stdout

    def write_file(self, path: str, data: str | bytes) -> None:
        """Write a file under /workspace as the agent user, creating parent folders."""
        target = self._workspace_path(path)
        if target == self.workspace_root:
            raise SandboxPathError(f"{path}: is the workspace folder itself", hint="name a file")
        self.write_any(target, data, root=self.workspace_root, shown=path)

    def write_any(self, target: str, data: str | bytes, *, root: str = "/", shown: str | None = None) -> None:
        """Write any file the agent user may write; ``root`` confines it ("/" for no confinement)."""
        raw = self.exec_argv_raw(
            ["bash", "-c", sh.WRITE_SCRIPT, "rgym-write", target, root],
            stdin=_as_bytes(data) or b"",
            timeout_s=HELPER_TIMEOUT_S,
        )
        _raise_for_file_rc(raw, shown or target, max_bytes=0)

    def copy_out(
        self,
        paths: list[str] | None,
        dest: Path,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        timeout_s: float | None = None,
    ) -> CopyReport:
        """Copy files out of /workspace in bounded pieces, unpacked on the host with a strict filter (see
        :mod:`gym_core.sandbox.workspace_copy`)."""
        return copy_out_bounded(self, paths, dest, max_bytes=max_bytes, timeout_s=timeout_s)


def _as_bytes(data: str | bytes | None) -> bytes | None:
    if data is None:
        return None
    return data.encode("utf-8") if isinstance(data, str) else data


def _raise_for_file_rc(raw: RawResult, shown: str, *, max_bytes: int) -> None:
    """Turn a file script's exit code into the contract's error (or return on success)."""
    if raw.timed_out:
        raise SandboxError(f"{shown}: file transfer timed out")
    rc = raw.exit_code
    if rc == 0:
        return
    detail = decode_output(raw.stderr).strip().splitlines()
    last = detail[-1] if detail else ""
    if rc == sh.RC_NOT_FOUND:
        raise SandboxFileNotFoundError(f"No such file or directory: {shown}")
    if rc == sh.RC_ESCAPES:
        raise SandboxPathError(f"{shown}: resolves outside the workspace (symlink?)")
    if rc == sh.RC_IS_DIR:
        raise SandboxIsADirectoryError(f"Is a directory: {shown}", hint="name a file, not a directory")
    if rc == sh.RC_PERMISSION:
        raise SandboxPathError(f"Permission denied: {shown}")
    if rc == sh.RC_TOO_BIG:
        raise OutputLimitExceededError(f"{shown}: file is {last} bytes, more than the limit of {max_bytes}")
    raise SandboxError(f"{shown}: file transfer failed (exit {rc}): {last}")
