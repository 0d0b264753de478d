"""The shell scripts that set a machine up: syntax, idempotence, and recovery after SIGKILL.

The recovery tests kill a server on purpose, so they never use the shared ones: each starts its own
throwaway Docker engine or PostgreSQL cluster (its own socket or port, pid file and data folder), kills
it, lets the script recover it, and removes it. They need root, as the scripts do to start a server;
under CI=true, where the scripts run as root, a missing requirement fails the test instead of skipping it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SCRIPTS = [
    REPO / "scripts" / "ensure-docker",
    REPO / "scripts" / "ensure-postgres",
    REPO / "scripts" / "ensure-system-packages",
    REPO / "scripts" / "demo",
    REPO / "containers" / "base" / "bootstrap.sh",
    REPO / ".ci" / "run",
]


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        message = f"{what} needs root (the scripts start servers as root)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _run(*command: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


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
    result = _run("make", "-C", str(REPO), "-n", "test", "mutate", "demo", "images", "bench", "lint", "clean")
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


@contextlib.contextmanager
def _throwaway_engine() -> Iterator[dict[str, str]]:
    """The environment that points scripts/ensure-docker and `docker` at a second, throwaway engine.

    Its socket, pid file, exec root, data root, containerd namespaces and bridge are its own; it makes no
    iptables or ip-forward change and reads no /etc/docker/daemon.json. On exit it is stopped and removed.
    Not ``--bridge=none``: an engine started so deletes the host's docker0, the shared engine's bridge
    (dockerd's removeDefaultBridgeInterface), and every later container of the shared engine fails to start.
    """
    root = Path(tempfile.mkdtemp(prefix="rgym-dk-", dir="/tmp"))  # short: a unix socket path is <= 107 bytes
    (root / "daemon.json").write_text("{}\n")
    namespace = f"rgym-test-{root.name}"
    bridge = f"rgymtb{os.getpid() % 100000}"  # at most 15 characters (IFNAMSIZ)
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True, capture_output=True)
    subprocess.run(["ip", "addr", "add", "10.231.77.1/24", "dev", bridge], check=True, capture_output=True)
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{root}/docker.sock",
        "RGYM_DOCKERD_PIDFILE": str(root / "docker.pid"),
        "RGYM_DOCKERD_EXEC_ROOT": str(root / "exec"),
        "RGYM_DOCKERD_DATA_ROOT": str(root / "data"),
        "RGYM_DOCKERD_LOG": str(root / "dockerd.log"),
        "RGYM_DOCKERD_ARGS": " ".join(
            [
                f"--config-file={root / 'daemon.json'}",
                f"--bridge={bridge}",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                f"--containerd-namespace={namespace}",
                f"--containerd-plugins-namespace={namespace}-plugins",
            ]
        ),
    }
    try:
        yield env
    finally:
        _stop_pid_file(root / "docker.pid", "dockerd")
        _stop_pid_file(root / "exec" / "containerd" / "containerd.pid", "containerd")
        mounted = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for point in sorted((m for m in mounted if m.startswith(f"{root}/")), reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", bridge], check=False, capture_output=True)


def _has_link(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def _pid_in(path: Path, name: str) -> int | None:
    """The live process named ``name`` whose pid ``path`` holds, if any."""
    try:
        pid = int(path.read_text().split()[0])
        if Path(f"/proc/{pid}/comm").read_text().strip() != name:
            return None
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state == "Z" else pid


def _stop_pid_file(path: Path, name: str) -> None:
    pid = _pid_in(path, name)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    try:
        _wait_until_gone(pid, 30)
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        _wait_until_gone(pid, 10)


def _main_engine() -> tuple[int | None, str]:
    """The shared engine's dockerd pid and id: a recovery test must leave both as they were."""
    info = subprocess.run(
        ["docker", "-H", "unix:///var/run/docker.sock", "info", "--format", "{{.ID}}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return _pid_in(Path("/var/run/docker.pid"), "dockerd"), info.stdout.strip()


@pytest.mark.docker
@pytest.mark.slow
def test_ensure_docker_recovers_a_sigkilled_dockerd_of_its_own(docker_client: object) -> None:
    _require_root("starting a second Docker engine")
    main_before = _main_engine()
    bridge_before = _has_link("docker0")
    with _throwaway_engine() as env:
        root = Path(env["RGYM_DOCKERD_DATA_ROOT"]).parent
        started = subprocess.run(
            [str(REPO / "scripts" / "ensure-docker")], env=env, capture_output=True, text=True, timeout=300,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr + (root / "dockerd.log").read_text(errors="replace")
        info = subprocess.run(
            ["docker", "info", "--format", "{{json .}}"], env=env, capture_output=True, text=True, timeout=60,
            check=True,
        )  # fmt: skip
        assert json.loads(info.stdout)["DockerRootDir"] == str(root / "data")
        pid = _pid_in(root / "docker.pid", "dockerd")
        assert pid is not None
        containerd = _pid_in(root / "exec" / "containerd" / "containerd.pid", "containerd")

        os.kill(pid, signal.SIGKILL)
        _wait_until_gone(pid)
        assert (root / "docker.pid").exists(), (
            "SIGKILL should leave the pid file behind (the case under test)"
        )
        recovered = subprocess.run(
            [str(REPO / "scripts" / "ensure-docker")], env=env, capture_output=True, text=True, timeout=300,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert recovered.returncode == 0, recovered.stderr
        assert f"removing stale {root / 'docker.pid'}" in recovered.stderr
        if containerd is not None:
            # dockerd ran its own containerd: dead with its parent, or stopped as an orphan; never reused.
            assert not Path(f"/proc/{containerd}").exists() or _pid_in(
                root / "exec" / "containerd" / "containerd.pid", "containerd"
            ) not in (None, containerd)
        new_pid = _pid_in(root / "docker.pid", "dockerd")
        assert new_pid is not None and new_pid != pid
        assert subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=60).returncode == 0
        # Safe to run again now that the engine is up: a quick no-op.
        again = subprocess.run(
            [str(REPO / "scripts" / "ensure-docker")], env=env, capture_output=True, text=True, timeout=60,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert again.returncode == 0 and again.stderr == ""
    # The shared engine was never touched: same dockerd, same engine id, still answering, its bridge kept.
    assert _main_engine() == main_before and main_before[1]
    if bridge_before:
        assert _has_link("docker0"), "the throwaway engine deleted the shared engine's docker0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.postgres
@pytest.mark.slow
def test_ensure_postgres_recovers_a_sigkilled_server_of_its_own() -> None:
    _require_root("starting a PostgreSQL cluster")
    port = _free_port()
    parent = Path(tempfile.mkdtemp(prefix="rgym-pg-", dir="/var/tmp"))
    parent.chmod(0o755)  # the server runs as the postgres user
    data = parent / "data"
    env = {**os.environ, "RGYM_TEST_PG_PORT": str(port), "RGYM_TEST_PG_DIR": str(data)}
    script = str(REPO / "scripts" / "ensure-postgres")
    try:
        first = subprocess.run([script], env=env, capture_output=True, text=True, timeout=300, check=False)
        assert first.returncode == 0, first.stderr
        url = first.stdout.strip()
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{port}/rgym_test"
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        _wait_until_gone(pid)
        result = subprocess.run([script], env=env, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == url
        assert f"removing stale {data / 'postmaster.pid'}" in result.stderr
    finally:
        for pg_ctl in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1:]:
            stop = [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(pg_ctl),
                "-D",
                str(data),
                "-m",
                "immediate",
                "stop",
            ]
            subprocess.run(stop, capture_output=True, timeout=60, check=False)
        shutil.rmtree(parent, ignore_errors=True)
