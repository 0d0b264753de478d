"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

60 observational datasets, each of 1000 units, each from its own draw of a partially linear model with a
binary treatment (the setting of Chernozhukov et al. 2018, section 4.1):

    x ~ N(0, S),  S_ij = rho ** |i - j|,  rho ~ U(0.2, 0.6),  8 covariates
    P(treatment = 1 | x) = clip(sigmoid(a . h(x) + gamma . x), 0.05, 0.95)
    outcome = theta * treatment + b . h(x) + beta . x + 0.5 |x_k| + N(0, 1)

where h(x) holds four nonlinear functions of randomly chosen covariates that both equations share: a step
1[x_i > t], a joint step 1[x_i > t' and x_j > 0], a wave sin(2 x_i) and an interaction x_i x_j / 1.5. Their
weights a ~ N(0, 1) (treatment) and b ~ N(0, 1) (outcome) are drawn per dataset, so the confounding bias
of a regression that is linear in x changes size and sign from one dataset to the next; gamma ~ N(0, 0.3),
beta ~ N(0, 0.5). The treatment effect theta ~ U(-1, 2) is drawn per dataset too and is the same for every
unit of that dataset, so it is the dataset's average treatment effect. Every common cause of treatment and
outcome is among the 8 covariates (no hidden confounding).

Half of the datasets, chosen at random, form the public split (validate), the other half the private split
(submit). Both the effects and the split stay in eval/effects.csv.

Usage (from the repository root)::

    .venv/bin/python tasks/confounded-treatment-effects/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/d000.csv`` ... ``d059.csv`` and
``eval/effects.csv``. Other seeds are for measuring the spread of the scores, not for shipping.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

TASK_ROOT = Path(__file__).resolve().parent.parent
N_DATASETS = 60
N_UNITS = 1000
N_COVARIATES = 8
DECIMALS = 4
COVARIATES = [f"x{j}" for j in range(N_COVARIATES)]
HEADER = [*COVARIATES, "treatment", "outcome"]


def dataset_name(index: int) -> str:
    return f"d{index:03d}"


def draw_dataset(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One dataset: ``(covariates, treatment, outcome, theta)``."""
    theta = float(rng.uniform(-1.0, 2.0))
    rho = rng.uniform(0.2, 0.6)
    cov = rho ** np.abs(np.subtract.outer(np.arange(N_COVARIATES), np.arange(N_COVARIATES)))
    x = rng.normal(size=(N_UNITS, N_COVARIATES)) @ np.linalg.cholesky(cov).T
    j = rng.permutation(N_COVARIATES)
    t1, t2 = rng.uniform(-0.5, 0.5, size=2)
    shared = np.column_stack(
        [
            (x[:, j[0]] > t1).astype(float),
            ((x[:, j[1]] > t2) & (x[:, j[2]] > 0)).astype(float),
            np.sin(2.0 * x[:, j[3]]),
            x[:, j[4]] * x[:, j[5]] / 1.5,
        ]
    )
    a = rng.normal(0.0, 1.0, size=4)
    b = rng.normal(0.0, 1.0, size=4)
    gamma = rng.normal(0.0, 0.3, size=N_COVARIATES)
    beta = rng.normal(0.0, 0.5, size=N_COVARIATES)
    propensity = np.clip(1.0 / (1.0 + np.exp(-(shared @ a + x @ gamma))), 0.05, 0.95)
    treatment = (rng.random(N_UNITS) < propensity).astype(int)
    noise = rng.normal(0.0, 1.0, size=N_UNITS)
    outcome = theta * treatment + shared @ b + x @ beta + 0.5 * np.abs(x[:, j[6]]) + noise
    return np.round(x, DECIMALS), treatment, np.round(outcome, DECIMALS), theta


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _cell(v: float) -> str:
    # "+ 0.0" turns -0.0 into 0.0 so the files do not depend on the sign of a rounded zero.
    return f"{v + 0.0:.{DECIMALS}f}"


def write_task_data(out: Path, seed: int) -> None:
    """Write the datasets under ``out/workspace/data`` and the hidden effects under ``out/eval``."""
    rng = np.random.default_rng(seed)
    effects = []
    for index in range(N_DATASETS):
        x, treatment, outcome, theta = draw_dataset(rng)
        rows = [[*(_cell(v) for v in x[i]), str(treatment[i]), _cell(outcome[i])] for i in range(N_UNITS)]
        _write_csv(out / "workspace" / "data" / f"{dataset_name(index)}.csv", HEADER, rows)
        effects.append(theta)
    public = np.zeros(N_DATASETS, dtype=bool)
    public[rng.choice(N_DATASETS, size=N_DATASETS // 2, replace=False)] = True
    _write_csv(
        out / "eval" / "effects.csv",
        ["dataset", "split", "ate"],
        [
            [dataset_name(k), "public" if public[k] else "private", f"{effects[k]:.6f}"]
            for k in range(N_DATASETS)
        ],
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
