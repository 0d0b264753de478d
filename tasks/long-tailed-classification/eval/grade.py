"""Grader: balanced accuracy (mean per-class recall) of predictions.csv against the hidden test labels.

Usage: ``RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR`` (default private). Every row of
data/test.csv must be predicted; only the rows of the chosen split count. Prints diagnostics and, as the
last stdout line, a JSON object ``{"score": <balanced accuracy>, ...}``. An invalid submission gets one line
on stderr and exit code 1; a grader problem (bad RGYM_SPLIT, usage, an internal failure) exits 2.

Balanced accuracy weighs every class equally, so predicting one class for every row scores exactly
1 / 10 whichever class it is, and a classifier that ignores the rare classes cannot hide behind the
frequent ones.

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

LABELS_FILE = Path(__file__).resolve().parent / "test_labels.csv"
SUBMISSION_FILE = "predictions.csv"
EXPECTED_HEADER = ["id", "label"]
N_CLASSES = 10
SPLITS = ("public", "private")
# A correct file is ~20 KB; anything far larger is not worth parsing.
MAX_BYTES = 20 * 1024 * 1024
EXIT_INVALID = 1
EXIT_GRADER_ERROR = 2


class InvalidSubmission(Exception):
    """Raised when predictions.csv cannot be graded; the message says what to fix."""


def read_labels(path: Path = LABELS_FILE) -> dict[int, tuple[str, int]]:
    """The hidden test labels, ``id -> (split, class)``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return {int(r[0]): (r[1], int(r[2])) for r in reader}


def _parse_class(cell: str, where: str) -> int:
    text = cell.strip()
    try:
        value = int(text)
    except ValueError:
        try:
            as_float = float(text)
        except ValueError:
            raise InvalidSubmission(f"{where}: label {cell!r} is not an integer") from None
        if not as_float.is_integer():
            raise InvalidSubmission(f"{where}: label {cell!r} is not an integer") from None
        value = int(as_float)  # "3.0" is accepted as 3
    if not 0 <= value < N_CLASSES:
        raise InvalidSubmission(f"{where}: label {value} is not a class; classes are 0 to {N_CLASSES - 1}")
    return value


def read_submission(path: Path, expected_ids: set[int]) -> dict[int, int]:
    """Parse and check ``predictions.csv``: ``id -> predicted class``.

    Raises:
        InvalidSubmission: the first problem found, naming the line.
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
            raise InvalidSubmission(f"{where}: id {row_id} is not a test id (ids come from data/test.csv)")
        if row_id in predictions:
            raise InvalidSubmission(f"{where}: id {row_id} appears twice")
        predictions[row_id] = _parse_class(row[1], where)
    return predictions


def per_class_recall(truth: list[int], predicted: list[int]) -> list[float]:
    """Recall of every class that occurs in ``truth`` (classes in order)."""
    recalls = []
    for c in sorted(set(truth)):
        members = [p for t, p in zip(truth, predicted, strict=True) if t == c]
        recalls.append(sum(p == c for p in members) / len(members))
    return recalls


def balanced_accuracy(truth: list[int], predicted: list[int]) -> float:
    """Mean over the true classes of the share of their rows predicted as that class."""
    recalls = per_class_recall(truth, predicted)
    return sum(recalls) / len(recalls)


def macro_f1(truth: list[int], predicted: list[int]) -> float:
    """Unweighted mean of the per-class F1 scores (a class never predicted and never true is skipped)."""
    scores = []
    for c in sorted(set(truth) | set(predicted)):
        tp = sum(t == c and p == c for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != c and p == c for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == c and p != c for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(scores) / len(scores)


def grade(submission_dir: Path, split: str, labels_path: Path = LABELS_FILE) -> dict[str, float | int | str]:
    """Score one submission folder on one split; prints diagnostics and returns the result object.

    Raises:
        InvalidSubmission: the file is malformed.
    """
    labels = read_labels(labels_path)
    predictions = read_submission(submission_dir / SUBMISSION_FILE, set(labels))
    chosen = sorted(i for i, (s, _) in labels.items() if s == split)
    truth = [labels[i][1] for i in chosen]
    predicted = [predictions[i] for i in chosen]
    score = balanced_accuracy(truth, predicted)
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(chosen)
    f1 = macro_f1(truth, predicted)
    print(f"split={split}  rows={len(chosen)}")
    print("class  recall  predicted")
    for c, recall in zip(sorted(set(truth)), per_class_recall(truth, predicted), strict=True):
        print(f"{c:5d}  {recall:6.3f}  {predicted.count(c):9d}")
    print(f"accuracy = {accuracy:.4f}, macro F1 = {f1:.4f} (diagnostics only)")
    print(f"balanced accuracy = {score:.6f}")
    return {
        "score": round(score, 6),
        "accuracy": round(accuracy, 6),
        "macro_f1": round(f1, 6),
        "n": len(chosen),
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
