"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

The data are synthetic, in the spirit of the heteroscedastic example of Romano, Patterson and Candes
(2019, figure 1): the spread of y around its mean changes by a factor of about 25 across the feature space,
and the noise has heavy tails. Six features, all uniform on [0, 1]:

    u       = 1 + 4 * x0
    mean    = 3 sin(u) + 2 x1 + x2^2
    scale   = 0.1 + 2 sin(u)^2 (0.25 + x3)
    y       = mean + scale * e,   e ~ Student t with 5 degrees of freedom, rescaled to variance 1

x4 and x5 are pure noise. The formula is not shown to agents (README.md only says the spread varies with
the features): knowing it would give the exact conditional quantiles away.

Why not statsmodels' Engel food-expenditure data: it has 235 rows, so a hidden test split of even 100 rows
measures 90% coverage to within +-3 points only; a generator gives splits large enough to measure coverage
to +-0.4 points (public) and +-0.3 points (private).

Usage (from the repository root)::

    .venv/bin/python tasks/adaptive-prediction-intervals/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/{train,test}.csv`` and
``eval/test_targets.csv`` (id, split, y for every test row). Other seeds are for measuring the spread of
the scores, not for shipping.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

TASK_ROOT = Path(__file__).resolve().parent.parent
N_FEATURES = 6
N_TRAIN = 4000
N_PUBLIC = 5000
N_PRIVATE = 10000
T_DOF = 5
DECIMALS = 4


def simulate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of ``n`` rows drawn from the generator in the module docstring."""
    x = rng.uniform(0.0, 1.0, size=(n, N_FEATURES))
    u = 1.0 + 4.0 * x[:, 0]
    mean = 3.0 * np.sin(u) + 2.0 * x[:, 1] + x[:, 2] ** 2
    scale = 0.1 + 2.0 * np.sin(u) ** 2 * (0.25 + x[:, 3])
    noise = rng.standard_t(T_DOF, size=n) * np.sqrt((T_DOF - 2) / T_DOF)
    return x, mean + scale * noise


def make_splits(seed: int) -> dict[str, np.ndarray]:
    """Train features and targets, test features and targets, and each test row's split, from ``seed``."""
    rng = np.random.default_rng(seed)
    # Round before anything else so the stored CSVs are exactly the data the scores were measured on.
    x_train, y_train = (np.round(a, DECIMALS) for a in simulate(N_TRAIN, rng))
    x_test, y_test = (np.round(a, DECIMALS) for a in simulate(N_PUBLIC + N_PRIVATE, rng))
    is_public = np.zeros(N_PUBLIC + N_PRIVATE, dtype=bool)
    is_public[rng.choice(N_PUBLIC + N_PRIVATE, size=N_PUBLIC, replace=False)] = True
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
