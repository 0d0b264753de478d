"""`--executor ray` refuses what cannot work, with one line, before a run is recorded (no cluster needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.runner.ray_executor import MIB, Node, fit_problem, sqlite_problem, task_resources
from gym_core.store import open_store
from gym_core.tasks.spec import Budget

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"

_NO_RAY = (
    "import sys; sys.modules['ray'] = None; from gym_core.cli.main import main; "
    "sys.argv = ['rgym', *sys.argv[1:]]; sys.exit(main(sys.argv[1:]))"
)


def _rgym(args: list[str], tmp_path: Path, *, without_ray: bool = False) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RGYM_TASKS_PATH": str(FIXTURES),
        "RGYM_STORE": f"sqlite:///{tmp_path / 'traces.db'}",
    }
    env.pop("RAY_ADDRESS", None)
    head = [sys.executable, "-c", _NO_RAY] if without_ray else [sys.executable, "-m", "gym_core.cli.main"]
    return subprocess.run([*head, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_without_ray_installed_one_line_says_how_to_install_it(tmp_path: Path) -> None:
    result = _rgym(
        ["run", "tiny-mean", "--agent", "noop", "--executor", "ray", "--backend", "local", "--no-progress"],
        tmp_path,
        without_ray=True,
    )
    assert result.returncode == 2, result.stderr
    assert "needs the ray package" in result.stderr and "pip install 'rgym[ray]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    with open_store(f"sqlite:///{tmp_path / 'traces.db'}") as store:
        assert store.list_runs() == []


def test_unreachable_cluster_is_one_line_and_records_nothing(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    result = _rgym(
        [
            "run",
            "tiny-mean",
            "--agent",
            "noop",
            "--executor",
            "ray",
            "--ray-address",
            "127.0.0.1:9",  # discard: nothing listens there
            "--backend",
            "local",
            "--no-progress",
        ],
        tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot connect to the Ray cluster at 127.0.0.1:9" in result.stderr
    assert "ray start --head" in result.stderr
    assert "Traceback" not in result.stderr
    with open_store(f"sqlite:///{tmp_path / 'traces.db'}") as store:
        assert store.list_runs() == []


def test_each_attempt_reserves_its_budget() -> None:
    budget = Budget(cpus=1.5, memory_mb=512, gpus=1)
    assert task_resources(budget) == {"num_cpus": 1.5, "memory": 512.0 * MIB, "num_gpus": 1.0}


def test_sqlite_serves_a_cluster_only_on_this_machine() -> None:
    here = Node("10.0.0.1", {"CPU": 1.0})
    also_here = Node("10.0.0.1", {"CPU": 1.0})  # a second node started on this machine
    elsewhere = Node("10.0.0.2", {"CPU": 1.0})
    assert sqlite_problem("sqlite", [here, also_here], "10.0.0.1") is None
    problem = sqlite_problem("sqlite", [here, elsewhere], "10.0.0.1")
    assert problem is not None and "10.0.0.2" in problem and "2 node(s)" in problem
    assert sqlite_problem("postgresql", [here, elsewhere], "10.0.0.1") is None


def test_an_attempt_no_node_can_hold_is_refused() -> None:
    nodes = [Node("a", {"CPU": 1.0, "memory": 1024.0 * MIB}), Node("b", {"CPU": 4.0, "memory": 256.0 * MIB})]
    # each fits somewhere, but the two together only where both are: no node has 2 CPUs and 512 MiB
    assert fit_problem(task_resources(Budget(cpus=1, memory_mb=512)), nodes) is None
    assert fit_problem(task_resources(Budget(cpus=4, memory_mb=256)), nodes) is None
    problem = fit_problem(task_resources(Budget(cpus=2, memory_mb=512)), nodes)
    assert problem is not None and "2 CPU, 512 MiB memory" in problem
    gpu = fit_problem(task_resources(Budget(cpus=1, memory_mb=256, gpus=1)), nodes)
    assert gpu is not None and "1 GPU" in gpu and "0 GPU" in gpu
