"""Baseline policy: guess upwards from LOW in steps of STEP, then walk back down one by one.

baseline.py sets STEP from knobs.json. Protocol: README.md.
"""

import sys

STEP = 1


def main() -> None:
    games, low, high = map(int, sys.stdin.readline().split())
    for _ in range(games):
        guess = low
        while True:
            print(guess, flush=True)
            answer = sys.stdin.readline().strip()
            if answer == "correct" or not answer:
                break
            guess = min(high, guess + STEP) if answer == "higher" else guess - 1


if __name__ == "__main__":
    main()
