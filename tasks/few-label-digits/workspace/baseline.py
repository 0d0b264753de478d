"""Baseline: a k-nearest-neighbour classifier trained on the 90 labelled rows only.

Predicts the label of every row of data/unlabelled.csv by a majority vote of its ``n_neighbors`` nearest
labelled rows (scikit-learn's ``KNeighborsClassifier``; ties go to the smallest label). The unlabelled rows
are not used for anything but prediction.

Run from this folder: ``python baseline.py``. Writes predictions.csv (id,label). Optional hyperparameters
are read from ``knobs.json`` (a JSON object, name -> value) when that file exists; the defaults below are the
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
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KNOBS_FILE = HERE / "knobs.json"
OUTPUT = HERE / "predictions.csv"

# name -> (default, accepted values as a type tuple, or a tuple of allowed strings). The defaults are the baseline.
DEFAULT_KNOBS: dict[str, tuple[object, tuple[type, ...] | tuple[str, ...]]] = {
    "n_neighbors": (5, (int,)),
    "weights": ("uniform", ("uniform", "distance")),
    "metric": ("euclidean", ("euclidean", "manhattan", "cosine")),
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
        allowed = DEFAULT_KNOBS[name][1]
        if all(isinstance(a, str) for a in allowed):
            if value not in allowed:
                fail(
                    f"{KNOBS_FILE.name}: knob {name!r} must be one of {', '.join(map(str, allowed))}, got {value!r}"
                )
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            fail(f"{KNOBS_FILE.name}: knob {name!r} must be an int >= 1, got {value!r}")
        knobs[name] = value
    return knobs


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(ids, features, labels)`` of ``data/<name>.csv``; labels are None for the unlabelled file."""
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    has_labels = header[-1] == "label"
    ids = np.array([int(r[0]) for r in body])
    x = np.array([[float(v) for v in r[1 : -1 if has_labels else None]] for r in body])
    y = np.array([int(r[-1]) for r in body]) if has_labels else None
    return ids, x, y


def write_predictions(ids: np.ndarray, labels: np.ndarray) -> None:
    """predictions.csv: ``id,label``, one row per unlabelled row."""
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "label"])
        for i, label in zip(ids, labels, strict=True):
            writer.writerow([int(i), int(label)])


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    _, x_lab, y_lab = load("labelled")
    ids, x_unl, _ = load("unlabelled")
    assert y_lab is not None
    model = KNeighborsClassifier(
        n_neighbors=min(int(knobs["n_neighbors"]), len(y_lab)),  # type: ignore[call-overload]
        weights=str(knobs["weights"]),
        metric=str(knobs["metric"]),
    )
    model.fit(x_lab, y_lab)
    write_predictions(ids, model.predict(x_unl))
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"trained on {len(y_lab)} labelled rows")
    print(f"wrote {OUTPUT.name} ({len(ids)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
