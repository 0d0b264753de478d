"""Regenerate eval/secrets.json byte for byte: the secret seed of each split.

Usage: ``python maintainer/make_data.py [--seed 0]``; data seed 0 is what ships. The games come from these
seeds as eval/grade.py says. TODO(rgym): the task's own hidden instances.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make(seed: int, root: Path = ROOT) -> None:
    rng = random.Random(f"secrets:{seed}")
    secrets = {"public": rng.getrandbits(64), "private": rng.getrandbits(64)}
    (root / "eval" / "secrets.json").write_text(json.dumps(secrets, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    make(parser.parse_args().seed)
