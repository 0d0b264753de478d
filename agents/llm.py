"""``llm:MODEL``: a ReAct-style loop over any OpenAI-compatible chat completions endpoint.

The five environment actions are offered to the model as function tools. Each act() returns one tool
call as an action; the next observation goes back to the model as the answer to that ``tool_call_id``.

Configuration (environment variables):
    OPENAI_BASE_URL: the endpoint, e.g. ``http://127.0.0.1:8000/v1`` (required).
    OPENAI_API_KEY: its key (default ``none``, fine for local servers).
    RGYM_LLM_TEMPERATURE: sampling temperature (default 0).
    RGYM_LLM_TIMEOUT_S: seconds to wait for one reply (default 120).
    RGYM_LLM_CONTEXT_CHARS: most characters sent per request; old tool outputs are cut first (default 120000).
    RGYM_LLM_PRICE_PER_MTOK: ``in,out`` USD per million tokens, overriding the built-in price table.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

import openai

from gym_core.actions import SUBMIT, action_problem, openai_tools, tool_names_text, tools_text
from gym_core.errors import AgentError
from rgym_agents.base import Action, BaseAgent, Observation, TaskInfo

BASE_URL_ENV = "OPENAI_BASE_URL"
API_KEY_ENV = "OPENAI_API_KEY"
TEMPERATURE_ENV = "RGYM_LLM_TEMPERATURE"
TIMEOUT_ENV = "RGYM_LLM_TIMEOUT_S"
CONTEXT_ENV = "RGYM_LLM_CONTEXT_CHARS"
PRICE_ENV = "RGYM_LLM_PRICE_PER_MTOK"

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_CONTEXT_CHARS = 120_000
DEFAULT_OBSERVATION_CHARS = 12_000
DEFAULT_MAX_NUDGES = 2
MAX_RETRIES = 2
TRUNCATED = "[... truncated ...]"

#: List prices in USD per million tokens (input, output) when this was written; override with
#: RGYM_LLM_PRICE_PER_MTOK. A model not listed here gets cost None rather than a guess.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}
# A dated snapshot ("gpt-4o-2024-08-06") costs what its family costs; "o3-pro" is not "o3".
_SNAPSHOT_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{4})?")

NUDGE = (
    f"You did not call a tool. Reply with exactly one tool call: {tool_names_text()}. "
    "When your solution is ready, call validate to check it, then submit."
)

SYSTEM_PROMPT = """\
You are a machine-learning research engineer working alone in a Linux sandbox.
Your goal: improve on the baseline of the task below, as measured by its grader.

How the environment works:
- Your files live in /workspace (the current directory). Starter code and public data are there.
- You act only through these tools (paths are relative to /workspace):
{tools}
- There is no network access. The hidden test data and the grader are not in the sandbox.
- The grader reads these files from /workspace: {submission}.
- The metric is {metric} and it should be {direction}d. The baseline (`{baseline_command}`) scores {baseline_score}.

Budgets: {budget}.
Every tool result ends with a status line showing the time, steps and evaluations you have left.
Work in small steps. Before you run out of any budget, call validate, and then call submit.
If you run out, your workspace is graded as it is."""


@dataclass(frozen=True)
class Price:
    """USD per million tokens, input and output."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Cost of one request."""
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


def price_for(model: str) -> Price | None:
    """The price of ``model``: RGYM_LLM_PRICE_PER_MTOK when set, else the table; None when unknown.

    Raises:
        AgentError: RGYM_LLM_PRICE_PER_MTOK is not two numbers ``in,out``.
    """
    override = os.environ.get(PRICE_ENV, "").strip()
    if override:
        try:
            prompt, completion = (float(part) for part in override.split(","))
        except ValueError:
            raise AgentError(
                f"{PRICE_ENV}={override!r} is not two numbers",
                hint="use e.g. 2.5,10 (USD per million tokens in,out)",
            ) from None
        return Price(prompt, completion)
    bare = model.rsplit("/", 1)[-1].lower()  # "openai/gpt-4o" on routers is gpt-4o
    for family in sorted(PRICES_PER_MTOK, key=len, reverse=True):
        if bare.startswith(family) and _SNAPSHOT_SUFFIX.fullmatch(bare[len(family) :]):
            return Price(*PRICES_PER_MTOK[family])
    return None


def _env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise AgentError(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:
        raise AgentError(f"{name}={raw!r} must be >= {minimum:g}")
    return value


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, keeping its head and its tail around a marker."""
    if len(text) <= limit:
        return text
    room = limit - len(TRUNCATED) - 2
    if room <= 0:
        return TRUNCATED[:limit]
    head = room * 2 // 3  # the head usually says what ran, the tail how it ended
    tail = room - head
    return f"{text[:head]}\n{TRUNCATED}\n{text[len(text) - tail :] if tail else ''}"


def format_observation(obs: Observation, limit: int = DEFAULT_OBSERVATION_CHARS) -> str:
    """An observation as the model reads it: the output, then one status line."""
    output = obs.get("output")
    text = clip(output, limit) if isinstance(output, str) and output else "(no output)"
    status = [f"exit_code={obs.get('exit_code')}"]
    if obs.get("score") is not None:
        status.append(f"score={obs['score']}")
        if obs.get("normalized_score") is not None:
            status.append(f"normalized_score={obs['normalized_score']}")
    for key in ("time_left_s", "steps_left", "evals_left"):
        value = obs.get(key)
        if isinstance(value, float):
            value = round(value)
        if value is not None:
            status.append(f"{key}={value}")
    return f"{text}\n[{', '.join(status)}]"


def message_chars(message: dict[str, Any]) -> int:
    """Characters a message adds to a request: its content and its tool calls."""
    size = len(message.get("content") or "")
    for call in message.get("tool_calls") or ():
        size += len(call["function"]["name"]) + len(call["function"]["arguments"])
    return size


def context_chars(messages: list[dict[str, Any]]) -> int:
    """Characters a request's messages hold (what RGYM_LLM_CONTEXT_CHARS bounds)."""
    return sum(message_chars(m) for m in messages)


def _shrink_arguments(arguments: str) -> str:
    """Tool-call arguments with long string values (file contents) replaced by the marker."""
    try:
        args = json.loads(arguments)
    except json.JSONDecodeError:
        return "{}"
    if not isinstance(args, dict):
        return "{}"
    return json.dumps({k: TRUNCATED if isinstance(v, str) and len(v) > 200 else v for k, v in args.items()})


def _shrink_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of tool calls with their long argument values replaced by the marker."""
    return [
        {**c, "function": {**c["function"], "arguments": _shrink_arguments(c["function"]["arguments"])}}
        for c in calls
    ]


@dataclass
class _PendingCall:
    """One tool call of the model: an action for the environment, or an error to answer it with."""

    call_id: str
    action: Action | None
    error: str | None = None


class LLMAgent(BaseAgent):
    """Asks a chat model for one tool call per step, within a bounded context."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        timeout_s: float | None = None,
        max_context_chars: int | None = None,
        max_observation_chars: int = DEFAULT_OBSERVATION_CHARS,
        max_nudges: int = DEFAULT_MAX_NUDGES,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        """Build the client; arguments left None come from the environment (see the module docstring).

        Raises:
            AgentError: OPENAI_BASE_URL is not set, or a RGYM_LLM_* variable is malformed.
        """
        super().__init__()
        if not model.strip():
            raise AgentError("llm agent needs a model name", hint="use e.g. --agent llm:gpt-4o-mini")
        self.model = model
        self.name = f"llm:{model}"
        self.base_url = base_url or os.environ.get(BASE_URL_ENV, "").strip()
        if not self.base_url:
            raise AgentError(
                f"llm agent needs the environment variable {BASE_URL_ENV}",
                hint=f"export {BASE_URL_ENV}=http://HOST:PORT/v1 (any OpenAI-compatible endpoint)",
            )
        self.temperature = temperature if temperature is not None else _env_float(TEMPERATURE_ENV, 0.0)
        self.timeout_s = (
            timeout_s if timeout_s is not None else _env_float(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, minimum=1)
        )
        self.max_context_chars = max_context_chars or int(
            _env_float(CONTEXT_ENV, DEFAULT_CONTEXT_CHARS, minimum=1000)
        )
        self.max_observation_chars = min(max_observation_chars, self.max_context_chars // 4)
        self.max_nudges = max_nudges
        self.price = price_for(model)
        self.tools = openai_tools()
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or os.environ.get(API_KEY_ENV) or "none",
            timeout=self.timeout_s,
            max_retries=max_retries,
        )
        self.messages: list[dict[str, Any]] = []
        """The whole conversation so far (old tool outputs may have been truncated in place)."""
        self._queue: deque[_PendingCall] = deque()
        self._awaiting: str | None = None  # the tool_call_id the next observation answers
        self._usage: dict[str, Any] = {}
        self._call_count = 0
        self.total_usage: dict[str, Any] = self._zero_usage()

    def _zero_usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0 if self.price is not None else None,
        }

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        """Forget the previous conversation."""
        super().reset(task, seed=seed)
        self.messages = []
        self._queue.clear()
        self._awaiting = None
        self._usage = {}
        self.total_usage = self._zero_usage()

    def step_usage(self) -> dict[str, Any]:
        """Tokens and cost of the last act() (zero when it replayed a queued tool call)."""
        return dict(self._usage)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    # --- the loop ----------------------------------------------------------------------------------

    def act(self, observation: Observation) -> Action | str:
        """Answer the previous tool call with ``observation``; return the model's next tool call.

        Raises:
            AgentError: the endpoint cannot be reached or keeps failing after retries.
        """
        task = self.require_task()
        self._usage = self._zero_usage()
        if not self.messages:
            self._start(task, observation)
        elif self._awaiting is not None:
            self._append_tool_result(
                self._awaiting, format_observation(observation, self.max_observation_chars)
            )
            self._awaiting = None
        else:
            # The previous action was not a tool call (the fallback submit): show the model what happened.
            self.messages.append(
                {"role": "user", "content": format_observation(observation, self.max_observation_chars)}
            )

        model_calls_left = self.max_nudges + 1
        while True:
            action = self._next_queued()
            if action is not None:
                return action
            if model_calls_left == 0:
                return dict(SUBMIT)  # the model keeps not calling tools: end cleanly rather than loop
            model_calls_left -= 1
            self._take_reply(self._complete())

    def _start(self, task: TaskInfo, first: Observation) -> None:
        budget = ", ".join(f"{k}={v}" for k, v in task.budget.items()) or "see the status lines"
        system = SYSTEM_PROMPT.format(
            tools=tools_text(),
            submission=", ".join(task.submission) or "(see the task)",
            metric=task.metric_name,
            direction=task.direction.removesuffix("e"),
            baseline_command=task.baseline_command,
            baseline_score=task.baseline_score,
            budget=budget,
        )
        readme = first.get("task")
        description = readme if isinstance(readme, str) and readme.strip() else task.description
        status = format_observation({**first, "output": "", "exit_code": None}).rsplit("\n", 1)[-1]
        self.messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": f"# Task: {task.title}\n\n{description}\n\nStatus: {status}"},
        ]

    def _append_tool_result(self, call_id: str, content: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})

    def _next_queued(self) -> Action | None:
        while self._queue:
            pending = self._queue.popleft()
            if pending.action is not None:
                self._awaiting = pending.call_id
                return dict(pending.action)
            self._append_tool_result(
                pending.call_id, f"Error: {pending.error}. Nothing was run; call the tool again."
            )
        return None

    def _complete(self) -> Any:
        """One chat completion request; usage is added to this act()'s usage."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": self._fit_context(),
            "tools": self.tools,
            "temperature": self.temperature,
        }
        if self.seed is not None:
            kwargs["seed"] = self.seed
        where = f"llm {self.model} at {self.base_url}"
        try:
            response = self._client.chat.completions.create(**cast(Any, kwargs))
        except openai.APIStatusError as exc:
            # openai prefixes "Error code: 500 - " to the server's message; the status is said already.
            detail = re.sub(r"^Error code: \d+ - ", "", " ".join(str(exc.message).split()))[:200]
            retried = " after retries" if exc.status_code >= 500 or exc.status_code in (408, 409, 429) else ""
            raise AgentError(f"{where}: HTTP {exc.status_code}{retried}: {detail}") from exc
        except openai.APITimeoutError as exc:
            raise AgentError(
                f"{where}: no reply within {self.timeout_s:g}s (after retries)", hint=f"raise {TIMEOUT_ENV}"
            ) from exc
        except openai.APIConnectionError as exc:
            raise AgentError(f"{where}: cannot connect: {exc}", hint=f"check {BASE_URL_ENV}") from exc
        except openai.OpenAIError as exc:
            raise AgentError(f"{where}: {type(exc).__name__}: {exc}") from exc
        self._record_usage(getattr(response, "usage", None))
        choices = getattr(response, "choices", None)
        if not choices:
            raise AgentError(f"{where}: the reply has no choices")
        return choices[0].message

    def _record_usage(self, usage: Any) -> None:
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        for bucket in (self._usage, self.total_usage):
            bucket["prompt_tokens"] += prompt
            bucket["completion_tokens"] += completion
            if self.price is not None:
                bucket["cost_usd"] += self.price.cost(prompt, completion)

    def _take_reply(self, message: Any) -> None:
        """Append the assistant's reply; queue its tool calls, or nudge it when it made none."""
        content = getattr(message, "content", None)
        calls = list(getattr(message, "tool_calls", None) or [])
        assistant: dict[str, Any] = {
            "role": "assistant",
            "content": content if isinstance(content, str) else None,
        }
        pending: list[_PendingCall] = []
        wire_calls: list[dict[str, Any]] = []
        for call in calls:
            self._call_count += 1
            call_id = getattr(call, "id", None) or f"call_rgym_{self._call_count}"
            function = getattr(call, "function", None)
            name = str(getattr(function, "name", "") or "")
            arguments = getattr(function, "arguments", None)
            arguments = arguments if isinstance(arguments, str) else ""
            wire_calls.append(
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            )
            pending.append(self._parse_call(call_id, name, arguments))
        if wire_calls:
            assistant["tool_calls"] = wire_calls
        self.messages.append(assistant)
        if not pending:
            self.messages.append({"role": "user", "content": NUDGE})
        self._queue.extend(pending)

    @staticmethod
    def _parse_call(call_id: str, name: str, arguments: str) -> _PendingCall:
        try:
            args = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return _PendingCall(
                call_id, None, f"the arguments are not valid JSON ({exc.msg} at column {exc.colno})"
            )
        if not isinstance(args, dict):
            return _PendingCall(call_id, None, "the arguments must be a JSON object")
        action: Action = {**args, "tool": name}
        problem = action_problem(action)
        if problem is not None:
            return _PendingCall(call_id, None, f"invalid call: {problem}")
        return _PendingCall(call_id, action)

    # --- context -----------------------------------------------------------------------------------

    def _fit_context(self) -> list[dict[str, Any]]:
        """The messages to send, within max_context_chars.

        Old tool outputs go first, then old file contents and reasoning, then whole old exchanges
        (an assistant message always leaves together with its tool results, so no tool_call_id is ever
        orphaned). The system prompt, the task and the latest exchange are cut only as a last resort.
        """
        limit = self.max_context_chars
        messages = self.messages
        if context_chars(messages) <= limit:
            return list(messages)
        last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
        head = 2  # system prompt and task

        for i in range(head, last):  # 1. old tool outputs and notes
            if messages[i]["role"] in ("tool", "user") and len(messages[i]["content"] or "") > len(TRUNCATED):
                messages[i] = {**messages[i], "content": TRUNCATED}
                if context_chars(messages) <= limit:
                    return list(messages)
        for i in range(head, last):  # 2. old reasoning and file contents sent by the model
            m = messages[i]
            if m["role"] != "assistant":
                continue
            shrunk = dict(m)
            if m.get("content") and len(m["content"]) > len(TRUNCATED):
                shrunk["content"] = TRUNCATED
            if m.get("tool_calls"):
                shrunk["tool_calls"] = _shrink_calls(m["tool_calls"])
            messages[i] = shrunk
            if context_chars(messages) <= limit:
                return list(messages)
        while context_chars(messages) > limit:  # 3. whole old exchanges, oldest first
            start = next((i for i in range(head, len(messages)) if messages[i]["role"] == "assistant"), None)
            if start is None:
                break
            end = next(
                (i for i in range(start + 1, len(messages)) if messages[i]["role"] == "assistant"), None
            )
            if end is None:
                break  # that is the latest exchange: keep it
            del messages[start:end]
        excess = context_chars(messages) - limit
        if excess <= 0:
            return list(messages)
        # 4. Last resort, on the request only: clip the longest contents until it fits.
        request = [dict(m) for m in messages]
        for m in sorted(request, key=message_chars, reverse=True):
            if excess <= 0:
                break
            before = message_chars(m)
            if m.get("tool_calls"):
                m["tool_calls"] = _shrink_calls(m["tool_calls"])
            content = m.get("content") or ""
            if content:
                keep = max(len(content) - excess, min(len(content), 2 * len(TRUNCATED)))
                m["content"] = clip(content, keep)
            excess -= before - message_chars(m)
        return request
