"""Gymnasium spaces for rgym's text actions and dict observations.

Gymnasium's ``Text`` space only admits a fixed charset, but a terminal's output is any Unicode, and a
score may be null. These two small spaces say exactly that, and register with Gymnasium's vector
utilities the way ``Text`` does, so ``AsyncVectorEnv`` can batch them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import utils as vector_utils


class UnicodeText(spaces.Text):
    """Any Python string up to ``max_length`` characters (samples are drawn from ``charset``)."""

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"


class Scalar(spaces.Space[Any]):
    """One Python number in ``[low, high]``, or None when ``nullable``."""

    def __init__(
        self,
        low: float = -math.inf,
        high: float = math.inf,
        *,
        integer: bool = False,
        nullable: bool = False,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.low, self.high, self.integer, self.nullable = low, high, integer, nullable
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> Any:
        if self.nullable and self.np_random.random() < 0.1:
            return None
        low = self.low if math.isfinite(self.low) else -1e6
        high = self.high if math.isfinite(self.high) else 1e6
        if self.integer:
            return int(self.np_random.integers(int(low), int(high), endpoint=True))
        return float(self.np_random.uniform(low, high))

    def contains(self, x: Any) -> bool:
        if x is None:
            return self.nullable
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            return False
        if self.integer and not float(x).is_integer():
            return False
        return bool(self.low <= x <= self.high) if math.isfinite(float(x)) else False

    def __repr__(self) -> str:
        kind = "int" if self.integer else "float"
        return f"Scalar({kind}, [{self.low}, {self.high}]{', nullable' if self.nullable else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalar) and (self.low, self.high, self.integer, self.nullable) == (
            other.low,
            other.high,
            other.integer,
            other.nullable,
        )

    def __hash__(self) -> int:
        return hash((self.low, self.high, self.integer, self.nullable))


# Batch a Scalar the way Gymnasium batches Text: as a tuple of per-env values.
for _fn in (vector_utils.batch_space, vector_utils.concatenate, vector_utils.iterate):
    _fn.register(Scalar)(_fn.dispatch(spaces.Text))


@vector_utils.create_empty_array.register(Scalar)
def _empty_scalars(space: Scalar, n: int = 1, fn: Any = None) -> tuple[Any, ...]:
    empty = None if space.nullable else (space.low if math.isfinite(space.low) else 0)
    return tuple(empty for _ in range(n))


#: Longest text an observation carries (the sandbox caps each stream at 64 KiB before this).
MAX_TEXT = 1 << 20


def action_space() -> spaces.Space[Any]:
    """Actions are JSON strings (dicts are accepted too, see :mod:`gym_core.env.actions`)."""
    return UnicodeText(max_length=MAX_TEXT, min_length=0)


def observation_space() -> spaces.Dict:
    """The observation dict (docs/api.md, "Observations")."""
    return spaces.Dict(
        {
            "output": UnicodeText(max_length=MAX_TEXT, min_length=0),
            "exit_code": Scalar(integer=True, nullable=True),
            "time_left_s": Scalar(0.0, math.inf),
            "steps_left": Scalar(0, math.inf, integer=True),
            "evals_left": Scalar(0, math.inf, integer=True),
            "score": Scalar(nullable=True),
            "normalized_score": Scalar(nullable=True),
            "task": UnicodeText(max_length=MAX_TEXT, min_length=0),
        }
    )
