"""Grader: mean squared error of predictions.csv on the hidden test targets of one split.

Usage: ``RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR`` (no default: a harness that forgets
the split must not be shown private scores).
Prints a short summary and, as the last stdout line, a JSON object
``{"score": <mse>, "rmse": ..., "r2": ..., "n": ..., "split": ...}``. An invalid submission gets one clear
line on stderr, exit code 1 and no score.

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

TARGETS_FILE = Path(__file__).resolve().parent / "test_targets.csv"
SUBMISSION_FILE = "predictions.csv"
EXPECTED_HEADER = ["id", "y"]
# The targets lie within about [-6, 6]; predictions beyond this are typos or attempts at overflow.
MAX_ABS_VALUE = 1e6
# A correct file is about 0.3 MB; anything far larger is not worth parsing.
MAX_BYTES = 20 * 1024 * 1024
SPLITS = ("public", "private")
EXIT_INVALID = 1
EXIT_GRADER_ERROR = 2


class InvalidSubmission(Exception):
    """Raised when predictions.csv cannot be graded; the message says what to fix."""


def read_targets(path: Path = TARGETS_FILE) -> dict[int, tuple[str, float]]:
    """The hidden test targets, ``id -> (split, y)``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return {int(row[0]): (row[1], float(row[2])) for row in reader}


def read_submission(path: Path, expected_ids: set[int]) -> dict[int, float]:
    """Parse and check ``predictions.csv``: ``id -> predicted y``.

    Raises:
        InvalidSubmission: the first problem found, naming the line and column.
    """
    if not path.is_file():
        raise InvalidSubmission(f"{SUBMISSION_FILE} not found; write it in /workspace (see README.md)")
    size = path.stat().st_size
    if size == 0:
        raise InvalidSubmission(f"{SUBMISSION_FILE} is empty; expected a header and one row per test row")
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
        raise InvalidSubmission(f"{SUBMISSION_FILE} has no rows; expected a header and one row per test row")
    header = [cell.strip() for cell in rows[0]]
    if header != EXPECTED_HEADER:
        raise InvalidSubmission(
            f"{SUBMISSION_FILE} line 1: header is {','.join(header)!r}; expected {','.join(EXPECTED_HEADER)!r}"
        )
    body = rows[1:]
    if len(body) != len(expected_ids):
        raise InvalidSubmission(
            f"{SUBMISSION_FILE}: {len(body)} data rows; expected {len(expected_ids)}, one per row of data/test.csv"
        )
    predictions: dict[int, float] = {}
    for line_no, row in enumerate(body, start=2):
        where = f"{SUBMISSION_FILE} line {line_no}"
        if len(row) != len(EXPECTED_HEADER):
            raise InvalidSubmission(f"{where}: {len(row)} columns; expected 2 (id,y)")
        try:
            row_id = int(row[0])
        except ValueError:
            raise InvalidSubmission(f"{where}: id {row[0]!r} is not an integer") from None
        if row_id not in expected_ids:
            raise InvalidSubmission(f"{where}: id {row_id} is not a test id (ids come from data/test.csv)")
        if row_id in predictions:
            raise InvalidSubmission(f"{where}: id {row_id} appears twice")
        try:
            value = float(row[1])
        except ValueError:
            raise InvalidSubmission(f"{where}, column y: {row[1]!r} is not a number") from None
        if not math.isfinite(value):
            raise InvalidSubmission(f"{where}, column y: {row[1]!r} is not finite")
        if abs(value) > MAX_ABS_VALUE:
            raise InvalidSubmission(
                f"{where}, column y: {value:g} is outside [-{MAX_ABS_VALUE:g}, {MAX_ABS_VALUE:g}]"
            )
        predictions[row_id] = value
    return predictions


def grade(
    split: str, submission_dir: Path, targets_path: Path = TARGETS_FILE
) -> dict[str, float | int | str]:
    """Score one submission folder on ``split``; prints a summary and returns the result object.

    Raises:
        InvalidSubmission: the file is malformed.
    """
    targets = read_targets(targets_path)
    predictions = read_submission(submission_dir / SUBMISSION_FILE, set(targets))
    errors: list[float] = []
    ys: list[float] = []
    for row_id, (row_split, y) in sorted(targets.items()):
        if row_split == split:
            errors.append((predictions[row_id] - y) ** 2)
            ys.append(y)
    n = len(errors)
    mse = math.fsum(errors) / n
    mean_y = math.fsum(ys) / n
    variance = math.fsum((y - mean_y) ** 2 for y in ys) / n
    r2 = 1.0 - mse / variance
    print(f"split={split}  n={n}")
    print(f"mean squared error = {mse:.6f}  (rmse {math.sqrt(mse):.4f}, R^2 {r2:.4f})")
    return {
        "score": round(mse, 6),
        "rmse": round(math.sqrt(mse), 6),
        "r2": round(r2, 6),
        "n": n,
        "split": split,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR", file=sys.stderr)
        return EXIT_GRADER_ERROR
    split = os.environ.get("RGYM_SPLIT")
    if split not in SPLITS:
        shown = "nothing (unset)" if split is None else repr(split)
        print(f"RGYM_SPLIT must be public or private, got {shown}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    try:
        result = grade(split, Path(argv[1]))
    except InvalidSubmission as exc:
        print(f"invalid submission: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # a bug or unreadable hidden data: the grader failed, not the submission
        print(f"grader error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
