"""Every report format shows each hand-derived number of a recorded run under its own label.

The run is the one of ``tests/report/pinned_run.py``; each number is read back out of the rendered
report by its label (a table's column header, or the label beside it), never just searched for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gym_core.cli.main import main
from gym_core.scoring.estimators import bootstrap_ci
from gym_core.server import create_app
from gym_core.store import open_store
from tests.report.pinned_run import (
    FAILURES_LINE,
    FINALS,
    FLICKER_LINE,
    JSON_COUNTS,
    JSON_CURVES,
    JSON_FAILURES,
    JSON_METRICS,
    SUMMARY,
    Cells,
    PinnedRun,
    close,
    details,
    html_cells,
    markdown_cells,
    record_pinned_run,
    table_cells,
)
from tests.server.auth_helpers import bearer

CI = bootstrap_ci([f for f in FINALS if f is not None])
"""The mean's interval: the percentile bootstrap itself is checked in tests/scoring/test_estimators.py."""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, PinnedRun]:
    tmp = tmp_path_factory.mktemp("pinned")
    url = f"sqlite:///{tmp / 'traces.db'}"
    with open_store(url) as store:
        return url, record_pinned_run(store, tmp)


@pytest.fixture
def store_url(recorded: tuple[str, PinnedRun], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RGYM_STORE", recorded[0])
    return recorded[0]


@pytest.fixture
def run_id(recorded: tuple[str, PinnedRun]) -> str:
    return recorded[1].run_id


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 0
    return capsys.readouterr().out


def _check_json(document: dict[str, Any], run_id: str) -> None:
    assert document["schema"] == "rgym.report/1"
    (run,) = document["runs"]
    assert run["run_id"] == run_id
    assert close(run["metrics"], JSON_METRICS), run["metrics"]
    assert run["counts"] == JSON_COUNTS
    assert close(run["mean_ci95"], list(CI))
    assert run["failure_kinds"] == JSON_FAILURES
    assert close(run["curves"], JSON_CURVES), run["curves"]
    assert run["na_reasons"] == {}
    assert [a["succeeded"] for a in run["attempts"]] == [True, True, True, False, False]
    assert close([a["final_normalized"] for a in run["attempts"]], list(FINALS))


def test_json_report_holds_every_number_under_its_name(
    store_url: str, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _check_json(json.loads(_cli(["report", run_id, "--format", "json"], capsys)), run_id)


def test_viewer_api_serves_the_same_numbers(store_url: str, run_id: str) -> None:
    with TestClient(create_app(store_url), base_url="http://127.0.0.1", headers=bearer(store_url)) as client:
        response = client.get(f"/api/runs/{run_id}/report")
    assert response.status_code == 200
    _check_json(response.json(), run_id)


def _check_cells(cells: Cells) -> None:
    summary = {header: cells.summary[header] for header in SUMMARY}
    assert summary == SUMMARY
    shown = {label: cells.details.get(label) for label in details(CI)}
    assert shown == details(CI)
    assert FLICKER_LINE in cells.text
    assert FAILURES_LINE in cells.text


def _table(run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cells:
    return table_cells(_cli(["report", run_id], capsys), run_id)


def _markdown(run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cells:
    return markdown_cells(_cli(["report", run_id, "--format", "md"], capsys), run_id)


def _html(run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cells:
    out = tmp_path / "report.html"
    _cli(["report", run_id, "--format", "html", "--out", str(out)], capsys)
    return html_cells(out.read_text(encoding="utf-8"), run_id)


RENDERERS: dict[str, Callable[[str, Path, pytest.CaptureFixture[str]], Cells]] = {
    "table": _table,
    "md": _markdown,
    "html": _html,
}


@pytest.mark.parametrize(
    "fmt",
    ["table", "md", pytest.param("html", marks=pytest.mark.slow)],  # html draws three plots
)
def test_text_report_shows_each_number_in_its_labelled_cell(
    store_url: str, run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    _check_cells(RENDERERS[fmt](run_id, tmp_path, capsys))


def test_readers_tell_the_columns_apart(
    store_url: str, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The readers key cells by their label, so pass@K and pass^K cannot be confused: a report whose
    # columns were swapped would show 0.300 under pass@K. Swap them in the rendered text and read back.
    text = _cli(["report", run_id, "--format", "md"], capsys)
    swapped = text.replace("| 0.900 | 0.300 |", "| 0.300 | 0.900 |", 1)
    assert swapped != text
    cells = markdown_cells(swapped, run_id)
    assert (cells.summary["pass@K"], cells.summary["pass^K"]) == ("0.300", "0.900")
