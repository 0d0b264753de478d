"""Grader: play the submitted policy on the hidden bandits of one split and score its mean regret.

Usage: ``python grade.py SUBMISSION_DIR`` with ``RGYM_SPLIT=public|private`` and ``RGYM_SUBMISSION_RUNNER``
set by rgym (``grader.submission_kind: code``). The policy (``SUBMISSION_DIR/policy.py``) is started through
the runner prefix, as another user who cannot read this folder, and spoken to over pipes; the protocol is
the one README.md gives the agent. The last stdout line is ``{"score": <mean regret>, ...}``.

Exit codes: 0 scored; 1 invalid submission (one line on stderr, shown to the agent: it names the round and
the bandit, never a hidden mean); 2 the grader itself cannot run (a bad environment or missing data).

Hidden data: ``seeds.json`` holds one secret seed per split. Bandit ``i`` of a split has arm means drawn
i.i.d. from Beta(1, 3) by ``random.Random(f"{seed}:means:{i}")``; the n-th pull of its arm ``a`` pays 1 when
the n-th number of ``random.Random(f"{seed}:rewards:{i}:{a}")`` is below that arm's mean. The regret of a
bandit is the sum over rounds of (best mean - mean of the arm pulled): it depends only on the pulls.

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

SEEDS_FILE = Path(__file__).resolve().parent / "seeds.json"
POLICY_FILE = "policy.py"
ARMS, BANDITS, ROUNDS = 10, 400, 2000
#: Rewards come back in batches: the policy chooses the arms of BATCH rounds, then sees their rewards.
BATCH = 10
PRIOR = (1.0, 3.0)
#: Wall time the policy may take over the whole game, startup included (generous: a game is 2000 round
#: trips, and on a loaded machine every one waits for the scheduler; the baseline needs ~10 s on an idle core).
TIME_LIMIT_S = 600.0
#: Longest line the policy may print (a valid one is 2 * BANDITS bytes).
LINE_CAP = 64 * 1024
#: How long the policy has to exit once its input is closed; it is killed then anyway.
EXIT_GRACE_S = 5.0
MAX_POLICY_BYTES = 1024 * 1024
EXIT_INVALID, EXIT_GRADER = 1, 2


class InvalidSubmission(Exception):
    """The policy broke the protocol or its limits; the message says how (and leaks nothing hidden)."""


class GraderError(Exception):
    """The grader cannot run: not the submission's fault."""


def arm_means(seed: str, bandits: int = BANDITS, arms: int = ARMS) -> list[list[float]]:
    """The hidden arm means of every bandit of one split."""
    means = []
    for i in range(bandits):
        rng = random.Random(f"{seed}:means:{i}")
        means.append([rng.betavariate(*PRIOR) for _ in range(arms)])
    return means


class Bandits:
    """N Bernoulli bandits with fixed reward streams: the n-th pull of an arm always pays the same."""

    def __init__(self, seed: str, bandits: int = BANDITS, arms: int = ARMS) -> None:
        self.means = arm_means(seed, bandits, arms)
        self.best = [max(m) for m in self.means]
        self.streams = [
            [random.Random(f"{seed}:rewards:{i}:{a}") for a in range(arms)] for i in range(bandits)
        ]
        self.regret = [0.0] * bandits

    def pull(self, arms: list[int]) -> list[int]:
        """One round: pull ``arms[i]`` in bandit ``i``; returns the rewards and adds up the regret."""
        rewards = []
        for i, a in enumerate(arms):
            mean = self.means[i][a]
            self.regret[i] += self.best[i] - mean
            rewards.append(1 if self.streams[i][a].random() < mean else 0)
        return rewards


class Pipe:
    """Line I/O with the policy, bounded in time (one deadline for the whole game) and in line length."""

    def __init__(self, proc: subprocess.Popen[bytes], time_limit_s: float) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc, self.time_limit_s = proc, time_limit_s
        self.deadline = time.monotonic() + time_limit_s
        self.out_fd, self.in_fd = proc.stdin.fileno(), proc.stdout.fileno()
        os.set_blocking(self.out_fd, False)
        self.buffer = b""

    def _wait(self, fd: int, writing: bool, round_no: int) -> None:
        left = self.deadline - time.monotonic()
        ready = (
            select.select([], [fd], [], max(0.0, left))
            if writing
            else select.select([fd], [], [], max(0.0, left))
        )
        if not any(ready):
            raise InvalidSubmission(
                f"the policy took longer than {self.time_limit_s:g} s in total (it was at round {round_no})"
            )

    def send(self, data: bytes, round_no: int) -> None:
        view = memoryview(data)
        while view:
            self._wait(self.out_fd, True, round_no)
            try:
                view = view[os.write(self.out_fd, view) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise InvalidSubmission(f"the policy stopped reading its input at round {round_no}") from None

    def readline(self, round_no: int) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > LINE_CAP:
                raise InvalidSubmission(
                    f"round {round_no}: the policy printed a line longer than {LINE_CAP} bytes"
                )
            self._wait(self.in_fd, False, round_no)
            chunk = os.read(self.in_fd, 1 << 16)
            if not chunk:
                raise InvalidSubmission(
                    f"the policy exited or closed its output before round {round_no} was played"
                )
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        if len(line) > LINE_CAP:
            raise InvalidSubmission(
                f"round {round_no}: the policy printed a line longer than {LINE_CAP} bytes"
            )
        return line


def parse_arms(line: bytes, round_no: int, bandits: int = BANDITS, arms: int = ARMS) -> list[int]:
    """The arms of one round: ``bandits`` integers in 0..arms-1, separated by whitespace."""
    try:
        fields = line.decode("ascii").split()
    except UnicodeDecodeError:
        raise InvalidSubmission(f"round {round_no}: the policy's line is not ASCII text") from None
    if len(fields) != bandits:
        raise InvalidSubmission(f"round {round_no}: expected {bandits} arms on one line, got {len(fields)}")
    chosen = []
    for i, text in enumerate(fields):
        if not (text.isdigit() and len(text) <= 6):
            raise InvalidSubmission(
                f"round {round_no}, bandit {i}: {text[:20]!r} is not an arm (0 to {arms - 1})"
            )
        arm = int(text)
        if arm >= arms:
            raise InvalidSubmission(
                f"round {round_no}, bandit {i}: arm {arm} is out of range (0 to {arms - 1})"
            )
        chosen.append(arm)
    return chosen


def play(argv: list[str], seed: str, *, cwd: str | None = None, bandits: int = BANDITS,
         rounds: int = ROUNDS, batch: int = BATCH, time_limit_s: float = TIME_LIMIT_S) -> list[float]:  # fmt: skip
    """Play the policy started by ``argv`` on the bandits of ``seed``; the regret of each bandit.

    The policy gets ``K N T B``, then in every batch prints the arms of B rounds (a line each) before it
    reads their B lines of rewards.

    Raises:
        InvalidSubmission: the policy broke the protocol, crashed, or ran out of time.
    """
    game = Bandits(seed, bandits)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # never this process's own output: only the verdict goes there
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise GraderError(f"cannot start the policy ({argv[0]}): {exc}") from exc
    try:
        pipe = Pipe(proc, time_limit_s)
        pipe.send(f"{ARMS} {bandits} {rounds} {batch}\n".encode(), 1)
        for first in range(1, rounds + 1, batch):
            batch_rounds = range(first, min(rounds, first + batch - 1) + 1)
            pulls = [parse_arms(pipe.readline(r), r, bandits) for r in batch_rounds]
            rewards = [" ".join(map(str, game.pull(arms))) for arms in pulls]
            pipe.send(("\n".join(rewards) + "\n").encode(), first)
        proc.stdin.close()  # type: ignore[union-attr]
        # the game is over: a policy that lingers is killed below, at no cost
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(EXIT_GRACE_S)
    finally:
        _kill(proc)
    return game.regret


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End the policy and everything in its process group (what escaped dies with the sandbox)."""
    for kill in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        with contextlib.suppress(OSError):
            kill()
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def runner_prefix() -> list[str]:
    """The command prefix rgym gives code graders; refuse to run the policy without one."""
    prefix = shlex.split(os.environ.get("RGYM_SUBMISSION_RUNNER", ""))
    if not prefix:
        raise GraderError(
            "RGYM_SUBMISSION_RUNNER is not set: this grader runs the policy only through rgym's runner"
        )
    return prefix


def split_seed(split: str) -> str:
    try:
        seeds = json.loads(SEEDS_FILE.read_text())
        return str(seeds[split])
    except (OSError, ValueError, KeyError) as exc:
        raise GraderError(f"cannot read the {split} seed from {SEEDS_FILE.name}: {exc}") from exc


def main(argv: list[str]) -> int:
    split = os.environ.get("RGYM_SPLIT", "private")
    try:
        if split not in ("public", "private"):
            raise GraderError(f"RGYM_SPLIT must be public or private, got {split!r}")
        if len(argv) != 2:
            raise GraderError("usage: grade.py SUBMISSION_DIR")
        policy = Path(argv[1]) / POLICY_FILE
        if not policy.is_file():
            raise InvalidSubmission(f"{POLICY_FILE} not found; write it in /workspace (see README.md)")
        if policy.stat().st_size > MAX_POLICY_BYTES:
            raise InvalidSubmission(f"{POLICY_FILE} is larger than {MAX_POLICY_BYTES} bytes")
        prefix, seed = runner_prefix(), split_seed(split)
        started = time.monotonic()
        regret = play([*prefix, "python3", str(policy)], seed, cwd=str(policy.parent))
    except InvalidSubmission as exc:
        print(f"invalid policy: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except GraderError as exc:
        print(f"grader error: {exc}", file=sys.stderr)
        return EXIT_GRADER
    mean = sum(regret) / len(regret)
    sd = math.sqrt(sum((r - mean) ** 2 for r in regret) / (len(regret) - 1))
    print(f"split {split}: mean regret {mean:.3f} over {len(regret)} bandits x {ROUNDS} rounds (sd {sd:.2f})")
    verdict = {
        "score": round(mean, 6),
        "split": split,
        "bandits": len(regret),
        "rounds": ROUNDS,
        "batch": BATCH,
        "regret_sd": round(sd, 4),
        "seconds": round(time.monotonic() - started, 2),
    }
    print(json.dumps(verdict))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
