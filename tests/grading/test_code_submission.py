"""Code submissions (``grader.submission_kind: code``) are run apart from /eval, on both backends.

The fixture task tests/fixtures/tasks/code-harness holds a fresh secret in /eval, in its grader's
environment, memory, private $TMPDIR and /tmp, and runs the submitted policy through
``$RGYM_SUBMISSION_RUNNER``. tests/grading/hostile_policy.py tries everything it knows; the positive control
runs the same policy through a runner that does not isolate, and it finds the secret.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gym_core.errors import GradingError
from gym_core.grading import code_submission
from gym_core.grading.grader import Grader, GradeResult
from gym_core.sandbox import docker_backend, local_backend, submission_runner
from gym_core.sandbox.base import LABEL_RUN
from gym_core.settings import get_settings
from gym_core.tasks.loader import Task, load_task
from tests.sandbox.conftest import python_reachable_by_others

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
HOSTILE = Path(__file__).resolve().parent / "hostile_policy.py"
BACKEND_CLASSES = {"docker": docker_backend.DockerSandbox, "local": local_backend.LocalSandbox}


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "local"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn (the local one needs bubblewrap, which code grading requires)."""
    name: str = request.param
    if name == "docker":
        request.getfixturevalue("docker_client")
    elif not local_backend.bubblewrap_usable():
        pytest.skip("bubblewrap is not usable here; the local backend refuses code submissions without it")
    return name


@pytest.fixture
def run_id() -> Iterator[str]:
    """A label for this test's containers; none may be left when it ends."""
    rid = f"test-{uuid.uuid4().hex[:10]}"
    yield rid
    import docker

    try:
        client = docker.from_env()
    except Exception:
        return
    try:
        assert client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={rid}"}) == []
    finally:
        client.close()


def harness(tmp_path: Path, *, timeout_s: float | None = None) -> tuple[Task, str]:
    """A copy of the code-harness task with a fresh secret (and optionally a shorter grader timeout)."""
    root = tmp_path / "code-harness"
    shutil.copytree(FIXTURES / "code-harness", root)
    secret = "RGYM-SECRET-" + secrets.token_hex(16)
    (root / "eval" / "secret.txt").write_text(secret + "\n")
    if timeout_s is not None:
        spec = root / "task.yaml"
        spec.write_text(spec.read_text().replace("timeout_s: 60", f"timeout_s: {timeout_s}"))
    return load_task(root), secret


def grade(task: Task, backend: str, policy: str, tmp_path: Path, run_id: str) -> GradeResult:
    workspace = tmp_path / f"ws-{uuid.uuid4().hex[:6]}"
    workspace.mkdir()
    (workspace / "policy.py").write_text(policy)
    grader = Grader(task, backend=backend, image=get_settings().base_image, labels={LABEL_RUN: run_id})
    return grader.grade(workspace)


def test_a_hostile_policy_reaches_nothing(backend: str, tmp_path: Path, run_id: str) -> None:
    task, secret = harness(tmp_path)
    eval_before = {p.name: p.read_bytes() for p in task.eval_dir.iterdir()}
    result = grade(task, backend, HOSTILE.read_text(), tmp_path, run_id)

    assert result.valid, result.message + result.output
    assert result.details["leaks"] == []
    assert result.details["successes"] == {}
    assert result.details["intact"] is True
    assert result.raw == 0.0  # the verdict the policy forged on its stdout did not land
    assert secret not in result.output
    tries = result.details["attempts"]
    # every attack really ran (a policy that died early would also find nothing)
    assert tries["open-eval"] == 2 and tries["list-eval"] == 1 and tries["write"] == 6
    assert tries["walk"] > 20 and tries["ptrace"] >= 1 and tries["kill"] >= 1 and tries["network"] == 1
    assert tries["oom-score"] == 1 and tries["priority"] == 1 and tries["kill-all"] == 1
    if backend == "docker":
        # the grader's processes are visible there (another uid); on the local backend they are in
        # another pid namespace and cannot even be named
        assert tries["proc-environ"] >= 3 and tries["proc-mem"] >= 3 and tries["proc-fd-write"] >= 6
    assert {p.name: p.read_bytes() for p in task.eval_dir.iterdir()} == eval_before


def _no_isolation(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """Make the backend's runner a plain ``env``: the program runs as the grader, beside /eval."""
    monkeypatch.setattr(BACKEND_CLASSES[backend], "runner_prefix", property(lambda self: ("env",)))


def test_without_isolation_the_same_policy_finds_the_secret(
    backend: str, tmp_path: Path, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Positive control: the attacks work where nothing stops them, so finding nothing above means something."""
    _no_isolation(monkeypatch, backend)
    monkeypatch.setattr(code_submission, "check_runner", lambda *a, **k: None)
    task, _secret = harness(tmp_path)
    result = grade(task, backend, HOSTILE.read_text(), tmp_path, run_id)
    assert result.valid, result.message + result.output
    found = {leak["where"] for leak in result.details["leaks"]}
    assert "/eval/secret.txt" in found
    assert "open-eval" in result.details["successes"]


def test_a_runner_that_does_not_isolate_is_refused_before_grading(
    backend: str, tmp_path: Path, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_isolation(monkeypatch, backend)
    task, _ = harness(tmp_path)
    with pytest.raises(GradingError, match=r"can read /eval/\S+; nothing was graded"):
        grade(task, backend, "print('never run')\n", tmp_path, run_id)


HANGING_POLICY = """
import os, sys, time
token = {token!r}
if os.fork() == 0:  # a daemon in its own session, out of the grader's process group
    os.setsid()
    if os.fork() == 0:
        os.execvp("python3", ["python3", "-c", "import time; time.sleep(1000)", token])
    os._exit(0)
os.execvp("python3", ["python3", "-c", "import time; time.sleep(1000)", token])
"""


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if token.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_a_hanging_policy_is_killed_with_the_grader(backend: str, tmp_path: Path, run_id: str) -> None:
    task, _ = harness(tmp_path, timeout_s=5)
    token = f"rgym-hang-{uuid.uuid4().hex}"
    started = time.monotonic()
    result = grade(task, backend, HANGING_POLICY.format(token=token), tmp_path, run_id)
    assert not result.valid and result.raw is None
    assert "timed out" in result.message
    assert time.monotonic() - started < 60
    assert _processes_with(token) == []


MEMORY_HOG = """
import sys
sys.stdin.readline()
hog = []
while True:
    hog.append(bytearray(16 << 20))
"""


def test_the_oom_killer_takes_the_policy_not_the_grader(backend: str, tmp_path: Path, run_id: str) -> None:
    if backend == "local" and os.geteuid() != 0:
        pytest.skip("the local backend limits memory through a cgroup only when rgym runs as root")
    task, _ = harness(tmp_path)
    result = grade(task, backend, MEMORY_HOG, tmp_path, run_id)
    # the grader survived to judge: the policy printed nothing, an invalid submission with its reason
    assert not result.valid
    assert result.message == "invalid submission: the policy printed nothing"


def test_local_backend_without_bubblewrap_refuses_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_backend, "bubblewrap_usable", lambda: False)
    task, _ = harness(tmp_path)
    with pytest.raises(
        GradingError, match=r"without bubblewrap.*apt-get install bubblewrap.*--backend docker"
    ):
        grade(task, "local", "print(1)\n", tmp_path, "unused")


def test_local_backend_refuses_code_when_bubblewrap_cannot_nest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not local_backend.bubblewrap_usable():
        pytest.skip("bubblewrap is not usable here")
    monkeypatch.setattr(
        local_backend, "nested_bwrap_prefix", lambda *a, **k: ["sh", "-c", "echo no userns >&2; exit 1", "--"]
    )
    task, _ = harness(tmp_path)
    with pytest.raises(
        GradingError, match=r"cannot start a nested sandbox for submitted code here: no userns"
    ):
        grade(task, "local", "print(1)\n", tmp_path, "unused")


@pytest.mark.docker
def test_docker_grader_reads_a_private_copy_owned_by_another_host_user(
    docker_client: object, tmp_path: Path, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a non-root host user owns the copy of /eval: root in the grader reads it, the runner cannot."""
    if os.geteuid() != 0:
        pytest.skip("needs root on the host to hand the copy to another uid")
    real_copy = submission_runner.private_copy

    def copy_owned_by_4242(source: Path, dest: Path) -> Path:
        out = real_copy(source, dest)
        for path in [out, *out.rglob("*")]:
            os.lchown(path, 4242, 4242)
            if path.is_file():
                path.chmod(0o600)
        return out

    monkeypatch.setattr(docker_backend, "private_copy", copy_owned_by_4242)
    task, secret = harness(tmp_path)
    result = grade(task, "docker", HOSTILE.read_text(), tmp_path, run_id)
    assert result.valid, result.message + result.output
    assert result.details["leaks"] == [] and result.details["intact"] is True
    assert secret not in result.output


FILES_GRADER = """
import json, os
status = open("/proc/self/status").read()
cap = [l for l in status.splitlines() if l.startswith("CapEff:")][0].split()[1]
print(json.dumps({"score": 0.0, "uid": os.getuid(), "cap_eff": cap,
                  "runner": os.environ.get("RGYM_SUBMISSION_RUNNER")}))
"""


def test_the_files_kind_grader_keeps_its_hardening(backend: str, tmp_path: Path, run_id: str) -> None:
    """A files-kind grader gets no runner, runs unprivileged with no capabilities, as before."""
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURES / "tiny-mean", root)
    (root / "eval" / "grade.py").write_text(FILES_GRADER)
    task = load_task(root)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "answer.txt").write_text("5\n")
    grader = Grader(task, backend=backend, image=get_settings().base_image, labels={LABEL_RUN: run_id})
    result = grader.grade(workspace)
    assert result.valid, result.message + result.output
    assert result.details["runner"] is None
    assert result.details["uid"] != 0
    assert int(result.details["cap_eff"], 16) == 0


AS_USER_SCRIPT = """
import json, sys
from pathlib import Path
from gym_core.grading.grader import Grader
from gym_core.tasks.loader import load_task
task = load_task(sys.argv[1])
result = Grader(task, backend="local", image="unused").grade(Path(sys.argv[2]))
print(json.dumps({"valid": result.valid, "message": result.message, "output": result.output,
                  "details": result.details}))
"""


def test_local_backend_as_an_unprivileged_user(tmp_path: Path) -> None:
    """rgym as a normal user: the grader is in a user namespace and the runner nests another, with a /proc
    of its own; the grader's environment is not in it (not even in a bwrap helper's /proc entry)."""
    if os.geteuid() != 0:
        pytest.skip("runs as this user in test_a_hostile_policy_reaches_nothing[local] already")
    if not local_backend.bubblewrap_usable():
        pytest.skip("bubblewrap is not usable here")
    import json
    import subprocess
    import sys
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="rgym-unpriv-"))
    try:
        task, secret = harness(home)
        workspace = home / "ws"
        workspace.mkdir()
        (workspace / "policy.py").write_text(HOSTILE.read_text())
        (home / "data").mkdir()
        (home / "script.py").write_text(AS_USER_SCRIPT)
        for path in [home, *home.rglob("*")]:
            os.lchown(path, 65534, 65534)
        proc = subprocess.run(
            [*python_reachable_by_others(home / ".base-python"),
             "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
             sys.executable, str(home / "script.py"), str(task.root), str(workspace)],
            capture_output=True, text=True, timeout=300, cwd=home,
            env={**os.environ, "RGYM_DATA_DIR": str(home / "data"), "HOME": str(home)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["valid"], result["message"] + result["output"]
        details = result["details"]
        assert details["leaks"] == [] and details["successes"] == {} and details["intact"] is True
        assert details["attempts"]["proc-environ"] >= 1 and details["attempts"]["walk"] > 20
        assert secret not in proc.stdout
    finally:
        shutil.rmtree(home, ignore_errors=True)
