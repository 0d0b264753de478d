"""Agents out of process (``--agent-isolation process``): real child processes under bubblewrap, real runs
on the local backend. A hostile agent gains nothing and leaves nothing behind."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import gym_core.grading.grader as grader_module
from gym_core import faults
from gym_core.attribution import attribute_exception
from gym_core.errors import AgentError, AgentHostError, ConfigError
from gym_core.outcomes import ErrorKind, Origin
from gym_core.report.store_loader import load_run_data
from gym_core.runner import agent_process
from gym_core.runner.agent_process import AgentIsolation, ProcessAgent, resolve_isolation
from gym_core.runner.runner import RunConfig, Runner
from gym_core.sandbox.local_backend import bubblewrap_usable, namespaces_usable
from gym_core.sandbox.uids import processes_of
from gym_core.scoring.metrics import compute_metrics
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store
from rgym_agents.base import TaskInfo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"
TINY = FIXTURES / "tiny-mean"

pytestmark = pytest.mark.skipif(not bubblewrap_usable(), reason="needs bubblewrap (or root) for the agent")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TraceStore]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    monkeypatch.setenv("RGYM_STORE", f"sqlite:///{tmp_path / 'traces.db'}")
    get_settings.cache_clear()
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


@pytest.fixture(params=["bubblewrap", "namespaces"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the agent is sandboxed: bubblewrap, or (root without bubblewrap) the local backend's namespaces."""
    if request.param == "namespaces":
        if not namespaces_usable():
            pytest.skip("the namespaces mode needs root with unshare and setpriv")
        monkeypatch.setattr(agent_process, "bubblewrap_usable", lambda: False)
    return str(request.param)


@pytest.fixture
def agent_dir(tmp_path: Path) -> Path:
    """A folder for agent files (the user's own; pytest makes tmp_path 0700, rgym copies the code out)."""
    folder = tmp_path / "my_agents"
    folder.mkdir()
    return folder


@pytest.fixture
def grader_restored() -> Iterator[None]:
    """Thread mode lets an agent patch the grader in rgym's own process: undo it after the test."""
    original = grader_module.parse_grader_output
    yield
    grader_module.parse_grader_output = original


def _runner(store: TraceStore) -> Runner:
    return Runner(store, console=Console(file=open(os.devnull, "w")), show_progress=False)


def _run(store: TraceStore, agent: str, *, isolation: str | None = None, **budget: Any) -> str:
    runner = _runner(store)
    run_id = runner.start(
        RunConfig(
            task="tiny-mean",
            agent=agent,
            runs=1,
            seed=0,
            backend="local",
            budget=budget,
            agent_isolation=isolation,
        )
    )
    runner.execute(run_id)
    return run_id


def _bash_commands(store: TraceStore, run_id: str) -> list[str]:
    episode = store.list_episodes(run_id)[0]
    return [s.action.get("command", "") for s in store.list_steps(episode.id) if isinstance(s.action, dict)]


def _report(store: TraceStore, run_id: str, marker: str) -> dict[str, Any]:
    """What the agent reported about itself, in the command of its first step (``echo MARKER{json}``)."""
    for command in _bash_commands(store, run_id):
        if marker in command:
            payload: dict[str, Any] = json.loads(command.split(marker, 1)[1].strip().strip("'"))
            return payload
    raise AssertionError(f"the agent never reported {marker}: {_bash_commands(store, run_id)}")


PATCHER = textwrap.dedent(
    """
    import gym_core.grading.grader as grader
    from rgym_agents.base import BaseAgent

    # The attack: at import, make every grade the reference's (abs_error 0), whatever was submitted.
    grader.parse_grader_output = lambda stdout: (0.0, {}, None)

    class Patcher(BaseAgent):
        name = "patcher"
        def act(self, observation):
            if observation["steps_left"] == self.task.budget["step_limit"]:
                return {"tool": "bash", "command": "echo 50 > answer.txt"}
            grader.parse_grader_output = lambda stdout: (0.0, {}, None)
            return {"tool": "submit"}
    """
)


@pytest.mark.parametrize("isolation", ["process", "thread"])
def test_an_agent_that_patches_the_grader_gains_nothing_in_process_mode(
    store: TraceStore, agent_dir: Path, isolation: str, grader_restored: None
) -> None:
    (agent_dir / "patcher.py").write_text(PATCHER)
    run_id = _run(store, f"module:{agent_dir / 'patcher.py'}:Patcher", isolation=isolation)
    episode = store.list_episodes(run_id)[0]
    assert episode.status == "submitted"
    if isolation == "process":
        # abs_error 40 against the baseline's 5: far below the baseline, as the answer deserves
        assert episode.final_normalized is not None and episode.final_normalized < 0
        assert grader_module.parse_grader_output is not None
        assert store.get_run(run_id).config["agent_isolation"] == "process"
    else:  # why thread mode is only for trusted code: the same agent scores the reference's 1.0
        assert episode.final_normalized == pytest.approx(1.0)


READER = textwrap.dedent(
    """
    import json, os, glob
    from rgym_agents.base import BaseAgent

    TARGETS = {targets!r}

    def attempt(path):
        try:
            if os.path.isdir(path):
                return "listed:" + ",".join(os.listdir(path))
            with open(path, "rb") as fh:
                return "read:" + fh.read(200).decode("utf-8", "replace")
        except OSError as exc:
            return "denied:" + type(exc).__name__

    class Reader(BaseAgent):
        name = "reader"
        def act(self, observation):
            if observation["steps_left"] < self.task.budget["step_limit"]:
                return {{"tool": "submit"}}
            found = {{path: attempt(path) for path in TARGETS}}
            found["uid"] = os.getuid()
            found["env"] = sorted(k for k in os.environ if k.startswith("RGYM"))
            return {{"tool": "bash", "command": "echo READ" + json.dumps(found)}}
    """
)


def test_an_agent_cannot_read_eval_reference_the_store_or_the_data_dir(
    store: TraceStore, agent_dir: Path, tmp_path: Path, mode: str
) -> None:
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "secret.txt").write_text("data dir secret")
    targets = [
        str(TINY / "eval" / "private.txt"),
        str(TINY / "eval" / "grade.py"),
        str(TINY / "eval"),
        str(TINY / "reference" / "baseline.py"),
        str(TINY / "task.yaml"),
        str(tmp_path / "traces.db"),
        str(data_dir / "secret.txt"),
        str(data_dir),
        "/proc/1/environ",
    ]
    (agent_dir / "reader.py").write_text(READER.format(targets=targets))
    run_id = _run(store, f"module:{agent_dir / 'reader.py'}:Reader")
    found = _report(store, run_id, "READ")
    for path in targets[:-2]:
        assert found[path].startswith("denied:") or found[path] == "listed:", (path, found[path])
    assert found[str(data_dir)] in ("listed:",) or found[str(data_dir)].startswith("denied:")
    assert "RGYM_" not in found["/proc/1/environ"]  # pid 1 is the agent's own namespace's, not the runner
    assert found["env"] == []  # no RGYM_STORE (a PostgreSQL password), no RGYM_DATA_DIR
    assert found["uid"] != os.getuid()
    assert processes_of(found["uid"]) == [] if os.geteuid() == 0 else True


DAEMON = textwrap.dedent(
    """
    import json, os, time
    from rgym_agents.base import BaseAgent

    def daemon():
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                import signal
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                while True:
                    time.sleep(1)
            os._exit(0)

    class Daemon(BaseAgent):
        name = "daemon"
        def reset(self, task, *, seed):
            super().reset(task, seed=seed)
            daemon()
        def act(self, observation):
            if observation["steps_left"] < self.task.budget["step_limit"]:
                return {"tool": "submit"}
            return {"tool": "bash", "command": "echo WHO" + json.dumps({"uid": os.getuid()})}
    """
)


@pytest.mark.skipif(os.geteuid() != 0, reason="a uid of the agent's own needs root (else a user namespace)")
def test_a_daemon_the_agent_forks_dies_with_its_attempt(
    store: TraceStore, agent_dir: Path, mode: str
) -> None:
    (agent_dir / "daemon.py").write_text(DAEMON)
    run_id = _run(store, f"module:{agent_dir / 'daemon.py'}:Daemon")
    uid = _report(store, run_id, "WHO")["uid"]
    assert uid in range(get_settings().sandbox_uid_base, get_settings().sandbox_uid_base + 65536)
    assert store.list_episodes(run_id)[0].status == "submitted"
    assert processes_of(uid) == []


BROKEN = textwrap.dedent(
    """
    import os, sys, time, signal
    from rgym_agents.base import BaseAgent

    class Hangs(BaseAgent):
        name = "hangs"
        def act(self, observation):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(1)

    class Exits(BaseAgent):
        name = "exits"
        def act(self, observation):
            print("goodbye from the agent", flush=True)
            os._exit(3)

    class Floods(BaseAgent):
        name = "floods"
        def act(self, observation):
            chunk = "x" * 65536 + "\\n"
            while True:
                sys.stdout.write(chunk)

    class Raises(BaseAgent):
        name = "raises"
        def act(self, observation):
            raise RuntimeError("the agent's own bug")

    class Garbage(BaseAgent):
        name = "garbage"
        def act(self, observation):
            return None
    """
)


@pytest.mark.parametrize(
    ("cls", "status", "needle"),
    [
        ("Hangs", "truncated", None),
        ("Exits", "crashed", "agent.act(): the agent's process exited with code 3"),
        ("Floods", "crashed", "agent.act(): the agent's process wrote more than 16 MiB to stdout/stderr"),
        ("Raises", "crashed", "agent.act() raised RuntimeError: the agent's own bug"),
        ("Garbage", "crashed", "agent.act() returned None, a NoneType (a missing return statement?)"),
    ],
)
def test_a_broken_agent_process_fails_only_its_attempt_clearly(
    store: TraceStore,
    agent_dir: Path,
    cls: str,
    status: str,
    needle: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (agent_dir / "broken.py").write_text(BROKEN)
    marker = f"AGENT_PROCESS_TEST_{uuid.uuid4().hex}"
    monkeypatch.setenv(marker, "1")  # the agent's processes inherit it: found again below if any is left
    run_id = _run(store, f"module:{agent_dir / 'broken.py'}:{cls}", wall_time_s=6)
    episode = store.list_episodes(run_id)[0]
    assert episode.status == status
    if needle is not None:
        assert episode.error is not None and episode.error.startswith(needle), episode.error
        assert episode.origin == "agent"
    else:  # a hung act() ends as a budget end does: auto-submitted, the step flagged
        assert [s.flags.get("agent_hung") for s in store.list_steps(episode.id)] == [True]
    assert store.get_run(run_id).status == "completed"
    if cls == "Raises":
        text = episode.error
        assert text.index("broken.py") < text.index("rgym's frames") and "The agent's frames" in text
    if cls == "Exits":
        assert "goodbye from the agent" in episode.error  # the end of what it printed, for the evaluator
    assert _processes_with(marker) == []  # nothing of the agent is left running


@pytest.mark.parametrize("agent", ["baseline", "tuner:2", "noop"])
def test_built_in_agents_complete_runs_in_process_mode(store: TraceStore, agent: str) -> None:
    run_id = _run(store, agent, isolation="process")
    episode = store.list_episodes(run_id)[0]
    assert episode.status == "submitted", episode.error
    if agent != "noop":
        assert episode.final_normalized is not None and episode.final_normalized >= 0.0
    assert store.get_run(run_id).config["agent_isolation"] == "process"


def _fake_openai() -> Any:
    name = "fake_openai_server"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent.parent / "agents" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_the_llm_agent_completes_a_run_in_process_mode(
    store: TraceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_openai()
    script = [fake.reply(fake.call("bash", command="echo 10 > answer.txt")), fake.reply(fake.call("submit"))]
    with fake.FakeOpenAIServer(script) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        run_id = _run(store, "llm:fake-model", isolation="process")
    episode = store.list_episodes(run_id)[0]
    assert episode.status == "submitted", episode.error
    assert episode.final_normalized == pytest.approx(1.0)  # answer 10 is the hidden mean
    assert len(server.requests) == 2  # the child reached the endpoint on the host's loopback
    steps = store.list_steps(episode.id)
    assert steps[0].usage.get("prompt_tokens")  # usage crossed the pipe


def test_an_import_error_of_the_agent_is_one_clear_line_and_records_nothing(
    store: TraceStore, agent_dir: Path
) -> None:
    (agent_dir / "bad.py").write_text("import no_such_module_here\n")
    with pytest.raises(AgentError, match="import failed: ModuleNotFoundError"):
        _run(store, f"module:{agent_dir / 'bad.py'}:Cls")
    assert store.list_runs() == []


def test_the_agent_imports_its_neighbours_but_not_a_task_folder(store: TraceStore, agent_dir: Path) -> None:
    (agent_dir / "helpers.py").write_text("ANSWER = 10\n")
    (agent_dir / "uses_helper.py").write_text(
        textwrap.dedent(
            """
            from helpers import ANSWER
            from rgym_agents.base import PlanAgent

            class UsesHelper(PlanAgent):
                name = "uses-helper"
                def plan(self, task, first):
                    yield {"tool": "bash", "command": f"echo {ANSWER} > answer.txt"}
            """
        )
    )
    run_id = _run(store, f"module:{agent_dir / 'uses_helper.py'}:UsesHelper")
    assert store.list_episodes(run_id)[0].final_normalized == pytest.approx(1.0)
    # an agent file inside a task's eval/ is refused before anything runs
    with pytest.raises(AgentError, match="hidden from agents"):
        ProcessAgent(f"module:{TINY / 'eval' / 'grade.py'}:X", task_roots=(TINY,))


def test_a_process_agent_is_an_agent(agent_dir: Path, mode: str) -> None:
    (agent_dir / "echo.py").write_text(
        textwrap.dedent(
            """
            from rgym_agents.base import BaseAgent

            class Echo(BaseAgent):
                name = "echo"
                def act(self, observation):
                    with open("/tmp/scratch.txt", "w") as fh:  # a private, writable /tmp
                        fh.write("x")
                    return {"tool": "bash", "command": f"echo {self.task.id} {self.seed} {observation['n']}"}
                def step_usage(self):
                    return {"prompt_tokens": 7}
            """
        )
    )
    agent = ProcessAgent(f"module:{agent_dir / 'echo.py'}:Echo")
    try:
        assert agent.name == "echo"
        info = TaskInfo("t", "T", "d", "m", "maximize", "true", 0.0, submission=("a.txt",))
        agent.reset(info, seed=5)
        assert agent.act({"n": 3}) == {"tool": "bash", "command": "echo t 5 3"}
        assert agent.step_usage() == {"prompt_tokens": 7}
    finally:
        agent.close()
    assert agent._proc is not None and agent._proc.poll() is not None
    if agent.uid is not None:
        assert processes_of(agent.uid) == []


def test_an_agent_started_on_a_passing_thread_outlives_it(agent_dir: Path, mode: str) -> None:
    """Runners start agents on worker threads (a parallel run, a Ray actor's call). The agent's
    parent-death signal fires when the thread that forked it exits, so forking it there killed the agent
    before its first act."""
    (agent_dir / "still.py").write_text(
        "from rgym_agents.base import BaseAgent\n\n"
        "class Still(BaseAgent):\n"
        "    name = 'still'\n"
        "    def act(self, observation):\n"
        "        return {'tool': 'bash', 'command': 'echo here'}\n"
    )
    made: list[ProcessAgent] = []
    starter = threading.Thread(
        target=lambda: made.append(ProcessAgent(f"module:{agent_dir / 'still.py'}:Still"))
    )
    starter.start()
    starter.join()
    assert made, "the agent did not start on the thread"
    agent = made[0]
    try:
        agent.reset(TaskInfo("t", "T", "d", "m", "maximize", "true", 0.0, submission=("a.txt",)), seed=1)
        assert agent.act({}) == {"tool": "bash", "command": "echo here"}
    finally:
        agent.close()


def test_defaults_and_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_isolation(None, "module:x.py:A") is AgentIsolation.PROCESS
    assert resolve_isolation(None, "tuner:3") is AgentIsolation.THREAD
    assert resolve_isolation("thread", "module:x.py:A") is AgentIsolation.THREAD
    with pytest.raises(ConfigError, match="--agent-isolation 'fork' is not one of process, thread"):
        resolve_isolation("fork", "noop")
    # a machine where no uid can be had: no working bubblewrap, and not root (no namespaces mode)
    monkeypatch.setattr(agent_process, "bubblewrap_usable", lambda: False)
    monkeypatch.setattr(agent_process, "namespaces_usable", lambda: False)
    with pytest.raises(ConfigError, match="--agent-isolation process needs a separate uid") as refused:
        resolve_isolation(None, "module:x.py:A")
    assert "--agent-isolation thread" in str(refused.value)
    assert resolve_isolation("thread", "module:x.py:A") is AgentIsolation.THREAD  # the user chose it


SLEEPER = textwrap.dedent(
    """
    import os, time
    from rgym_agents.base import BaseAgent

    class Sleeper(BaseAgent):
        name = "sleeper"
        def act(self, observation):
            if os.fork() == 0:  # a child of its own too: it must die as well
                while True:
                    time.sleep(1)
            while True:
                time.sleep(1)
    """
)


def _processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (the agent's, which inherits it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{entry}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry))
    return found


def _wait_for(predicate: Any, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)  # polling real processes, bounded by the deadline
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sigint", "kill-9"])
def test_the_agent_dies_with_its_runner(tmp_path: Path, agent_dir: Path, how: str) -> None:
    (agent_dir / "sleeper.py").write_text(SLEEPER)
    marker = f"AGENT_PROCESS_TEST_{uuid.uuid4().hex}"
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    env = {**os.environ, "RGYM_TASKS_PATH": str(FIXTURES), "RGYM_STORE": url, marker: "1"}
    agent = f"module:{agent_dir / 'sleeper.py'}:Sleeper"
    argv = [sys.executable, "-m", "gym_core.cli.main", "run", "tiny-mean", "--agent", agent]
    proc = subprocess.Popen(
        [*argv, "--backend", "local", "--no-progress", "--budget", "wall_time_s=600", "--seed", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the agent and its child, inside act() (the runner itself carries the marker too)
        _wait_for(lambda: len(set(_processes_with(marker)) - {proc.pid}) >= 4, "the agent to fork")
        if how == "sigint":
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 130, err
        else:
            proc.kill()
            proc.wait(timeout=30)
        _wait_for(lambda: _processes_with(marker) == [], "every agent process to end", timeout_s=30)
        if how == "kill-9":  # the killed runner's sandbox (not the agent's) is what `rgym gc` is for
            gc = subprocess.run(
                [sys.executable, "-m", "gym_core.cli.main", "gc"], env=env, capture_output=True, timeout=120
            )
            assert gc.returncode == 0, gc.stderr
            # the agent's copy of its code and its uid were under a lease: gc freed them too
            assert list(get_settings().sandbox_dir.glob("agent-*")) == []
        with open_store(url) as store:
            run = store.list_runs()[0]
            if how == "sigint":  # stopped between steps, not blamed on the agent: resumable
                assert run.status == "interrupted"
                assert [e.status for e in store.list_episodes(run.id)] == ["interrupted"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_cli_refuses_process_isolation_it_cannot_give_in_one_line(
    store: TraceStore, agent_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gym_core.cli.main import main

    (agent_dir / "echo.py").write_text("class Echo:\n    def act(self, observation):\n        return 'x'\n")
    monkeypatch.setattr(agent_process, "bubblewrap_usable", lambda: False)
    monkeypatch.setattr(agent_process, "namespaces_usable", lambda: False)
    argv = ["run", "tiny-mean", "--agent", f"module:{agent_dir / 'echo.py'}:Echo", "--backend", "local"]
    assert main([*argv, "--no-progress"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "--agent-isolation process needs a separate uid" in lines[0]
    assert "--agent-isolation thread" in lines[0] and "Traceback" not in lines[0]
    assert store.list_runs() == []  # nothing recorded


BUILDS = textwrap.dedent(
    """
    from rgym_agents.base import BaseAgent

    class Good(BaseAgent):
        name = "good"
        def act(self, observation):
            if observation["steps_left"] == self.task.budget["step_limit"]:
                return {"tool": "bash", "command": "echo 10.0 > answer.txt"}
            return {"tool": "submit"}

    class Unbuildable(BaseAgent):
        def __init__(self):
            raise RuntimeError("the agent's own constructor")
    """
)


@pytest.fixture
def no_faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("RGYM_FAULTS", raising=False)
    faults.reset()
    get_settings.cache_clear()
    yield
    faults.reset()
    get_settings.cache_clear()


def test_an_agent_process_that_cannot_start_is_the_environments_and_retried(
    store: TraceStore, agent_dir: Path, monkeypatch: pytest.MonkeyPatch, no_faults: None
) -> None:
    (agent_dir / "builds.py").write_text(BUILDS)
    runner = _runner(store)
    run_id = runner.start(
        RunConfig(
            task="tiny-mean",
            agent=f"module:{agent_dir / 'builds.py'}:Good",
            seed=0,
            backend="local",
            agent_isolation="process",
        )
    )
    monkeypatch.setenv("RGYM_FAULTS", "agent_start=1")  # as when no sandbox uid is free, once, mid-run
    get_settings.cache_clear()
    runner.execute(run_id)
    first, retry = sorted(store.list_episodes(run_id), key=lambda e: e.started_at)
    assert first.status == "crashed" and first.origin == Origin.ENVIRONMENT, first.error
    assert first.error_kind == ErrorKind.AGENT_HOST and "fault injected" in (first.error or "")
    assert retry.retry_of == first.id and retry.status == "submitted" and retry.origin == Origin.AGENT
    metrics = compute_metrics(load_run_data(store, run_id))
    assert metrics.pass_hat_k == 1.0 and metrics.harness.retries == 1 and metrics.harness.excluded == 0


def test_an_agent_whose_constructor_raises_in_its_process_stays_the_agents(agent_dir: Path) -> None:
    (agent_dir / "builds.py").write_text(BUILDS)
    factory = agent_process.isolated_factory(
        f"module:{agent_dir / 'builds.py'}:Unbuildable", AgentIsolation.PROCESS, task_roots=(TINY,)
    )
    with pytest.raises(AgentError, match="the agent's own constructor") as caught:
        factory()
    assert not isinstance(caught.value, AgentHostError)
    assert attribute_exception(caught.value).origin == Origin.AGENT
