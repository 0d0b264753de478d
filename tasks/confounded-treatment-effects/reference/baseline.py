"""Reference (withheld): double/debiased machine learning (Chernozhukov et al., Econometrics Journal 2018).

For every dataset, the partially linear model's Neyman-orthogonal score with 3-fold cross-fitting: on each
fold, gradient-boosted trees fit on the other two folds predict the outcome, l(x) = E[outcome | x], and
the treatment, m(x) = P(treatment = 1 | x); the effect is the least-squares slope of the outcome residuals
on the treatment residuals, pooled over the folds (the paper's DML2). Writes estimates.csv like the
workspace baseline.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUTPUT = HERE / "estimates.csv"
FOLDS = 3
SEED = 0
TREES = {
    "max_iter": 30,
    "learning_rate": 0.3,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 20,
    "early_stopping": False,
    "random_state": SEED,
}
PROPENSITY_CLIP = 0.01


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(covariates, treatment, outcome)`` of one dataset file."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    values = np.array([[float(v) for v in r] for r in body])
    t, y = header.index("treatment"), header.index("outcome")
    covariates = [j for j in range(len(header)) if j not in (t, y)]
    return values[:, covariates], values[:, t], values[:, y]


def dml_effect(x: np.ndarray, treatment: np.ndarray, outcome: np.ndarray) -> float:
    """theta = sum(v * u) / sum(v * v), u and v the cross-fitted outcome and treatment residuals."""
    u = np.empty(len(outcome))
    v = np.empty(len(outcome))
    for train, test in KFold(FOLDS, shuffle=True, random_state=SEED).split(x):
        outcome_model = HistGradientBoostingRegressor(**TREES).fit(x[train], outcome[train])
        treatment_model = HistGradientBoostingClassifier(**TREES).fit(x[train], treatment[train])
        propensity = np.clip(
            treatment_model.predict_proba(x[test])[:, 1], PROPENSITY_CLIP, 1 - PROPENSITY_CLIP
        )
        u[test] = outcome[test] - outcome_model.predict(x[test])
        v[test] = treatment[test] - propensity
    return float(v @ u / (v @ v))


def main() -> None:
    started = time.perf_counter()
    files = sorted(DATA.glob("d*.csv"))
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["dataset", "ate"])
        for path in files:
            writer.writerow([path.stem, f"{dml_effect(*load(path)):.6f}"])
    print(f"wrote {OUTPUT.name} ({len(files)} datasets) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
