"""Regenerate the task's data files deterministically (maintainers only; never copied for the agent).

The generator, in the spirit of the Mulcross generator of Rocke and Woodruff (1996) that Liu et al. (2008)
use: normal records come from a mixture of three correlated Gaussian modes; 5% of the records are
anomalies, of two kinds:

- *scattered* (40% of the anomalies): uniform in a box around the modes;
- *clustered* (60%): bursts of near-identical records around three centres, each 4.5 to 6.5 Mahalanobis
  units away from one of the modes. A burst has dozens of members in the training file, so a detector that
  only looks at a point's few nearest neighbours sees it as dense and normal (masking).

Every feature is then put on its own scale (a factor between 10**-2 and 10**3 and an offset), as raw
measurements in different units would be. The same draw of modes, bursts and scales produces the training
file and the test file; both are contaminated, neither is labelled for the agent. The test rows are split
into a public half (validate) and a private half (submit), stratified so each half holds exactly the same
number of anomalies.

Usage (from the repository root)::

    .venv/bin/python tasks/unsupervised-anomaly-detection/maintainer/make_data.py [--seed 0] [--out DIR]

``--out`` defaults to the task folder itself: it writes ``workspace/data/{train,test}.csv`` and
``eval/test_labels.csv``. Other seeds are for measuring the spread of the scores, not for shipping.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASK_ROOT = Path(__file__).resolve().parent.parent
N_FEATURES = 6
N_MODES = 3
N_BURSTS = 3
N_TRAIN = 6000
N_TEST = 6000
CONTAMINATION = 0.05
SCATTERED_SHARE = 0.4
BURST_SD = 0.4
SIGNIFICANT_DIGITS = 6
FEATURES = [f"f{j}" for j in range(N_FEATURES)]


@dataclass(frozen=True)
class World:
    """One draw of the data-generating process: modes, bursts and per-feature units."""

    weights: np.ndarray
    centers: np.ndarray
    cholesky: list[np.ndarray]
    bursts: np.ndarray
    box_low: np.ndarray
    box_high: np.ndarray
    scale: np.ndarray
    offset: np.ndarray


def draw_world(rng: np.random.Generator) -> World:
    """Modes, burst centres and the units of every feature."""
    weights = rng.dirichlet(np.full(N_MODES, 5.0))
    centers = rng.uniform(-4.0, 4.0, size=(N_MODES, N_FEATURES))
    cholesky = []
    for _ in range(N_MODES):
        a = rng.normal(0.0, 0.5, size=(N_FEATURES, N_FEATURES))
        cov = a @ a.T + np.diag(rng.uniform(0.2, 0.8, size=N_FEATURES))
        cholesky.append(np.linalg.cholesky(cov))
    bursts = np.empty((N_BURSTS, N_FEATURES))
    for b in range(N_BURSTS):
        mode = int(rng.integers(N_MODES))
        direction = rng.normal(size=N_FEATURES)
        direction /= np.linalg.norm(direction)
        # L @ u with |u| = r lies r Mahalanobis units from the mode's centre.
        bursts[b] = centers[mode] + cholesky[mode] @ direction * rng.uniform(4.5, 6.5)
    scale = 10.0 ** rng.uniform(-2.0, 3.0, size=N_FEATURES)
    offset = rng.uniform(-50.0, 50.0, size=N_FEATURES)
    return World(
        weights=weights,
        centers=centers,
        cholesky=cholesky,
        bursts=bursts,
        box_low=centers.min(axis=0) - 4.0,
        box_high=centers.max(axis=0) + 4.0,
        scale=scale,
        offset=offset,
    )


def draw_records(world: World, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` shuffled records and their kinds (0 normal, 1 scattered anomaly, 2 clustered anomaly)."""
    n_anomalies = round(n * CONTAMINATION)
    n_normal = n - n_anomalies
    n_scattered = round(n_anomalies * SCATTERED_SHARE)
    n_clustered = n_anomalies - n_scattered
    modes = rng.choice(N_MODES, size=n_normal, p=world.weights)
    normal = np.empty((n_normal, N_FEATURES))
    for m in range(N_MODES):
        members = modes == m
        noise = rng.normal(size=(int(members.sum()), N_FEATURES))
        normal[members] = world.centers[m] + noise @ world.cholesky[m].T
    scattered = rng.uniform(world.box_low, world.box_high, size=(n_scattered, N_FEATURES))
    which_burst = rng.integers(N_BURSTS, size=n_clustered)
    clustered = world.bursts[which_burst] + rng.normal(0.0, BURST_SD, size=(n_clustered, N_FEATURES))
    latent = np.vstack([normal, scattered, clustered])
    kinds = np.concatenate([np.zeros(n_normal, int), np.ones(n_scattered, int), np.full(n_clustered, 2, int)])
    order = rng.permutation(n)
    return latent[order] * world.scale + world.offset, kinds[order]


def _cells(row: np.ndarray) -> list[str]:
    # "+ 0.0" turns -0.0 into 0.0 so the files do not depend on the sign of a rounded zero.
    return [f"{float(f'{v:.{SIGNIFICANT_DIGITS}g}') + 0.0:.{SIGNIFICANT_DIGITS}g}" for v in row]


def public_mask(kinds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """True for the test rows of the public split: half the normal rows and half the anomalies."""
    public = np.zeros(len(kinds), dtype=bool)
    for is_anomaly in (False, True):
        rows = np.flatnonzero((kinds > 0) == is_anomaly)
        chosen = rng.choice(rows, size=len(rows) // 2, replace=False)
        public[chosen] = True
    return public


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


KIND_NAMES = ("normal", "scattered", "clustered")


def write_task_data(out: Path, seed: int) -> None:
    """Write train/test features under ``out/workspace/data`` and the hidden labels under ``out/eval``."""
    rng = np.random.default_rng(seed)
    world = draw_world(rng)
    x_train, _ = draw_records(world, N_TRAIN, rng)
    x_test, kinds = draw_records(world, N_TEST, rng)
    public = public_mask(kinds, rng)
    _write_csv(
        out / "workspace" / "data" / "train.csv",
        ["id", *FEATURES],
        [[str(i), *_cells(x_train[i])] for i in range(N_TRAIN)],
    )
    _write_csv(
        out / "workspace" / "data" / "test.csv",
        ["id", *FEATURES],
        [[str(i), *_cells(x_test[i])] for i in range(N_TEST)],
    )
    _write_csv(
        out / "eval" / "test_labels.csv",
        ["id", "split", "label", "kind"],
        [
            [str(i), "public" if public[i] else "private", str(int(kinds[i] > 0)), KIND_NAMES[kinds[i]]]
            for i in range(N_TEST)
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="generator seed (the shipped data uses 0)")
    parser.add_argument("--out", type=Path, default=TASK_ROOT, help="task-shaped folder to write into")
    args = parser.parse_args()
    write_task_data(args.out, args.seed)
    print(f"wrote seed {args.seed} data under {args.out}")


if __name__ == "__main__":
    main()
