"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

Ten classes, Gaussian with a shared covariance: in a 20-dimensional latent space the class means are the
vertices of a regular simplex (every pair of classes 3 units apart, so every class is equally hard to
recognise) and every class has unit-variance noise in all 20 directions; a random rotation mixes the
directions and every feature gets its own scale and offset. The training set is long-tailed, as in the
long-tailed CIFAR of Cui et al. (2019): class sizes fall exponentially from 1000 to 10 (imbalance ratio 100),
in a random order of the classes. The validation set (30 per class) and the test set (300 per class) are
balanced. The test rows are split into a public half (validate) and a private half (submit), 150 rows of
every class each.

Usage (from the repository root)::

    .venv/bin/python tasks/long-tailed-classification/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/{train,val,test}.csv`` and
``eval/test_labels.csv``. Other seeds are for measuring the spread of the scores, not for shipping.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

TASK_ROOT = Path(__file__).resolve().parent.parent
N_CLASSES = 10
N_FEATURES = 20
CLASS_DISTANCE = 3.0
LARGEST_CLASS = 1000
IMBALANCE_RATIO = 100
VAL_PER_CLASS = 30
TEST_PER_CLASS = 300
DECIMALS = 4
FEATURES = [f"x{j}" for j in range(N_FEATURES)]


def train_class_sizes(order: np.ndarray) -> np.ndarray:
    """Training rows of every class: 1000 * 100 ** (-r / 9) for the class of rank r in ``order``."""
    by_rank = np.round(LARGEST_CLASS * IMBALANCE_RATIO ** (-np.arange(N_CLASSES) / (N_CLASSES - 1))).astype(
        int
    )
    sizes = np.empty(N_CLASSES, dtype=int)
    sizes[order] = by_rank
    return sizes


def make_splits(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three splits as ``name -> (features, labels)``, all drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    # Centred identity rows are N equidistant points, sqrt(2) apart; scale them to CLASS_DISTANCE.
    simplex = (np.eye(N_CLASSES) - 1.0 / N_CLASSES) * CLASS_DISTANCE / np.sqrt(2.0)
    means = np.zeros((N_CLASSES, N_FEATURES))
    means[:, :N_CLASSES] = simplex
    rotation, _ = np.linalg.qr(rng.normal(size=(N_FEATURES, N_FEATURES)))
    scale = np.exp(rng.uniform(-1.0, 2.0, size=N_FEATURES))
    offset = rng.normal(0.0, 3.0, size=N_FEATURES)
    order = rng.permutation(N_CLASSES)

    def draw(per_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(N_CLASSES), per_class)
        latent = means[labels] + rng.normal(size=(len(labels), N_FEATURES))
        shuffle = rng.permutation(len(labels))
        x = (latent @ rotation.T) * scale + offset
        return np.round(x[shuffle], DECIMALS), labels[shuffle]

    return {
        "train": draw(train_class_sizes(order)),
        "val": draw(np.full(N_CLASSES, VAL_PER_CLASS)),
        "test": draw(np.full(N_CLASSES, TEST_PER_CLASS)),
    }


def public_mask(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """True for the test rows of the public split: half the rows of every class."""
    public = np.zeros(len(labels), dtype=bool)
    for c in range(N_CLASSES):
        rows = np.flatnonzero(labels == c)
        public[rng.choice(rows, size=len(rows) // 2, replace=False)] = True
    return public


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _cells(row: np.ndarray) -> list[str]:
    # "+ 0.0" turns -0.0 into 0.0 so the files do not depend on the sign of a rounded zero.
    return [f"{v + 0.0:.{DECIMALS}f}" for v in row]


def write_task_data(out: Path, seed: int) -> None:
    """Write the public splits under ``out/workspace/data`` and the hidden test labels under ``out/eval``."""
    splits = make_splits(seed)
    for name in ("train", "val"):
        x, y = splits[name]
        rows = [[str(i), *_cells(x[i]), str(y[i])] for i in range(len(y))]
        _write_csv(out / "workspace" / "data" / f"{name}.csv", ["id", *FEATURES, "label"], rows)
    x_test, y_test = splits["test"]
    _write_csv(
        out / "workspace" / "data" / "test.csv",
        ["id", *FEATURES],
        [[str(i), *_cells(x_test[i])] for i in range(len(y_test))],
    )
    public = public_mask(y_test, np.random.default_rng([seed, 1]))
    _write_csv(
        out / "eval" / "test_labels.csv",
        ["id", "split", "label"],
        [[str(i), "public" if public[i] else "private", str(y_test[i])] for i in range(len(y_test))],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="generator seed (the shipped data uses 0)")
    parser.add_argument("--out", type=Path, default=TASK_ROOT, help="task-shaped folder to write into")
    args = parser.parse_args()
    write_task_data(args.out, args.seed)
    print(f"wrote seed {args.seed} data under {args.out}")


if __name__ == "__main__":
    main()
