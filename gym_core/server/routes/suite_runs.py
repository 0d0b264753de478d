"""``/api/suite-runs``: the suite runs list (``rgym run --suite``), from which the viewer picks the suite runs
to compare."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from gym_core.server.deps import StoreDep
from gym_core.server.schemas import SuiteRunSummary

router = APIRouter(prefix="/suite-runs", tags=["suite runs"])


@router.get("")
def list_suite_runs(
    store: StoreDep,
    suite: Annotated[str | None, Query(description="Only suite runs of this suite (its name).")] = None,
    agent: Annotated[
        str | None, Query(description="Only suite runs of this agent (its spec, or the name before ':').")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Only suite runs started at or after (ISO 8601).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many suite runs.")] = 500,
) -> list[SuiteRunSummary]:
    """Suite runs, newest first; each run of one is listed by ``/api/runs?suite_run_id=ID``."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    records = store.list_suite_runs(suite=suite, agent=agent, since=since, limit=limit)
    return [SuiteRunSummary.model_validate(r.model_dump(exclude={"config"})) for r in records]
