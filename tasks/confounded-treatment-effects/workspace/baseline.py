"""Baseline: regression adjustment. For every dataset, least squares of the outcome on the treatment and
the covariates; the treatment's coefficient is the effect estimate. Writes estimates.csv.

Run from this folder: ``python baseline.py``. Optional settings are read from ``knobs.json`` (a JSON
object, name -> value) when that file exists; the defaults below are the baseline.
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

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KNOBS_FILE = HERE / "knobs.json"
OUTPUT = HERE / "estimates.csv"

FEATURE_SETS = ("linear", "squares", "quadratic")
# name -> (default, accepted types, allowed values or None). The defaults are the baseline.
DEFAULT_KNOBS: dict[str, tuple[object, tuple[type, ...], tuple[object, ...] | None]] = {
    "features": ("linear", (str,), FEATURE_SETS),
    "alpha": (0.0, (int, float), None),
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
        if name == "alpha" and not value >= 0:  # type: ignore[operator]
            fail(f"{KNOBS_FILE.name}: knob 'alpha' must be >= 0, got {value!r}")
        knobs[name] = value
    return knobs


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(covariates, treatment, outcome)`` of one dataset file."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    values = np.array([[float(v) for v in r] for r in body])
    t, y = header.index("treatment"), header.index("outcome")
    covariates = [j for j in range(len(header)) if j not in (t, y)]
    return values[:, covariates], values[:, t], values[:, y]


def expand(x: np.ndarray, features: str) -> np.ndarray:
    """The covariate columns of the regression: x; x and x**2; or every degree-2 monomial."""
    if features == "linear":
        return x
    if features == "squares":
        return np.hstack([x, x**2])
    pairs = [x[:, i] * x[:, j] for i in range(x.shape[1]) for j in range(i, x.shape[1])]
    return np.hstack([x, np.column_stack(pairs)])


def effect_estimate(
    x: np.ndarray, treatment: np.ndarray, outcome: np.ndarray, knobs: dict[str, object]
) -> float:
    """The treatment coefficient of outcome ~ 1 + treatment + f(x), f's coefficients ridge-penalised by alpha.

    The covariate columns are standardised, so alpha penalises them evenly; the intercept and the
    treatment coefficient are never penalised.
    """
    f = expand(x, str(knobs["features"]))
    f = (f - f.mean(axis=0)) / f.std(axis=0)
    design = np.column_stack([np.ones(len(outcome)), treatment, f])
    penalty = np.diag([0.0, 0.0, *([float(knobs["alpha"])] * f.shape[1])])  # type: ignore[arg-type]
    coef = np.linalg.solve(design.T @ design + penalty, design.T @ outcome)
    return float(coef[1])


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    files = sorted(DATA.glob("d*.csv"))
    if not files:
        fail(f"no dataset files in {DATA}")
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["dataset", "ate"])
        for path in files:
            writer.writerow([path.stem, f"{effect_estimate(*load(path), knobs):.6f}"])
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"wrote {OUTPUT.name} ({len(files)} datasets) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
