"""Grading code submissions (``grader.submission_kind: code``): the submitted program never sees ``eval/``.

A code submission is a program (a policy, a strategy) that the grader plays against hidden instances. The
grader must never run it in its own process: it starts it through the command prefix in
``RGYM_SUBMISSION_RUNNER`` (shell-split it, append the program's argv) and talks to it over stdin and
stdout pipes::

    runner = shlex.split(os.environ["RGYM_SUBMISSION_RUNNER"])
    policy = subprocess.Popen([*runner, "python3", "/submission/policy.py"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)

What the sandbox guarantees (each backend, see :mod:`gym_core.sandbox.docker_backend` and
:mod:`gym_core.sandbox.local_backend`): the program runs as another identity that cannot read /eval nor the
grader's scratch folder ($TMPDIR), cannot read the grader's memory, environment or file descriptors, cannot
signal or trace it, has no capabilities, cannot gain privileges and has no network. It can read
/submission (read-only) and write its own /tmp. Its environment is a fixed minimal one (PATH with the
task's Python first, HOME=/tmp); pass anything else on its command line (``env NAME=value`` works).

What the grader must do itself (the sandbox cannot know the protocol):

- give the program only pipes (``stdin``/``stdout`` PIPE, ``stderr`` PIPE or DEVNULL), never its own
  stdout or stderr, nor any other descriptor (``close_fds`` stays True): a policy holding the grader's
  stdout could print a score line;
- put no hidden data on the program's command line or in its environment, nor in files it can read;
- bound everything it reads from the program (line length, count, time) and treat a program that
  misbehaves (bad output, early exit, too slow) as an invalid submission: exit 1 with a reason that
  leaks nothing hidden. Kill the program (and its process group) when done; what escapes dies with the
  sandbox, which lives for this one grading only.

The rest of this module is what :class:`~gym_core.grading.grader.Grader` does for such a task: check,
before the grader starts, that the runner really cannot read /eval (a backend that cannot isolate refuses
to start, and a runner that fails the check stops the grading), and run the grader with ``umask 077``.
"""

from __future__ import annotations

from pathlib import Path

from gym_core.errors import GradingError
from gym_core.sandbox.base import EVAL_MOUNT, ExecResult, Sandbox

#: Hidden files the runner check tries to read (a sample is enough: they share one top folder).
PROBED_FILES = 8

#: Run through the runner: $1 is /eval, $2.. hidden files that must stay unreadable. One line on failure.
_PROBE = r"""
EVAL="$1"; shift
for f in "$@"; do
  if head -c 1 -- "$f" >/dev/null 2>&1; then echo "the submitted program can read $f"; exit 3; fi
done
if ls -- "$EVAL" >/dev/null 2>&1; then echo "the submitted program can list $EVAL"; exit 3; fi
if [ -r /proc/self/status ] && ! grep -Eq '^CapEff:[[:space:]]*0+$' /proc/self/status; then
  echo "the submitted program keeps capabilities: $(grep CapEff /proc/self/status)"; exit 3
fi
exit 0
"""


def hidden_probe_paths(eval_dir: Path, limit: int = PROBED_FILES) -> list[str]:
    """Up to ``limit`` files of ``eval_dir`` as the grader sandbox sees them (under /eval)."""
    paths: list[str] = []
    for path in sorted(eval_dir.rglob("*")):
        if path.is_file() and not path.is_symlink():
            paths.append(f"{EVAL_MOUNT}/{path.relative_to(eval_dir).as_posix()}")
            if len(paths) >= limit:
                break
    return paths


def check_runner(sandbox: Sandbox, eval_dir: Path, *, task_id: str) -> None:
    """Refuse to grade unless the sandbox's runner starts a program that cannot read /eval.

    Raises:
        GradingError: there is no runner, it does not start, or what it starts can read hidden files.
    """
    prefix = sandbox.runner_prefix
    if prefix is None:
        raise GradingError(
            f"task {task_id}: the {sandbox.name} sandbox cannot run submitted code apart from /eval",
            hint="use --backend docker (or local with bubblewrap)",
        )
    argv = [*prefix, "sh", "-c", _PROBE, "rgym-probe", EVAL_MOUNT, *hidden_probe_paths(eval_dir)]
    result: ExecResult = sandbox.exec_argv(argv, timeout_s=60)
    if result.exit_code != 0:
        why = (result.stdout.strip() or result.stderr.strip() or f"exit code {result.exit_code}").splitlines()
        raise GradingError(
            f"task {task_id}: the submission runner of the {sandbox.name} sandbox is not safe to use: "
            f"{why[-1][:300]}; nothing was graded",
            hint="report this: the sandbox backend does not isolate code submissions here",
        )


def grader_command(command: str) -> str:
    """The grader's command as run in a code-grading sandbox: files it writes are its own (umask 077)."""
    return f"umask 077\n{command}"


def trust_verdict_after_oom(exit_code: int | None) -> bool:
    """True when a grader that exited by itself (0 or 1) after an OOM kill in its sandbox is believed.

    The runner gives the submitted program the highest OOM score, so the kernel kills it, not the grader;
    a grader that still exits 0 or 1 has judged the submission with that in view.
    """
    return exit_code in (0, 1)
