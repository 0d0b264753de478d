"""`rgym runs` on runs whose attempts failed from the environment: a run where no attempt counted is never "ok"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gym_core.cli.main import main
from gym_core.store import open_store
from tests.cli.recorded import record_run
from tests.cli.test_runs_and_compare_cli import row_blocks


def rgym(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 0
    return capsys.readouterr().out


def test_runs_flag_a_run_whose_attempts_were_all_excluded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No attempt counted (each failed from the environment): "bad", not a green "ok"; some excluded: a warning."""
    store_url = f"sqlite:///{tmp_path / 'traces.db'}"
    with open_store(store_url) as store:
        none_counted = record_run(store, [], excluded=2)
        partly = record_run(store, [1.0, 1.0], excluded=1)
    rows = row_blocks(rgym(["runs", "--store", store_url], capsys))
    assert "(all 2 excluded)" in " ".join(" ".join(line.split()) for line in rows[none_counted])
    assert "(1 excluded)" in " ".join(" ".join(line.split()) for line in rows[partly])
    by_id = {
        row["run_id"]: row
        for row in json.loads(rgym(["runs", "--store", store_url, "--format", "json"], capsys))
    }
    listed = by_id[none_counted]
    assert (listed["health"], listed["status_text"], listed["n"], listed["n_excluded"]) == (
        "bad",
        "completed (all 2 excluded)",
        0,
        2,
    )
    assert (by_id[partly]["health"], by_id[partly]["status_text"]) == ("warn", "completed (1 excluded)")
