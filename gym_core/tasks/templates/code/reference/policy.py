"""The withheld method (copied over workspace/ by `rgym tasks verify`): TODO(rgym) the paper's method.

This example halves the interval at every guess.
"""

import sys


def main() -> None:
    games, low, high = map(int, sys.stdin.readline().split())
    for _ in range(games):
        lo, hi = low, high
        while True:
            guess = (lo + hi) // 2
            print(guess, flush=True)
            answer = sys.stdin.readline().strip()
            if answer == "correct" or not answer:
                break
            if answer == "higher":
                lo = guess + 1
            else:
                hi = guess - 1


if __name__ == "__main__":
    main()
