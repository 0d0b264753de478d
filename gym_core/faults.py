"""Fault injection for chaos tests: make chosen operations fail a set number of times in this process.

rgym's chaos tests check that a known-good agent keeps pass^k = 1.0 when the environment fails under it. Real
faults are used where a test can cause them (``docker kill`` of an agent's container, a locked trace store);
the others are injected here, at the boundary where the real failure would surface::

    RGYM_FAULTS="exec_refused=1,grader_start=1" rgym run ...

Points (each fails its first N uses in the process, then works):

* ``exec_refused``: running a command in the agent's sandbox fails as when the engine refuses an exec;
* ``grader_start``: the grader's sandbox fails to start;
* ``agent_start``: an agent's own process (``--agent-isolation process``) fails to start on the host, as
  when no sandbox uid is free.

Nothing is injected unless ``RGYM_FAULTS`` (the ``faults`` setting) names a point.
"""

from __future__ import annotations

import threading
from collections import Counter

from gym_core.errors import ConfigError, SandboxError

POINTS = ("exec_refused", "grader_start", "agent_start")

_lock = threading.Lock()
_used: Counter[str] = Counter()


def plan() -> dict[str, int]:
    """The faults asked for: point -> how many times it fails.

    Raises:
        ConfigError: an unknown point or a count that is not a whole number.
    """
    from gym_core.settings import get_settings

    raw = (get_settings().faults or "").strip()
    out: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        point, _, count = item.partition("=")
        point = point.strip()
        if point not in POINTS:
            raise ConfigError(
                f"RGYM_FAULTS: unknown fault point {point!r}", hint=f"known: {', '.join(POINTS)}"
            )
        try:
            out[point] = int(count or "1")
        except ValueError:
            raise ConfigError(
                f"RGYM_FAULTS: {item!r} needs a whole number of times, e.g. {point}=1"
            ) from None
    return out


def trip(point: str) -> bool:
    """True (once per planned failure) when ``point`` should fail now."""
    times = plan().get(point, 0)
    if not times:
        return False
    with _lock:
        if _used[point] >= times:
            return False
        _used[point] += 1
        return True


def check(point: str, message: str) -> None:
    """Raise :class:`SandboxError` with ``message`` when ``point`` should fail now."""
    if trip(point):
        raise SandboxError(f"{message} (fault injected by RGYM_FAULTS)")


def reset() -> None:
    """Forget how often each point failed (tests call it between cases)."""
    with _lock:
        _used.clear()
