"""Report entries (gym_core.report.entries): the errors a user sees for a bad list of runs."""

from __future__ import annotations

import pytest

from gym_core.errors import ConfigError
from gym_core.report.entries import build_entries
from tests.report.synthetic import synthetic_run


def test_no_runs_is_an_error_with_a_hint() -> None:
    with pytest.raises(ConfigError) as raised:
        build_entries([])
    assert (raised.value.message, raised.value.hint) == ("no runs to report", "pass at least one RUN_ID")


def test_a_run_given_twice_is_an_error_with_a_hint() -> None:
    run = synthetic_run("run-1", k=2)
    with pytest.raises(ConfigError) as raised:
        build_entries([run, synthetic_run("run-2", k=2), run])
    assert (raised.value.message, raised.value.hint) == ("run run-1 is given twice", "pass each RUN_ID once")


def test_entries_group_by_task_and_agent_with_clean_runs_first_in_the_given_order() -> None:
    """Groups in order of first appearance; within one, clean runs before perturbed ones, ties as given."""
    perturbed = synthetic_run("perturbed", k=2, perturbations={"noise": "0.1"})
    other = synthetic_run("other-task", k=2, task_id="other")
    clean_1 = synthetic_run("clean-1", k=2)
    clean_2 = synthetic_run("clean-2", k=2)

    entries = build_entries([perturbed, other, clean_1, clean_2])

    assert [e.run.run_id for e in entries] == ["clean-1", "clean-2", "perturbed", "other-task"]
    assert [e.clean_run.run_id if e.clean_run else None for e in entries] == [None, None, "clean-1", None]
