"""Baseline: split conformal prediction around a random-forest mean regressor.

Splits data/train.csv at random into a proper training part and a calibration part, fits a random forest
to the training part, takes the absolute residuals |y - prediction| on the calibration part, and gives every
test row the interval prediction +- q, where q is the ceil((n + 1) * 0.9)-th smallest of the n calibration
residuals. That interval covers a new row with probability at least 90% whatever the data look like, but it
has the same width everywhere.

Run from this folder: ``python baseline.py``. Writes predictions.csv (id,lower,upper). Optional
hyperparameters are read from ``knobs.json`` (a JSON object, name -> value) when that file exists; the
defaults below are the baseline.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread makes the run bit-for-bit repeatable on a given machine; set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KNOBS_FILE = HERE / "knobs.json"
OUTPUT = HERE / "predictions.csv"
ALPHA = 0.1  # the intervals aim at 1 - ALPHA = 90% coverage
SEED = 0

# name -> (default, accepted types). The defaults are the baseline.
DEFAULT_KNOBS: dict[str, tuple[object, tuple[type, ...]]] = {
    "n_estimators": (100, (int,)),
    "min_samples_leaf": (1, (int,)),
    "max_features": (1.0, (int, float)),
    "calibration_fraction": (0.5, (int, float)),
}


def fail(message: str) -> None:
    """Stop with one clear line instead of a traceback."""
    print(f"baseline.py: {message}", file=sys.stderr)
    sys.exit(2)


def read_knobs() -> dict[str, object]:
    """The hyperparameters: defaults, overridden by knobs.json when present."""
    knobs = {name: default for name, (default, _) in DEFAULT_KNOBS.items()}
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
        types = DEFAULT_KNOBS[name][1]
        # bool is a subclass of int; a bool where a number is expected is a mistake, not a 0/1.
        if not isinstance(value, types) or isinstance(value, bool):
            expected = " or ".join(t.__name__ for t in types)
            fail(f"{KNOBS_FILE.name}: knob {name!r} must be {expected}, got {value!r}")
        knobs[name] = value
    fraction = float(knobs["calibration_fraction"])  # type: ignore[arg-type]
    if not 0.05 <= fraction <= 0.95:
        fail(f"{KNOBS_FILE.name}: knob 'calibration_fraction' must be in [0.05, 0.95], got {fraction}")
    return knobs


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(ids, features, targets)`` of ``data/<name>.csv``; targets are None for the test file."""
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    has_y = header[-1] == "y"
    ids = np.array([int(r[0]) for r in body])
    x = np.array([[float(v) for v in r[1 : -1 if has_y else None]] for r in body])
    y = np.array([float(r[-1]) for r in body]) if has_y else None
    return ids, x, y


def conformal_quantile(scores: np.ndarray, alpha: float = ALPHA) -> float:
    """The ceil((n + 1)(1 - alpha))-th smallest score: the split conformal threshold."""
    n = len(scores)
    k = math.ceil((n + 1) * (1 - alpha))
    if k > n:
        return math.inf  # too few calibration rows for this alpha: the interval must be everything
    return float(np.sort(scores)[k - 1])


def split_indices(n: int, calibration_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``range(n)`` into (proper training, calibration) indices."""
    order = np.random.default_rng(SEED).permutation(n)
    n_cal = round(n * calibration_fraction)
    return order[n_cal:], order[:n_cal]


def write_predictions(ids: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
    """predictions.csv: ``id,lower,upper``, one row per test row."""
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "lower", "upper"])
        for i, lo, hi in zip(ids, lower, upper, strict=True):
            writer.writerow([int(i), f"{lo:.6f}", f"{hi:.6f}"])


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    _, x, y = load("train")
    test_ids, x_test, _ = load("test")
    assert y is not None
    fit_idx, cal_idx = split_indices(len(y), float(knobs["calibration_fraction"]))  # type: ignore[arg-type]
    model = RandomForestRegressor(
        n_estimators=int(knobs["n_estimators"]),  # type: ignore[call-overload]
        min_samples_leaf=int(knobs["min_samples_leaf"]),  # type: ignore[call-overload]
        max_features=knobs["max_features"],  # type: ignore[arg-type]
        random_state=SEED,
        n_jobs=1,
    )
    model.fit(x[fit_idx], y[fit_idx])
    residuals = np.abs(y[cal_idx] - model.predict(x[cal_idx]))
    q = conformal_quantile(residuals)
    prediction = model.predict(x_test)
    write_predictions(test_ids, prediction - q, prediction + q)
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"{len(fit_idx)} training rows, {len(cal_idx)} calibration rows; half-width q = {q:.4f}")
    print(f"wrote {OUTPUT.name} ({len(test_ids)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
