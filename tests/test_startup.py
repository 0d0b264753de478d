"""Start-up stays light: ``import gym_core`` and the quick commands never load the heavy libraries.

Timing belongs to ``benchmarks/bench_startup.py``; these tests catch the regression that causes it (a
module-level import of docker, gymnasium, matplotlib or SQLAlchemy on the start-up path) on any machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("docker", "gymnasium", "matplotlib", "sqlalchemy", "numpy", "scipy", "requests", "fastapi")

_PROBE = """
import contextlib, io, json, sys
{body}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def _loaded(body: str, tmp_path: Path) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``body`` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "RGYM_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(result.stdout.splitlines()[-1]))


def _cli(*argv: str) -> str:
    return (
        "from gym_core.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({list(argv)!r})\n"
        "assert code == 0, code\n"
    )


def test_import_gym_core_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = _loaded("import gym_core", tmp_path)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    # Neither settings (pydantic-settings) nor task discovery run at import.
    assert not loaded & {"pydantic", "pydantic_settings", "yaml", "rich", "typer"}


def test_version_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = _loaded(_cli("--version"), tmp_path)
    assert "typer" in loaded  # the probe did run the command line
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_tasks_list_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = _loaded(_cli("tasks", "list"), tmp_path)
    assert "yaml" in loaded  # the probe did read the tasks
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("command", ["report", "tasks", "episodes", "images"])
def test_each_command_still_resolves(command: str, tmp_path: Path) -> None:
    """Commands mount on first use: every one still shows its help (and so its options)."""
    result = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", command, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "RGYM_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"rgym {command}" in result.stdout
