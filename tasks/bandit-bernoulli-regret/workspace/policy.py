"""Epsilon-greedy: the baseline policy. Plays N Bernoulli bandits in lockstep (protocol: README.md).

In every bandit and round it pulls a uniformly random arm with probability epsilon, otherwise the arm with
the highest observed mean reward (arms never pulled count as best; ties go to the lowest arm). Epsilon in
round t (t = 0, 1, 2, ...) is EPSILON / (1 + DECAY * t). Rewards arrive once per batch of rounds, so the
observed means change only between batches. `python baseline.py` rewrites the two constants below from
knobs.json.
"""

import random
import sys

EPSILON = 0.1
DECAY = 0.0
SEED = 0


def main() -> None:
    arms, bandits, rounds, batch = (int(x) for x in sys.stdin.readline().split())
    rng = random.Random(SEED)
    pulls = [[0] * arms for _ in range(bandits)]
    wins = [[0] * arms for _ in range(bandits)]
    # observed mean of each arm; 2.0 (above any mean) until the arm is pulled once
    means = [[2.0] * arms for _ in range(bandits)]
    every_arm = range(arms)
    for first in range(0, rounds, batch):
        greedy = [max(every_arm, key=means[i].__getitem__) for i in range(bandits)]
        chosen_rounds = []
        for t in range(first, min(rounds, first + batch)):
            epsilon = EPSILON / (1.0 + DECAY * t)
            chosen_rounds.append(
                [rng.randrange(arms) if rng.random() < epsilon else greedy[i] for i in range(bandits)]
            )
        sys.stdout.write("".join(" ".join(map(str, chosen)) + "\n" for chosen in chosen_rounds))
        sys.stdout.flush()
        for chosen in chosen_rounds:
            rewards = sys.stdin.readline().split()
            for i, arm in enumerate(chosen):
                pulls[i][arm] += 1
                wins[i][arm] += rewards[i] == "1"
        for i, chosen_arms in enumerate(zip(*chosen_rounds, strict=True)):
            for arm in set(chosen_arms):
                means[i][arm] = wins[i][arm] / pulls[i][arm]


if __name__ == "__main__":
    main()
