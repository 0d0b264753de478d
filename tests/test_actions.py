"""Action parsing: every malformed kind gets a clear message for the agent, never an exception type leak."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gym_core.actions import (
    MAX_WRITE_BYTES,
    TOOL_NAMES,
    Action,
    parse_action,
    recordable_action,
    tool_names_text,
)
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


def test_every_tool_is_offered_to_models_with_its_fields() -> None:
    from gym_core.actions import TOOLS, openai_tools

    offered = {t["function"]["name"]: t["function"]["parameters"] for t in openai_tools()}
    assert list(offered) == list(TOOLS)
    for name, tool in TOOLS.items():
        params = offered[name]
        assert set(params["properties"]) == {f.name for f in tool.fields}
        assert params["required"] == [f.name for f in tool.fields if f.required]
        assert params["additionalProperties"] is False


def test_each_example_is_valid_under_the_parser_and_the_schema() -> None:
    import jsonschema

    from gym_core.actions import TOOLS, action_problem, action_schema

    schema = action_schema()
    for tool in TOOLS.values():
        example = json.loads(tool.example)
        assert parse_action(example).tool == tool.name
        assert action_problem(example) is None
        jsonschema.validate(example, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool": "bash", "cmd": "ls"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool": "submit", "now": True}, schema)


def test_builders_make_actions_the_parser_accepts() -> None:
    from gym_core import actions

    built = [
        actions.bash("ls", timeout_s=5),
        actions.write_file("a.txt", "x"),
        actions.read_file("a.txt"),
        actions.validate(),
        actions.submit(),
    ]
    assert [parse_action(a).tool for a in built] == list(actions.TOOLS)
    assert parse_action(actions.bash("ls", timeout_s=5)) == Action("bash", command="ls", timeout_s=5.0)


@pytest.mark.parametrize(
    "timeout",
    [0, 0.0, -0.5, float("nan"), float("inf"), float("-inf")],
    ids=["zero", "zero-float", "negative", "nan", "inf", "-inf"],
)
def test_timeout_must_be_a_positive_finite_number(timeout: float) -> None:
    with pytest.raises(ActionError, match=r"bash: 'timeout_s' must be a positive number of seconds"):
        parse_action({"tool": "bash", "command": "ls", "timeout_s": timeout})


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "0"])
def test_timeout_from_json_text_is_checked_too(literal: str) -> None:
    # Python's json module reads NaN and Infinity, which strict JSON has not.
    with pytest.raises(ActionError, match="must be a positive number of seconds"):
        parse_action(f'{{"tool": "bash", "command": "ls", "timeout_s": {literal}}}')


def test_smallest_positive_timeout_is_accepted() -> None:
    assert parse_action({"tool": "bash", "command": "ls", "timeout_s": 1e-3}).timeout_s == 1e-3
    assert parse_action({"tool": "bash", "command": "ls", "timeout_s": 600}).timeout_s == 600.0


def test_write_file_content_is_capped_at_16_mib_of_utf8() -> None:
    assert MAX_WRITE_BYTES == 16 * 1024 * 1024
    at_cap = "x" * MAX_WRITE_BYTES
    assert parse_action({"tool": "write_file", "path": "big.txt", "content": at_cap}).content == at_cap
    with pytest.raises(ActionError, match=r"^write_file: content is larger than 16 MiB"):
        parse_action({"tool": "write_file", "path": "big.txt", "content": at_cap + "x"})
    # The cap counts bytes, not characters: 'é' is two bytes in UTF-8.
    two_byte = "é" * (MAX_WRITE_BYTES // 2)
    assert parse_action({"tool": "write_file", "path": "big.txt", "content": two_byte}).content == two_byte
    with pytest.raises(ActionError, match="larger than 16 MiB"):
        parse_action({"tool": "write_file", "path": "big.txt", "content": two_byte + "é"})


# --- hostile input: whatever the agent sends, parsing raises ActionError and nothing else ----------------


class _RaisingDict(dict):  # type: ignore[type-arg]
    """An agent's own dict, whose methods raise (KeyboardInterrupt would pass for a Ctrl-C)."""

    def get(self, *_args: Any, **_kwargs: Any) -> Any:
        raise KeyboardInterrupt

    def items(self) -> Any:
        raise KeyboardInterrupt

    def __iter__(self) -> Any:
        raise KeyboardInterrupt


class _RaisingStr(str):
    __slots__ = ()

    def strip(self, *_args: Any) -> str:
        raise RuntimeError("the agent's strip()")

    def encode(self, *_args: Any, **_kwargs: Any) -> bytes:
        raise RuntimeError("the agent's encode()")

    def __eq__(self, other: object) -> bool:
        raise KeyboardInterrupt

    __hash__ = str.__hash__


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # reachable from JSON, so from any agent, an LLM's tool call included
        ({"tool": "bash", "command": "ls", "timeout_s": 10**400}, "integer of 1329 bits, too large"),
        ('{"tool": "bash", "command": "ls", "timeout_s": 1' + "0" * 400 + "}", "too large for a number"),
        ('{"tool": "bash", "command": "ls", "timeout_s": ' + "1" * 5000 + "}", "has too many digits"),
        ("[" * 100_000, "nested too deeply"),
        ('{"tool": "bash", "command": "ls", "x": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32"),
        ('{"tool": "write_file", "path": "a.txt", "content": "\\ud800"}', "'content' is not valid Unicode"),
        ({"tool": "bash", "command": "echo \ud800"}, "bash: field 'command' is not valid Unicode text"),
        ({"tool": "read_file", "path": "\udcff.txt"}, "field 'path' is not valid Unicode text"),
        ('{"tool": "bash", "command": "echo a\\u0000b"}', "bash: 'command' contains a NUL byte"),
        ({"tool": "bash", "command": "é" * 65536}, "bash: 'command' is longer than 131071 bytes"),
        # Python objects only an agent in the same process can hand over
        (
            {"tool": "bash", "command": "ls", 1: "x", "y": 2},
            "a key of type int; JSON object keys are strings",
        ),
        ({"tool": "bash", (1, 2): 3}, "a key of type tuple"),
        ({"tool": "bash", "command": object()}, "a value of type object, which is not a JSON value"),
    ],
    ids=[
        "huge-int",
        "huge-int-json",
        "too-many-digits-json",
        "deep-json",
        "deep-field",
        "surrogate-json",
        "surrogate-command",
        "surrogate-path",
        "nul-command",
        "long-command",
        "int-key",
        "tuple-key",
        "object-value",
    ],
)
def test_hostile_actions_are_malformed_actions(raw: Any, message: str) -> None:
    with pytest.raises(ActionError) as info:
        parse_action(raw)
    assert message in str(info.value)


def test_an_agents_own_subclasses_are_read_without_running_their_methods() -> None:
    evil = _RaisingDict(tool=_RaisingStr("bash"), command=_RaisingStr("ls -la"))
    action = parse_action(evil)
    assert action == Action("bash", command="ls -la")
    assert type(action.command) is str and type(action.tool) is str
    assert recordable_action(evil) == {"tool": "bash", "command": "ls -la"}


def test_recordable_action_never_raises_and_keeps_plain_json() -> None:
    assert recordable_action({"tool": "bash", 1: "x"}).startswith("<unreadable action: action has a key")
    assert recordable_action(b"ls \xff") == "ls \ufffd"
    assert recordable_action([1, "a", None]) == '[1, "a", null]'
    assert recordable_action(_RaisingStr("not json")) == "not json"
    assert json.loads(json.dumps(recordable_action({"tool": "bash", "command": [1.5, {"a": True}]}))) == {
        "tool": "bash",
        "command": [1.5, {"a": True}],
    }


_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**1100), max_value=2**1100)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, categories=None), max_size=8)
)
_json_values = st.recursive(
    _json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["tool", "command", "path", "content", "timeout_s", "x"]), children)
    ),
    max_leaves=20,
)


@given(
    st.one_of(
        _json_values,
        st.fixed_dictionaries(
            {"tool": st.sampled_from(["bash", "write_file", "read_file"])}, optional={}
        ).flatmap(
            lambda base: st.dictionaries(
                st.sampled_from(["command", "path", "content", "timeout_s"]), _json_leaves, max_size=4
            ).map(lambda extra: {**base, **extra})
        ),
        st.text(max_size=200),
    )
)
def test_parse_action_raises_only_action_errors(raw: Any) -> None:
    with contextlib.suppress(ActionError):
        parse_action(raw)
    recorded = recordable_action(raw)
    assert isinstance(recorded, (dict, str))
    json.dumps(recorded)  # the trace store can keep it


def test_the_tools_are_openai_function_tools_with_typed_described_fields() -> None:
    from gym_core.actions import TOOLS, openai_tools

    tools = openai_tools()
    assert [t["type"] for t in tools] == ["function"] * len(TOOLS)
    bash = tools[0]["function"]
    assert (bash["name"], bash["description"]) == ("bash", TOOLS["bash"].description)
    assert bash["parameters"]["type"] == "object"
    assert bash["parameters"]["properties"] == {
        "command": {"type": "string", "description": "The command."},
        "timeout_s": {"type": "number", "description": TOOLS["bash"].fields[1].description},
    }
    for tool in tools:
        assert tool["function"]["description"] == TOOLS[tool["function"]["name"]].description


def test_the_action_schema_names_itself_and_requires_the_tool() -> None:
    import jsonschema

    from gym_core.actions import TOOLS, action_schema

    schema = action_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "rgym action"
    for variant, tool in zip(schema["oneOf"], TOOLS.values(), strict=True):
        assert variant["description"] == tool.description
        assert variant["required"][0] == "tool"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"command": "ls"}, schema)  # which tool is not said


def test_action_problem_says_what_is_wrong() -> None:
    from gym_core.actions import action_problem

    assert action_problem({"tool": "nope"}) == (
        "unknown tool 'nope' (tool is one of bash, write_file, read_file, validate, submit)"
    )
    assert (action_problem({"tool": "bash"}) or "").startswith("bash: missing field 'command'")


def test_the_tools_names_read_as_a_sentence_in_their_order() -> None:
    assert tool_names_text() == "bash, write_file, read_file, validate or submit"
    assert tool_names_text("and").endswith(f", {TOOL_NAMES[-2]} and {TOOL_NAMES[-1]}")
