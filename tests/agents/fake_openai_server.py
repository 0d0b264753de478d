"""A real HTTP server that speaks the OpenAI chat completions API with scripted replies.

For tests of anything that talks to ``llm:MODEL``: it listens on 127.0.0.1 on an ephemeral port, in a
thread, answers ``POST /v1/chat/completions`` (non-streaming, with tool calls) from a script, and
records every request it got::

    with FakeOpenAIServer([reply(call("bash", command="ls")), reply(call("submit"))]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        ...
        assert server.requests[1]["messages"][-1]["tool_call_id"] == server.call_ids[0]

A script entry is a :class:`Reply`, or a function of the request body returning one (for a model
that reacts to what it is told). When the script runs out the server answers HTTP 500, so a test that
expected fewer requests fails loudly instead of hanging.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class ToolCall:
    """One function call the fake model makes; ``arguments`` is sent verbatim (so it may be broken JSON)."""

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted answer of the fake model."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: tuple[int, int] | None = None
    """(prompt_tokens, completion_tokens); default: prompt characters / 4 and 10."""
    status: int = 200
    error: str = "scripted error"
    """The error message when status is not 200."""
    delay_s: float = 0.0
    """Seconds to wait before answering (to test client timeouts)."""


Script = Reply | Callable[[dict[str, Any]], Reply]


def call(
    name: str, arguments: dict[str, Any] | str | None = None, /, *, id: str | None = None, **kwargs: Any
) -> ToolCall:
    """A tool call: ``call("bash", command="ls")``, or ``call("bash", '{"command": ')`` for raw arguments."""
    if isinstance(arguments, str):
        return ToolCall(name, arguments, id)
    return ToolCall(name, json.dumps({**(arguments or {}), **kwargs}), id)


def reply(*calls: ToolCall, content: str | None = None, usage: tuple[int, int] | None = None) -> Reply:
    """An assistant message with these tool calls (and optional text)."""
    return Reply(content=content, tool_calls=tuple(calls), usage=usage)


def text(content: str, *, usage: tuple[int, int] | None = None) -> Reply:
    """An assistant message with text and no tool call."""
    return Reply(content=content, usage=usage)


def http_error(status: int = 500, message: str = "scripted server error") -> Reply:
    """An HTTP error answer."""
    return Reply(status=status, error=message)


def solve_with(*commands: str, validate: bool = True) -> list[Reply]:
    """A script for an end-to-end test: run each bash command, validate, then submit."""
    script = [reply(call("bash", command=c)) for c in commands]
    if validate:
        script.append(reply(call("validate")))
    script.append(reply(call("submit")))
    return script


@dataclass
class _State:
    script: list[Script] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count[int] = field(default_factory=itertools.count)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
    disable_nagle_algorithm = True  # headers and body go out separately; don't wait for delayed ACKs
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read server.requests instead."""

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != CHAT_PATH:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        state = self.server.state
        with state.lock:
            state.requests.append(body)
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            entry = state.script.pop(0) if state.script else None
        if entry is None:
            scripted = http_error(500, "fake server: no scripted reply left")
        elif isinstance(entry, Reply):
            scripted = entry
        else:
            scripted = entry(body)
        if scripted.delay_s:
            state.stopping.wait(scripted.delay_s)
        if scripted.status != 200:
            # retry-after-ms keeps the client's retries fast in tests.
            self._send(
                scripted.status,
                {"error": {"message": scripted.error, "type": "server_error", "code": None}},
                {"retry-after-ms": "1"},
            )
            return
        self._send(200, self._completion(body, scripted, state))

    @staticmethod
    def _completion(body: dict[str, Any], scripted: Reply, state: _State) -> dict[str, Any]:
        n = next(state.counter)
        tool_calls = []
        for i, tc in enumerate(scripted.tool_calls):
            call_id = tc.id or f"call_{n}_{i}"
            with state.lock:
                state.call_ids.append(call_id)
            tool_calls.append(
                {"id": call_id, "type": "function", "function": {"name": tc.name, "arguments": tc.arguments}}
            )
        message: dict[str, Any] = {"role": "assistant", "content": scripted.content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        if scripted.usage is not None:
            prompt, completion = scripted.usage
        else:
            prompt, completion = len(json.dumps(body.get("messages", []))) // 4, 10
        return {
            "id": f"chatcmpl-fake-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeOpenAIServer:
    """A scripted OpenAI-compatible endpoint on 127.0.0.1; use it as a context manager."""

    def __init__(self, script: Iterable[Script] = ()) -> None:
        self._state = _State(script=list(script))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Listen on an ephemeral port and serve in a daemon thread."""
        self._server = _Server(self._state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        if self._server is None:
            raise RuntimeError("FakeOpenAIServer is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL should be set to."""
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *script: Script) -> None:
        """Append replies to the script."""
        with self._state.lock:
            self._state.script.extend(script)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every chat completion request body received, in order."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def headers(self) -> list[dict[str, str]]:
        """The (lower-cased) headers of each request."""
        with self._state.lock:
            return list(self._state.headers)

    @property
    def call_ids(self) -> list[str]:
        """Every tool_call_id the fake model has issued, in order."""
        with self._state.lock:
            return list(self._state.call_ids)

    @property
    def remaining(self) -> int:
        """Scripted replies not yet used."""
        with self._state.lock:
            return len(self._state.script)
