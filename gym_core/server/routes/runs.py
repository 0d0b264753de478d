"""``/api/runs``: the runs list, one run with its episodes, its report and its export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from gym_core.report.store_loader import load_run_rows
from gym_core.server.deps import ReportCacheDep, SinceDep, StoreDep
from gym_core.server.schemas import RunDetail, RunSummary
from gym_core.store import TraceStore

router = APIRouter(prefix="/runs", tags=["runs"])

#: The report page has no script of its own; it shows inline styles and data: plots only.
_REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@router.get("")
def list_runs(
    store: StoreDep,
    since: SinceDep,
    task_id: Annotated[str | None, Query(description="Only runs of this task.")] = None,
    agent: Annotated[
        str | None, Query(description="Only runs of this agent (its spec, or the name before ':').")
    ] = None,
    suite_run_id: Annotated[
        str | None, Query(description="Only the per-task runs of this suite run (any unique id prefix).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many runs.")] = 500,
) -> list[RunSummary]:
    """Runs, newest first, each with its status colour and headline metrics (what ``rgym runs`` shows)."""
    suite = store.resolve_suite_run_id(suite_run_id) if suite_run_id is not None else None
    records = store.list_runs(task_id=task_id, agent=agent, since=since, suite_run_id=suite, limit=limit)
    rows = load_run_rows(store, records)
    return [RunSummary.of(run, row) for run, row in zip(records, rows, strict=True)]


@router.get("/{run_id}")
def get_run(run_id: str, store: StoreDep) -> RunDetail:
    """A run (any unique id prefix), its episodes, and its summary."""
    full_id = store.resolve_run_id(run_id)
    run = store.get_run(full_id)
    (row,) = load_run_rows(store, [run])
    return RunDetail(run=run, episodes=store.list_episodes(full_id), summary=RunSummary.of(run, row))


@router.get("/{run_id}/report")
def get_report(run_id: str, store: StoreDep, reports: ReportCacheDep) -> object:
    """The report of one run as JSON (what ``rgym report RUN_ID --format json`` prints), cached per state of
    the run."""
    text = reports.render(store, run_id, "json")
    report: object = json.loads(text)
    return report


@router.get("/{run_id}/report.html", response_class=HTMLResponse)
def get_report_html(run_id: str, store: StoreDep, reports: ReportCacheDep) -> HTMLResponse:
    """The self-contained HTML report of one run, with plots, cached per state of the run."""
    text = reports.render(store, run_id, "html")
    return HTMLResponse(
        text.encode("utf-8", errors="replace"), headers={"Content-Security-Policy": _REPORT_POLICY}
    )


@router.get("/{run_id}/export.jsonl", response_class=StreamingResponse)
def export_run(run_id: str, store: StoreDep) -> StreamingResponse:
    """Every record of the run, one JSON object a line (what ``rgym export`` writes), streamed."""
    full_id = store.resolve_run_id(run_id)  # before streaming starts, so an unknown id is still a 404
    return StreamingResponse(
        _jsonl(store, full_id),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="rgym-run-{full_id}.jsonl"'},
    )


def _jsonl(store: TraceStore, run_id: str) -> Iterator[bytes]:
    for record in store.export_run(run_id):
        yield (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")
