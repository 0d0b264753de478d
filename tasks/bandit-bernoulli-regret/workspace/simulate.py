"""Play a policy on practice bandits, exactly as the grader plays it on the hidden ones, and print its regret.

Usage: python simulate.py [POLICY] [--seed SEED] [--bandits N] [--rounds T] [--batch B]
  POLICY defaults to policy.py; SEED to "practice". The grader uses 400 bandits, 2000 rounds and batches
  of 10 rounds (the defaults here), the same protocol, limits and scoring, and its own secret seeds.

Practice bandits are drawn like the hidden ones: arm means i.i.d. Beta(1, 3); bandit i's means come from
random.Random(f"{SEED}:means:{i}"), and the n-th pull of its arm a pays 1 when the n-th number of
random.Random(f"{SEED}:rewards:{i}:{a}") is below that arm's mean.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import select
import signal
import subprocess
import sys
import time

ARMS, BANDITS, ROUNDS, BATCH = 10, 400, 2000, 10
PRIOR = (1.0, 3.0)
TIME_LIMIT_S = 600.0
LINE_CAP = 64 * 1024
EXIT_GRACE_S = 5.0


class InvalidPolicy(Exception):
    """The policy broke the protocol or its limits (the grader would call the submission invalid)."""


class Bandits:
    """N Bernoulli bandits with fixed reward streams: the n-th pull of an arm always pays the same."""

    def __init__(self, seed: str, bandits: int, arms: int = ARMS) -> None:
        self.means = []
        for i in range(bandits):
            rng = random.Random(f"{seed}:means:{i}")
            self.means.append([rng.betavariate(*PRIOR) for _ in range(arms)])
        self.best = [max(m) for m in self.means]
        self.streams = [
            [random.Random(f"{seed}:rewards:{i}:{a}") for a in range(arms)] for i in range(bandits)
        ]
        self.regret = [0.0] * bandits

    def pull(self, arms: list[int]) -> list[int]:
        rewards = []
        for i, a in enumerate(arms):
            mean = self.means[i][a]
            self.regret[i] += self.best[i] - mean
            rewards.append(1 if self.streams[i][a].random() < mean else 0)
        return rewards


def play(argv: list[str], seed: str, bandits: int, rounds: int, batch: int = BATCH) -> list[float]:
    """Play the policy started by ``argv``; the regret of each bandit. Raises InvalidPolicy."""
    game = Bandits(seed, bandits)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None
    out_fd, in_fd = proc.stdin.fileno(), proc.stdout.fileno()
    os.set_blocking(out_fd, False)
    deadline = time.monotonic() + TIME_LIMIT_S
    buffer = b""

    def wait(fd: int, writing: bool, round_no: int) -> None:
        left = max(0.0, deadline - time.monotonic())
        ready = select.select([], [fd], [], left) if writing else select.select([fd], [], [], left)
        if not any(ready):
            raise InvalidPolicy(f"the policy took longer than {TIME_LIMIT_S:g} s in total (round {round_no})")

    def send(data: bytes, round_no: int) -> None:
        view = memoryview(data)
        while view:
            wait(out_fd, True, round_no)
            try:
                view = view[os.write(out_fd, view) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise InvalidPolicy(f"the policy stopped reading its input at round {round_no}") from None

    def readline(round_no: int) -> bytes:
        nonlocal buffer
        while b"\n" not in buffer:
            if len(buffer) > LINE_CAP:
                raise InvalidPolicy(f"round {round_no}: a line longer than {LINE_CAP} bytes")
            wait(in_fd, False, round_no)
            chunk = os.read(in_fd, 1 << 16)
            if not chunk:
                raise InvalidPolicy(
                    f"the policy exited or closed its output before round {round_no} was played"
                )
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        if len(line) > LINE_CAP:
            raise InvalidPolicy(f"round {round_no}: a line longer than {LINE_CAP} bytes")
        return line

    try:
        send(f"{ARMS} {bandits} {rounds} {batch}\n".encode(), 1)
        for first in range(1, rounds + 1, batch):
            pulls = []
            for round_no in range(first, min(rounds, first + batch - 1) + 1):
                try:
                    fields = readline(round_no).decode("ascii").split()
                except UnicodeDecodeError:
                    raise InvalidPolicy(f"round {round_no}: the policy's line is not ASCII text") from None
                if len(fields) != bandits:
                    raise InvalidPolicy(
                        f"round {round_no}: expected {bandits} arms on one line, got {len(fields)}"
                    )
                arms = []
                for i, text in enumerate(fields):
                    if not (text.isdigit() and len(text) <= 6) or int(text) >= ARMS:
                        raise InvalidPolicy(
                            f"round {round_no}, bandit {i}: {text[:20]!r} is not an arm (0 to {ARMS - 1})"
                        )
                    arms.append(int(text))
                pulls.append(arms)
            rewards = [" ".join(map(str, game.pull(arms))) for arms in pulls]
            send(("\n".join(rewards) + "\n").encode(), first)
        proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(EXIT_GRACE_S)
    finally:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
    return game.regret


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", nargs="?", default="policy.py")
    parser.add_argument("--seed", default="practice")
    parser.add_argument("--bandits", type=int, default=BANDITS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args()
    if min(args.bandits, args.rounds, args.batch) < 1 or args.rounds % args.batch:
        parser.error("--bandits, --rounds and --batch must be at least 1, and --rounds a multiple of --batch")
    started = time.monotonic()
    try:
        regret = play([sys.executable, args.policy], args.seed, args.bandits, args.rounds, args.batch)
    except InvalidPolicy as exc:
        print(f"invalid policy: {exc}", file=sys.stderr)
        return 1
    mean = sum(regret) / len(regret)
    sd = math.sqrt(sum((r - mean) ** 2 for r in regret) / max(1, len(regret) - 1))
    print(
        f"{args.policy}: mean regret {mean:.3f} over {len(regret)} practice bandits x {args.rounds} rounds "
        f"(sd {sd:.2f}, standard error {sd / math.sqrt(len(regret)):.2f}; {time.monotonic() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
