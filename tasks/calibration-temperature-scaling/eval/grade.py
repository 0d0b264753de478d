"""Grader: expected calibration error (ECE, 15 bins) of predictions.csv against the hidden test labels.

Usage: ``python grade.py SUBMISSION_DIR``. Prints a reliability table and, as the last stdout line, a JSON
object ``{"score": <ece>, "accuracy": ..., "nll": ..., "n": ...}``. An invalid submission gets one clear line
on stderr, a non-zero exit and no score.

A submission whose test accuracy is below ``MIN_ACCURACY`` is invalid: ECE alone is minimised by predicting
the class prior for every example (confidence 0.1, accuracy 0.1), which answers nothing.

Standard library only, so the grader does not depend on what the agent installed.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

LABELS_FILE = Path(__file__).resolve().parent / "test_labels.csv"
SUBMISSION_FILE = "predictions.csv"
N_CLASSES = 10
N_BINS = 15
SUM_TOLERANCE = 1e-3
# The baseline reaches 0.69; the floor only refuses degenerate, near-uniform predictors.
MIN_ACCURACY = 0.60
# Floor on the probability of the true label in the NLL diagnostic, so a confident miss stays finite.
NLL_FLOOR = 1e-15
# A correct file is ~60 KB; anything far larger is not worth parsing.
MAX_BYTES = 20 * 1024 * 1024
EXPECTED_HEADER = ["id", *(f"p{k}" for k in range(N_CLASSES))]
EXIT_INVALID = 1


class InvalidSubmission(Exception):
    """Raised when predictions.csv cannot be graded; the message says what to fix."""


def read_labels(path: Path = LABELS_FILE) -> dict[int, int]:
    """The hidden test labels, ``id -> class``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return {int(row[0]): int(row[1]) for row in reader}


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
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise InvalidSubmission(
                f"{where}: probabilities sum to {total:.6f}; each row must sum to 1 within {SUM_TOLERANCE}"
            )
        # Normalising removes the rounding slack, so nudging confidences within the tolerance gains nothing.
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


def bin_index(confidence: float, n_bins: int = N_BINS) -> int:
    """Bin m (0-based) covers ((m)/M, (m+1)/M], as in Guo et al. (2017); 0 falls in the first bin."""
    m = min(max(math.ceil(confidence * n_bins) - 1, 0), n_bins - 1)
    # confidence * n_bins can round across a boundary; settle it against the boundaries m / n_bins themselves.
    if m > 0 and confidence <= m / n_bins:
        m -= 1
    elif m < n_bins - 1 and confidence > (m + 1) / n_bins:
        m += 1
    return m


def reliability(
    confidences: list[float], correct: list[bool], n_bins: int = N_BINS
) -> list[tuple[int, float, float]]:
    """Per bin: ``(count, mean confidence, accuracy)``; empty bins are ``(0, nan, nan)``."""
    counts = [0] * n_bins
    conf_sums = [0.0] * n_bins
    hits = [0] * n_bins
    for conf, ok in zip(confidences, correct, strict=True):
        m = bin_index(conf, n_bins)
        counts[m] += 1
        conf_sums[m] += conf
        hits[m] += int(ok)
    return [
        (c, conf_sums[m] / c, hits[m] / c) if c else (0, math.nan, math.nan) for m, c in enumerate(counts)
    ]


def expected_calibration_error(confidences: list[float], correct: list[bool], n_bins: int = N_BINS) -> float:
    """ECE = sum over bins of |B_m| / n * |acc(B_m) - conf(B_m)| (Guo et al. 2017, eq. 3)."""
    n = len(confidences)
    if n == 0:
        raise ValueError("ECE of an empty set is undefined")
    return math.fsum(
        c / n * abs(acc - conf) for c, conf, acc in reliability(confidences, correct, n_bins) if c
    )


def grade(submission_dir: Path, labels_path: Path = LABELS_FILE) -> dict[str, float | int]:
    """Score one submission folder; prints the reliability table and returns the result object.

    Raises:
        InvalidSubmission: the file is malformed, or its accuracy is below ``MIN_ACCURACY``.
    """
    labels = read_labels(labels_path)
    predictions = read_submission(submission_dir / SUBMISSION_FILE, set(labels))
    confidences: list[float] = []
    correct: list[bool] = []
    log_losses: list[float] = []
    for row_id, label in sorted(labels.items()):
        probs = predictions[row_id]
        predicted = argmax(probs)
        confidences.append(probs[predicted])
        correct.append(predicted == label)
        log_losses.append(-math.log(max(probs[label], NLL_FLOOR)))
    accuracy = sum(correct) / len(correct)
    if accuracy < MIN_ACCURACY:
        raise InvalidSubmission(
            f"test accuracy is {accuracy:.4f}, below the required {MIN_ACCURACY:.2f} (see README.md, Metric)"
        )
    ece = expected_calibration_error(confidences, correct)
    nll = math.fsum(log_losses) / len(log_losses)
    print(f"{'bin':>13}  {'count':>5}  {'confidence':>10}  {'accuracy':>8}")
    for m, (count, conf, acc) in enumerate(reliability(confidences, correct)):
        if count:
            print(f"({m / N_BINS:.3f},{(m + 1) / N_BINS:.3f}]  {count:5d}  {conf:10.4f}  {acc:8.4f}")
    print(
        f"n={len(correct)}  accuracy={accuracy:.4f}  mean confidence={math.fsum(confidences) / len(correct):.4f}"
    )
    print(f"negative log-likelihood = {nll:.4f} (diagnostic only)")
    print(f"ECE ({N_BINS} bins) = {ece:.6f}")
    return {"score": round(ece, 6), "accuracy": round(accuracy, 6), "nll": round(nll, 6), "n": len(correct)}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python grade.py SUBMISSION_DIR", file=sys.stderr)
        return 2
    try:
        result = grade(Path(argv[1]))
    except InvalidSubmission as exc:
        print(f"invalid submission: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
