"""Regenerate eval/seeds.json byte for byte: the secret seed of each split.

Usage (from the repository root): python tasks/bandit-bernoulli-regret/maintainer/make_data.py [--data-seed 0]

A split's bandits are generated from its seed by eval/grade.py (see its docstring). The shipped file uses
data seed 0; maintainer/measure.py uses other data seeds to measure how much scores move between instance
sets. Like eval/, this folder is never mounted into any sandbox.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

TASK = Path(__file__).resolve().parents[1]
SPLITS = ("public", "private")


def split_seeds(data_seed: int) -> dict[str, str]:
    """The seed of each split for one data seed (256 bits each, independent between splits)."""
    return {
        split: hashlib.sha256(f"rgym/bandit-bernoulli-regret/{data_seed}/{split}".encode()).hexdigest()
        for split in SPLITS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-seed", type=int, default=0)
    args = parser.parse_args()
    path = TASK / "eval" / "seeds.json"
    path.write_text(json.dumps(split_seeds(args.data_seed), indent=2) + "\n")
    print(f"wrote {path.relative_to(TASK.parents[1])} (data seed {args.data_seed})")


if __name__ == "__main__":
    main()
