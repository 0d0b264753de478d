"""resolve_budget: a pure function of the task's budget, a run's overrides and the budget perturbation."""

from __future__ import annotations

import pytest

from gym_core.env.budget import resolve_budget
from gym_core.env.perturbations import Perturbations
from gym_core.errors import ConfigError
from gym_core.tasks.spec import Budget

BASE = Budget(wall_time_s=600, step_limit=50, eval_limit=10, command_timeout_s=120, cpus=2.0, memory_mb=1024)


def test_no_overrides_is_the_task_budget() -> None:
    assert resolve_budget(BASE) == BASE
    assert resolve_budget(BASE, {}, Perturbations()) == BASE


def test_overrides_apply_and_validate() -> None:
    budget = resolve_budget(BASE, {"wall_time_s": 60, "memory_mb": 512})
    assert (budget.wall_time_s, budget.memory_mb, budget.step_limit) == (60, 512, 50)
    with pytest.raises(ConfigError, match=r"^--budget memory_mb: must be > 0"):
        resolve_budget(BASE, {"memory_mb": 0})


def test_budget_scale_halves_wall_time_steps_and_evals_and_nothing_else() -> None:
    scaled = resolve_budget(BASE, None, Perturbations(budget_scale=0.5))
    assert (scaled.wall_time_s, scaled.step_limit, scaled.eval_limit) == (300, 25, 5)
    unchanged = {"command_timeout_s", "cpus", "memory_mb", "pids", "disk_mb", "gpus", "network"}
    assert {k: getattr(scaled, k) for k in unchanged} == {k: getattr(BASE, k) for k in unchanged}


def test_scale_applies_after_overrides_and_keeps_at_least_one_step() -> None:
    scaled = resolve_budget(BASE, {"step_limit": 1, "eval_limit": 1}, Perturbations(budget_scale=0.1))
    assert scaled.step_limit == 1 and scaled.eval_limit == 0
    assert scaled.wall_time_s == pytest.approx(60.0)


def test_a_resolved_budget_is_never_scaled_twice() -> None:
    once = resolve_budget(BASE, None, Perturbations(budget_scale=0.5))
    # A recorded run hands its resolved budget back (resume, the runner's attempts): it is used as it is.
    assert resolve_budget(BASE, once, Perturbations(budget_scale=0.5)) == once


def test_unknown_key_lists_the_valid_ones_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_budget(BASE, {"walltime": 3})
    assert str(info.value) == (
        "--budget: unknown key walltime (did you mean wall_time_s? valid keys: wall_time_s, step_limit, "
        "eval_limit, command_timeout_s, cpus, memory_mb, pids, disk_mb, gpus, network)"
    )
    with pytest.raises(
        ConfigError, match=r"unknown keys foo, memry_mb \(did you mean memory_mb for memry_mb\?"
    ):
        resolve_budget(BASE, {"memry_mb": 3, "foo": 1})
