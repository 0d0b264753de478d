"""``rgym compare`` counts the attempts the run's own metrics count: not those excluded as environment failures.

An attempt whose last try still failed from the environment is left out of n, pass@k and pass^k
(docs/metrics.md); a comparison that counted it as a failure would show a run that solved 4 of its 4
counted attempts as 4 of 6, and pair seeds the metrics never saw.
"""

from __future__ import annotations

import dataclasses

from gym_core.outcomes import Origin
from gym_core.scoring.compare import compare_runs
from gym_core.scoring.metrics import compute_metrics
from gym_core.scoring.run_data import Attempt, RunData
from tests.scoring.test_compare import run


def _environment_failure(a: Attempt) -> Attempt:
    return dataclasses.replace(
        a,
        status="crashed",
        origin=Origin.ENVIRONMENT,
        final_normalized=None,
        succeeded=False,
        failure_kind="crashed",
        error_kind="sandbox_error",
    )


def _with_excluded(r: RunData, indices: set[int]) -> RunData:
    attempts = tuple(_environment_failure(a) if i in indices else a for i, a in enumerate(r.attempts))
    return dataclasses.replace(r, attempts=attempts)


def test_excluded_attempts_are_left_out_of_an_unpaired_comparison() -> None:
    a = run("a", [0.0, 0.0, 1.0, 0.0], seeds=[None] * 4)
    b = _with_excluded(run("b", [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], seeds=[None] * 6), {4, 5})
    assert compute_metrics(b).n == 4  # the run's own report counts 4 attempts, all successes
    comparison = compare_runs(a, b, resamples=200, permutations=200)
    assert (comparison.pairing.n_a, comparison.pairing.n_b) == (4, 4)
    success = next(m for m in comparison.metrics if m.name == "success_rate")
    assert (success.a, success.b) == (0.25, 1.0)


def test_excluded_attempts_are_not_paired_nor_counted_as_left_out() -> None:
    a = run("a", [0.0, 1.0, 0.0, 1.0])
    b = _with_excluded(run("b", [1.0, 1.0, 1.0, 1.0]), {3})
    comparison = compare_runs(a, b, resamples=200, permutations=200)
    assert comparison.pairing.paired and comparison.pairing.pairs == 3
    # a's seed 3 has no counted partner in b: left out of a; b leaves out nothing it counts.
    assert (comparison.pairing.unmatched_a, comparison.pairing.unmatched_b) == (1, 0)
