"""Suite runs in the trace store (migration 0005), on SQLite and on real PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from gym_core.errors import NotFoundError, StoreError
from gym_core.store import open_store
from gym_core.store.engine import create_store_engine, parse_store_url
from gym_core.store.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from tests.store.factory import new_run


def test_a_suite_run_links_its_runs_in_the_suite_order(any_store_url: str) -> None:
    with open_store(any_store_url) as store:
        lone = new_run(store, task_id="tiny-mean")
        suite_run = store.create_suite_run(
            suite="tiny", tasks=["guess-target", "tiny-mean"], agent="steady", config={"parallel": 2}, k=3
        )
        first = store.create_run(
            task_id="tiny-mean", task_version=1, task_checksum="c", agent="steady", config={}, backend="local",
            budget={}, perturbations={}, k=3, seed=0, suite_run_id=suite_run,
        )  # fmt: skip
        second = store.create_run(
            task_id="guess-target", task_version=1, task_checksum="c", agent="steady", config={}, backend="local",
            budget={}, perturbations={}, k=3, seed=0, suite_run_id=suite_run,
        )  # fmt: skip
        record = store.get_suite_run(suite_run)
        assert (record.suite, record.tasks, record.k, record.status) == (
            "tiny",
            ["guess-target", "tiny-mean"],
            3,
            "running",
        )
        assert [r.id for r in store.suite_run_runs(suite_run)] == [second, first]  # the suite's order
        assert store.get_run(first).suite_run_id == suite_run
        assert store.get_run(lone).suite_run_id is None
        assert store.resolve_suite_run_id(suite_run[:20].lower()) == suite_run
        with pytest.raises(NotFoundError):
            store.resolve_suite_run_id(lone)  # a run id is not a suite run id
        store.finish_suite_run(suite_run, status="completed")
        assert store.get_suite_run(suite_run).status == "completed"
        assert store.get_suite_run(suite_run).finished_at is not None
        assert [s.id for s in store.list_suite_runs(suite="tiny")] == [suite_run]
        with pytest.raises(StoreError, match="status must be one of"):
            store.finish_suite_run(suite_run, status="bogus")
        with pytest.raises(NotFoundError):
            store.finish_suite_run("0" * 26, status="completed")
        with pytest.raises(StoreError, match="at least one task"):
            store.create_suite_run(suite="x", tasks=[], agent="a", config={}, k=1)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0005_keeps_older_runs_and_downgrades(
    database: str, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("sqlite_url")
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = create_store_engine(parse_store_url(url))
    config = alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
        assert "suite_runs" not in inspect(engine).get_table_names()
        with open_store(url) as store:
            run_id = new_run(store)
        # a run recorded at head, then the database back at 0004 with the run in it, then up again
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 1
        assert "suite_run_id" not in {c["name"] for c in inspect(engine).get_columns("runs")}
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision()  # through 0005, to the newest
        with open_store(url) as store:
            run = store.get_run(run_id)
            assert run.suite_run_id is None and run.task_id == "tiny-mean" and run.k == 1
            suite_run = store.create_suite_run(suite="s", tasks=["tiny-mean"], agent="a", config={}, k=1)
            assert store.suite_run_runs(suite_run) == []
    finally:
        engine.dispose()


def test_a_suite_run_whose_process_died_is_marked_interrupted(sqlite_url: str) -> None:
    from sqlalchemy import update

    from gym_core.store.models import Run

    with open_store(sqlite_url) as store:
        dead = store.create_suite_run(suite="s", tasks=["tiny-mean"], agent="a", config={}, k=1)
        alive = store.create_suite_run(suite="s", tasks=["tiny-mean"], agent="a", config={}, k=1)
        runs = {}
        for suite_run in (dead, alive):
            runs[suite_run] = store.create_run(
                task_id="tiny-mean", task_version=1, task_checksum="c", agent="a", config={}, backend="local",
                budget={}, perturbations={}, k=1, seed=0, suite_run_id=suite_run,
            )  # fmt: skip
        with store._engine.begin() as conn:  # its driver started long before this process: a different one
            conn.execute(
                update(Run).where(Run.id == runs[dead]).values(owner_started=Run.owner_started - 3600)
            )
        store.mark_interrupted()
        assert store.get_run(runs[dead]).status == "interrupted"
        assert store.get_suite_run(dead).status == "interrupted"
        assert store.get_suite_run(alive).status == "running"


def test_report_refuses_an_id_prefix_that_names_both_a_suite_run_and_a_run(sqlite_url: str) -> None:
    import subprocess
    import sys

    with open_store(sqlite_url) as store:
        suite_run = store.create_suite_run(suite="s", tasks=["tiny-mean"], agent="a", config={}, k=1)
        run_id = new_run(store)
    common = next(suite_run[:i] for i in range(26, 0, -1) if run_id.startswith(suite_run[:i]))
    assert len(common) >= 4  # made within the same second: ids start with their time
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "report", common, "--store", sqlite_url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "starts both a suite run id and a run id" in result.stderr and "Traceback" not in result.stderr
