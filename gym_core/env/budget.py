"""An episode's budget: the task's defaults, a run's overrides and the budget perturbation, resolved once.

:func:`resolve_budget` is a pure function, so the runner learns a run's budget without building an
environment, and the environment, the recorder and the report all see the same numbers.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from gym_core.env.perturbations import Perturbations
from gym_core.errors import ConfigError
from gym_core.sandbox.base import Limits, NetworkMode
from gym_core.tasks.loader import validation_problems
from gym_core.tasks.spec import Budget


def resolve_budget(
    base: Budget,
    overrides: Mapping[str, Any] | Budget | None = None,
    perturbations: Perturbations | None = None,
    *,
    task_id: str | None = None,
) -> Budget:
    """``base`` with ``overrides`` applied, then scaled by the ``budget_scale`` perturbation.

    ``budget_scale`` multiplies the wall time, the step limit and the eval limit (rounded, at least 1 step)
    and nothing else. A complete :class:`Budget` given as ``overrides`` is already resolved (a recorded run's
    budget, say) and is returned as it is, never scaled twice.

    Raises:
        ConfigError: an unknown key (with the valid keys and a suggestion) or a bad value, one line.
    """
    hint = f"see the task's budget with `rgym tasks show {task_id}`" if task_id else None
    if isinstance(overrides, Budget):
        return overrides
    if overrides:
        unknown = sorted(set(overrides) - set(Budget.model_fields))
        if unknown:
            suggestions = [
                f"{close[0]} for {key}" if len(unknown) > 1 else close[0]
                for key in unknown
                if (close := difflib.get_close_matches(key, list(Budget.model_fields), n=1))
            ]
            did_you_mean = f"did you mean {', '.join(suggestions)}? " if suggestions else ""
            noun = "key" if len(unknown) == 1 else "keys"
            raise ConfigError(
                f"--budget: unknown {noun} {', '.join(unknown)}",
                hint=f"{did_you_mean}valid keys: {', '.join(Budget.model_fields)}",
            )
        try:
            resolved = base.override(dict(overrides))
        except ValidationError as exc:
            problems = validation_problems(exc, "--budget")
            raise ConfigError(
                "; ".join(f"--budget {p.location}: {p.message}" for p in problems), hint=hint
            ) from None
    else:
        resolved = base
    scale = perturbations.budget_scale if perturbations is not None else 1.0
    if scale != 1.0:
        resolved = resolved.override(
            {
                "wall_time_s": resolved.wall_time_s * scale,
                "step_limit": max(1, round(resolved.step_limit * scale)),
                "eval_limit": max(0, round(resolved.eval_limit * scale)),
            }
        )
    return resolved


def budget_limits(budget: Budget, *, wall_time_s: float, network: NetworkMode | None = None) -> Limits:
    """The sandbox limits a budget asks for, with the sandbox's own lifetime (and network) given."""
    return Limits(
        cpus=budget.cpus,
        memory_mb=budget.memory_mb,
        pids=budget.pids,
        disk_mb=budget.disk_mb,
        gpus=budget.gpus,
        network=network or NetworkMode(budget.network.value),
        wall_time_s=wall_time_s,
    )


def loosened(base: Budget, budget: Budget) -> list[str]:
    """The fields where ``budget`` grants more than ``base``: a larger limit, or the network where ``base``
    has none. Empty when ``budget`` is ``base`` or tighter."""
    looser = []
    for name in Budget.model_fields:
        mine, theirs = getattr(budget, name), getattr(base, name)
        if name == "network":
            if mine != theirs and theirs.value == NetworkMode.NONE.value:
                looser.append(f"network {mine.value}")
        elif mine > theirs:
            looser.append(f"{name} {mine:g} > {theirs:g}")
    return looser
