"""Grade /submission/policy.py: play it on the hidden games of the split RGYM_SPLIT names.

The submission is code (``grader.submission_kind: code``, docs/tasks.md): the policy is started through
``$RGYM_SUBMISSION_RUNNER``, as another user who cannot read this folder, and spoken to over pipes only.
The example game: guess a hidden integer in [LOW, HIGH]; after each guess the grader answers ``higher``,
``lower`` or ``correct``. Score: the mean number of guesses per game (lower is better).

Protocol (README.md gives it to the agent): the first line is ``GAMES LOW HIGH``; then for every game the
policy prints one guess per line and reads one answer per guess, until ``correct``.

Exit codes: 0 scored (last stdout line JSON with ``score``); 1 invalid submission (one line on stderr that
names the game and the rule, never a hidden value); 2 the grader cannot run. Standard library only.
TODO(rgym): replace the example game with the task's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

SECRETS = Path(__file__).resolve().parent / "secrets.json"
POLICY_FILE = "policy.py"
GAMES, LOW, HIGH = 100, 1, 100
#: A game ends as lost after this many guesses (it then counts this many).
MAX_GUESSES = 200
TIME_LIMIT_S = 120.0
LINE_CAP = 1024
MAX_POLICY_BYTES = 256 * 1024
EXIT_INVALID, EXIT_GRADER = 1, 2


class Invalid(Exception):
    """The policy broke the protocol or its limits; the message is shown to the agent."""


class GraderError(Exception):
    """The grader cannot run: not the submission's fault."""


def targets(seed: str, games: int = GAMES) -> list[int]:
    """The hidden number of every game of one split."""
    return [random.Random(f"{seed}:{i}").randint(LOW, HIGH) for i in range(games)]


class Pipe:
    """Line I/O with the policy under one deadline for the whole game and a cap on line length."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.out_fd, self.in_fd = proc.stdin.fileno(), proc.stdout.fileno()
        os.set_blocking(self.out_fd, False)
        self.deadline = time.monotonic() + TIME_LIMIT_S
        self.buffer = b""

    def _wait(self, fd: int, writing: bool, game: int) -> None:
        left = max(0.0, self.deadline - time.monotonic())
        ready = select.select([], [fd], [], left) if writing else select.select([fd], [], [], left)
        if not any(ready):
            raise Invalid(f"the policy took longer than {TIME_LIMIT_S:g} s in total (at game {game})")

    def send(self, line: str, game: int) -> None:
        view = memoryview((line + "\n").encode())
        while view:
            self._wait(self.out_fd, True, game)
            try:
                view = view[os.write(self.out_fd, view) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise Invalid(f"the policy stopped reading its input at game {game}") from None

    def readline(self, game: int) -> str:
        while b"\n" not in self.buffer:
            if len(self.buffer) > LINE_CAP:
                raise Invalid(f"game {game}: the policy printed a line longer than {LINE_CAP} bytes")
            self._wait(self.in_fd, False, game)
            chunk = os.read(self.in_fd, 4096)
            if not chunk:
                raise Invalid(f"the policy exited before game {game} was over")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("ascii", errors="replace").strip()


def play(argv: list[str], seed: str, cwd: str) -> list[int]:
    """Guesses the policy needed in every game."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # never the grader's own output: only the verdict goes there
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise GraderError(f"cannot start the policy: {exc}") from exc
    counts = []
    try:
        pipe = Pipe(proc)
        pipe.send(f"{GAMES} {LOW} {HIGH}", 0)
        for game, hidden in enumerate(targets(seed), start=1):
            for guess_no in range(1, MAX_GUESSES + 1):
                text = pipe.readline(game)
                if not (text.isdigit() and len(text) <= 9):
                    raise Invalid(f"game {game}, guess {guess_no}: {text[:20]!r} is not a whole number")
                guess = int(text)
                if guess == hidden:
                    pipe.send("correct", game)
                    break
                pipe.send("higher" if guess < hidden else "lower", game)
            counts.append(guess_no)
        with contextlib.suppress(OSError):
            os.close(pipe.out_fd)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2)
    finally:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
    return counts


def main(argv: list[str]) -> int:
    split = os.environ.get("RGYM_SPLIT", "private")
    try:
        if split not in ("public", "private") or len(argv) != 2:
            raise GraderError("usage: RGYM_SPLIT=public|private grade.py SUBMISSION_DIR")
        runner = shlex.split(os.environ.get("RGYM_SUBMISSION_RUNNER", ""))
        if not runner:
            raise GraderError(
                "RGYM_SUBMISSION_RUNNER is not set: the policy only runs isolated, through rgym"
            )
        try:
            seed = str(json.loads(SECRETS.read_text())[split])
        except (OSError, ValueError, KeyError) as exc:
            raise GraderError(f"cannot read the {split} seed: {exc}") from exc
        policy = (Path(argv[1]) / POLICY_FILE).resolve()
        if not policy.is_file():
            raise Invalid(f"{POLICY_FILE} not found in the submission")
        if policy.stat().st_size > MAX_POLICY_BYTES:
            raise Invalid(f"{POLICY_FILE} is larger than {MAX_POLICY_BYTES} bytes")
        counts = play([*runner, "python3", str(policy)], seed, cwd=str(policy.parent))
    except Invalid as exc:
        print(f"invalid policy: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except GraderError as exc:
        print(f"grader error: {exc}", file=sys.stderr)
        return EXIT_GRADER
    mean = sum(counts) / len(counts)
    print(f"split {split}: {mean:.3f} guesses per game over {len(counts)} games")
    print(json.dumps({"score": round(mean, 6), "split": split, "games": len(counts)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
