"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

Noisy scikit-learn digits: pixels scaled to [0, 1], plus Gaussian noise of standard deviation 0.45, then a
stratified split into train (718 rows), validation (269) and test (810). The test rows are split again,
stratified, into a public half (405 rows, scored by ``validate``) and a private half (405, scored by
``submit``), as on Kaggle. The test rows get ids from a random permutation, so neither the ids nor the row
order of ``test.csv`` say which split a row is in.

The noise makes a wide, unregularised MLP overfit and become overconfident, which is the regime the paper
studies; on clean digits the baseline is already calibrated and the task would be trivial. MAINTAINERS.md
explains the split sizes.

Usage (from the repository root)::

    .venv/bin/python tasks/calibration-temperature-scaling/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/{train,val,test}.csv`` and
``eval/test_labels.csv`` (``id,split,label``). Other seeds are for measuring the spread of the scores, not
for shipping.
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
# 1797 images in all.
N_TRAIN = 718
N_VAL = 269
N_PUBLIC = 405
N_PRIVATE = 405
SPLITS = ("public", "private")


def make_splits(
    seed: int, n_train: int = N_TRAIN, n_val: int = N_VAL, n_public: int = N_PUBLIC
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``name -> (features, labels)`` for train, val, public and private, all drawn from ``seed``.

    The sizes default to the shipped ones; ``compare_splits.py`` tries others. The private split is the rest.
    """
    digits = load_digits()
    x = digits.data / 16.0  # pixel intensities are integers 0..16
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    x = x + rng.normal(0.0, NOISE_SIGMA, size=x.shape)
    # Round before splitting so the stored CSVs are exactly the data the scores were measured on.
    x = np.round(x, DECIMALS)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, train_size=n_train, stratify=y, random_state=seed
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, train_size=n_val, stratify=y_rest, random_state=seed
    )
    x_public, x_private, y_public, y_private = train_test_split(
        x_test, y_test, train_size=n_public, stratify=y_test, random_state=seed
    )
    return {
        "train": (x_train, y_train),
        "val": (x_val, y_val),
        "public": (x_public, y_public),
        "private": (x_private, y_private),
    }


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
    """Write the agent's data under ``out/workspace/data`` and the hidden test labels under ``out/eval``."""
    splits = make_splits(seed)
    assert len(splits["private"][1]) == N_PRIVATE, "the split sizes must add up to the 1797 digits"
    features = [f"x{i}" for i in range(N_FEATURES)]
    for name in ("train", "val"):
        x, y = splits[name]
        rows = [[str(i), *_feature_cells(x[i]), str(y[i])] for i in range(len(y))]
        _write_csv(out / "workspace" / "data" / f"{name}.csv", ["id", *features, "label"], rows)
    # Test rows of both splits, each given a random id; the files list them by id, so the order of
    # test.csv is that random permutation too and says nothing about the split.
    test = [(split, x, int(y)) for split in SPLITS for x, y in zip(*splits[split], strict=True)]
    ids = np.random.default_rng([seed, 1]).permutation(len(test))
    by_id = sorted(zip(ids.tolist(), test, strict=True), key=lambda pair: pair[0])
    _write_csv(
        out / "workspace" / "data" / "test.csv",
        ["id", *features],
        [[str(i), *_feature_cells(x)] for i, (_, x, _) in by_id],
    )
    _write_csv(
        out / "eval" / "test_labels.csv",
        ["id", "split", "label"],
        [[str(i), split, str(y)] for i, (split, _, y) in by_id],
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
