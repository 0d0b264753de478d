"""Grader: average precision of the anomaly scores in scores.csv against the hidden anomaly labels.

Usage: ``RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR`` (default private). Every row of
data/test.csv must be scored; only the rows of the chosen split count. Prints diagnostics and, as the last
stdout line, a JSON object ``{"score": <average precision>, ...}``. An invalid submission gets one line on
stderr and exit code 1; a grader problem (bad RGYM_SPLIT, usage, an internal failure) exits 2.

Average precision is computed over distinct score thresholds, as scikit-learn's average_precision_score
does: AP = sum over thresholds t (from the highest score down) of (R_t - R_prev) * P_t. Rows with equal
scores are passed together, so the order of tied rows in the file (or their ids) cannot change the score,
and a constant score gets exactly the share of anomalies in the split.

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from itertools import groupby
from pathlib import Path

LABELS_FILE = Path(__file__).resolve().parent / "test_labels.csv"
SUBMISSION_FILE = "scores.csv"
EXPECTED_HEADER = ["id", "score"]
SPLITS = ("public", "private")
# A correct file is ~100 KB; anything far larger is not worth parsing.
MAX_BYTES = 20 * 1024 * 1024
EXIT_INVALID = 1
EXIT_GRADER_ERROR = 2


class InvalidSubmission(Exception):
    """Raised when scores.csv cannot be graded; the message says what to fix."""


class Row:
    """One hidden test row."""

    __slots__ = ("kind", "label", "split")

    def __init__(self, split: str, label: int, kind: str) -> None:
        self.split = split
        self.label = label
        self.kind = kind


def read_labels(path: Path = LABELS_FILE) -> dict[int, Row]:
    """The hidden labels of every test row, ``id -> Row``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return {int(r[0]): Row(r[1], int(r[2]), r[3]) for r in reader}


def read_submission(path: Path, expected_ids: set[int]) -> dict[int, float]:
    """Parse and check ``scores.csv``: ``id -> score``.

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
    scores: dict[int, float] = {}
    for line_no, row in enumerate(body, start=2):
        where = f"{SUBMISSION_FILE} line {line_no}"
        if len(row) != len(EXPECTED_HEADER):
            raise InvalidSubmission(f"{where}: {len(row)} columns; expected 2 (id,score)")
        try:
            row_id = int(row[0])
        except ValueError:
            raise InvalidSubmission(f"{where}: id {row[0]!r} is not an integer") from None
        if row_id not in expected_ids:
            raise InvalidSubmission(f"{where}: id {row_id} is not a test id (ids come from data/test.csv)")
        if row_id in scores:
            raise InvalidSubmission(f"{where}: id {row_id} appears twice")
        try:
            value = float(row[1])
        except ValueError:
            raise InvalidSubmission(f"{where}: score {row[1]!r} is not a number") from None
        if not math.isfinite(value):
            raise InvalidSubmission(f"{where}: score {row[1]!r} is not finite; scores must be finite numbers")
        scores[row_id] = value
    return scores


def average_precision(scores: list[float], labels: list[int]) -> float:
    """Step-wise average precision over distinct thresholds (scikit-learn's definition).

    Raises:
        ValueError: there is no positive label.
    """
    positives = sum(labels)
    if positives == 0:
        raise ValueError("average precision needs at least one positive")
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    tp = fp = 0
    ap = 0.0
    previous_recall = 0.0
    for _, group in groupby(pairs, key=lambda p: p[0]):
        for _, label in group:
            tp += label
            fp += 1 - label
        recall = tp / positives
        ap += (recall - previous_recall) * (tp / (tp + fp))
        previous_recall = recall
    return ap


def roc_auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve; tied scores count one half (the Mann-Whitney statistic)."""
    positives = sum(labels)
    negatives = len(labels) - positives
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: p[0])
    rank_sum = 0.0
    rank = 0
    for _, group in groupby(pairs, key=lambda p: p[0]):
        members = [label for _, label in group]
        mean_rank = rank + (len(members) + 1) / 2
        rank_sum += mean_rank * sum(members)
        rank += len(members)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def grade(submission_dir: Path, split: str, labels_path: Path = LABELS_FILE) -> dict[str, float | int | str]:
    """Score one submission folder on one split; prints diagnostics and returns the result object.

    Raises:
        InvalidSubmission: the file is malformed.
    """
    rows = read_labels(labels_path)
    scores = read_submission(submission_dir / SUBMISSION_FILE, set(rows))
    chosen = sorted(i for i, row in rows.items() if row.split == split)
    split_scores = [scores[i] for i in chosen]
    split_labels = [rows[i].label for i in chosen]
    ap = average_precision(split_scores, split_labels)
    auc = roc_auc(split_scores, split_labels)
    n_anomalies = sum(split_labels)
    print(
        f"split={split}  rows={len(chosen)}  anomalies={n_anomalies}  distinct scores={len(set(split_scores))}"
    )
    for kind in sorted({rows[i].kind for i in chosen} - {"normal"}):
        members = [i for i in chosen if rows[i].kind in (kind, "normal")]
        kind_auc = roc_auc([scores[i] for i in members], [rows[i].label for i in members])
        print(f"ROC AUC of {kind} anomalies against normal rows = {kind_auc:.4f} (diagnostic only)")
    print(f"ROC AUC = {auc:.4f} (diagnostic only)")
    print(f"average precision = {ap:.6f}")
    return {
        "score": round(ap, 6),
        "roc_auc": round(auc, 6),
        "prevalence": round(n_anomalies / len(chosen), 6),
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
