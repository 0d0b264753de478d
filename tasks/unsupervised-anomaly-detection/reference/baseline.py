"""Reference (withheld): Isolation Forest (Liu, Ting and Zhou, ICDM 2008) fit on the training records.

100 isolation trees, each grown on a random subsample of 256 training records (the paper's defaults
t = 100 and psi = 256); a test record's score is minus scikit-learn's score_samples, i.e. the paper's
anomaly score s(x, psi) = 2 ** (-E[h(x)] / c(psi)). Writes ``scores.csv`` like the workspace baseline.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUTPUT = HERE / "scores.csv"
N_TREES = 100
SUBSAMPLE = 256
SEED = 0


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, features)`` of ``data/<name>.csv``."""
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    body = rows[1:]
    return np.array([int(r[0]) for r in body]), np.array([[float(v) for v in r[1:]] for r in body])


def main() -> None:
    started = time.perf_counter()
    _, x_train = load("train")
    test_ids, x_test = load("test")
    forest = IsolationForest(n_estimators=N_TREES, max_samples=SUBSAMPLE, random_state=SEED, n_jobs=1)
    forest.fit(x_train)
    scores = -forest.score_samples(x_test)
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "score"])
        for i, s in zip(test_ids, scores, strict=True):
            writer.writerow([int(i), f"{s:.10g}"])
    print(f"wrote {OUTPUT.name} ({len(test_ids)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
