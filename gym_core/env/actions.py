"""The agent's actions (SPEC.md section 3), parsed strictly from a dict or its JSON string.

A malformed action never crashes an episode: :func:`parse_action` raises :class:`ActionError` with a
message written for the agent (what was wrong and what a valid action looks like), and the environment
turns it into an error observation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from gym_core.errors import ActionError

TOOLS = ("bash", "write_file", "read_file", "validate", "submit")

#: One example per tool, shown to an agent whose action was malformed.
EXAMPLES = {
    "bash": '{"tool": "bash", "command": "ls -la", "timeout_s": 60}',
    "write_file": '{"tool": "write_file", "path": "notes.txt", "content": "..."}',
    "read_file": '{"tool": "read_file", "path": "README.md"}',
    "validate": '{"tool": "validate"}',
    "submit": '{"tool": "submit"}',
}

#: Largest content a single write_file may carry.
MAX_WRITE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Action:
    """A parsed, well-formed action."""

    tool: str
    command: str | None = None
    timeout_s: float | None = None
    path: str | None = None
    content: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The action as the agent would have written it (for the trace)."""
        out: dict[str, Any] = {"tool": self.tool}
        for name in ("command", "timeout_s", "path", "content"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


_FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    # tool -> field -> (accepted types, required)
    "bash": {"command": (str, True), "timeout_s": ((int, float), False)},
    "write_file": {"path": (str, True), "content": (str, True)},
    "read_file": {"path": (str, True)},
    "validate": {},
    "submit": {},
}


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def parse_action(raw: Any) -> Action:
    """Parse an action dict, or the same dict as a JSON string.

    Raises:
        ActionError: the action is malformed; the message says what to send instead.
    """
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ActionError(
                f"action is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                hint=f"send an object such as {EXAMPLES['bash']}",
            ) from None
    if not isinstance(raw, dict):
        raise ActionError(
            f"action must be a JSON object, got {_type_name(raw)}", hint=f"e.g. {EXAMPLES['bash']}"
        )
    tool = raw.get("tool")
    if tool is None:
        raise ActionError("action has no 'tool' field", hint=f"tool is one of {', '.join(TOOLS)}")
    if tool not in _FIELDS:
        raise ActionError(f"unknown tool {tool!r}", hint=f"tool is one of {', '.join(TOOLS)}")
    fields = _FIELDS[tool]
    unknown = sorted(set(raw) - set(fields) - {"tool"})
    if unknown:
        raise ActionError(
            f"{tool}: unknown field(s) {', '.join(map(repr, unknown))}", hint=f"e.g. {EXAMPLES[tool]}"
        )
    values: dict[str, Any] = {}
    for name, (types, required) in fields.items():
        if name not in raw or raw[name] is None:
            if required:
                raise ActionError(f"{tool}: missing field {name!r}", hint=f"e.g. {EXAMPLES[tool]}")
            continue
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, types):
            expected = "a number" if types == (int, float) else "a string"
            raise ActionError(
                f"{tool}: field {name!r} must be {expected}, got {_type_name(value)}",
                hint=f"e.g. {EXAMPLES[tool]}",
            )
        values[name] = value
    if tool == "bash" and not values["command"].strip():
        raise ActionError("bash: 'command' is empty", hint=f"e.g. {EXAMPLES['bash']}")
    if "timeout_s" in values:
        timeout = float(values["timeout_s"])
        if not math.isfinite(timeout) or timeout <= 0:
            raise ActionError("bash: 'timeout_s' must be a positive number of seconds")
        values["timeout_s"] = timeout
    if "path" in values:
        values["path"] = _check_path(tool, values["path"])
    if tool == "write_file" and len(values["content"].encode("utf-8", errors="replace")) > MAX_WRITE_BYTES:
        raise ActionError(f"write_file: content is larger than {MAX_WRITE_BYTES // (1024 * 1024)} MiB")
    return Action(tool=tool, **values)


def _check_path(tool: str, path: str) -> str:
    """Refuse paths that leave /workspace before they reach the sandbox (which checks again)."""
    if not path.strip():
        raise ActionError(f"{tool}: 'path' is empty")
    if "\0" in path:
        raise ActionError(f"{tool}: 'path' contains a NUL byte")
    relative = path
    if path.startswith("/"):
        if path == "/workspace" or not path.startswith("/workspace/"):
            raise ActionError(
                f"{tool}: path {path!r} is outside /workspace", hint="use a path relative to /workspace"
            )
        relative = path[len("/workspace/") :]
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ActionError(f"{tool}: path {path!r} leaves /workspace ('..' is not allowed)")
    if not parts:
        raise ActionError(f"{tool}: path {path!r} names the workspace itself, not a file")
    return "/".join(parts)
