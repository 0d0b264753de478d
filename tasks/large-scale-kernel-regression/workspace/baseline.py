"""Baseline: kernel ridge regression with a Gaussian kernel, fit on a random subset of the training rows.

Exact kernel ridge regression solves an n x n linear system; with all 30000 training rows that matrix alone
takes 7.2 GB, far more than the sandbox has. The baseline therefore fits on ``n_subset`` rows drawn at random
(seed 0) and ignores the rest. The kernel is k(x, x') = exp(-gamma ||x - x'||^2) with
gamma = gamma_scale / m, where m is the median squared distance between training rows (the "median
heuristic"; estimated on 1000 rows).

Run from this folder: ``python baseline.py``. Writes predictions.csv (id,y). Optional hyperparameters are
read from ``knobs.json`` (a JSON object, name -> value) when that file exists; the defaults below are the
baseline.
"""

from __future__ import annotations

import os

# One BLAS thread makes the run bit-for-bit repeatable on a given machine; set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.kernel_ridge import KernelRidge  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KNOBS_FILE = HERE / "knobs.json"
OUTPUT = HERE / "predictions.csv"
SEED = 0
MEDIAN_SAMPLE = 1000

# name -> (default, accepted types). The defaults are the baseline.
DEFAULT_KNOBS: dict[str, tuple[object, tuple[type, ...]]] = {
    "n_subset": (1000, (int,)),
    "gamma_scale": (1.0, (int, float)),
    "alpha": (0.1, (int, float)),
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
        if value <= 0:
            fail(f"{KNOBS_FILE.name}: knob {name!r} must be > 0, got {value!r}")
        knobs[name] = value
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


def median_squared_distance(x: np.ndarray, rng: np.random.Generator) -> float:
    """The median squared Euclidean distance between distinct rows of a random sample of ``x``."""
    sample = x[rng.choice(len(x), size=min(MEDIAN_SAMPLE, len(x)), replace=False)]
    sq = np.sum(sample**2, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * sample @ sample.T
    return float(np.median(d2[np.triu_indices(len(sample), k=1)]))


def write_predictions(ids: np.ndarray, y: np.ndarray) -> None:
    """predictions.csv: ``id,y``, one row per test row."""
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "y"])
        for i, value in zip(ids, y, strict=True):
            writer.writerow([int(i), f"{value:.6f}"])


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    _, x, y = load("train")
    test_ids, x_test, _ = load("test")
    assert y is not None
    rng = np.random.default_rng(SEED)
    gamma = float(knobs["gamma_scale"]) / median_squared_distance(x, rng)  # type: ignore[arg-type]
    n_subset = min(int(knobs["n_subset"]), len(y))  # type: ignore[call-overload]
    subset = rng.choice(len(y), size=n_subset, replace=False)
    model = KernelRidge(kernel="rbf", gamma=gamma, alpha=float(knobs["alpha"]))  # type: ignore[arg-type]
    model.fit(x[subset], y[subset])
    write_predictions(test_ids, model.predict(x_test))
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"fit on {n_subset} of {len(y)} training rows; gamma = {gamma:.5f}")
    print(f"wrote {OUTPUT.name} ({len(test_ids)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
