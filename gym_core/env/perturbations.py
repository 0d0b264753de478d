"""Perturbations for robustness runs: imperfect prompts, flaky tools, tight budgets, long contexts.

``rgym run --perturb KEY=VAL`` (and ``gym.make(..., perturb={...})``) applies them to every attempt
of a run; ``rgym report`` sets each metric beside the same agent's clean run on the same task.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, replace
from typing import Any

from gym_core.errors import ConfigError

_LOREM = (
    "[{i:05d}] INFO worker-{w}: heartbeat ok; queue depth {q}; cache hit ratio 0.{h:02d}; "
    "nothing in this line is relevant to the task.\n"
)


@dataclass(frozen=True)
class Perturbations:
    """What to change about an attempt's conditions; the defaults change nothing."""

    prompt: str | None = None
    """Name of a task.yaml description_variant to show instead of README.md."""
    tool_failure_rate: float = 0.0
    """Share of bash commands that fail with an injected transient error before running (flaky tools)."""
    budget_scale: float = 1.0
    """Multiplier on the wall-time, step and eval budgets (tight budgets below 1)."""
    context_padding: int = 0
    """Characters of irrelevant log lines put before the task description (long contexts)."""

    KEYS = ("prompt", "tool_failure_rate", "budget_scale", "context_padding")

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> Perturbations:
        """From ``{"prompt": "terse", "tool_failure_rate": "0.2"}``; values may be strings (from the CLI)."""
        if not raw:
            return cls()
        unknown = sorted(set(raw) - set(cls.KEYS))
        if unknown:
            raise ConfigError(
                f"unknown perturbation {', '.join(unknown)}", hint=f"known: {', '.join(cls.KEYS)}"
            )
        values: dict[str, Any] = {}
        try:
            if "prompt" in raw:
                values["prompt"] = str(raw["prompt"])
            if "tool_failure_rate" in raw:
                values["tool_failure_rate"] = float(raw["tool_failure_rate"])
            if "budget_scale" in raw:
                values["budget_scale"] = float(raw["budget_scale"])
            if "context_padding" in raw:
                values["context_padding"] = int(raw["context_padding"])
        except ValueError as exc:
            raise ConfigError(f"bad perturbation value: {exc}") from None
        result = cls(**values)
        if not 0.0 <= result.tool_failure_rate <= 1.0:
            raise ConfigError("perturbation tool_failure_rate must be between 0 and 1")
        if not (math.isfinite(result.budget_scale) and result.budget_scale > 0):
            raise ConfigError("perturbation budget_scale must be a positive number")
        if result.context_padding < 0:
            raise ConfigError("perturbation context_padding must be >= 0")
        return result

    @property
    def active(self) -> bool:
        """True when anything differs from a clean run."""
        return self != Perturbations()

    def without_budget_scale(self) -> Perturbations:
        """The same perturbations for a budget that already includes ``budget_scale``.

        A run records the budget its attempts get, scaled; an environment re-created from that record (the
        runner's attempts, ``rgym resume``, ``rgym replay --execute``) must not scale it a second time.
        """
        return replace(self, budget_scale=1.0)

    def as_dict(self) -> dict[str, str]:
        """Only the keys that differ from a clean run, as strings (for the trace store)."""
        clean = asdict(Perturbations())
        return {k: str(v) for k, v in asdict(self).items() if v != clean[k]}

    def pad(self, text: str, rng: random.Random) -> str:
        """``text`` behind ``context_padding`` characters of irrelevant log lines."""
        if not self.context_padding:
            return text
        lines: list[str] = []
        size = 0
        i = 0
        while size < self.context_padding:
            line = _LOREM.format(i=i, w=rng.randrange(16), q=rng.randrange(1000), h=rng.randrange(100))
            lines.append(line)
            size += len(line)
            i += 1
        padding = "".join(lines)[: self.context_padding]
        return f"{padding}\n---\n\n{text}"
