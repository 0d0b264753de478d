"""Grade /submission/predictions.csv: RMSE over the hidden rows of the split RGYM_SPLIT names.

Grader contract (docs/tasks.md): argv[1] is the submission folder; exit 0 with a JSON last stdout line
holding ``score``; exit 1 with one line on stderr for an invalid submission (shown to the agent, so it never
names a hidden value); exit 2 when the grader itself cannot run. Standard library only.
TODO(rgym): replace the example metric and checks with the task's own.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from pathlib import Path

LABELS = Path(__file__).resolve().parent / "labels.csv"
SUBMISSION_FILE = "predictions.csv"
MAX_BYTES = 5 * 1024 * 1024
EXIT_INVALID, EXIT_GRADER = 1, 2


class Invalid(Exception):
    """The submission breaks the format; the message is shown to the agent."""


def read_labels(split: str) -> tuple[dict[str, float], set[str]]:
    """The hidden values of one split, and every test id (both splits)."""
    with open(LABELS, newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["id"]: float(r["y"]) for r in rows if r["split"] == split}, {r["id"] for r in rows}


def read_predictions(path: Path, ids: set[str]) -> dict[str, float]:
    if not path.is_file():
        raise Invalid(f"{SUBMISSION_FILE} not found in the submission")
    if path.stat().st_size > MAX_BYTES:
        raise Invalid(f"{SUBMISSION_FILE} is larger than {MAX_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"{SUBMISSION_FILE} is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != ["id", "prediction"]:
        raise Invalid(f"{SUBMISSION_FILE}: the header must be 'id,prediction'")
    predictions: dict[str, float] = {}
    for line_no, row in enumerate(reader, start=2):
        if len(row) != 2:
            raise Invalid(f"{SUBMISSION_FILE} line {line_no}: expected 2 fields, got {len(row)}")
        row_id, value = row
        if row_id not in ids:
            raise Invalid(f"{SUBMISSION_FILE} line {line_no}: unknown id {row_id[:30]!r}")
        if row_id in predictions:
            raise Invalid(f"{SUBMISSION_FILE} line {line_no}: id {row_id!r} appears twice")
        try:
            number = float(value)
        except ValueError:
            raise Invalid(f"{SUBMISSION_FILE} line {line_no}: {value[:30]!r} is not a number") from None
        if not math.isfinite(number):
            raise Invalid(f"{SUBMISSION_FILE} line {line_no}: the prediction must be finite")
        predictions[row_id] = number
    if len(predictions) != len(ids):
        raise Invalid(f"{SUBMISSION_FILE}: {len(ids) - len(predictions)} test id(s) have no prediction")
    return predictions


def main(argv: list[str]) -> int:
    split = os.environ.get("RGYM_SPLIT", "private")
    if split not in ("public", "private") or len(argv) != 2:
        print("usage: RGYM_SPLIT=public|private grade.py SUBMISSION_DIR", file=sys.stderr)
        return EXIT_GRADER
    try:
        hidden, ids = read_labels(split)
    except (OSError, KeyError, ValueError) as exc:
        print(f"grader error: cannot read the hidden labels: {exc}", file=sys.stderr)
        return EXIT_GRADER
    try:
        predictions = read_predictions(Path(argv[1]) / SUBMISSION_FILE, ids)
    except Invalid as exc:
        print(f"invalid submission: {exc}", file=sys.stderr)
        return EXIT_INVALID
    rmse = math.sqrt(sum((predictions[i] - y) ** 2 for i, y in hidden.items()) / len(hidden))
    print(f"split {split}: rmse {rmse:.6f} over {len(hidden)} rows")
    print(json.dumps({"score": round(rmse, 6), "split": split, "rows": len(hidden)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
