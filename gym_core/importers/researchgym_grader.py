"""rgym's grader for a task imported from ResearchGym: its own ``grading/grade.sh`` behind rgym's contract.

Copied verbatim into an imported task's ``eval/`` by ``rgym tasks import researchgym``; standard library only::

    python /eval/rgym_researchgym_grade.py /submission

ResearchGym's graders read the logs an agent's runs wrote and fill the "Your Method" row of the baseline
tables in ``task_description.md``. The adapter lays out a private copy of the task folder in ``$TMPDIR``
(``grading/``, ``task_description.md``, the submitted log files), runs ``grading/grade.sh`` there, and reads
the filled cell named in ``rgym_researchgym.json`` (table, column) as the score.

**Self-reported grading: not tamper-proof.** There is no hidden data: the score is whatever the submitted logs
say. Both splits give the same score. Exit 1 (invalid) when the grader exits non-zero or leaves the cell empty.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG_FILE = "rgym_researchgym.json"
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def table_rows(markdown: str, table: int) -> list[list[str]]:
    """The rows (cells stripped) of the ``table``-th markdown table after the baseline heading."""
    start = markdown.find("## Baseline Results")
    lines = markdown[start if start >= 0 else 0 :].splitlines()
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in lines:
        if line.strip().startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    if table >= len(tables):
        raise ValueError(f"task_description.md has {len(tables)} baseline table(s), not {table + 1}")
    return [r for r in tables[table] if not all(set(c) <= set(":- ") for c in r)]


def cell_number(cell: str) -> float | None:
    """The first number in a cell (``76.6 ±0.2`` -> 76.6); None for ``--`` or an empty cell."""
    match = NUMBER.search(cell.replace(",", ""))
    return float(match.group()) if match else None


def main(argv: list[str]) -> None:
    """Grade the submission folder ``argv[1]``."""
    if len(argv) != 2:
        print(f"usage: {Path(argv[0]).name} SUBMISSION_DIR", file=sys.stderr)
        sys.exit(2)
    os.umask(0o077)
    config = json.loads((HERE / CONFIG_FILE).read_text(encoding="utf-8"))
    view = Path(tempfile.mkdtemp(prefix="researchgym-view-"))
    shutil.copytree(HERE / "grading", view / "grading")
    shutil.copyfile(HERE / "task_description.md", view / "task_description.md")
    for rel in config["submission"]:
        src = Path(argv[1]) / rel
        if not src.is_file():
            print(f"{rel} is missing from the submission", file=sys.stderr)
            sys.exit(1)
        (view / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, view / rel)
    proc = subprocess.run(
        ["bash", str(view / "grading" / "grade.sh")],
        cwd=view,
        capture_output=True,
        text=True,
        timeout=float(config.get("timeout_s", 600)),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        print(
            f"grade.sh failed on these logs: {lines[-1][:200] if lines else proc.returncode}", file=sys.stderr
        )
        sys.exit(1)
    rows = table_rows((view / "task_description.md").read_text(encoding="utf-8"), int(config["table"]))
    header, column = rows[0], int(config["column"])
    mine = [r for r in rows[1:] if r and r[0].strip("* ").lower() == config["method_row"].lower()]
    value = cell_number(mine[0][column]) if mine and column < len(mine[0]) else None
    if value is None or not math.isfinite(value):
        print(f"the logs give no result for {header[column]!r}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"score": value, "self_reported": True}))


if __name__ == "__main__":
    main(sys.argv)
