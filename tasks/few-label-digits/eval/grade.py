"""Grader: accuracy of predictions.csv on the hidden labels of one split of the unlabelled rows.

Usage: ``RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR`` (no default: a harness that forgets
the split must not be shown private scores).
Prints per-class recall and, as the last stdout line, a JSON object
``{"score": <accuracy>, "n": ..., "split": ...}``. An invalid submission gets one clear line on stderr,
exit code 1 and no score.

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

LABELS_FILE = Path(__file__).resolve().parent / "labels.csv"
SUBMISSION_FILE = "predictions.csv"
EXPECTED_HEADER = ["id", "label"]
N_CLASSES = 10
# A correct file is about 12 KB; anything far larger is not worth parsing.
MAX_BYTES = 5 * 1024 * 1024
SPLITS = ("public", "private")
EXIT_INVALID = 1
EXIT_GRADER_ERROR = 2


class InvalidSubmission(Exception):
    """Raised when predictions.csv cannot be graded; the message says what to fix."""


def read_labels(path: Path = LABELS_FILE) -> dict[int, tuple[str, int]]:
    """The hidden labels of the unlabelled rows, ``id -> (split, label)``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return {int(row[0]): (row[1], int(row[2])) for row in reader}


def read_submission(path: Path, expected_ids: set[int]) -> dict[int, int]:
    """Parse and check ``predictions.csv``: ``id -> predicted label``.

    Raises:
        InvalidSubmission: the first problem found, naming the line and column.
    """
    if not path.is_file():
        raise InvalidSubmission(f"{SUBMISSION_FILE} not found; write it in /workspace (see README.md)")
    size = path.stat().st_size
    if size == 0:
        raise InvalidSubmission(
            f"{SUBMISSION_FILE} is empty; expected a header and one row per unlabelled row"
        )
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
        raise InvalidSubmission(
            f"{SUBMISSION_FILE} has no rows; expected a header and one row per unlabelled row"
        )
    header = [cell.strip() for cell in rows[0]]
    if header != EXPECTED_HEADER:
        raise InvalidSubmission(
            f"{SUBMISSION_FILE} line 1: header is {','.join(header)!r}; expected {','.join(EXPECTED_HEADER)!r}"
        )
    body = rows[1:]
    if len(body) != len(expected_ids):
        raise InvalidSubmission(
            f"{SUBMISSION_FILE}: {len(body)} data rows; expected {len(expected_ids)}, "
            "one per row of data/unlabelled.csv"
        )
    predictions: dict[int, int] = {}
    for line_no, row in enumerate(body, start=2):
        where = f"{SUBMISSION_FILE} line {line_no}"
        if len(row) != len(EXPECTED_HEADER):
            raise InvalidSubmission(f"{where}: {len(row)} columns; expected 2 (id,label)")
        try:
            row_id = int(row[0])
        except ValueError:
            raise InvalidSubmission(f"{where}: id {row[0]!r} is not an integer") from None
        if row_id not in expected_ids:
            raise InvalidSubmission(
                f"{where}: id {row_id} is not an unlabelled id (ids come from data/unlabelled.csv)"
            )
        if row_id in predictions:
            raise InvalidSubmission(f"{where}: id {row_id} appears twice")
        try:
            label = int(row[1].strip())
        except ValueError:
            raise InvalidSubmission(f"{where}, column label: {row[1]!r} is not an integer 0 to 9") from None
        if not 0 <= label < N_CLASSES:
            raise InvalidSubmission(f"{where}, column label: {label} is not an integer 0 to 9")
        predictions[row_id] = label
    return predictions


def grade(split: str, submission_dir: Path, labels_path: Path = LABELS_FILE) -> dict[str, float | int | str]:
    """Score one submission folder on ``split``; prints per-class recall and returns the result object.

    Raises:
        InvalidSubmission: the file is malformed.
    """
    labels = read_labels(labels_path)
    predictions = read_submission(submission_dir / SUBMISSION_FILE, set(labels))
    totals = [0] * N_CLASSES
    hits = [0] * N_CLASSES
    for row_id, (row_split, label) in sorted(labels.items()):
        if row_split == split:
            totals[label] += 1
            hits[label] += predictions[row_id] == label
    n = sum(totals)
    accuracy = sum(hits) / n
    print(f"split={split}  n={n}")
    print(
        "recall per class: "
        + " ".join(f"{c}:{hits[c] / totals[c]:.3f}" for c in range(N_CLASSES) if totals[c])
    )
    print(f"accuracy = {accuracy:.6f}")
    return {"score": round(accuracy, 6), "n": n, "split": split}


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
