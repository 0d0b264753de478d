"""Reference: conformalized quantile regression (Romano, Patterson and Candes, NeurIPS 2019, section 4).

This file replaces the workspace's baseline.py when ``rgym tasks verify`` checks the reference; it is never
shown to an agent. Same data split as the baseline (proper training / calibration, seeded). Two gradient
boosted quantile regressors are fit on the training part, one for the 5% and one for the 95% conditional
quantile. On the calibration part the conformity score of a row is E = max(q_lo(x) - y, y - q_hi(x)) (how
far y falls outside the estimated band, negative inside it). With Q the ceil((n + 1) * 0.9)-th smallest of
the n scores, every test row gets [q_lo(x) - Q, q_hi(x) + Q]: the band is as adaptive as the quantile
estimates and covers a new row with probability at least 90% whatever their quality (theorem 1).

Run from the workspace: ``python baseline.py``. knobs.json may set ``calibration_fraction`` (as in the
baseline), ``quantile_min_samples_leaf`` and ``quantile_max_iter``; the random-forest knobs of the
baseline are accepted and ignored.
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
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402

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
    # The quantile regressors' own knobs.
    "quantile_min_samples_leaf": (100, (int,)),
    "quantile_max_iter": (100, (int,)),
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


def quantile_model(quantile: float, knobs: dict[str, object]) -> HistGradientBoostingRegressor:
    """A gradient boosted regressor of the ``quantile``-th conditional quantile (pinball loss)."""
    return HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        min_samples_leaf=int(knobs["quantile_min_samples_leaf"]),  # type: ignore[call-overload]
        max_iter=int(knobs["quantile_max_iter"]),  # type: ignore[call-overload]
        random_state=SEED,
    )


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    _, x, y = load("train")
    test_ids, x_test, _ = load("test")
    assert y is not None
    fit_idx, cal_idx = split_indices(len(y), float(knobs["calibration_fraction"]))  # type: ignore[arg-type]
    low = quantile_model(ALPHA / 2, knobs).fit(x[fit_idx], y[fit_idx])
    high = quantile_model(1 - ALPHA / 2, knobs).fit(x[fit_idx], y[fit_idx])

    def band(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = low.predict(features), high.predict(features)
        return np.minimum(a, b), np.maximum(a, b)  # two separate fits may cross; keep lower <= upper

    cal_low, cal_high = band(x[cal_idx])
    scores = np.maximum(cal_low - y[cal_idx], y[cal_idx] - cal_high)
    q = conformal_quantile(scores)
    test_low, test_high = band(x_test)
    lower, upper = test_low - q, test_high + q
    # A negative Q can shrink a band past zero width; such a row gets the empty interval at its midpoint.
    middle = (lower + upper) / 2
    lower, upper = np.minimum(lower, middle), np.maximum(upper, middle)
    write_predictions(test_ids, lower, upper)
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"{len(fit_idx)} training rows, {len(cal_idx)} calibration rows; correction Q = {q:.4f}")
    print(f"wrote {OUTPUT.name} ({len(test_ids)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
