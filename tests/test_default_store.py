"""One store by default: `rgym`, `gym.make`, `rgym serve` and `make demo` all use traces.db in the data dir,
and a command says which store it used when it is not that one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gym_core.settings import get_settings
from gym_core.store import open_store

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "tasks"


def test_cli_gym_make_and_serve_open_the_same_default_store(monkeypatch: pytest.MonkeyPatch) -> None:
    import gymnasium as gym

    import gym_core
    from gym_core.server import create_app

    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    gym_core.register_tasks()
    expected = f"sqlite:///{get_settings().data_dir / 'traces.db'}"
    with open_store() as cli_store:
        assert cli_store.display_url == expected
    env = gym.make("rgym/tiny-mean-v1", backend="local")
    try:
        store = env.unwrapped.store  # type: ignore[attr-defined]
        assert store is not None and store.display_url == expected
    finally:
        env.close()
    app = create_app()
    try:
        assert app.state.store.display_url == expected
    finally:
        app.state.store.close()


def test_make_demo_writes_to_the_default_store(tmp_path: Path) -> None:
    # The demo's rgym is replaced by a recorder: what matters is the store the demo points it at.
    log = tmp_path / "calls.log"
    fake = tmp_path / "rgym"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "RGYM_STORE=${{RGYM_STORE:-<unset>}} $*" >> {log}\n'
        'if [[ "$1" == run ]]; then echo 01DEMORUN0000000000000000000; fi\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if k != "RGYM_STORE"}
    result = subprocess.run(
        [str(REPO / "scripts" / "demo")],
        env={**env, "RGYM": str(fake)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[1] for c in calls] == ["run", "report"]
    assert all(c.startswith("RGYM_STORE=<unset> ") for c in calls), calls
    assert all("--store" not in c for c in calls)
    assert "rgym episodes 01DEMORUN0000000000000000000" in result.stdout


@pytest.mark.docker
def test_a_run_names_its_store_unless_it_is_the_default(docker_client: object, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    env = {**os.environ, "RGYM_TASKS_PATH": str(FIXTURES)}
    env.pop("RGYM_STORE", None)

    def rgym(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gym_core.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    elsewhere = rgym(
        "run", "tiny-mean", "--agent", "noop", "--backend", "docker", "--no-progress", "--store", other
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    run_elsewhere = elsewhere.stdout.strip().splitlines()[-1]
    assert f"store: {other}" in elsewhere.stderr
    default = rgym("run", "tiny-mean", "--agent", "noop", "--backend", "docker", "--no-progress")
    assert default.returncode == 0, default.stderr
    run_default = default.stdout.strip().splitlines()[-1]
    assert "store:" not in default.stderr
    # The README's next step works as printed: the run is in the store every command reads by default.
    episodes = rgym("episodes", run_default)
    assert episodes.returncode == 0, episodes.stderr
    assert run_default in episodes.stdout
    listed = rgym("runs", "--format", "json")
    assert run_default in listed.stdout and run_elsewhere not in listed.stdout
    assert run_elsewhere in rgym("runs", "--store", other).stdout
