"""Grader: interval score of 90% prediction intervals on the hidden test targets of one split.

Usage: ``RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR`` (no default: a harness that forgets
the split must not be shown private scores).
Prints a short summary and, as the last stdout line, a JSON object
``{"score": <mean interval score>, "coverage": ..., "mean_width": ..., "miss_penalty": ..., "n": ...}``.
An invalid submission gets one clear line on stderr, exit code 1 and no score.

The score is the interval score of Gneiting and Raftery (2007, eq. 43) at alpha = 0.1, averaged over the
split's rows: width + (2 / alpha) * (distance by which y falls outside the interval). It is a proper score
for the central 90% interval: in expectation it is lowest for the true 5% and 95% conditional quantiles,
so neither covering more (wider intervals) nor covering less (narrower ones, or empty intervals for the
hardest rows) pays. Plain mean width under a coverage floor would pay an agent for sitting just above the
floor and for giving up on the noisiest rows; MAINTAINERS.md has the numbers.

Coverage must still be at least ``MIN_COVERAGE`` (0.87: the 90% target less an allowance for sampling
noise) or the submission is invalid, so uncalibrated intervals cannot score at all.

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
EXPECTED_HEADER = ["id", "lower", "upper"]
ALPHA = 0.1
MIN_COVERAGE = 0.87
# y lies within about [-10, 15]; bounds beyond this are typos or attempts at overflow.
MAX_ABS_VALUE = 1e6
# A correct file is about 0.4 MB; anything far larger is not worth parsing.
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


def _parse_bound(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise InvalidSubmission(f"{where}: {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidSubmission(f"{where}: {cell!r} is not finite; bounds must be finite numbers")
    if abs(value) > MAX_ABS_VALUE:
        raise InvalidSubmission(f"{where}: {value:g} is outside [-{MAX_ABS_VALUE:g}, {MAX_ABS_VALUE:g}]")
    return value


def read_submission(path: Path, expected_ids: set[int]) -> dict[int, tuple[float, float]]:
    """Parse and check ``predictions.csv``: ``id -> (lower, upper)``.

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
    intervals: dict[int, tuple[float, float]] = {}
    for line_no, row in enumerate(body, start=2):
        where = f"{SUBMISSION_FILE} line {line_no}"
        if len(row) != len(EXPECTED_HEADER):
            raise InvalidSubmission(f"{where}: {len(row)} columns; expected 3 (id,lower,upper)")
        try:
            row_id = int(row[0])
        except ValueError:
            raise InvalidSubmission(f"{where}: id {row[0]!r} is not an integer") from None
        if row_id not in expected_ids:
            raise InvalidSubmission(f"{where}: id {row_id} is not a test id (ids come from data/test.csv)")
        if row_id in intervals:
            raise InvalidSubmission(f"{where}: id {row_id} appears twice")
        lower = _parse_bound(row[1], f"{where}, column lower")
        upper = _parse_bound(row[2], f"{where}, column upper")
        if lower > upper:
            raise InvalidSubmission(f"{where}: lower {lower:g} is above upper {upper:g}")
        intervals[row_id] = (lower, upper)
    return intervals


def interval_score(lower: float, upper: float, y: float, alpha: float = ALPHA) -> float:
    """Gneiting and Raftery's interval score of one central (1 - alpha) interval; lower is better."""
    return (upper - lower) + (2.0 / alpha) * (max(lower - y, 0.0) + max(y - upper, 0.0))


def grade(
    split: str, submission_dir: Path, targets_path: Path = TARGETS_FILE
) -> dict[str, float | int | str]:
    """Score one submission folder on ``split``; prints a summary and returns the result object.

    Raises:
        InvalidSubmission: the file is malformed, or its coverage on the split is below ``MIN_COVERAGE``.
    """
    targets = read_targets(targets_path)
    intervals = read_submission(submission_dir / SUBMISSION_FILE, set(targets))
    scores: list[float] = []
    widths: list[float] = []
    covered = 0
    for row_id, (row_split, y) in sorted(targets.items()):
        if row_split != split:
            continue
        lower, upper = intervals[row_id]
        scores.append(interval_score(lower, upper, y))
        widths.append(upper - lower)
        covered += lower <= y <= upper
    n = len(scores)
    coverage = covered / n
    if coverage < MIN_COVERAGE:
        raise InvalidSubmission(
            f"coverage is {coverage:.3f} on the graded rows, below the required {MIN_COVERAGE:.2f} "
            "(see README.md, Metric)"
        )
    score = math.fsum(scores) / n
    mean_width = math.fsum(widths) / n
    print(f"split={split}  n={n}  coverage={coverage:.4f}")
    print(f"mean width={mean_width:.4f}  miss penalty={score - mean_width:.4f}")
    print(f"interval score (alpha={ALPHA}) = {score:.6f}")
    return {
        "score": round(score, 6),
        "coverage": round(coverage, 6),
        "mean_width": round(mean_width, 6),
        "miss_penalty": round(score - mean_width, 6),
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
