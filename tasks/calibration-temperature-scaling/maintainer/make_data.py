"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

Noisy scikit-learn digits: pixels scaled to [0, 1], plus Gaussian noise of standard deviation 0.45, then a
stratified 60/20/20 train/validation/test split. The noise makes a wide, unregularised MLP overfit and
become overconfident, which is the regime the paper studies; on clean digits the baseline is already
calibrated and the task would be trivial.

Usage (from the repository root)::

    .venv/bin/python tasks/calibration-temperature-scaling/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/{train,val,test}.csv`` and
``eval/test_labels.csv``. Other seeds are for measuring the spread of the scores, not for shipping.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

TASK_ROOT = Path(__file__).resolve().parent.parent
NOISE_SIGMA = 0.45
N_FEATURES = 64
DECIMALS = 4


def make_splits(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three splits as ``name -> (features, labels)``, all drawn from ``seed``."""
    digits = load_digits()
    x = digits.data / 16.0  # pixel intensities are integers 0..16
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    x = x + rng.normal(0.0, NOISE_SIGMA, size=x.shape)
    # Round before splitting so the stored CSVs are exactly the data the scores were measured on.
    x = np.round(x, DECIMALS)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _feature_cells(row: np.ndarray) -> list[str]:
    # "+ 0.0" turns -0.0 into 0.0 so the files do not depend on the sign of a rounded zero.
    return [f"{v + 0.0:.{DECIMALS}f}" for v in row]


def write_task_data(out: Path, seed: int) -> None:
    """Write the public splits under ``out/workspace/data`` and the hidden test labels under ``out/eval``."""
    splits = make_splits(seed)
    features = [f"x{i}" for i in range(N_FEATURES)]
    for name in ("train", "val"):
        x, y = splits[name]
        rows = [[str(i), *_feature_cells(x[i]), str(y[i])] for i in range(len(y))]
        _write_csv(out / "workspace" / "data" / f"{name}.csv", ["id", *features, "label"], rows)
    x_test, y_test = splits["test"]
    _write_csv(
        out / "workspace" / "data" / "test.csv",
        ["id", *features],
        [[str(i), *_feature_cells(x_test[i])] for i in range(len(y_test))],
    )
    _write_csv(
        out / "eval" / "test_labels.csv",
        ["id", "label"],
        [[str(i), str(y_test[i])] for i in range(len(y_test))],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="noise and split seed (the shipped data uses 0)")
    parser.add_argument("--out", type=Path, default=TASK_ROOT, help="task-shaped folder to write into")
    args = parser.parse_args()
    write_task_data(args.out, args.seed)
    print(f"wrote seed {args.seed} data under {args.out}")


if __name__ == "__main__":
    main()
