"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

The 1797 8x8 handwritten digits of scikit-learn's ``load_digits`` (pixels scaled to [0, 1]), centred and
multiplied by a random 64 x 64 orthogonal matrix, then shuffled. The rotation keeps every distance and
inner product, so the learning problem is exactly the digits problem, but the features are no longer
pixels: an agent cannot label rows by looking at them as images. Together with the task image, which has
scikit-learn's bundled copy of the digits removed (environment/Dockerfile), this keeps the hidden labels
out of reach; the rotation and the shuffle come from a seed the agent never sees.

5% of the rows are labelled: 9 per class, 90 in all. The other 1707 rows are the test rows, split at random
into public (853, validate) and private (854, the final score).

Usage (from the repository root)::

    .venv/bin/python tasks/few-label-digits/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/{labelled,unlabelled}.csv`` and
``eval/labels.csv`` (id, split, label of every unlabelled row). Other seeds are for measuring the spread of
the scores, not for shipping.
"""

from __future__ import annotations

import os

# One BLAS thread: the same summation order on every run; set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

TASK_ROOT = Path(__file__).resolve().parent.parent
N_FEATURES = 64
N_CLASSES = 10
LABELLED_PER_CLASS = 9
DECIMALS = 4


def random_rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def make_splits(seed: int) -> dict[str, np.ndarray]:
    """Features, labels, and the row sets (labelled, public, private) drawn from ``seed``."""
    digits = load_digits()
    x = digits.data / 16.0
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    z = np.round((x - x.mean(axis=0)) @ random_rotation(rng, N_FEATURES), DECIMALS)
    order = rng.permutation(len(y))
    z, y = z[order], y[order]  # ids are positions after the shuffle
    labelled = np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), size=LABELLED_PER_CLASS, replace=False)
                for c in range(N_CLASSES)
            ]
        )
    )
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    public_mask = np.zeros(len(rest), dtype=bool)
    public_mask[rng.choice(len(rest), size=len(rest) // 2, replace=False)] = True
    return {"x": z, "y": y, "labelled": labelled, "unlabelled": rest, "public": public_mask}


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
    """Write the public files under ``out/workspace/data`` and the hidden labels under ``out/eval``."""
    s = make_splits(seed)
    x, y = s["x"], s["y"]
    features = [f"f{j}" for j in range(N_FEATURES)]
    _write_csv(
        out / "workspace" / "data" / "labelled.csv",
        ["id", *features, "label"],
        [[str(i), *_cells(x[i]), str(y[i])] for i in s["labelled"]],
    )
    _write_csv(
        out / "workspace" / "data" / "unlabelled.csv",
        ["id", *features],
        [[str(i), *_cells(x[i])] for i in s["unlabelled"]],
    )
    _write_csv(
        out / "eval" / "labels.csv",
        ["id", "split", "label"],
        [
            [str(i), "public" if public else "private", str(y[i])]
            for i, public in zip(s["unlabelled"], s["public"], strict=True)
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="data seed (the shipped data uses 0)")
    parser.add_argument("--out", type=Path, default=TASK_ROOT, help="task-shaped folder to write into")
    args = parser.parse_args()
    write_task_data(args.out, args.seed)
    print(f"wrote seed {args.seed} data under {args.out}")


if __name__ == "__main__":
    main()
