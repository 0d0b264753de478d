"""One owner of run records: ``rgym run`` and the Python API create runs of the same shape."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from gym_core.env.research_env import ResearchEnv
from gym_core.errors import ConfigError, RunError
from gym_core.outcomes import RunSource
from gym_core.recorder import RunConfig
from gym_core.runner.runner import Runner
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tasks"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TraceStore]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


def _api_run(store: TraceStore, actions: list[dict[str, str]]) -> str:
    env = ResearchEnv(
        "tiny-mean", backend="local", store=store, seed=3, budget={"wall_time_s": 60}, agent="mine"
    )
    try:
        env.reset()
        for action in actions:
            _obs, _r, terminated, truncated, _info = env.step(action)
            if terminated or truncated:
                break
        run_id = env.run_id
    finally:
        env.close()
    assert run_id is not None
    return run_id


def test_runner_and_python_api_record_the_same_config_shape(store: TraceStore) -> None:
    cli_id = Runner(store, console=Console(file=io.StringIO()), show_progress=False).start(
        RunConfig(task="tiny-mean", agent="noop", runs=2, seed=5, backend="local", budget={"wall_time_s": 60})
    )
    api_id = _api_run(store, [{"tool": "submit"}])
    cli, api = store.get_run(cli_id), store.get_run(api_id)
    assert set(cli.config) == set(api.config)
    assert cli.config["source"] == RunSource.CLI and api.config["source"] == RunSource.PYTHON_API
    assert api.agent == "mine" and api.config["agent"] == "mine"
    assert cli.config["scoring"] == api.config["scoring"]
    assert cli.budget == api.budget and cli.budget["wall_time_s"] == 60
    assert RunConfig.from_record(cli.config).runs == 2


def test_close_finishes_the_run_it_created(store: TraceStore) -> None:
    run_id = _api_run(
        store, [{"tool": "write_file", "path": "answer.txt", "content": "10"}, {"tool": "submit"}]
    )
    run = store.get_run(run_id)
    assert run.status == "completed" and run.k == 1 and run.finished_at is not None
    assert [e.status for e in store.list_episodes(run_id)] == ["submitted"]


def test_close_mid_episode_truncates_it_and_completes_the_run(store: TraceStore) -> None:
    run_id = _api_run(store, [{"tool": "bash", "command": "true"}])
    assert store.get_run(run_id).status == "completed"  # the agent's own end: nothing pending
    assert [e.status for e in store.list_episodes(run_id)] == ["truncated"]


def _refused_resume(store: TraceStore, run_id: str) -> subprocess.CompletedProcess[str]:
    """``rgym resume RUN_ID`` in a real process, which must refuse a Python API run in a clear line."""
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "resume", run_id, "--store", str(store.url)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RGYM_TASKS_PATH": str(FIXTURES)},
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"run {run_id} was recorded through the Python API" in result.stderr
    return result


def test_resume_of_a_python_api_run_is_refused_in_one_line(store: TraceStore, tmp_path: Path) -> None:
    run_id = _api_run(store, [{"tool": "bash", "command": "true"}])
    with pytest.raises(RunError, match="recorded through the Python API"):
        Runner(store, console=Console(file=io.StringIO()), show_progress=False).resume(run_id)
    result = _refused_resume(store, run_id)
    assert len(result.stderr.strip().splitlines()) == 1


def _legacy_run(store: TraceStore, source: str) -> str:
    """A run as an earlier rgym's ResearchEnv recorded it: no task or agent in its config, an interrupted
    episode left behind."""
    run_id = store.create_run(
        task_id="tiny-mean",
        task_version=1,
        task_checksum="0" * 64,
        agent="mine",
        config={"source": source, "task_root": str(FIXTURES / "tiny-mean"), "scoring": {}},
        backend="local",
        budget={"wall_time_s": 60},
        perturbations={},
        k=1,
        seed=0,
    )
    store.start_episode(run_id, index=0, seed=0)
    return run_id


def test_resume_of_a_run_an_earlier_version_recorded_through_the_python_api_is_refused_in_one_line(
    store: TraceStore,
) -> None:
    run_id = _legacy_run(store, "gymnasium")
    assert RunConfig.from_record(store.get_run(run_id).config).source is RunSource.PYTHON_API
    _refused_resume(store, run_id)


def test_a_run_of_an_unknown_source_is_refused_naming_the_source(store: TraceStore) -> None:
    run_id = _legacy_run(store, "from-the-future")
    with pytest.raises(ConfigError, match="source 'from-the-future'") as caught:
        Runner(store, console=Console(file=io.StringIO()), show_progress=False).resume(run_id)
    assert "rgym run" in (caught.value.hint or "")


RECORD_WRITES = re.compile(
    r"\bstore\.(create_run|finish_run|start_episode|finish_episode|record_step|record_evaluation"
    r"|create_suite_run|finish_suite_run)\("
)


def test_only_the_recorder_writes_run_and_episode_records() -> None:
    package = Path(__file__).resolve().parent.parent / "gym_core"
    writers = {
        str(path.relative_to(package)): sorted(set(RECORD_WRITES.findall(path.read_text())))
        for path in package.rglob("*.py")
        if path.name != "recorder.py" and "store" not in path.relative_to(package).parts
    }
    assert {path: calls for path, calls in writers.items() if calls} == {}
