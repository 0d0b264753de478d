"""The report as JSON: every metric, count, curve and delta; NaN is written as null."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from gym_core.report.entries import ReportEntry
from gym_core.scoring.metrics import SCALAR_METRICS, RunMetrics

REPORT_SCHEMA = "rgym.report/1"


def _num(value: float | None) -> float | None:
    # Strict JSON has no NaN or infinity; a missing estimate is null.
    return None if value is None or not math.isfinite(value) else value


def _metrics_json(m: RunMetrics) -> dict[str, Any]:
    return {
        "counts": {
            "k": m.k,
            "n": m.n,
            "c": m.c,
            "n_valid": m.n_valid,
            "n_invalid": m.n_invalid,
            "n_pending": m.n_pending,
            "n_excluded": m.n_excluded,
            "n_validated": m.n_validated,
            "n_compared": m.n_compared,
        },
        "metrics": {name: _num(m.value(name)) for name in SCALAR_METRICS},
        "mean_ci95": [_num(m.mean_ci[0]), _num(m.mean_ci[1])],
        "failure_kinds": dict(m.failure_kinds),
        "harness": {
            "tries": m.harness.tries,
            "environment_failures": m.harness.environment_failures,
            "error_rate": _num(m.harness.error_rate),
            "retries": m.harness.retries,
            "excluded": m.harness.excluded,
            "by_kind": dict(m.harness.by_kind),
        },
        "curves": {
            "k": list(range(1, len(m.pass_at_k_curve) + 1)),
            "pass_at_k": [_num(v) for v in m.pass_at_k_curve],
            "pass_hat_k": [_num(v) for v in m.pass_hat_k_curve],
        },
        "na_reasons": dict(m.na_reasons),
    }


def entry_json(entry: ReportEntry) -> dict[str, Any]:
    """One run of the report as a JSON-ready dict."""
    run = entry.run
    return {
        "run_id": run.run_id,
        "task_id": run.task_id,
        "task_version": run.task_version,
        "task_checksum": run.task_checksum,
        "agent": run.agent,
        "metric": {"name": run.metric_name, "direction": run.direction},
        "baseline_raw": run.baseline_raw,
        "reference_raw": run.reference_raw,
        "scale": "normalized" if run.has_reference else "raw",
        "self_reported": run.self_reported,
        "success_threshold": run.success_threshold,
        "perturbations": dict(run.perturbations),
        "created_at": run.created_at,
        **_metrics_json(entry.metrics),
        "attempts": [
            {
                "episode_id": a.episode_id,
                "index": a.index,
                "status": a.status,
                "failure_kind": a.failure_kind,
                "final_raw": _num(a.final_raw),
                "final_normalized": _num(a.final_normalized),
                "succeeded": a.succeeded,
            }
            for a in run.attempts
        ],
        "clean_run_id": entry.clean_run.run_id if entry.clean_run else None,
        "deltas": {k: _num(v) for k, v in entry.deltas.items()} if entry.deltas is not None else None,
    }


def render_json(entries: Sequence[ReportEntry]) -> str:
    """The whole report as an indented JSON document (strict JSON: no NaN literals)."""
    document = {"schema": REPORT_SCHEMA, "runs": [entry_json(e) for e in entries]}
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
