"""The JSON report is strict JSON: a value that is not a finite number is refused, never written as NaN."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from gym_core.report.entries import build_entries
from gym_core.report.json_format import render_json
from tests.report.synthetic import synthetic_run


def test_a_non_finite_number_outside_the_metrics_is_refused_not_written_as_nan() -> None:
    """Metrics go through null; the task's own numbers are finite by validation, and if one were not the
    renderer fails rather than write ``NaN``, which strict JSON readers reject."""
    entry = build_entries([synthetic_run("01JSONNAN00000000000000000", k=3, seed=1)])[0]
    broken = replace(entry, run=replace(entry.run, baseline_raw=math.nan))
    with pytest.raises(ValueError, match="not JSON compliant"):
        render_json([broken])
