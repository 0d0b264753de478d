"""A recorded run whose every metric is derived by hand, and readers that take numbers back out of reports.

The run is written through the trace store's write API, so a report of it goes through the same path as a
real run's (``load_run_data``: episodes, evaluations, workspace snapshots diffed against the task). Its
task is a copy of the tiny-mean fixture (minimized ``abs_error``, baseline 5 = 0, reference 0 = 1,
success at normalized >= 0.5).

K = 2 attempts were requested and n = 5 finished, so that no two metrics share a value (with n = K,
pass@K, pass^K and the flicker can only be 0 or 1) and a number shown under the wrong label is caught:

=====  =========  ==========  ==========  =========  ========================================
index  status     validates   final       wall (s)   workspace diff
=====  =========  ==========  ==========  =========  ========================================
0      submitted  0.60        0.80 ok     10         method A (adds estimate.py)
1      submitted  0.95        0.60 ok     20         method A
2      submitted  -           0.50 ok     35         method B (edits baseline.py)
3      truncated  0.22        0.20        100        - (timed out)
4      submitted  -           invalid     40         - (invalid submission)
=====  =========  ==========  ==========  =========  ========================================

By hand, with n = 5, c = 3, K = 2 and the wall budget 100 s:

* pass@2 = 1 - C(2,2)/C(5,2) = 1 - 1/10 = 0.9; pass^2 = C(3,2)/C(5,2) = 3/10 = 0.3; flicker = 0.6.
* best of 2 = 0.8, worst of 2 = 0.2 (+1 invalid), best validate = 0.95.
* mean of (0.8, 0.6, 0.5, 0.2) = 0.525 over 4/5 valid; std = sqrt(0.1875 / 3) = 0.25.
* regression: 3 attempts validated (0, 1 and 3); only 1 regressed (0.60 < 0.95 - 0.05): 1/3, shown as 33%.
  (An invalid submission after a valid validate is a regression too: tests/scoring covers that case.)
* method consistency over the 3 successes: pairs (A, A) = 1, (A, B) = 0, (A, B) = 0, mean 1/3.
* budget used: median of 0.10, 0.20, 0.35, 1.00, 0.40 = 35%.
* pass@k for k = 1..5: 0.6, 0.9, 1, 1, 1; pass^k: 0.6, 0.3, 0.1, 0, 0.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from gym_core.store import TraceStore

TINY_MEAN = Path(__file__).resolve().parent.parent / "fixtures" / "tasks" / "tiny-mean"

METHOD_A = {"estimate.py": "xs = load_sample()\nestimate = sum(xs) / len(xs)\nprint(estimate)\n"}
METHOD_B_GUESS = ("guess = 5.0", "guess = 9.5")

K = 2
FINALS = (0.8, 0.6, 0.5, 0.2, None)
"""Final normalized scores by attempt index; None is an invalid submission."""

SUMMARY = {"n/K": "5/2", "c": "3", "pass@K": "0.900", "pass^K": "0.300", "flicker": "0.600", "mean": "0.525"}
"""The one-line summary of the run, by column header."""


def details(ci: tuple[float, float]) -> dict[str, str]:
    """The detail table of the run, label -> cell, with the mean's 95% CI ``ci`` filled in."""
    return {
        "best of 2 (final, private)": "0.800",
        "pass@2": "0.900",
        "best validate (public)": "0.950",
        "pass^2": "0.300",
        "mean [95% CI]": f"0.525 [{ci[0]:.3f}, {ci[1]:.3f}] over 4/5 valid",
        "std": "0.250",
        "worst of 2 (final, private)": "0.200 (+1 invalid)",
        "regression rate": "33% of 3 validated",
        "method consistency": "0.333 over 3 successes",
        "budget used (median)": "35%",
    }


FLICKER_LINE = "flicker = pass@2 - pass^2 = 0.900 - 0.300 = 0.600"
FAILURES_LINE = "crashed 0 · timed out 1 · oom 0 · invalid submission 1 · no submission 0"

JSON_METRICS = {
    "best_of_k": 0.8,
    "pass_at_k": 0.9,
    "best_attempt": 0.95,
    "pass_hat_k": 0.3,
    "mean": 0.525,
    "std": 0.25,
    "worst_of_k": 0.2,
    "regression_rate": 1 / 3,
    "method_consistency": 1 / 3,
    "budget_used": 0.35,
    "flicker": 0.6,
}
JSON_COUNTS = {
    "k": 2,
    "n": 5,
    "c": 3,
    "n_valid": 4,
    "n_invalid": 1,
    "n_pending": 0,
    "n_validated": 3,
    "n_compared": 3,
    "n_excluded": 0,
}
JSON_FAILURES = {"crashed": 0, "timed_out": 1, "oom": 0, "invalid_submission": 1, "no_submission": 0}
JSON_CURVES = {
    "k": [1, 2, 3, 4, 5],
    "pass_at_k": [0.6, 0.9, 1.0, 1.0, 1.0],
    "pass_hat_k": [0.6, 0.3, 0.1, 0.0, 0.0],
}


@dataclass(frozen=True)
class PinnedRun:
    run_id: str
    task_root: Path


def _workspace(
    tmp: Path, task_root: Path, name: str, extra: dict[str, str], guess: tuple[str, str] | None
) -> Path:
    root = tmp / name
    shutil.copytree(task_root / "workspace", root)
    for rel, text in extra.items():
        (root / rel).write_text(text)
    if guess is not None:
        baseline = root / "baseline.py"
        baseline.write_text(baseline.read_text().replace(*guess))
    (root / "answer.txt").write_text("submission files are outputs, not method: left out of the diff\n")
    return root


def record_pinned_run(store: TraceStore, tmp_path: Path) -> PinnedRun:
    """Record the run of the module docstring in ``store``; its task is copied under ``tmp_path``."""
    task_root = tmp_path / "tasks" / "tiny-mean"
    shutil.copytree(TINY_MEAN, task_root)
    method_a = store.snapshot_workspace(_workspace(tmp_path, task_root, "ws-a", METHOD_A, None))
    method_b = store.snapshot_workspace(_workspace(tmp_path, task_root, "ws-b", {}, METHOD_B_GUESS))
    run_id = store.create_run(
        task_id="tiny-mean",
        task_version=1,
        task_checksum="sha256:pinned",
        agent="script:pinned.jsonl",
        config={
            "task_root": str(task_root),
            "scoring": {
                "metric_name": "abs_error",
                "direction": "minimize",
                "baseline_raw": 5.0,
                "reference_raw": 0.0,
                "success_threshold": 0.5,
            },
        },
        backend="local",
        budget={"wall_time_s": 100.0, "step_limit": 20, "eval_limit": 3},
        perturbations={},
        k=K,
        seed=0,
    )
    # index: (status, failure kind, validate scores, final, wall seconds, final snapshot)
    attempts: list[tuple[str, str | None, tuple[float, ...], float | None, float, str | None]] = [
        ("submitted", None, (0.60,), 0.8, 10.0, method_a),
        ("submitted", None, (0.95,), 0.6, 20.0, method_a),
        ("submitted", None, (), 0.5, 35.0, method_b),
        ("truncated", "timed_out", (0.22,), 0.2, 100.0, None),
        ("submitted", "invalid_submission", (), None, 40.0, None),
    ]
    for index, (status, failure, validates, final, wall, snapshot) in enumerate(attempts):
        episode = store.start_episode(run_id, index=index, seed=index)
        for step, score in enumerate(validates):
            _step(store, episode, step, "validate")
            store.record_evaluation(
                episode,
                step_index=step,
                kind="validate",
                raw_score=_raw(score),
                normalized_score=score,
                valid=True,
                grader_output="ok",
                snapshot=None,
            )
        last = len(validates)
        _step(store, episode, last, "submit")
        store.record_evaluation(
            episode,
            step_index=last,
            kind="submit" if status == "submitted" else "auto",
            raw_score=_raw(final),
            normalized_score=final,
            valid=final is not None,
            grader_output="ok" if final is not None else "invalid submission: answer.txt is empty",
            snapshot=snapshot,
        )
        store.finish_episode(
            episode,
            status=status,  # type: ignore[arg-type]
            final_raw=_raw(final),
            final_normalized=final,
            failure_kind=failure,
            usage={"wall_s": wall, "wall_budget_s": 100.0},
        )
    store.finish_run(run_id, status="completed")
    return PinnedRun(run_id=run_id, task_root=task_root)


def _raw(normalized: float | None) -> float | None:
    # abs_error, minimized: baseline 5 -> 0, reference 0 -> 1.
    return None if normalized is None else 5.0 - 5.0 * normalized


def _step(store: TraceStore, episode: str, index: int, tool: str) -> None:
    store.record_step(
        episode,
        index=index,
        action={"tool": tool},
        observation={"output": f"[{tool}]", "exit_code": 0},
        exit_code=0,
        started_at=datetime.now(UTC),
        duration_s=0.01,
        agent_time_s=0.0,
        flags={},
        usage={},
    )


# --- readers: a report's cells, by label --------------------------------------------------------------


def _label_value_pairs(rows: list[list[str]]) -> dict[str, str]:
    """Cells of the capability | value | reliability | value tables, as label -> value."""
    pairs: dict[str, str] = {}
    for cells in rows:
        if len(cells) != 4:
            continue
        for label, value in ((cells[0], cells[1]), (cells[2], cells[3])):
            if label and label not in ("value", "") and not label.startswith(("capability", "reliability")):
                pairs[label] = value
    return pairs


def _summary_row(rows: list[list[str]], run_cell: str) -> dict[str, str]:
    """The summary table's row of the run, as header -> cell."""
    header = next(cells for cells in rows if "pass@K" in cells)
    row = next(cells for cells in rows if len(cells) == len(header) and run_cell in cells[2])
    return dict(zip(header, row, strict=True))


@dataclass(frozen=True)
class Cells:
    """What a rendered report shows, by label."""

    summary: dict[str, str]
    details: dict[str, str]
    text: str


def _md_cell(cell: str) -> str:
    # Bold (**x**) and code (`x`) are emphasis, not content.
    text = cell.strip().replace("\\|", "|")
    return re.sub(r"^\*\*(.*)\*\*$|^`(.*)`$", lambda m: m.group(1) or m.group(2), text)


def markdown_cells(text: str, run_id: str) -> Cells:
    rows = [
        [_md_cell(c) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]
    return Cells(_summary_row(rows, run_id), _label_value_pairs(rows), text)


def table_cells(text: str, run_id: str) -> Cells:
    rows: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] not in "│┃":
            continue
        cells = [c.strip() for c in re.split(r"[│┃]", stripped)[1:-1]]
        rows.append(cells)
    # The run panel's table sits inside the panel's border: its rows are "│ cap │ value │ rel │ value │".
    return Cells(_summary_row(rows, run_id[:12]), _label_value_pairs(rows), text)


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_cells(text: str, run_id: str) -> Cells:
    parser = _Tables()
    parser.feed(text)
    # The section table's header is two colspan cells; its body rows are th/td pairs.
    return Cells(_summary_row(parser.rows, run_id), _label_value_pairs(parser.rows), text)


def close(a: Any, b: Any) -> bool:
    """Equal up to float rounding, through nested lists and dicts."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    return bool(a == b)
