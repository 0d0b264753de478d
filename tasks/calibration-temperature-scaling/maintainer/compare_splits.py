"""Compare split designs and candidate metrics over data seeds: why 718/269/405/405 and why NLL.

For each design (train, validation, public, private sizes) and each seed, the baseline network is trained
once (as workspace/baseline.py does) and its test probabilities are scored on both splits, together with
the reference (the withheld method, fit on the validation split as reference/baseline.py does), two fixed
softenings of the baseline's outputs standing in for "an agent that gets part of the way", and the
constant-confidence exploit. Each is scored with NLL and with the Brier score and normalized on its split
against that seed's baseline and reference. What matters is how much a fixed method's normalized score
moves from seed to seed and between the public and the private split, against the success margin (0.5).

Usage (from the repository root; a few minutes per design)::

    .venv/bin/python tasks/calibration-temperature-scaling/maintainer/compare_splits.py [--seeds 8]
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from make_data import TASK_ROOT, make_splits  # noqa: E402
from scipy.optimize import minimize_scalar  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

# name -> (train, validation, public); private is the rest of the 1797 digits.
DESIGNS = {
    "60/20/20 (v1 sizes; 180/180 test)": (1078, 359, 180),
    "40/20/40 (360/360 test)": (718, 359, 360),
    "40/15/45 (405/405 test, shipped)": (718, 269, 405),
}
SOFTENINGS = (1.3, 1.6)
PROB_FLOOR = 1e-15


def _logits(model: MLPClassifier, x: np.ndarray) -> np.ndarray:
    h = x
    for layer, (w, b) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
        h = h @ w + b
        if layer < len(model.coefs_) - 1:
            h = np.maximum(h, 0.0)
    return h


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.maximum(p[np.arange(len(y)), y], PROB_FLOOR)).mean())


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(((p - np.eye(p.shape[1])[y]) ** 2).sum(axis=1).mean())


def seed_scores(seed: int, sizes: tuple[int, int, int]) -> dict[str, dict[str, dict[str, float]]]:
    """metric -> split -> method -> normalized score (baseline 0, reference 1) for one seed."""
    splits = make_splits(seed, *sizes)
    (x_train, y_train), (x_val, y_val) = splits["train"], splits["val"]
    model = MLPClassifier(hidden_layer_sizes=(256,), alpha=0.0, max_iter=1000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    z_val = _logits(model, x_val)
    fitted = minimize_scalar(
        lambda log_t: nll(_softmax(z_val / np.exp(log_t)), y_val), bounds=(-5.0, 5.0), method="bounded"
    )
    temperature = float(np.exp(fitted.x))
    val_accuracy = float(np.mean(z_val.argmax(axis=1) == y_val))
    out: dict[str, dict[str, dict[str, float]]] = {"nll": {}, "brier": {}}
    for split in ("public", "private"):
        x, y = splits[split]
        z = _logits(model, x)
        constant = np.full((len(y), 10), (1 - val_accuracy) / 9)
        constant[np.arange(len(y)), z.argmax(axis=1)] = val_accuracy
        methods = {
            "baseline": _softmax(z),
            "reference": _softmax(z / temperature),
            **{f"soften {t}": _softmax(z / t) for t in SOFTENINGS},
            "constant": constant,
        }
        for metric, fn in (("nll", nll), ("brier", brier)):
            raw = {name: fn(p, y) for name, p in methods.items()}
            gap = raw["reference"] - raw["baseline"]
            out[metric][split] = {name: (v - raw["baseline"]) / gap for name, v in raw.items()}
            out[metric][split]["baseline raw"] = raw["baseline"]
            out[metric][split]["gap raw"] = -gap
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="data seeds 0..N-1")
    args = parser.parse_args()
    print(f"task: {TASK_ROOT.name}; seeds 0..{args.seeds - 1}; mean +- sd over seeds", flush=True)
    for design, sizes in DESIGNS.items():
        per_seed = [seed_scores(seed, sizes) for seed in range(args.seeds)]
        print(f"== {design}", flush=True)
        for metric in ("nll", "brier"):
            for name in ("gap raw", *(f"soften {t}" for t in SOFTENINGS), "constant"):
                cells = []
                for split in ("public", "private"):
                    values = [s[metric][split][name] for s in per_seed]
                    cells.append(f"{split} {statistics.mean(values):+.3f} +- {statistics.stdev(values):.3f}")
                if name != "gap raw":
                    diffs = [s[metric]["public"][name] - s[metric]["private"][name] for s in per_seed]
                    cells.append(f"public-private sd {statistics.stdev(diffs):.3f}")
                print(f"  {metric:5} {name:12} " + "; ".join(cells), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
