"""Action parsing: every malformed kind gets a clear message for the agent, never an exception type leak."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gym_core.env.actions import Action, parse_action
from gym_core.errors import ActionError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"tool": "bash", "command": "ls"}, Action("bash", command="ls")),
        ('{"tool": "bash", "command": "ls", "timeout_s": 5}', Action("bash", command="ls", timeout_s=5.0)),
        (
            {"tool": "write_file", "path": "a/b.txt", "content": ""},
            Action("write_file", path="a/b.txt", content=""),
        ),
        ({"tool": "read_file", "path": "/workspace/x.py"}, Action("read_file", path="x.py")),
        ({"tool": "read_file", "path": "./src/x.py"}, Action("read_file", path="src/x.py")),
        ({"tool": "validate"}, Action("validate")),
        (b'{"tool": "submit"}', Action("submit")),
    ],
)
def test_valid_actions(raw: Any, expected: Action) -> None:
    assert parse_action(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ls -la", "action is not valid JSON"),
        ("[1, 2]", "action must be a JSON object, got list"),
        (42, "action must be a JSON object, got int"),
        (None, "action must be a JSON object, got null"),
        ({"command": "ls"}, "action has no 'tool' field"),
        ({"tool": "rm"}, "unknown tool 'rm'"),
        ({"tool": "bash"}, "bash: missing field 'command'"),
        ({"tool": "bash", "command": 3}, "bash: field 'command' must be a string, got int"),
        ({"tool": "bash", "command": "  "}, "bash: 'command' is empty"),
        (
            {"tool": "bash", "command": "ls", "timeout_s": "5"},
            "bash: field 'timeout_s' must be a number, got str",
        ),
        (
            {"tool": "bash", "command": "ls", "timeout_s": True},
            "bash: field 'timeout_s' must be a number, got bool",
        ),
        ({"tool": "bash", "command": "ls", "timeout_s": -1}, "bash: 'timeout_s' must be a positive number"),
        ({"tool": "bash", "command": "ls", "shell": "zsh"}, "bash: unknown field(s) 'shell'"),
        ({"tool": "write_file", "path": "x"}, "write_file: missing field 'content'"),
        ({"tool": "write_file", "path": "../eval/grade.py", "content": "x"}, "leaves /workspace"),
        ({"tool": "read_file", "path": "/eval/labels.csv"}, "is outside /workspace"),
        ({"tool": "read_file", "path": "a/../../etc/passwd"}, "leaves /workspace"),
        ({"tool": "read_file", "path": "/workspace"}, "is outside /workspace"),
        ({"tool": "read_file", "path": "."}, "names the workspace itself"),
        ({"tool": "read_file", "path": "a\0b"}, "NUL byte"),
    ],
)
def test_malformed_actions(raw: Any, message: str) -> None:
    with pytest.raises(ActionError) as info:
        parse_action(raw)
    assert message in str(info.value)


def test_error_messages_show_a_valid_example() -> None:
    with pytest.raises(ActionError) as info:
        parse_action({"tool": "bash"})
    example = str(info.value).split("e.g. ", 1)[1].rstrip(")")
    assert parse_action(example).tool == "bash"


def test_to_json_round_trips() -> None:
    action = parse_action({"tool": "bash", "command": "echo hi", "timeout_s": 2})
    assert parse_action(json.dumps(action.to_json())) == action
