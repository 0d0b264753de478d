"""Regenerate the task's data byte for byte: workspace/train.csv, workspace/test.csv and eval/labels.csv.

Usage: ``python maintainer/make_data.py [--seed 0]`` from anywhere; data seed 0 is what ships.
TODO(rgym): replace the example generator (y = 3 + 2x + noise) with the task's own data.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_TRAIN, N_TEST = 400, 400


def make(seed: int, root: Path = ROOT) -> None:
    rng = random.Random(seed)

    def sample() -> tuple[float, float]:
        x = rng.uniform(-2.0, 2.0)
        return x, 3.0 + 2.0 * x + rng.gauss(0.0, 1.0)

    train = [sample() for _ in range(N_TRAIN)]
    test = [sample() for _ in range(N_TEST)]
    # Random ids, and a hidden half of the test rows per split: the agent cannot tell them apart.
    ids = [f"r{n:05d}" for n in rng.sample(range(100000), N_TRAIN + N_TEST)]
    splits = ["public"] * (N_TEST // 2) + ["private"] * (N_TEST - N_TEST // 2)
    rng.shuffle(splits)
    with open(root / "workspace" / "train.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "x", "y"])
        for row_id, (x, y) in zip(ids[:N_TRAIN], train, strict=True):
            writer.writerow([row_id, f"{x:.6f}", f"{y:.6f}"])
    with open(root / "workspace" / "test.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "x"])
        for row_id, (x, _) in zip(ids[N_TRAIN:], test, strict=True):
            writer.writerow([row_id, f"{x:.6f}"])
    with open(root / "eval" / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "split", "y"])
        for row_id, (_, y), split in zip(ids[N_TRAIN:], test, splits, strict=True):
            writer.writerow([row_id, split, f"{y:.6f}"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    make(parser.parse_args().seed)
