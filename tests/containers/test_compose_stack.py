"""The team stack of docker-compose.yml, brought up for real with Debian's docker-compose (1.29).

From a fresh clone of this repository (its committed state), both images build from the offline base image
and a host wheelhouse (scripts/stack-wheels), the database publishes no host port, the api serves the runs
that a host process records into the stack's own PostgreSQL, and, with docker-compose.envs.yml, a
``RemoteEnv`` agent drives an episode over HTTP with an agent token, read back with a viewer token.

Wall time: the image builds dominate (the api image reinstalls rgym's wheel and rebuilds matplotlib's font
cache when rgym changed: about a minute on 2 idle cores; from a clean engine, apt for PostgreSQL and 60 wheels
take several minutes), then scripts/stack-wheels (pip resolves and downloads the dependencies); the episode
itself takes seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.remote import RemoteEnv
from gym_core.store import open_store
from gym_core.store.tokens import Role, create_token
from tests.conftest import IN_CI, REPO_ROOT
from tests.report.pinned_run import record_pinned_run

FIXTURE_TASKS = REPO_ROOT / "tests" / "fixtures" / "tasks"

# Building both images from a clean engine (apt for PostgreSQL, 60 wheels) takes minutes on 2 cores.
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800), pytest.mark.longest_first]

STARTUP_DEADLINE_S = 600.0


def _compose() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    message = "docker-compose is missing; scripts/ensure-system-packages installs Debian's"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    def __init__(self, project: str, port: int, clone: Path, scratch: Path) -> None:
        self.project = project
        self.port = port
        self.clone = clone
        self.scratch = scratch
        self.env = {
            **os.environ,
            "RGYM_API_PORT": str(port),
            "RGYM_DB_PASSWORD": "s3cret-" + project,
            # docker-compose.envs.yml: the sandboxes run on this host's engine
            "RGYM_STACK_TASKS": str(FIXTURE_TASKS),
            "RGYM_STACK_DIR": str(scratch),
            "RGYM_DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        }

    def compose(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        files = ["-f", "docker-compose.yml", "-f", "docker-compose.envs.yml"]
        return subprocess.run(
            [*_compose(), "-p", self.project, *files, *args],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def get(self, path: str, token: str | None = None) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_healthy(self) -> dict[str, Any]:
        """Poll /healthz until the api answers (the compose healthchecks order db before api)."""
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                health: dict[str, Any] = self.get("/healthz")
                return health
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError) as exc:
                last = exc
                time.sleep(1)  # polling a server that is starting, bounded by the deadline
        logs = self.compose("logs", "--tail", "40").stdout
        raise AssertionError(f"the api never answered /healthz ({last}); logs:\n{logs}")

    def container_ip(self, service: str) -> str:
        cid = self.compose("ps", "-q", service).stdout.strip()
        out = subprocess.run(
            ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", cid],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.split()[0]


def _fresh_clone(dest: Path) -> Path:
    """A clone of this repository at its current commit (what a new user checks out); a copy without the
    virtualenv and build output where the checkout is not a git repository (an exported tree)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        ignored = shutil.ignore_patterns(".venv", "build", "__pycache__", "*.pyc", ".*_cache", "*.egg-info")
        shutil.copytree(REPO_ROOT, dest, ignore=ignored)
        return dest
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(REPO_ROOT), str(dest)], check=True)
    subprocess.run(["git", "checkout", "--quiet", head.stdout.strip()], cwd=dest, check=True)
    return dest


@pytest.fixture(scope="module")
def stack(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    timings: dict[str, float] = {}
    started = time.monotonic()
    # The fixture task's image, built on the host as `rgym images build` would (the api does not build),
    # meanwhile the stack's own images build.
    image = subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "rgym"), "images", "build", "tiny-mean"],
        env={**os.environ, "RGYM_TASKS_PATH": str(FIXTURE_TASKS)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    clone = _fresh_clone(tmp_path_factory.mktemp("clone") / "rgym")
    built = subprocess.run(
        [str(clone / "scripts" / "stack-wheels")],
        cwd=clone,
        env={**os.environ, "PYTHON": str(REPO_ROOT / ".venv" / "bin" / "python")},
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    timings["clone and stack-wheels"] = time.monotonic() - started
    project = f"rgymtest{uuid.uuid4().hex[:8]}"
    # Shared with the api at the same path (its sandboxes' mounts are the host's paths), as `make stack-envs`.
    scratch = Path(f"/var/tmp/rgym-stack-{project}")
    scratch.mkdir(mode=0o2770)
    os.chown(scratch, -1, os.stat("/var/run/docker.sock").st_gid)
    scratch.chmod(0o2770)
    up = Stack(project, _free_port(), clone, scratch)
    api_host = ""
    try:
        mark = time.monotonic()
        built_images = up.compose("build", "--parallel", timeout=1500)
        assert built_images.returncode == 0, built_images.stdout[-3000:] + built_images.stderr[-3000:]
        timings["compose build"] = time.monotonic() - mark
        _, image_err = image.communicate(timeout=900)
        assert image.returncode == 0, image_err
        mark = time.monotonic()
        result = up.compose("up", "-d")
        assert result.returncode == 0, result.stdout + result.stderr
        api_host = up.compose("ps", "-q", "api").stdout.strip()[:12]  # the api's hostname: rgym.host
        up.wait_healthy()
        timings["up until healthy"] = time.monotonic() - mark
        print("stack timings (s):", {k: round(v) for k, v in timings.items()})  # shown with -s
        yield up
    finally:
        if image.poll() is None:
            image.kill()
            image.wait()
        down = up.compose("down", "-v", "--remove-orphans", timeout=300)
        assert down.returncode == 0, down.stderr
        # Nothing of the project is left: no container, network or volume.
        for kind in ("container", "network", "volume"):
            left = subprocess.run(
                ["docker", kind, "ls", "-q", "--filter", f"label=com.docker.compose.project={up.project}"]
                + (["-a"] if kind == "container" else []),
                capture_output=True,
                text=True,
                check=True,
            )
            assert left.stdout.strip() == "", f"{kind}s left behind: {left.stdout}"
        sandboxes = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=rgym.host={api_host}"],
            capture_output=True,
            text=True,
            check=True,
        )
        shutil.rmtree(scratch, ignore_errors=True)
        assert not api_host or sandboxes.stdout.strip() == "", f"sandboxes left behind: {sandboxes.stdout}"


def test_stack_serves_runs_recorded_into_its_database(stack: Stack, tmp_path: Path) -> None:
    health = stack.wait_healthy()
    assert health["status"] == "ok"
    assert "postgresql" in health["store"] and "s3cret" not in health["store"]  # the password is masked

    # The database publishes no host port: a PostgreSQL on the host keeps 5432.
    ports = stack.compose("port", "db", "5432")
    assert ports.stdout.strip() in ("", ":0"), ports.stdout

    # A host process records a run into the stack's database (over the compose network's address);
    # the api, which ran the migrations at start, serves it.
    url = f"postgresql+psycopg://rgym:{stack.env['RGYM_DB_PASSWORD']}@{stack.container_ip('db')}:5432/rgym"
    with open_store(url) as store:
        pinned = record_pinned_run(store, tmp_path)
        _, viewer = create_token(store, Role.VIEWER, "compose test")
    with pytest.raises(urllib.error.HTTPError) as denied:
        stack.get("/api/runs")
    assert denied.value.code == 401  # tokens are required in the stack too
    runs = {run["id"]: run for run in stack.get("/api/runs", viewer)}
    assert pinned.run_id in runs
    assert runs[pinned.run_id]["task_id"] == "tiny-mean"
    detail = stack.get(f"/api/runs/{pinned.run_id}", viewer)
    assert detail["run"]["id"] == pinned.run_id
    assert sorted(e["index"] for e in detail["episodes"]) == [0, 1, 2, 3, 4]


def _cli_token(stack: Stack, role: str) -> str:
    """A token made with `rgym tokens create` inside the api container (its secret: the last stdout line)."""
    made = stack.compose(
        "exec", "-T", "api", "rgym", "tokens", "create", "--role", role, "--name", "compose test"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return made.stdout.strip().splitlines()[-1]


def _admin_url_token(stack: Stack, role: str) -> str:
    """A token made over HTTP with the admin token of the sign-in URL the api printed at start."""
    logs = stack.compose("logs", "--no-color", "api").stdout
    admin = re.findall(r"\?token=(rgym_[A-Za-z0-9_-]+)", logs)[-1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.port}/api/tokens",
        data=json.dumps({"role": role, "name": "compose test"}).encode(),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        secret: str = json.loads(response.read())["secret"]
    return secret


def test_a_remote_agent_drives_an_episode_over_http(stack: Stack) -> None:
    stack.wait_healthy()
    # both ways an operator makes tokens: the CLI in the container, and the admin URL printed at start
    agent, viewer = _cli_token(stack, "agent"), _admin_url_token(stack, "viewer")
    url = f"http://127.0.0.1:{stack.port}"
    env = RemoteEnv("tiny-mean", remote=url, token=agent, agent="compose-remote-agent", timeout_s=600)
    try:
        obs, info = env.reset(seed=3)
        assert env.observation_space.contains(obs)
        obs, _, terminated, _, _ = env.step({"tool": "bash", "command": "cat /eval/private.txt; id -u"})
        assert not terminated and "No such file" in obs["output"]  # the sandbox holds no hidden data
        env.step({"tool": "write_file", "path": "answer.txt", "content": "10"})
        _, _, terminated, _, final = env.step({"tool": "submit"})
        assert terminated and final["success"] is True
        run_id, episode_id = final["run_id"], info["episode_id"]
    finally:
        env.close()
    with pytest.raises(urllib.error.HTTPError) as refused:  # an agent token reads no runs
        stack.get(f"/api/runs/{run_id}", agent)
    assert refused.value.code == 403
    detail = stack.get(f"/api/runs/{run_id}", viewer)
    assert detail["run"]["agent"] == "compose-remote-agent" and detail["run"]["status"] == "completed"
    (episode,) = detail["episodes"]
    assert episode["id"] == episode_id and episode["status"] == "submitted" and episode["seed"] == 3
    steps = stack.get(f"/api/episodes/{episode_id}/steps", viewer)
    assert [s["action"]["tool"] for s in steps] == ["bash", "write_file", "submit"]
    # the server removed the episode's sandboxes (agent and grader) from the host's engine
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=rgym.episode={episode_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert left.stdout.strip() == ""
