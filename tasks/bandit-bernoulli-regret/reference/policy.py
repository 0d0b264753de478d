"""The withheld method (Chapelle and Li, NeurIPS 2011, Algorithm 2): Thompson sampling for Bernoulli arms.

Each arm keeps a Beta(1 + wins, 1 + losses) posterior over its mean; every round each bandit draws one sample
from the posterior of every arm and pulls the arm with the largest sample. Within a batch the posteriors do
not change, but every round draws afresh (the paper's delayed-feedback setting, section 4).
"""

import sys

import numpy as np


def main() -> None:
    arms, bandits, rounds, batch = (int(x) for x in sys.stdin.readline().split())
    rng = np.random.default_rng(0)
    alpha = np.ones((bandits, arms))
    beta = np.ones((bandits, arms))
    rows = np.arange(bandits)
    for first in range(0, rounds, batch):
        size = min(batch, rounds - first)
        chosen = rng.beta(alpha, beta, size=(size, bandits, arms)).argmax(axis=2)
        sys.stdout.write("".join(" ".join(map(str, row)) + "\n" for row in chosen.tolist()))
        sys.stdout.flush()
        for row in chosen:
            rewards = np.array(sys.stdin.readline().split(), dtype=np.float64)
            alpha[rows, row] += rewards
            beta[rows, row] += 1.0 - rewards


if __name__ == "__main__":
    main()
