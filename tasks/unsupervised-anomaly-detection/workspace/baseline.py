"""Baseline: score every test record by its distance to its k-th nearest neighbour in the training records.

Run from this folder: ``python baseline.py``. Writes ``scores.csv`` (``id,score``; higher = more
anomalous). Optional settings are read from ``knobs.json`` (a JSON object, name -> value) when that file
exists; the defaults below are the baseline.
"""

from __future__ import annotations

import os

# One BLAS thread keeps runs repeatable and within one core; set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KNOBS_FILE = HERE / "knobs.json"
OUTPUT = HERE / "scores.csv"

SCALERS = {"none": None, "standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
AGGREGATES = ("kth", "mean")
# name -> (default, accepted types, allowed values or None). The defaults are the baseline.
DEFAULT_KNOBS: dict[str, tuple[object, tuple[type, ...], tuple[object, ...] | None]] = {
    "n_neighbors": (5, (int,), None),
    "scaling": ("none", (str,), tuple(SCALERS)),
    "aggregate": ("kth", (str,), AGGREGATES),
}


def fail(message: str) -> None:
    """Stop with one clear line instead of a traceback."""
    print(f"baseline.py: {message}", file=sys.stderr)
    sys.exit(2)


def read_knobs() -> dict[str, object]:
    """The settings: defaults, overridden by knobs.json when present."""
    knobs = {name: default for name, (default, _, _) in DEFAULT_KNOBS.items()}
    if not KNOBS_FILE.exists():
        return knobs
    try:
        given = json.loads(KNOBS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{KNOBS_FILE.name}: not valid JSON ({exc})")
    if not isinstance(given, dict):
        fail(f"{KNOBS_FILE.name}: must be a JSON object of name -> value")
    for name, value in given.items():
        if name not in DEFAULT_KNOBS:
            fail(f"{KNOBS_FILE.name}: unknown knob {name!r}; known knobs: {', '.join(DEFAULT_KNOBS)}")
        _, types, allowed = DEFAULT_KNOBS[name]
        # bool is a subclass of int; a bool where a number is expected is a mistake, not a 0/1.
        if not isinstance(value, types) or isinstance(value, bool):
            expected = " or ".join(t.__name__ for t in types)
            fail(f"{KNOBS_FILE.name}: knob {name!r} must be {expected}, got {value!r}")
        if allowed is not None and value not in allowed:
            fail(
                f"{KNOBS_FILE.name}: knob {name!r} must be one of {', '.join(map(str, allowed))}, got {value!r}"
            )
        if name == "n_neighbors" and not 1 <= value <= 1000:  # type: ignore[operator]
            fail(f"{KNOBS_FILE.name}: knob 'n_neighbors' must be between 1 and 1000, got {value!r}")
        knobs[name] = value
    return knobs


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, features)`` of ``data/<name>.csv``."""
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    body = rows[1:]
    ids = np.array([int(r[0]) for r in body])
    x = np.array([[float(v) for v in r[1:]] for r in body])
    return ids, x


def knn_scores(x_train: np.ndarray, x_test: np.ndarray, knobs: dict[str, object]) -> np.ndarray:
    """Distance of every test record to its k-th nearest training record (or the mean of the k distances)."""
    scaler_class = SCALERS[str(knobs["scaling"])]
    if scaler_class is not None:
        scaler = scaler_class().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    k = int(knobs["n_neighbors"])  # type: ignore[call-overload]
    distances, _ = NearestNeighbors(n_neighbors=k).fit(x_train).kneighbors(x_test)
    return distances[:, -1] if knobs["aggregate"] == "kth" else distances.mean(axis=1)


def write_scores(ids: np.ndarray, scores: np.ndarray) -> None:
    """scores.csv: ``id,score``, one row per test record."""
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "score"])
        for i, s in zip(ids, scores, strict=True):
            writer.writerow([int(i), f"{s:.10g}"])


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    _, x_train = load("train")
    test_ids, x_test = load("test")
    scores = knn_scores(x_train, x_test, knobs)
    write_scores(test_ids, scores)
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"wrote {OUTPUT.name} ({len(test_ids)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
