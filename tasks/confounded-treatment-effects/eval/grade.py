"""Grader: root mean squared error of the effect estimates in estimates.csv against the hidden true effects.

Usage: ``RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR`` (default private). Every dataset of
data/ must have an estimate; only the datasets of the chosen split count. Prints diagnostics and, as the
last stdout line, a JSON object ``{"score": <rmse>, ...}``. An invalid submission gets one line on stderr
and exit code 1; a grader problem (bad RGYM_SPLIT, usage, an internal failure) exits 2.

The true effects differ from dataset to dataset, so one number for every dataset scores about their spread
(0.74 private, 0.97 public at best, on the shipped data), worse than the baseline.

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

EFFECTS_FILE = Path(__file__).resolve().parent / "effects.csv"
SUBMISSION_FILE = "estimates.csv"
EXPECTED_HEADER = ["dataset", "ate"]
SPLITS = ("public", "private")
# Estimates beyond this are refused: they are meaningless here and their squares could overflow.
MAX_ABS_ESTIMATE = 1e6
# A correct file is ~1 KB; anything far larger is not worth parsing.
MAX_BYTES = 1024 * 1024
EXIT_INVALID = 1
EXIT_GRADER_ERROR = 2


class InvalidSubmission(Exception):
    """Raised when estimates.csv cannot be graded; the message says what to fix."""


def read_effects(path: Path = EFFECTS_FILE) -> dict[str, tuple[str, float]]:
    """The hidden true effects, ``dataset -> (split, ate)``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return {r[0]: (r[1], float(r[2])) for r in reader}


def read_submission(path: Path, expected: set[str]) -> dict[str, float]:
    """Parse and check ``estimates.csv``: ``dataset -> estimate``.

    Raises:
        InvalidSubmission: the first problem found, naming the line.
    """
    if not path.is_file():
        raise InvalidSubmission(f"{SUBMISSION_FILE} not found; write it in /workspace (see README.md)")
    size = path.stat().st_size
    if size == 0:
        raise InvalidSubmission(f"{SUBMISSION_FILE} is empty; expected a header and one row per dataset")
    if size > MAX_BYTES:
        raise InvalidSubmission(f"{SUBMISSION_FILE} is {size} bytes; a valid file is far below {MAX_BYTES}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidSubmission(f"{SUBMISSION_FILE} is not UTF-8 text") from None
    try:
        rows = [row for row in csv.reader(text.splitlines()) if row]
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise InvalidSubmission(f"{SUBMISSION_FILE} is not valid CSV: {exc}") from None
    if not rows:
        raise InvalidSubmission(f"{SUBMISSION_FILE} has no rows; expected a header and one row per dataset")
    header = [cell.strip() for cell in rows[0]]
    if header != EXPECTED_HEADER:
        raise InvalidSubmission(
            f"{SUBMISSION_FILE} line 1: header is {','.join(header)!r}; expected {','.join(EXPECTED_HEADER)!r}"
        )
    body = rows[1:]
    if len(body) != len(expected):
        raise InvalidSubmission(
            f"{SUBMISSION_FILE}: {len(body)} data rows; expected {len(expected)}, one per file in data/"
        )
    estimates: dict[str, float] = {}
    for line_no, row in enumerate(body, start=2):
        where = f"{SUBMISSION_FILE} line {line_no}"
        if len(row) != len(EXPECTED_HEADER):
            raise InvalidSubmission(f"{where}: {len(row)} columns; expected 2 (dataset,ate)")
        name = row[0].strip()
        if name not in expected:
            raise InvalidSubmission(
                f"{where}: {name!r} is not a dataset (names are the files in data/, e.g. d000)"
            )
        if name in estimates:
            raise InvalidSubmission(f"{where}: dataset {name} appears twice")
        try:
            value = float(row[1])
        except ValueError:
            raise InvalidSubmission(f"{where}: ate {row[1]!r} is not a number") from None
        if not math.isfinite(value):
            raise InvalidSubmission(
                f"{where}: ate {row[1]!r} is not finite; estimates must be finite numbers"
            )
        if abs(value) > MAX_ABS_ESTIMATE:
            raise InvalidSubmission(
                f"{where}: ate {value:g} is outside [-{MAX_ABS_ESTIMATE:g}, {MAX_ABS_ESTIMATE:g}]"
            )
        estimates[name] = value
    return estimates


def grade(
    submission_dir: Path, split: str, effects_path: Path = EFFECTS_FILE
) -> dict[str, float | int | str]:
    """Score one submission folder on one split; prints diagnostics and returns the result object.

    Raises:
        InvalidSubmission: the file is malformed.
    """
    effects = read_effects(effects_path)
    estimates = read_submission(submission_dir / SUBMISSION_FILE, set(effects))
    chosen = sorted(name for name, (s, _) in effects.items() if s == split)
    errors = [estimates[name] - effects[name][1] for name in chosen]
    n = len(errors)
    rmse = math.sqrt(math.fsum(e * e for e in errors) / n)
    bias = math.fsum(errors) / n
    mae = math.fsum(abs(e) for e in errors) / n
    print(f"split={split}  datasets={n}")
    print(
        f"mean error = {bias:+.4f}, mean absolute error = {mae:.4f}, largest absolute error = "
        f"{max(abs(e) for e in errors):.4f} (diagnostics only)"
    )
    print(f"RMSE = {rmse:.6f}")
    return {
        "score": round(rmse, 6),
        "mean_error": round(bias, 6),
        "mae": round(mae, 6),
        "n": n,
        "split": split,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR", file=sys.stderr)
        return EXIT_GRADER_ERROR
    split = os.environ.get("RGYM_SPLIT", "private")
    if split not in SPLITS:
        print(f"RGYM_SPLIT must be public or private, got {split!r}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    try:
        result = grade(Path(argv[1]), split)
    except InvalidSubmission as exc:
        print(f"invalid submission: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # a bug or unreadable hidden data: a grader failure, never exit 1 (the agent's
        # fault) and never a traceback (the agent sees stderr; a traceback could quote hidden data)
        print(f"grader error: internal failure ({type(exc).__name__})", file=sys.stderr)
        return EXIT_GRADER_ERROR
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
