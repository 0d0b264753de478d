"""The agent's actions: the one definition of the tools, their fields and their JSON schema.

An action is a dict (or the same dict as a JSON string), e.g. ``{"tool": "bash", "command": "ls"}``.
Everything about actions derives from :data:`TOOLS`:

* the environment parses them with :func:`parse_action` (strictly; a malformed action becomes an error
  observation for the agent, never a crash);
* agents build them with :func:`bash`, :func:`write_file`, :func:`read_file`, :func:`validate` and
  :func:`submit`, and check hand-written ones early with :func:`action_problem`;
* the LLM agent offers them to a model as :func:`openai_tools`; :func:`action_schema` is the JSON schema.

Adding a tool is one entry in :data:`TOOLS` (and its handling in the environment).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gym_core.errors import ActionError

#: An action as an agent writes it: a JSON object with a ``tool`` field.
ActionDict = dict[str, Any]

#: Largest content a single write_file may carry.
MAX_WRITE_BYTES = 16 * 1024 * 1024
#: Longest bash command, in UTF-8 bytes: Linux refuses a longer single argument (MAX_ARG_STRLEN), and so do
#: the sandboxes (:mod:`gym_core.sandbox.command_sandbox`); refused here, it is an error observation.
MAX_COMMAND_BYTES = 128 * 1024 - 1
#: Deepest nesting of lists and objects an action may hold (a valid action is one flat object).
MAX_ACTION_DEPTH = 32
#: Largest integer an action may hold, in bits: anything larger cannot even become a float.
MAX_INT_BITS = 1023


class FieldType(StrEnum):
    """JSON types an action field may have."""

    STRING = "string"
    NUMBER = "number"


@dataclass(frozen=True)
class ToolField:
    """One field of a tool's action."""

    name: str
    type: FieldType
    required: bool
    description: str


@dataclass(frozen=True)
class Tool:
    """One tool an agent may call."""

    name: str
    description: str
    """What the tool does, as a model reads it."""
    fields: tuple[ToolField, ...]
    example: str
    """A valid action of this tool, as JSON; shown to an agent whose action was malformed."""

    def field(self, name: str) -> ToolField | None:
        """The field called ``name``, or None."""
        return next((f for f in self.fields if f.name == name), None)


_PATH = ToolField("path", FieldType.STRING, True, "Path relative to /workspace.")

TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "bash",
            "Run a shell command in /workspace. cwd and exported variables persist between calls.",
            (
                ToolField("command", FieldType.STRING, True, "The command."),
                ToolField(
                    "timeout_s",
                    FieldType.NUMBER,
                    False,
                    "Seconds before it is killed (optional; capped by the task's command timeout).",
                ),
            ),
            '{"tool": "bash", "command": "ls -la", "timeout_s": 60}',
        ),
        Tool(
            "write_file",
            "Create or overwrite a text file.",
            (_PATH, ToolField("content", FieldType.STRING, True, "The whole new content.")),
            '{"tool": "write_file", "path": "notes.txt", "content": "..."}',
        ),
        Tool("read_file", "Read a text file.", (_PATH,), '{"tool": "read_file", "path": "README.md"}'),
        Tool(
            "validate",
            "Grade the current workspace and report the score. Uses one evaluation.",
            (),
            '{"tool": "validate"}',
        ),
        Tool(
            "submit",
            "Grade the workspace as your final answer and end the episode.",
            (),
            '{"tool": "submit"}',
        ),
    )
}
TOOL_NAMES: tuple[str, ...] = tuple(TOOLS)


def tool_names_text(conjunction: str = "or") -> str:
    """The tools' names as a sentence reads them: ``bash, write_file, read_file, validate or submit``."""
    *first, last = TOOL_NAMES
    return f"{', '.join(first)} {conjunction} {last}"


def tools_text(indent: str = "  ") -> str:
    """One line per tool, ``- name: what it does``, for a prompt."""
    return "\n".join(f"{indent}- {tool.name}: {tool.description}" for tool in TOOLS.values())


SUBMIT: ActionDict = {"tool": "submit"}
"""The submit action."""


@dataclass(frozen=True)
class Action:
    """A parsed, well-formed action (what the environment executes)."""

    tool: str
    command: str | None = None
    timeout_s: float | None = None
    path: str | None = None
    content: str | None = None

    def to_json(self) -> ActionDict:
        """The action as the agent would have written it (for the trace)."""
        out: ActionDict = {"tool": self.tool}
        for name in ("command", "timeout_s", "path", "content"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


# --- building ------------------------------------------------------------------------------------


def bash(command: str, *, timeout_s: float | None = None) -> ActionDict:
    """A bash action."""
    action: ActionDict = {"tool": "bash", "command": command}
    if timeout_s is not None:
        action["timeout_s"] = timeout_s
    return action


def write_file(path: str, content: str) -> ActionDict:
    """A write_file action."""
    return {"tool": "write_file", "path": path, "content": content}


def read_file(path: str) -> ActionDict:
    """A read_file action."""
    return {"tool": "read_file", "path": path}


def validate() -> ActionDict:
    """A validate action."""
    return {"tool": "validate"}


def submit() -> ActionDict:
    """A submit action."""
    return dict(SUBMIT)


# --- checking ------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return "null" if value is None else _class_name(type(value))


def _class_name(cls: type) -> str:
    """A class's own name, read without running a metaclass's code."""
    name = type.__dict__["__name__"].__get__(cls, type)
    return str.__str__(name) if isinstance(name, str) else "object"


def plain_value(raw: Any, *, _depth: int = 0) -> Any:
    """A copy of ``raw`` made of plain JSON values only: exact dict, list, str, int, float, bool and None.

    An action comes from the agent, which may hand over objects of its own classes: a ``dict`` or ``str``
    subclass whose methods raise, a ``KeyboardInterrupt`` from ``__eq__``... The copy is read through the
    built-in types' own methods, so none of the agent's code runs while rgym parses, checks or records it,
    and whatever goes wrong is the agent's malformed action (an :class:`ActionError`), never a crash of the
    environment's.

    Raises:
        ActionError: ``raw`` holds something that is not a JSON value, an object key that is not a string,
            an integer too large for a float, or nesting deeper than :data:`MAX_ACTION_DEPTH`.
    """
    if _depth > MAX_ACTION_DEPTH:
        raise ActionError(f"action is nested more than {MAX_ACTION_DEPTH} levels deep")
    cls = type(raw)
    if raw is None or cls is bool:
        return raw
    if issubclass(cls, str):
        return str.__str__(raw)
    if issubclass(cls, int):
        number = int.__int__(raw)
        if number.bit_length() > MAX_INT_BITS:
            raise ActionError(
                f"action holds an integer of {number.bit_length()} bits, too large for a number"
            )
        return number
    if issubclass(cls, float):
        return float.__float__(raw)
    if issubclass(cls, dict):
        out: dict[str, Any] = {}
        for key, value in list(dict.items(raw)):
            if not issubclass(type(key), str):
                raise ActionError(f"action has a key of type {_type_name(key)}; JSON object keys are strings")
            out[str.__str__(key)] = plain_value(value, _depth=_depth + 1)
        return out
    if issubclass(cls, (list, tuple)):
        items = list.__iter__(raw) if issubclass(cls, list) else tuple.__iter__(raw)
        return [plain_value(item, _depth=_depth + 1) for item in items]
    raise ActionError(
        f"action holds a value of type {_class_name(cls)}, which is not a JSON value",
        hint=f"send a dict of strings and numbers such as {TOOLS['bash'].example}",
    )


def recordable_action(raw: Any) -> dict[str, Any] | str:
    """What the trace keeps of an action the agent sent, malformed or not; never raises.

    A dict of plain JSON values, or the text the agent sent, or a placeholder saying why nothing more could
    be kept (see :func:`plain_value`). Nothing of it runs the agent's code.
    """
    try:
        plain = plain_value(raw.decode("utf-8", errors="replace") if type(raw) in (bytes, bytearray) else raw)
    except ActionError as exc:
        return f"<unreadable action: {exc}>"
    if isinstance(plain, (dict, str)):
        return plain
    return json.dumps(plain)


def _type_ok(value: Any, kind: FieldType) -> bool:
    if isinstance(value, bool):  # an int subclass: a timeout of True is a mistake, not a number
        return False
    if kind is FieldType.STRING:
        return isinstance(value, str)
    return isinstance(value, (int, float))


def _check_structure(raw: Any) -> tuple[Tool, dict[str, Any]]:
    """The tool and the given field values of a decoded action; raises on anything structural."""
    if not isinstance(raw, dict):
        raise ActionError(
            f"action must be a JSON object, got {_type_name(raw)}", hint=f"e.g. {TOOLS['bash'].example}"
        )
    name = raw.get("tool")
    if name is None:
        raise ActionError("action has no 'tool' field", hint=f"tool is one of {', '.join(TOOL_NAMES)}")
    if not isinstance(name, str) or name not in TOOLS:
        raise ActionError(f"unknown tool {name!r}", hint=f"tool is one of {', '.join(TOOL_NAMES)}")
    tool = TOOLS[name]
    unknown = sorted(set(raw) - {f.name for f in tool.fields} - {"tool"})
    if unknown:
        allowed = ", ".join(f.name for f in tool.fields) or "no other fields"
        raise ActionError(
            f"{name}: unknown field(s) {', '.join(map(repr, unknown))} (it takes: {allowed})",
            hint=f"e.g. {tool.example}",
        )
    values: dict[str, Any] = {}
    for spec in tool.fields:
        if spec.name not in raw or raw[spec.name] is None:
            if spec.required:
                raise ActionError(f"{name}: missing field {spec.name!r}", hint=f"e.g. {tool.example}")
            continue
        value = raw[spec.name]
        if not _type_ok(value, spec.type):
            expected = "a string" if spec.type is FieldType.STRING else "a number"
            raise ActionError(
                f"{name}: field {spec.name!r} must be {expected}, got {_type_name(value)}",
                hint=f"e.g. {tool.example}",
            )
        values[spec.name] = value
    return tool, values


def action_problem(action: Any) -> str | None:
    """Why ``action`` (a dict) is not a structurally well-formed action, or None when it is.

    Agents use it to check hand-written actions early (a script file at load time, an LLM's tool call before
    it reaches the environment). Only the shape is checked: values such as a path outside /workspace are the
    environment's to refuse, so an exploit script may still try them.
    """
    try:
        _check_structure(plain_value(action))
    except ActionError as exc:
        return str(exc)
    return None


def parse_action(raw: Any) -> Action:
    """Parse an action dict, or the same dict as a JSON string (or bytes).

    Only the built-in types' own methods read ``raw`` (see :func:`plain_value`): whatever the agent sends,
    this raises nothing but :class:`ActionError`.

    Raises:
        ActionError: the action is malformed; the message says what to send instead.
    """
    if type(raw) in (bytes, bytearray):
        raw = raw.decode("utf-8", errors="replace")
    raw = plain_value(raw)
    if isinstance(raw, str):
        try:
            raw = plain_value(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise ActionError(
                f"action is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                hint=f"send an object such as {TOOLS['bash'].example}",
            ) from None
        except ValueError:  # json reads no integer of more than 4300 digits
            raise ActionError(
                "action is not valid JSON (a number in it has too many digits)",
                hint=f"send an object such as {TOOLS['bash'].example}",
            ) from None
        except RecursionError:
            raise ActionError(
                "action is not valid JSON (it is nested too deeply)",
                hint=f"send an object such as {TOOLS['bash'].example}",
            ) from None
    tool, values = _check_structure(raw)
    for name, value in values.items():
        if isinstance(value, str) and not _is_text(value):
            raise ActionError(
                f"{tool.name}: field {name!r} is not valid Unicode text (it holds a lone surrogate, such as an "
                "unpaired \\ud800 escape)",
                hint="send UTF-8 text",
            )
    if tool.name == "bash":
        command = values["command"]
        if not command.strip():
            raise ActionError("bash: 'command' is empty", hint=f"e.g. {tool.example}")
        if "\0" in command:
            raise ActionError("bash: 'command' contains a NUL byte, which no command line can hold")
        if len(command.encode("utf-8")) > MAX_COMMAND_BYTES:
            raise ActionError(
                f"bash: 'command' is longer than {MAX_COMMAND_BYTES} bytes",
                hint="write the script to a file with write_file and run the file",
            )
    if "timeout_s" in values:
        timeout = float(values["timeout_s"])
        if not math.isfinite(timeout) or timeout <= 0:
            raise ActionError("bash: 'timeout_s' must be a positive number of seconds")
        values["timeout_s"] = timeout
    if "path" in values:
        values["path"] = _check_path(tool.name, values["path"])
    if (
        tool.name == "write_file"
        and len(values["content"].encode("utf-8", errors="replace")) > MAX_WRITE_BYTES
    ):
        raise ActionError(f"write_file: content is larger than {MAX_WRITE_BYTES // (1024 * 1024)} MiB")
    return Action(tool=tool.name, **values)


def _is_text(value: str) -> bool:
    """True when ``value`` can be written as UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_path(tool: str, path: str) -> str:
    """Refuse paths that leave /workspace before they reach the sandbox (which checks again)."""
    if not path.strip():
        raise ActionError(f"{tool}: 'path' is empty")
    if "\0" in path:
        raise ActionError(f"{tool}: 'path' contains a NUL byte")
    relative = path
    if path.startswith("/"):
        if not path.startswith("/workspace/"):  # refuses "/workspace" itself too
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


# --- schemas -------------------------------------------------------------------------------------


def _parameters(tool: Tool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.name: {"type": f.type.value, "description": f.description} for f in tool.fields},
        "required": [f.name for f in tool.fields if f.required],
        "additionalProperties": False,
    }


def action_schema() -> dict[str, Any]:
    """The JSON schema of an action: one object schema per tool, told apart by ``tool``."""
    variants = []
    for tool in TOOLS.values():
        params = _parameters(tool)
        params["properties"] = {"tool": {"const": tool.name}, **params["properties"]}
        params["required"] = ["tool", *params["required"]]
        params["description"] = tool.description
        variants.append(params)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rgym action",
        "oneOf": variants,
    }


def openai_tools() -> list[dict[str, Any]]:
    """The tools as OpenAI chat-completions function tools (the action's fields are the arguments)."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": _parameters(t)},
        }
        for t in TOOLS.values()
    ]
