"""llm:MODEL against a real HTTP server speaking the chat completions API with scripted replies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fake_env import FakeEnv, make_task, run_episode
from fake_openai_server import FakeOpenAIServer, call, http_error, reply, solve_with, text

from gym_core.actions import TOOLS
from gym_core.errors import AgentError
from rgym_agents.llm import NUDGE, TRUNCATED, LLMAgent, context_chars, price_for


def obs(output: str = "ok", **extra: Any) -> dict[str, Any]:
    base = {
        "output": output,
        "exit_code": 0,
        "time_left_s": 100.0,
        "steps_left": 10,
        "evals_left": 3,
        "score": None,
    }
    return {**base, "task": "", **extra}


def started(model: str = "fake-model", **kwargs: Any) -> LLMAgent:
    agent = LLMAgent(model, **kwargs)
    agent.reset(make_task(), seed=11)
    return agent


def assert_pairing(messages: list[dict[str, Any]]) -> None:
    """Every tool message answers a tool call of the assistant message before it."""
    open_ids: set[str] = set()
    for m in messages:
        if m["role"] == "assistant":
            open_ids = {c["id"] for c in m.get("tool_calls") or ()}
        elif m["role"] == "tool":
            assert m["tool_call_id"] in open_ids, f"orphaned tool message {m['tool_call_id']}"


def test_a_scripted_conversation_becomes_the_right_actions(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(
        reply(call("read_file", path="README.md"), content="Let me look."),
        reply(call("write_file", path="k.json", content='{"lr": 0.1}')),
        *solve_with("python baseline.py"),
    )
    env = run_episode(LLMAgent("fake-model"), FakeEnv(make_task(), lambda c: 0.8), seed=11)
    assert env.actions == [
        {"tool": "read_file", "path": "README.md"},
        {"tool": "write_file", "path": "k.json", "content": '{"lr": 0.1}'},
        {"tool": "bash", "command": "python baseline.py"},
        {"tool": "validate"},
        {"tool": "submit"},
    ]
    assert env.final_score == 0.8

    requests = fake_openai.requests
    assert len(requests) == 5
    first = requests[0]
    assert first["model"] == "fake-model"
    assert first["seed"] == 11
    assert first["temperature"] == 0
    names = [t["function"]["name"] for t in first["tools"]]
    assert names == ["bash", "write_file", "read_file", "validate", "submit"]
    bash = first["tools"][0]["function"]["parameters"]
    assert bash["required"] == ["command"] and set(bash["properties"]) == {"command", "timeout_s"}
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    system = first["messages"][0]["content"]
    assert all(f"- {tool.name}: {tool.description}" in system for tool in TOOLS.values()), system
    assert "predictions.csv" in first["messages"][0]["content"]
    assert "Make predictions.csv better." in first["messages"][1]["content"]
    assert fake_openai.headers[0]["authorization"] == "Bearer test-key"

    # Each later request answers the previous tool call with the environment's observation.
    for i, request in enumerate(requests[1:]):
        last = request["messages"][-1]
        assert last["role"] == "tool"
        assert last["tool_call_id"] == fake_openai.call_ids[i]
        assert_pairing(request["messages"])
    validated = requests[4]["messages"][-1]["content"]
    assert "score=0.8" in validated and "evals_left=19" in validated


def test_several_tool_calls_in_one_reply_are_played_one_per_step(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(
        reply(
            call("bash", command="ls", id="a"), call("bash", command="pwd", id="b"), call("validate", id="c")
        ),
        reply(call("submit")),
    )
    agent = started()
    assert agent.act(obs(task="readme")) == {"tool": "bash", "command": "ls"}
    assert agent.act(obs("file.txt")) == {"tool": "bash", "command": "pwd"}
    assert agent.step_usage() == {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None}
    assert agent.act(obs("/workspace")) == {"tool": "validate"}
    assert len(fake_openai.requests) == 1  # the queue was served without asking again
    assert agent.act(obs("graded", score=0.3)) == {"tool": "submit"}
    second = fake_openai.requests[1]["messages"]
    tools = [(m["tool_call_id"], m["content"].split("\n")[0]) for m in second if m["role"] == "tool"]
    assert tools == [("a", "file.txt"), ("b", "/workspace"), ("c", "graded")]
    agent.close()


def test_a_reply_without_tool_calls_gets_a_nudge(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(
        text("I think we should run the baseline."), reply(call("bash", command="python baseline.py"))
    )
    agent = started()
    assert agent.act(obs(task="readme")) == {"tool": "bash", "command": "python baseline.py"}
    retry = fake_openai.requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "I think we should run the baseline."}
    assert retry[-1] == {"role": "user", "content": NUDGE}
    agent.close()


def test_a_model_that_never_calls_a_tool_ends_in_submit(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(text("hmm"), text("hmm"), text("hmm"))
    agent = started(max_nudges=2)
    assert agent.act(obs(task="readme")) == {"tool": "submit"}
    assert len(fake_openai.requests) == 3
    agent.close()


def test_malformed_arguments_are_sent_back_as_an_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(
        reply(call("bash", '{"command": "ls"', id="bad")),
        reply(call("bash", {"cmd": "ls"}, id="typo"), call("shell", command="ls", id="unknown")),
        reply(call("bash", command="ls", id="good")),
    )
    agent = started()
    assert agent.act(obs(task="readme")) == {"tool": "bash", "command": "ls"}
    assert len(fake_openai.requests) == 3
    second = fake_openai.requests[1]["messages"]
    assert second[-1]["tool_call_id"] == "bad"
    assert "not valid JSON" in second[-1]["content"]
    third = fake_openai.requests[2]["messages"]
    errors = {m["tool_call_id"]: m["content"] for m in third if m["role"] == "tool"}
    assert "bash: unknown field(s) 'cmd' (it takes: command, timeout_s)" in errors["typo"]
    assert "unknown tool 'shell'" in errors["unknown"]
    assert_pairing(third)
    agent.close()


def test_old_tool_outputs_are_truncated_to_fit_the_limit(fake_openai: FakeOpenAIServer) -> None:
    limit = 6000
    steps = 12
    fake_openai.add(*[reply(call("bash", command=f"step {i}", id=f"s{i}")) for i in range(steps)])
    agent = started(max_context_chars=limit)
    action = agent.act(obs(task="readme"))
    for i in range(1, steps):
        assert action == {"tool": "bash", "command": f"step {i - 1}"}
        action = agent.act(obs(f"output of step {i - 1}\n" + "x" * 1400))
    for request in fake_openai.requests:
        assert context_chars(request["messages"]) <= limit
        assert_pairing(request["messages"])
        assert request["messages"][0]["role"] == "system"
        assert "# Task: Tiny task\n\nreadme" in request["messages"][1]["content"]
    last = fake_openai.requests[-1]["messages"]
    assert last[-1]["content"].startswith(f"output of step {steps - 2}")  # the newest output is whole
    assert any(m["role"] == "tool" and m["content"] == TRUNCATED for m in last)
    agent.close()


def test_a_huge_write_is_cut_from_the_context_but_played_whole(fake_openai: FakeOpenAIServer) -> None:
    big = "y" * 20_000
    fake_openai.add(
        reply(call("write_file", path="big.txt", content=big)),
        reply(call("bash", command="wc -c big.txt")),
        reply(call("submit")),
    )
    agent = started(max_context_chars=5000)
    assert agent.act(obs(task="readme")) == {"tool": "write_file", "path": "big.txt", "content": big}
    assert agent.act(obs("written")) == {"tool": "bash", "command": "wc -c big.txt"}
    assert agent.act(obs("20000 big.txt")) == {"tool": "submit"}
    for request in fake_openai.requests:
        assert context_chars(request["messages"]) <= 5000
        assert_pairing(request["messages"])
    agent.close()


def test_usage_and_cost_are_recorded_per_act(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(text("thinking", usage=(1000, 50)), reply(call("validate"), usage=(2000, 100)))
    agent = started("gpt-4o-mini")
    agent.act(obs(task="readme"))
    usage = agent.step_usage()
    assert usage["prompt_tokens"] == 3000 and usage["completion_tokens"] == 150
    assert usage["cost_usd"] == pytest.approx((3000 * 0.15 + 150 * 0.60) / 1e6)
    assert agent.total_usage == usage
    agent.close()


def test_price_table_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RGYM_LLM_PRICE_PER_MTOK", raising=False)
    assert price_for("gpt-4o") is not None and price_for("gpt-4o").input == 2.5  # type: ignore[union-attr]
    assert price_for("gpt-4o-2024-08-06") == price_for("gpt-4o")
    assert price_for("openai/gpt-4o-mini") == price_for("gpt-4o-mini")
    assert price_for("o3-pro") is None
    assert price_for("my-local-llama") is None
    monkeypatch.setenv("RGYM_LLM_PRICE_PER_MTOK", "1,2")
    price = price_for("my-local-llama")
    assert price is not None and price.cost(1_000_000, 500_000) == pytest.approx(2.0)
    monkeypatch.setenv("RGYM_LLM_PRICE_PER_MTOK", "cheap")
    with pytest.raises(AgentError, match="RGYM_LLM_PRICE_PER_MTOK"):
        price_for("gpt-4o")


def test_unknown_model_cost_is_none(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(reply(call("submit"), usage=(10, 2)))
    agent = started("my-local-llama")
    agent.act(obs(task="readme"))
    assert agent.step_usage() == {"prompt_tokens": 10, "completion_tokens": 2, "cost_usd": None}
    agent.close()


def test_temperature_from_the_environment(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RGYM_LLM_TEMPERATURE", "0.7")
    fake_openai.add(reply(call("submit")))
    agent = LLMAgent("fake-model")
    agent.reset(make_task(), seed=None)
    agent.act(obs(task="readme"))
    assert fake_openai.requests[0]["temperature"] == 0.7
    assert "seed" not in fake_openai.requests[0]
    agent.close()


def test_server_errors_after_retries_raise_agent_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(http_error(503), http_error(502), http_error(500, "model overloaded"))
    agent = started()
    with pytest.raises(AgentError, match="HTTP 500 after retries: model overloaded"):
        agent.act(obs(task="readme"))
    assert len(fake_openai.requests) == 3  # one try and two retries
    agent.close()


def test_a_refused_key_is_one_clear_line(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(http_error(401, "Incorrect API key provided"))
    agent = started()
    with pytest.raises(AgentError, match=r"HTTP 401: Incorrect API key provided$"):
        agent.act(obs(task="readme"))
    assert len(fake_openai.requests) == 1  # a 401 is not retried
    agent.close()


def test_an_unreachable_endpoint_raises_agent_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url  # a port that was free a moment ago and is closed now
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    agent = LLMAgent("fake-model", max_retries=0)
    agent.reset(make_task(), seed=0)
    with pytest.raises(AgentError, match="cannot connect"):
        agent.act(obs(task="readme"))
    agent.close()


def test_a_slow_endpoint_times_out_as_agent_error(fake_openai: FakeOpenAIServer) -> None:
    from fake_openai_server import Reply

    fake_openai.add(Reply(delay_s=5))
    agent = started(timeout_s=0.3, max_retries=0)
    with pytest.raises(AgentError, match=r"no reply within 0\.3s"):
        agent.act(obs(task="readme"))
    agent.close()


def test_a_dynamic_script_can_react_to_the_request(fake_openai: FakeOpenAIServer) -> None:
    def model(body: dict[str, Any]) -> Any:
        last = body["messages"][-1]
        if last["role"] == "tool" and "score=" in last["content"]:
            return reply(call("submit"))
        if last["role"] == "tool":
            return reply(call("validate"))
        return reply(call("bash", command="python baseline.py"))

    fake_openai.add(model, model, model)
    env = run_episode(LLMAgent("fake-model"), FakeEnv(make_task(), lambda c: 0.4))
    assert [a["tool"] for a in env.actions] == ["bash", "validate", "submit"]
    assert json.loads(json.dumps(fake_openai.requests))  # the requests are plain JSON
