"""``/api/suite-runs``: the suite runs list (``rgym run --suite``), from which the viewer picks the suite runs
to compare."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gym_core.server.deps import SinceDep, StoreDep
from gym_core.server.schemas import SuiteRunSummary

router = APIRouter(prefix="/suite-runs", tags=["suite runs"])


@router.get("")
def list_suite_runs(
    store: StoreDep,
    since: SinceDep,
    suite: Annotated[str | None, Query(description="Only suite runs of this suite (its name).")] = None,
    agent: Annotated[
        str | None, Query(description="Only suite runs of this agent (its spec, or the name before ':').")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many suite runs.")] = 500,
) -> list[SuiteRunSummary]:
    """Suite runs, newest first; each run of one is listed by ``/api/runs?suite_run_id=ID``."""
    records = store.list_suite_runs(suite=suite, agent=agent, since=since, limit=limit)
    return [SuiteRunSummary.model_validate(r.model_dump(exclude={"config"})) for r in records]
