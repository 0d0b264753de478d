"""The child side of ``--agent-isolation process``: one agent, driven over a pipe by the runner.

Started by :mod:`gym_core.runner.agent_process` as ``python -I -m gym_core.runner.agent_worker IN OUT``
inside a sandbox of its own (its own uid, pid namespace and filesystem view). It reads requests from fd
``IN`` and writes one reply per request to fd ``OUT``; each message is a 4-byte big-endian length and a
JSON object. Requests::

    {"op": "build", "spec": "module:/agent/x.py:Cls", "path": ["/agent"]}   -> {"ok": {"name", "tolerant"}}
    {"op": "reset", "task": {...TaskInfo...}, "seed": 3}                      -> {"ok": null}
    {"op": "act", "obs": {...}}                  -> {"ok": {"action": ..., "usage": {...}}}
                                                    or {"ok": {"not_action": {"repr", "type"}, ...}}
    {"op": "close"}                                                           -> {"ok": null}, then exit

An exception of the agent's is sent back as ``{"error": {"type", "message", "traceback"}}``, its own frames
only. This module imports nothing of rgym's environment, store or grader: only the agent protocol.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import traceback
from typing import Any

#: The largest message either side accepts (an action may carry a file's content).
MAX_MESSAGE = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")


def read_message(fd: int) -> dict[str, Any] | None:
    """The next message on ``fd``, or None at end of file."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes is larger than the {MAX_MESSAGE} allowed")
    body = _read_exactly(fd, size)
    if body is None:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def encode_message(message: dict[str, Any]) -> bytes:
    """``message`` framed for the pipe (numpy values become plain numbers and lists)."""
    body = json.dumps(message, default=_plain).encode()
    if len(body) > MAX_MESSAGE:
        raise ValueError(f"a message of {len(body)} bytes is larger than the {MAX_MESSAGE} allowed")
    return _HEADER.pack(len(body)) + body


def _plain(value: Any) -> Any:
    for attr in ("tolist", "item"):  # numpy arrays and scalars
        method = getattr(value, attr, None)
        if callable(method):
            return method()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write(fd: int, message: dict[str, Any]) -> None:
    data = encode_message(message)
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _error(exc: BaseException) -> dict[str, Any]:
    """The agent's exception, with its own frames first and rgym's after (as ``attempt.agent_traceback``)."""
    import gym_core
    from rgym_agents import loader

    rgym_dir = os.path.dirname(os.path.abspath(gym_core.__file__))
    glue = {os.path.abspath(loader.__file__)}

    def is_rgym(filename: str) -> bool:
        path = os.path.abspath(filename) if filename and not filename.startswith("<") else filename
        return path.startswith(rgym_dir) or path in glue

    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not is_rgym(f.filename)]
    plumbing = [f for f in frames if is_rgym(f.filename)]
    lines = ["".join(traceback.format_exception_only(type(exc), exc)).rstrip()]
    for title, part in (("The agent's frames (innermost last):", own), ("rgym's frames:", plumbing)):
        if part:
            lines.append(title)
            lines.extend(line.rstrip("\n") for line in traceback.StackSummary.from_list(part).format())
    return {
        "error": {
            "type": type(exc).__name__,
            "message": (str(exc).splitlines() or [""])[0],
            "traceback": "\n".join(lines),
        }
    }


def serve(in_fd: int, out_fd: int) -> int:
    """Answer the runner's requests until it says close or goes away."""
    from rgym_agents.base import TaskInfo
    from rgym_agents.loader import agent_factory

    agent: Any = None
    while True:
        request = read_message(in_fd)
        if request is None:
            return 0  # the runner went away: so does the agent
        op = request.get("op")
        try:
            if op == "build":
                for entry in reversed(request.get("path") or []):
                    sys.path.insert(0, str(entry))
                agent = agent_factory(str(request["spec"]))()
                reply: Any = {
                    "name": str(getattr(agent, "name", "") or ""),
                    "tolerant": bool(getattr(agent, "tolerant_actions", False)),
                }
            elif op == "reset":
                task = dict(request["task"])
                task["submission"] = tuple(task.get("submission") or ())
                agent.reset(TaskInfo(**task), seed=request.get("seed"))
                reply = None
            elif op == "act":
                action = agent.act(request["obs"])
                reply = {"usage": _usage(agent)}
                if isinstance(action, (dict, str, bytes)):
                    reply["action"] = action
                elif getattr(agent, "tolerant_actions", False):
                    reply["action"] = repr(action)  # the environment answers it as a malformed action
                else:
                    reply["not_action"] = {"repr": repr(action), "type": type(action).__name__}
            elif op == "close":
                if agent is not None:
                    agent.close()
                _write(out_fd, {"ok": None})
                return 0
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as exc:  # the agent's own failure: the runner records it against the agent
            _write(out_fd, _error(exc))
            continue
        try:
            _write(out_fd, {"ok": reply})
        except (TypeError, ValueError) as exc:  # e.g. an action dict holding an object
            _write(out_fd, _error(exc))


def _usage(agent: Any) -> dict[str, Any]:
    try:
        usage = agent.step_usage() or {}
    except Exception:
        return {}
    return dict(usage) if isinstance(usage, dict) else {}


def main() -> None:
    """``python -m gym_core.runner.agent_worker IN_FD OUT_FD``."""
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    for fd in (in_fd, out_fd):
        os.set_inheritable(fd, False)  # the agent's own subprocesses get neither end
    sys.exit(serve(in_fd, out_fd))


if __name__ == "__main__":
    main()
