"""Reference: label spreading (Zhou, Bousquet, Lal, Weston and Schoelkopf, NeurIPS 2003, section 2).

This file replaces the workspace's baseline.py when ``rgym tasks verify`` checks the reference; it is never
shown to an agent. All 1797 rows, labelled and unlabelled, become the nodes of a graph: each row is joined
to its ``graph_neighbors`` nearest rows (the union of both directions), with Gaussian weights
W_ij = exp(-d_ij^2 / s^2), s^2 the mean squared length of the edges. With D the diagonal of row sums and
S = D^-1/2 W D^-1/2, the labels spread along the graph: F = (I - alpha S)^-1 Y, where Y holds a one-hot row
for each labelled row and zeros elsewhere (the closed form of the iteration F <- alpha S F + (1 - alpha) Y).
Each unlabelled row gets the class with the largest entry of F.

Run from the workspace: ``python baseline.py``; knobs.json may set ``graph_neighbors`` and ``alpha``; the
baseline's knobs are accepted and ignored.
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
from sklearn.neighbors import kneighbors_graph  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KNOBS_FILE = HERE / "knobs.json"
OUTPUT = HERE / "predictions.csv"

# name -> (default, accepted values as a type tuple, or a tuple of allowed strings). The defaults are the baseline.
DEFAULT_KNOBS: dict[str, tuple[object, tuple[type, ...] | tuple[str, ...]]] = {
    "n_neighbors": (5, (int,)),
    "weights": ("uniform", ("uniform", "distance")),
    "metric": ("euclidean", ("euclidean", "manhattan", "cosine")),
    "graph_neighbors": (5, (int,)),
    "alpha": (0.99, (float,)),
}
N_CLASSES = 10


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
        elif float in allowed:
            if not isinstance(value, float) or not 0.0 < value < 1.0:
                fail(
                    f"{KNOBS_FILE.name}: knob {name!r} must be a number strictly between 0 and 1, got {value!r}"
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


def spread_labels(x: np.ndarray, labelled: np.ndarray, y: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Class scores F = (I - alpha S)^-1 Y over all rows of ``x``; ``labelled`` indexes the rows of ``y``."""
    distances = kneighbors_graph(x, k, mode="distance", include_self=False).toarray()
    edges = distances > 0
    scale = np.mean(distances[edges] ** 2)
    w = np.where(edges, np.exp(-(distances**2) / scale), 0.0)
    w = np.maximum(w, w.T)  # an edge in either direction joins both rows
    d = w.sum(axis=1)
    s = w / np.sqrt(np.outer(d, d))
    targets = np.zeros((len(x), N_CLASSES))
    targets[labelled, y] = 1.0
    scores: np.ndarray = np.linalg.solve(np.eye(len(x)) - alpha * s, targets)
    return scores


def main() -> None:
    started = time.perf_counter()
    knobs = read_knobs()
    _, x_lab, y_lab = load("labelled")
    ids_unl, x_unl, _ = load("unlabelled")
    assert y_lab is not None
    x = np.vstack([x_lab, x_unl])
    scores = spread_labels(
        x,
        np.arange(len(y_lab)),
        y_lab,
        int(knobs["graph_neighbors"]),  # type: ignore[call-overload]
        float(knobs["alpha"]),  # type: ignore[arg-type]
    )
    write_predictions(ids_unl, scores[len(y_lab) :].argmax(axis=1))
    print(f"knobs: {json.dumps(knobs, sort_keys=True)}")
    print(f"spread {len(y_lab)} labels over {len(x)} rows")
    print(f"wrote {OUTPUT.name} ({len(ids_unl)} rows) in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
