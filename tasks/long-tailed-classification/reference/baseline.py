"""Reference (withheld): the baseline trained with the class-balanced loss of Cui et al. (CVPR 2019).

The effective number of samples of a class with n training rows is E_n = (1 - beta ** n) / (1 - beta);
every training row of class c is weighted by 1 / E_{n_c}, so the softmax cross-entropy becomes the paper's
class-balanced softmax loss. beta is picked from the paper's grid {0.9, 0.99, 0.999, 0.9999} by balanced
accuracy on data/val.csv (the smaller beta on ties). Weights are rescaled to average 1 over the training
rows, so the L2 penalty (C) keeps the strength it has in the baseline. Same features, model and C as the
baseline; writes predictions.csv.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUTPUT = HERE / "predictions.csv"
BETAS = (0.9, 0.99, 0.999, 0.9999)
C = 1.0
MAX_ITER = 1000


def load_split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(ids, features, labels)`` of ``data/<name>.csv``; labels are None for the test split."""
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    has_labels = header[-1] == "label"
    ids = np.array([int(r[0]) for r in body])
    feature_end = -1 if has_labels else None
    x = np.array([[float(v) for v in r[1:feature_end]] for r in body])
    y = np.array([int(r[-1]) for r in body]) if has_labels else None
    return ids, x, y


def class_balanced_weights(y: np.ndarray, beta: float) -> np.ndarray:
    """Per-row weights 1 / E_{n_c} (Cui et al. 2019, eq. 4), rescaled to average 1."""
    counts = np.bincount(y)
    effective_number = (1.0 - beta**counts) / (1.0 - beta)
    weights = (1.0 / effective_number)[y]
    return weights / weights.mean()


def main() -> None:
    started = time.perf_counter()
    _, x_train, y_train = load_split("train")
    _, x_val, y_val = load_split("val")
    test_ids, x_test, _ = load_split("test")
    assert y_train is not None and y_val is not None
    scaler = StandardScaler().fit(x_train)
    x_train, x_val, x_test = scaler.transform(x_train), scaler.transform(x_val), scaler.transform(x_test)
    best: tuple[float, float, LogisticRegression] | None = None
    for beta in BETAS:
        model = LogisticRegression(C=C, max_iter=MAX_ITER)
        model.fit(x_train, y_train, sample_weight=class_balanced_weights(y_train, beta))
        score = balanced_accuracy_score(y_val, model.predict(x_val))
        print(f"beta={beta}: validation balanced accuracy {score:.4f}")
        if best is None or score > best[0]:
            best = (score, beta, model)
    assert best is not None
    _, beta, model = best
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "label"])
        for i, label in zip(test_ids, model.predict(x_test), strict=True):
            writer.writerow([int(i), int(label)])
    print(
        f"picked beta={beta}; wrote {OUTPUT.name} ({len(test_ids)} rows) in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
