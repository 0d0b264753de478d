"""The shell scripts that set a machine up: syntax, idempotence, and recovery after SIGKILL.

The recovery tests kill the machine's dockerd / test PostgreSQL, which breaks anyone else using them,
so they run only with RGYM_TEST_DISRUPTIVE=1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = [
    REPO / "scripts" / "ensure-docker",
    REPO / "scripts" / "ensure-postgres",
    REPO / "scripts" / "ensure-system-packages",
    REPO / "scripts" / "demo",
    REPO / "containers" / "base" / "bootstrap.sh",
    REPO / ".ci" / "run",
]
DISRUPTIVE = pytest.mark.skipif(
    os.environ.get("RGYM_TEST_DISRUPTIVE") != "1" or os.geteuid() != 0,
    reason="kills a shared server; set RGYM_TEST_DISRUPTIVE=1 (as root) to run",
)


def _run(*command: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def _wait_until_gone(pid: int, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return
        if state == "Z":
            return
        time.sleep(0.1)
    raise AssertionError(f"pid {pid} still running after {deadline_s}s")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_scripts_are_executable_bash_with_strict_mode(script: Path) -> None:
    assert os.access(script, os.X_OK), f"{script} is not executable"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    result = _run("bash", "-n", str(script))
    assert result.returncode == 0, result.stderr
    if shutil.which("shellcheck"):
        result = _run("shellcheck", "-S", "warning", str(script))
        assert result.returncode == 0, result.stdout


def test_ci_runs_make_test_and_nothing_else() -> None:
    lines = [ln for ln in (REPO / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[-1] == "make test"


def test_makefile_targets_exist() -> None:
    result = _run("make", "-C", str(REPO), "-n", "test", "demo", "images", "bench", "lint", "clean")
    assert result.returncode == 0, result.stderr


@pytest.mark.docker
def test_ensure_docker_is_a_quick_no_op_when_the_engine_answers(docker_client: object) -> None:
    started = time.monotonic()
    result = _run(str(REPO / "scripts" / "ensure-docker"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert time.monotonic() - started < 30


@pytest.mark.postgres
@pytest.mark.skipif(os.geteuid() != 0, reason="starting a test cluster needs root")
def test_ensure_postgres_prints_a_working_url() -> None:
    import psycopg

    first = _run(str(REPO / "scripts" / "ensure-postgres"))
    assert first.returncode == 0, first.stderr
    url = first.stdout.strip()
    assert url.startswith("postgresql+psycopg://") and url.endswith("/rgym_test")
    again = _run(str(REPO / "scripts" / "ensure-postgres"))
    assert again.stdout.strip() == url
    with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@DISRUPTIVE
@pytest.mark.docker
@pytest.mark.slow
def test_ensure_docker_recovers_from_a_sigkilled_dockerd() -> None:
    pidfile = Path("/var/run/docker.pid")
    pid = int(pidfile.read_text().strip())
    os.kill(pid, signal.SIGKILL)
    _wait_until_gone(pid)
    assert pidfile.exists(), "SIGKILL should leave the pid file behind (the case under test)"
    result = _run(str(REPO / "scripts" / "ensure-docker"), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "stale /var/run/docker.pid" in result.stderr
    assert _run("docker", "info").returncode == 0
    # Safe to run again now that the engine is up.
    assert _run(str(REPO / "scripts" / "ensure-docker")).returncode == 0


@DISRUPTIVE
@pytest.mark.postgres
def test_ensure_postgres_recovers_from_a_sigkilled_server() -> None:
    url = _run(str(REPO / "scripts" / "ensure-postgres")).stdout.strip()
    port = url.rsplit(":", 1)[1].split("/")[0]
    data = Path(os.environ.get("RGYM_TEST_PG_DIR", f"/var/tmp/rgym-test-pg-{port}"))
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)
    _wait_until_gone(pid)
    result = _run(str(REPO / "scripts" / "ensure-postgres"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == url
    assert "stale" in result.stderr
