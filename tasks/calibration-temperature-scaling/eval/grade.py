"""Grader: negative log-likelihood (NLL) of predictions.csv on one split of the hidden test labels.

Usage: ``RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR``.

``test_labels.csv`` next to this file holds ``id,split,label`` for every row of the workspace's
``data/test.csv``: a public split (scored by ``validate``) and a private split (scored by ``submit``).
The submission must cover every test id of both splits and is checked in full whatever the split, so its
validity never depends on which rows are in which split or on their labels.

Exit codes (the rgym grader contract):
  0: the last stdout line is JSON ``{"score": <nll>, ...}``; the other keys (split, n, accuracy, Brier
     score, ECE, mean confidence) are diagnostics for evaluators, aggregated over the split and rounded.
     Nothing per row or per bin is printed.
  1: an invalid submission; one line on stderr says what to fix, from the submission's content alone.
  2: misuse or an internal failure of the grader itself (bad arguments, RGYM_SPLIT missing or unknown,
     unreadable labels); never the submission's fault.

The score is rounded to ``SCORE_DECIMALS`` decimals: finer than any difference worth ranking (the baseline
and the reference are 0.35 apart), and it bounds what one score can tell about the hidden labels
(MAINTAINERS.md, "Label leakage through validate").

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path

LABELS_FILE = Path(__file__).resolve().parent / "test_labels.csv"
SUBMISSION_FILE = "predictions.csv"
SPLITS = ("public", "private")
N_CLASSES = 10
SUM_TOLERANCE = 1e-3
# Floor on the probability of the true label, so a zero on the true class costs -ln(1e-15) = 34.54, not inf.
PROB_FLOOR = 1e-15
SCORE_DECIMALS = 4
DIAGNOSTIC_DECIMALS = 4
N_BINS = 15  # ECE diagnostic, as in Guo et al. (2017)
# A correct file is about 100 KB; anything far larger is not worth parsing.
MAX_BYTES = 20 * 1024 * 1024
EXPECTED_HEADER = ["id", *(f"p{k}" for k in range(N_CLASSES))]
EXIT_INVALID = 1
EXIT_MISUSE = 2


class InvalidSubmission(Exception):
    """Raised when predictions.csv cannot be graded; the message says what to fix."""


class GraderMisuse(Exception):
    """Raised when the grader itself is called wrongly or its hidden data is unusable (exit 2)."""


def split_from_env(environ: Mapping[str, str]) -> str:
    """The split named by ``RGYM_SPLIT``.

    Raises:
        GraderMisuse: the variable is missing or names no split.
    """
    split = environ.get("RGYM_SPLIT")
    if split not in SPLITS:
        shown = "unset" if split is None else repr(split)
        raise GraderMisuse(f"RGYM_SPLIT must be 'public' or 'private', got {shown}")
    return split


def read_labels(path: Path | None = None) -> dict[int, tuple[str, int]]:
    """The hidden test labels, ``id -> (split, class)``; ``path`` defaults to ``LABELS_FILE``.

    Raises:
        GraderMisuse: the file is missing or malformed (a broken task, not a bad submission).
    """
    path = LABELS_FILE if path is None else path
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise GraderMisuse(f"cannot read the hidden labels {path.name}: {exc.strerror}") from None
    if not rows or rows[0] != ["id", "split", "label"]:
        raise GraderMisuse(f"{path.name}: the header must be id,split,label")
    labels: dict[int, tuple[str, int]] = {}
    for row in rows[1:]:
        try:
            row_id, split, label = int(row[0]), row[1], int(row[2])
        except (IndexError, ValueError):
            raise GraderMisuse(f"{path.name}: a malformed row") from None
        if split not in SPLITS or not 0 <= label < N_CLASSES or row_id in labels:
            raise GraderMisuse(f"{path.name}: a row with an unknown split, label or a repeated id")
        labels[row_id] = (split, label)
    if not all(any(s == split for s, _ in labels.values()) for split in SPLITS):
        raise GraderMisuse(f"{path.name}: both splits must have rows")
    return labels


def _parse_probability(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise InvalidSubmission(f"{where}: {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidSubmission(f"{where}: {cell!r} is not finite; probabilities must be finite numbers")
    if value < 0:
        raise InvalidSubmission(f"{where}: {value} is negative; probabilities must be >= 0")
    return value


def read_submission(path: Path, expected_ids: set[int]) -> dict[int, list[float]]:
    """Parse and check ``predictions.csv``: ``id -> probabilities``, each row normalised to sum 1.

    ``expected_ids`` are the ids of both splits, so every message is about the file alone.

    Raises:
        InvalidSubmission: the first problem found, naming the line and column.
    """
    if not path.is_file():
        raise InvalidSubmission(f"{SUBMISSION_FILE} not found; write it in /workspace (see README.md)")
    size = path.stat().st_size
    if size == 0:
        raise InvalidSubmission(f"{SUBMISSION_FILE} is empty; expected a header and one row per test example")
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
            f"{SUBMISSION_FILE} has no rows; expected a header and one row per test example"
        )
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
    predictions: dict[int, list[float]] = {}
    for line_no, row in enumerate(body, start=2):
        where = f"{SUBMISSION_FILE} line {line_no}"
        if len(row) != len(EXPECTED_HEADER):
            raise InvalidSubmission(
                f"{where}: {len(row)} columns; expected {len(EXPECTED_HEADER)} (id,p0..p9)"
            )
        try:
            row_id = int(row[0])
        except ValueError:
            raise InvalidSubmission(f"{where}: id {row[0]!r} is not an integer") from None
        if row_id not in expected_ids:
            raise InvalidSubmission(f"{where}: id {row_id} is not a test id (ids come from data/test.csv)")
        if row_id in predictions:
            raise InvalidSubmission(f"{where}: id {row_id} appears twice")
        probs = [_parse_probability(cell, f"{where}, column p{k}") for k, cell in enumerate(row[1:])]
        total = math.fsum(probs)
        if abs(total - 1.0) > SUM_TOLERANCE + 1e-12:  # inclusive, whatever the decimal-to-binary rounding
            raise InvalidSubmission(
                f"{where}: probabilities sum to {total:.6f}; each row must sum to 1 within {SUM_TOLERANCE}"
            )
        # Normalising removes the rounding slack, so the tolerance cannot be used to inflate probabilities.
        predictions[row_id] = [p / total for p in probs]
    missing = sorted(expected_ids - predictions.keys())
    if missing:  # unreachable with the row count and duplicate checks, kept as a safety net
        raise InvalidSubmission(f"{SUBMISSION_FILE}: missing ids, e.g. {missing[:5]}")
    return predictions


def argmax(values: list[float]) -> int:
    """Index of the largest value; the first one on ties."""
    best = 0
    for k in range(1, len(values)):
        if values[k] > values[best]:
            best = k
    return best


def log_loss(probs: list[float], label: int) -> float:
    """``-ln p[label]``, with the probability floored at ``PROB_FLOOR``."""
    return -math.log(max(probs[label], PROB_FLOOR))


def brier(probs: list[float], label: int) -> float:
    """Squared distance between the probabilities and the one-hot label (0 to 2)."""
    return math.fsum((p - (1.0 if k == label else 0.0)) ** 2 for k, p in enumerate(probs))


def bin_index(confidence: float, n_bins: int = N_BINS) -> int:
    """Bin m (0-based) covers ((m)/M, (m+1)/M], as in Guo et al. (2017); 0 falls in the first bin."""
    m = min(max(math.ceil(confidence * n_bins) - 1, 0), n_bins - 1)
    # confidence * n_bins can round across a boundary; settle it against the boundaries m / n_bins themselves.
    if m > 0 and confidence <= m / n_bins:
        m -= 1
    elif m < n_bins - 1 and confidence > (m + 1) / n_bins:
        m += 1
    return m


def expected_calibration_error(confidences: list[float], correct: list[bool], n_bins: int = N_BINS) -> float:
    """ECE = sum over bins of |B_m| / n * |acc(B_m) - conf(B_m)| (Guo et al. 2017, eq. 3)."""
    n = len(confidences)
    if n == 0:
        raise ValueError("ECE of an empty set is undefined")
    counts = [0] * n_bins
    conf_sums = [0.0] * n_bins
    hits = [0] * n_bins
    for conf, ok in zip(confidences, correct, strict=True):
        m = bin_index(conf, n_bins)
        counts[m] += 1
        conf_sums[m] += conf
        hits[m] += int(ok)
    return math.fsum(abs(hits[m] - conf_sums[m]) / n for m in range(n_bins) if counts[m])


def grade(submission_dir: Path, split: str, labels_path: Path | None = None) -> dict[str, float | int | str]:
    """Score one submission folder on ``split``: the result object the grader prints.

    Raises:
        InvalidSubmission: the file is malformed (checked over every test id, whatever the split).
        GraderMisuse: ``split`` is unknown or the hidden labels are unusable.
    """
    if split not in SPLITS:
        raise GraderMisuse(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    labels = read_labels(labels_path)
    predictions = read_submission(submission_dir / SUBMISSION_FILE, set(labels))
    losses: list[float] = []
    briers: list[float] = []
    confidences: list[float] = []
    correct: list[bool] = []
    for row_id, (row_split, label) in sorted(labels.items()):
        if row_split != split:
            continue
        probs = predictions[row_id]
        predicted = argmax(probs)
        losses.append(log_loss(probs, label))
        briers.append(brier(probs, label))
        confidences.append(probs[predicted])
        correct.append(predicted == label)
    n = len(losses)

    def mean(values: list[float]) -> float:
        return round(math.fsum(values) / n, DIAGNOSTIC_DECIMALS)

    return {
        "score": round(math.fsum(losses) / n, SCORE_DECIMALS),
        "split": split,
        "n": n,
        "accuracy": round(sum(correct) / n, DIAGNOSTIC_DECIMALS),
        "brier": mean(briers),
        "ece": round(expected_calibration_error(confidences, correct), DIAGNOSTIC_DECIMALS),
        "mean_confidence": mean(confidences),
    }


def main(argv: list[str], environ: Mapping[str, str]) -> int:
    """Grade ``argv[1]`` on the split ``environ`` names; the process exit code."""
    try:
        if len(argv) != 2:
            raise GraderMisuse("usage: RGYM_SPLIT=public|private python grade.py SUBMISSION_DIR")
        split = split_from_env(environ)
        result = grade(Path(argv[1]), split)
    except InvalidSubmission as exc:
        print(f"invalid submission: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except GraderMisuse as exc:
        print(f"grader error: {exc}", file=sys.stderr)
        return EXIT_MISUSE
    except Exception as exc:  # a bug here must not pass for an invalid submission (exit 1), nor leak data
        print(f"grader error: internal failure ({type(exc).__name__})", file=sys.stderr)
        return EXIT_MISUSE
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv, os.environ))
