"""Baseline: multinomial logistic regression on the standardised features; writes predictions.csv.

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
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KNOBS_FILE = HERE / "knobs.json"
OUTPUT = HERE / "predictions.csv"

# name -> (default, accepted types). The defaults are the baseline.
DEFAULT_KNOBS: dict[str, tuple[object, tuple[type, ...]]] = {
    "C": (1.0, (int, float)),
    "max_iter": (1000, (int,)),
}


def fail(message: str) -> None:
    """Stop with one clear line instead of a traceback."""
    print(f"baseline.py: {message}", file=sys.stderr)
    sys.exit(2)


def read_knobs() -> dict[str, object]:
    """The settings: defaults, overridden by knobs.json when present."""
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
        if not value > 0:  # type: ignore[operator]
            fail(f"{KNOBS_FILE.name}: knob {name!r} must be > 0, got {value!r}")
        knobs[name] = value
    return knobs


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


def train(x: np.ndarray, y: np.ndarray, knobs: dict[str, object]) -> LogisticRegression:
    """Fit the softmax classifier on every training row, each counted once."""
    model = LogisticRegression(
        C=float(knobs["C"]),  # type: ignore[arg-type]
        max_iter=int(knobs["max_iter"]),  # type: ignore[call-overload]
    )
    with warnings.catch_warnings():
        # A small max_iter is a legitimate knob value; the warning would only be noise.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return model


def write_predictions(ids: np.ndarray, labels: np.ndarray) -> None:
    """predictions.csv: ``id,label``, one row per test row."""
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "label"])
        for i, label in zip(ids, labels, strict=True):
            writer.writerow([int(i), int(label)])


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    _, x_train, y_train = load_split("train")
    _, x_val, y_val = load_split("val")
    test_ids, x_test, _ = load_split("test")
    assert y_train is not None and y_val is not None
    scaler = StandardScaler().fit(x_train)
    model = train(scaler.transform(x_train), y_train, knobs)
    write_predictions(test_ids, model.predict(scaler.transform(x_test)))
    val_score = balanced_accuracy_score(y_val, model.predict(scaler.transform(x_val)))
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"validation balanced accuracy: {val_score:.4f}")
    print(f"wrote {OUTPUT.name} ({len(test_ids)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
