"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

The target is a random smooth function: a draw from a Gaussian process with a Gaussian (RBF) covariance of
lengthscale 1.5 and variance 1 on R^6, observed with Gaussian noise of standard deviation 0.5, at inputs
drawn from the standard normal distribution. The GP draw is approximated by a sum of J = 20000 random
cosines (a spectral draw), which is indistinguishable from an exact draw at this scale:

    f(x) = sum_j a_j cos(w_j . x + b_j),  w_j ~ N(0, I / 1.5^2),  b_j ~ U[0, 2 pi),  a_j ~ N(0, 2 / J)
    x ~ N(0, I_6),  y = f(x) + 0.5 e,  e ~ N(0, 1)

Regression with the matching Gaussian kernel is the Bayes-optimal method for such data, so the task
measures how well a method approximates kernel ridge regression on all 30000 training rows, which is too
large to solve exactly in the sandbox's memory (an n x n kernel matrix is 7.2 GB). The best possible test
mean squared error is the noise variance, 0.25. The formula is not shown to agents.

Usage (from the repository root)::

    .venv/bin/python tasks/large-scale-kernel-regression/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/{train,test}.csv`` and
``eval/test_targets.csv`` (id, split, y for every test row). Other seeds are for measuring the spread of
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

TASK_ROOT = Path(__file__).resolve().parent.parent
N_FEATURES = 6
LENGTHSCALE = 1.5
N_COMPONENTS = 20000
NOISE_SD = 0.5
N_TRAIN = 30000
N_PUBLIC = 5000
N_PRIVATE = 10000
DECIMALS = 3
CHUNK = 2000  # rows per block when evaluating f, to keep memory small


def random_function(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, b, a)`` of f(x) = cos(x @ w + b) @ a, a GP draw with the RBF covariance of ``LENGTHSCALE``."""
    w = rng.standard_normal((N_FEATURES, N_COMPONENTS)) / LENGTHSCALE
    b = rng.uniform(0.0, 2.0 * np.pi, N_COMPONENTS)
    a = rng.standard_normal(N_COMPONENTS) * np.sqrt(2.0 / N_COMPONENTS)
    return w, b, a


def evaluate(x: np.ndarray, w: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """f at the rows of ``x``, in blocks."""
    return np.concatenate([np.cos(x[i : i + CHUNK] @ w + b) @ a for i in range(0, len(x), CHUNK)])


def make_splits(seed: int) -> dict[str, np.ndarray]:
    """Train features and targets, test features and targets, and each test row's split, from ``seed``."""
    rng = np.random.default_rng(seed)
    w, b, a = random_function(rng)
    n_test = N_PUBLIC + N_PRIVATE
    # Round the inputs before evaluating f so the stored CSVs are exactly the data the targets belong to.
    x_train = np.round(rng.standard_normal((N_TRAIN, N_FEATURES)), DECIMALS)
    x_test = np.round(rng.standard_normal((n_test, N_FEATURES)), DECIMALS)
    y_train = np.round(evaluate(x_train, w, b, a) + NOISE_SD * rng.standard_normal(N_TRAIN), DECIMALS)
    y_test = np.round(evaluate(x_test, w, b, a) + NOISE_SD * rng.standard_normal(n_test), DECIMALS)
    is_public = np.zeros(n_test, dtype=bool)
    is_public[rng.choice(n_test, size=N_PUBLIC, replace=False)] = True
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test, "public": is_public}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _cell(value: float) -> str:
    # "+ 0.0" turns -0.0 into 0.0 so the files do not depend on the sign of a rounded zero.
    return f"{value + 0.0:.{DECIMALS}f}"


def write_task_data(out: Path, seed: int) -> None:
    """Write the public files under ``out/workspace/data`` and the hidden targets under ``out/eval``."""
    s = make_splits(seed)
    features = [f"x{j}" for j in range(N_FEATURES)]
    _write_csv(
        out / "workspace" / "data" / "train.csv",
        ["id", *features, "y"],
        [[str(i), *map(_cell, s["x_train"][i]), _cell(s["y_train"][i])] for i in range(N_TRAIN)],
    )
    n_test = len(s["y_test"])
    _write_csv(
        out / "workspace" / "data" / "test.csv",
        ["id", *features],
        [[str(i), *map(_cell, s["x_test"][i])] for i in range(n_test)],
    )
    _write_csv(
        out / "eval" / "test_targets.csv",
        ["id", "split", "y"],
        [[str(i), "public" if s["public"][i] else "private", _cell(s["y_test"][i])] for i in range(n_test)],
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
