"""The whole chain on a real Docker engine: LLM agent over HTTP, vector envs, verify, replay, report."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from fake_openai_server import FakeOpenAIServer, call, reply, solve_with
from rich.console import Console

from gym_core.registration import register_tasks
from gym_core.replay import execute_replay
from gym_core.report.store_loader import load_run_data
from gym_core.runner.runner import RunConfig, Runner
from gym_core.scoring.metrics import compute_metrics
from gym_core.settings import get_settings
from gym_core.store import TraceStore, open_store
from gym_core.tasks.discovery import find_task
from gym_core.verify import verify_task

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"
QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TraceStore]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    s = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    yield s
    s.close()


@pytest.mark.docker
@pytest.mark.slow
def test_llm_agent_over_http_solves_the_task(
    docker_client: Any, store: TraceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [
        reply(call("bash", command="ls && python baseline.py")),
        reply(call("validate")),
        reply(call("write_file", path="answer.txt", content="10\n")),
        *solve_with(validate=True),
    ]
    with FakeOpenAIServer(script) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        runner = Runner(store, console=QUIET, show_progress=False)
        run_id = runner.start(
            RunConfig(task="tiny-mean", agent="llm:test-model", runs=1, seed=5, backend="docker")
        )
        runner.execute(run_id)
        requests = server.requests
    episode = store.list_episodes(run_id)[0]
    assert episode.status == "submitted" and episode.final_normalized == pytest.approx(1.0)
    steps = store.list_steps(episode.id)
    assert [s.action["tool"] for s in steps] == ["bash", "validate", "write_file", "validate", "submit"]
    assert all(s.usage.get("prompt_tokens") for s in steps)  # tokens recorded per step
    assert requests[0]["model"] == "test-model" and requests[0]["seed"] == 5
    tools = {t["function"]["name"] for t in requests[0]["tools"]}
    assert tools == {"bash", "write_file", "read_file", "validate", "submit"}
    # The observation of the first command came back to the model as the tool's answer.
    tool_messages = [m for m in requests[1]["messages"] if m["role"] == "tool"]
    assert "wrote answer.txt with 5.0" in tool_messages[-1]["content"]


@pytest.mark.docker
@pytest.mark.slow
def test_async_vector_env_runs_episodes_in_parallel(
    docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    register_tasks()
    url = f"sqlite:///{tmp_path / 'v.db'}"
    envs = gym.vector.AsyncVectorEnv(
        [lambda: gym.make("rgym/tiny-mean-v1", backend="docker", store=url) for _ in range(2)],
        autoreset_mode=gym.vector.AutoresetMode.DISABLED,
        shared_memory=False,  # text observations cannot live in shared memory
    )
    try:
        obs, _ = envs.reset(seed=[1, 2])
        assert obs["steps_left"] == (20, 20)
        actions = (
            json.dumps({"tool": "write_file", "path": "answer.txt", "content": "10"}),
            json.dumps({"tool": "write_file", "path": "answer.txt", "content": "4"}),
        )
        envs.step(actions)
        obs, rewards, terminated, _truncated, _infos = envs.step((json.dumps({"tool": "submit"}),) * 2)
        assert list(terminated) == [True, True]
        assert rewards[0] == pytest.approx(1.0) and rewards[1] == pytest.approx(-0.2)
    finally:
        envs.close()
    with open_store(url) as s:
        episodes = [e for r in s.list_runs() for e in s.list_episodes(r.id)]
    assert sorted(e.status for e in episodes) == ["submitted", "submitted"]


ORACLE = """
from rgym_agents import BaseAgent


class Oracle(BaseAgent):
    \"\"\"Learns the public mean from one validate (|0 - mean| = mean), then answers it.\"\"\"

    def reset(self, task, *, seed):
        super().reset(task, seed=seed)
        self.plan = iter([
            {"tool": "write_file", "path": "answer.txt", "content": "0"},
            {"tool": "validate"},
        ])

    def act(self, observation):
        step = next(self.plan, None)
        if step is not None:
            return step
        if observation.get("score") is not None and observation["normalized_score"] is not None:
            if observation["normalized_score"] < 0.99:
                return {"tool": "write_file", "path": "answer.txt", "content": str(observation["score"])}
            return {"tool": "submit"}
        return {"tool": "validate"}
"""


@pytest.mark.docker
@pytest.mark.slow
def test_verify_passes_good_task_and_catches_a_leak(docker_client: Any, tmp_path: Path) -> None:
    import io
    import shutil

    out = io.StringIO()
    good = verify_task(
        find_task(str(FIXTURES / "tiny-mean")), backend="docker", console=Console(file=out, width=200)
    )
    assert good.ok, good.checks
    assert [c.name for c in good.checks] == [
        "1. baseline reproduces",
        "2. reference beats baseline",
        "3. eval/ and reference/ hidden",
        "4. grader rejects junk, honours the split",
        "5. exploits do not pay",
    ]
    checks = {c.name[:1]: c.detail for c in good.checks}
    assert "private 5 vs 5; public 4 vs 4" in checks["1"]
    assert "reference public 1 != private 0" in checks["4"]
    assert "read-eval: no valid submission (max 0)" in checks["5"]
    assert "far-guess: final -1.000 (max 0)" in checks["5"]
    assert "baseline: {score: 5, public_score: 4, ...}" in out.getvalue()

    leaky = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURES / "tiny-mean", leaky)
    (leaky / "eval" / "labels.csv").write_text("".join(f"{i},{i % 10}\n" for i in range(40)))
    shutil.copy(leaky / "eval" / "labels.csv", leaky / "workspace" / "notes.csv")  # the leak
    (leaky / "eval" / "grade.py").write_text(
        "print('{\"score\": 1.0}')\n"
    )  # accepts anything, ignores splits
    report = verify_task(find_task(str(leaky)), backend="docker", console=QUIET)
    by_name = {c.name[:1]: c for c in report.checks}
    assert not report.ok
    assert not by_name["3"].ok and "/workspace/notes.csv" in by_name["3"].detail
    assert not by_name["4"].ok and "accepted an empty submission" in by_name["4"].detail
    assert "the reference scores 1 on both splits" in by_name["4"].detail
    assert not by_name["1"].ok  # score 1.0 is not the declared 5.0


@pytest.mark.docker
@pytest.mark.slow
def test_verify_fails_an_exploit_that_pays_or_is_broken(docker_client: Any, tmp_path: Path) -> None:
    import shutil

    import yaml

    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURES / "tiny-mean", root)
    (root / "exploits" / "oracle.py").write_text(ORACLE)
    (root / "exploits" / "broken.py").write_text(
        "class Broken:\n    def act(self, obs):\n        raise KeyError('x')\n"
    )
    spec = yaml.safe_load((root / "task.yaml").read_text())
    spec["exploits"] = [
        # Decodes the public mean (9) through validate: public 1.333, and 9 is close to the private 10 (0.8).
        {
            "name": "public-oracle",
            "agent": "module:exploits/oracle.py:Oracle",
            "max_normalized": 0.5,
            "public_at_least": 0.9,
        },
        # Its positive control cannot hold: answering 0 never scores well on the public split.
        {
            "name": "no-control",
            "agent": "script:exploits/far_guess.jsonl",
            "max_normalized": 0.0,
            "public_at_least": 0.5,
        },
        {"name": "broken", "agent": "module:exploits/broken.py:Broken", "max_normalized": 0.0},
    ]
    (root / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    task = find_task(str(root))
    from gym_core.verify import check_exploits

    check = check_exploits(task, "docker", None, QUIET)
    assert not check.ok
    assert "public-oracle: final 0.800 (max 0.5), public 1.333 (control: at least 0.9)" in check.detail
    assert "no-control: final -1.000 (max 0), public none (control: at least 0.5)" in check.detail
    assert "broken: crashed (agent.act() raised KeyError: 'x')" in check.detail


@pytest.mark.docker
@pytest.mark.slow
def test_replay_execute_matches_and_report_formats(
    docker_client: Any, store: TraceStore, tmp_path: Path
) -> None:
    runner = Runner(store, console=QUIET, show_progress=False)
    run_id = runner.start(RunConfig(task="tiny-mean", agent="tuner", runs=2, seed=11, backend="docker"))
    runner.execute(run_id)
    episode = store.list_episodes(run_id)[0]
    replay = execute_replay(store, episode.id, console=QUIET)
    assert len(replay.steps) == episode.n_steps
    assert replay.diverged_steps == 0
    assert replay.score_difference == pytest.approx(0.0)
    # The report's numbers are the ones recomputed from the export.
    env = {
        **os.environ,
        "RGYM_STORE": f"sqlite:///{tmp_path / 'traces.db'}",
        "RGYM_TASKS_PATH": str(FIXTURES),
    }
    exported = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "export", run_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    records = [json.loads(line) for line in exported.splitlines()]
    (run_record,) = [r for r in records if r["type"] == "run"]
    episodes = [r for r in records if r["type"] == "episode"]
    as_json = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "report", run_id, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (report,) = json.loads(as_json)["runs"]
    assert report["run_id"] == run_id
    # Recomputed from the export alone, with the textbook formulas: n finished, c successes, K requested.
    threshold = run_record["config"]["scoring"]["success_threshold"]
    finished = [e for e in episodes if e["status"] in ("submitted", "truncated", "crashed")]
    finals = [e["final_normalized"] for e in finished if e["final_normalized"] is not None]
    n, big_k = len(finished), run_record["k"]
    c = sum(1 for f in finals if f >= threshold)
    assert (report["counts"]["n"], report["counts"]["c"], report["counts"]["k"]) == (n, c, big_k)
    assert n == big_k == 2 and finals
    metrics = report["metrics"]
    assert metrics["pass_at_k"] == pytest.approx(1 - math.comb(n - c, big_k) / math.comb(n, big_k))
    assert metrics["pass_hat_k"] == pytest.approx(math.comb(c, big_k) / math.comb(n, big_k))
    assert metrics["best_of_k"] == pytest.approx(max(finals))
    assert metrics["mean"] == pytest.approx(sum(finals) / len(finals))
    assert metrics["flicker"] == pytest.approx(metrics["pass_at_k"] - metrics["pass_hat_k"])
    # The in-process scoring of the store agrees with the CLI's report.
    direct = compute_metrics(load_run_data(store, run_id))
    assert (direct.pass_at_k, direct.pass_hat_k, direct.mean) == pytest.approx(
        (metrics["pass_at_k"], metrics["pass_hat_k"], metrics["mean"])
    )
    html = tmp_path / "r.html"
    done = subprocess.run(
        [sys.executable, "-m", "gym_core.cli.main", "report", run_id, "--format", "html", "--out", str(html)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = html.read_text()
    assert text.count("data:image/png;base64,") >= 3 and "http://" not in text.replace(
        "http://www.w3.org", ""
    )
