"""``/api/compare``, ``/api/compare-suites`` and ``/api/history``: what ``rgym compare`` prints, as JSON or as
an HTML page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from gym_core.report.comparison import build_comparison, build_history
from gym_core.report.comparison_render import comparison_json, history_json, render_comparison, render_history
from gym_core.report.store_loader import load_history_runs, load_run_data, load_suite_run_data
from gym_core.report.suite_comparison import build_suite_comparison
from gym_core.report.suite_comparison_render import render_suite_comparison, suite_comparison_json
from gym_core.scoring.compare import DETECT
from gym_core.server.deps import StoreDep

router = APIRouter(tags=["compare"])

#: Like the report page: inline styles and data: plots only, no script.
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

RunsQuery = Annotated[
    list[str], Query(alias="run", min_length=1, description="Run ids (or prefixes), repeated: ?run=A&run=B.")
]
DetectQuery = Annotated[float, Query(gt=0, le=1, description="The difference the power notes plan for.")]
AllowQuery = Annotated[
    bool, Query(description="Compare runs whose task folder changed (another checksum); flagged.")
]


def _comparison(store: StoreDep, runs: list[str], detect: float, allow_changed_task: bool) -> Any:
    data = [load_run_data(store, run_id, with_diffs=False) for run_id in runs]
    return build_comparison(data, allow_changed_task=allow_changed_task, detect=detect)


@router.get("/compare")
def compare(
    store: StoreDep, run: RunsQuery, detect: DetectQuery = DETECT, allow_changed_task: AllowQuery = False
) -> dict[str, Any]:
    """Each run after the first against the first (what ``rgym compare A B --format json`` prints)."""
    return comparison_json(_comparison(store, run, detect, allow_changed_task))


@router.get("/compare.html", response_class=HTMLResponse)
def compare_html(
    store: StoreDep, run: RunsQuery, detect: DetectQuery = DETECT, allow_changed_task: AllowQuery = False
) -> HTMLResponse:
    """The comparison as a self-contained HTML page with its plots."""
    text = render_comparison(_comparison(store, run, detect, allow_changed_task), "html")
    return HTMLResponse(text, headers={"Content-Security-Policy": _PAGE_POLICY})


SuiteRunsQuery = Annotated[
    list[str],
    Query(
        alias="suite_run",
        min_length=1,
        description="Suite run ids (or prefixes), repeated: ?suite_run=A&suite_run=B.",
    ),
]


def _suite_comparison(store: StoreDep, suite_runs: list[str], detect: float, allow_changed_task: bool) -> Any:
    data = [
        load_suite_run_data(store, store.resolve_suite_run_id(given), with_diffs=False)
        for given in suite_runs
    ]
    return build_suite_comparison(data, allow_changed_task=allow_changed_task, detect=detect)


@router.get("/compare-suites")
def compare_suites(
    store: StoreDep,
    suite_run: SuiteRunsQuery,
    detect: DetectQuery = DETECT,
    allow_changed_task: AllowQuery = False,
) -> dict[str, Any]:
    """Each suite run after the first against the first, task by task (``rgym compare SUITE_A SUITE_B
    --format json``)."""
    return suite_comparison_json(_suite_comparison(store, suite_run, detect, allow_changed_task))


@router.get("/compare-suites.html", response_class=HTMLResponse)
def compare_suites_html(
    store: StoreDep,
    suite_run: SuiteRunsQuery,
    detect: DetectQuery = DETECT,
    allow_changed_task: AllowQuery = False,
) -> HTMLResponse:
    """The suite comparison as a self-contained HTML page with its plots."""
    text = render_suite_comparison(_suite_comparison(store, suite_run, detect, allow_changed_task), "html")
    return HTMLResponse(text, headers={"Content-Security-Policy": _PAGE_POLICY})


@router.get("/history")
def history(store: StoreDep, run: RunsQuery, detect: DetectQuery = DETECT) -> dict[str, Any]:
    """Every run of the given run's agent on its task, in series (``rgym compare RUN --history``)."""
    return history_json(build_history(load_history_runs(store, run), detect=detect))


@router.get("/history.html", response_class=HTMLResponse)
def history_html(store: StoreDep, run: RunsQuery, detect: DetectQuery = DETECT) -> HTMLResponse:
    """The history as a self-contained HTML page with its plot."""
    text = render_history(build_history(load_history_runs(store, run), detect=detect), "html")
    return HTMLResponse(text, headers={"Content-Security-Policy": _PAGE_POLICY})
