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
    action_problem,
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


@pytest.mark.parametrize(
    ("tool", "path", "message"),
    [
        ("write_file", "  ", "write_file: 'path' is empty"),
        ("read_file", "a\0b", "read_file: 'path' contains a NUL byte"),
        (
            "read_file",
            "/eval/labels.csv",
            "read_file: path '/eval/labels.csv' is outside /workspace (use a path relative to /workspace)",
        ),
        (
            "read_file",
            "/workspace",
            "read_file: path '/workspace' is outside /workspace (use a path relative to /workspace)",
        ),
        ("read_file", "a/../../x", "read_file: path 'a/../../x' leaves /workspace ('..' is not allowed)"),
        ("read_file", "/workspace/", "read_file: path '/workspace/' names the workspace itself, not a file"),
        ("read_file", ".//./", "read_file: path './/./' names the workspace itself, not a file"),
    ],
)
def test_bad_paths_get_the_exact_message_naming_the_tool(tool: str, path: str, message: str) -> None:
    """The agent reads this message as its observation: which tool, which path, and how to fix it."""
    raw = {"tool": tool, "path": path} | ({"content": "x"} if tool == "write_file" else {})
    with pytest.raises(ActionError) as info:
        parse_action(raw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a//b/./c.txt", "a/b/c.txt"),
        ("/workspace//src/./x.py", "src/x.py"),
        ("dir/", "dir"),
    ],
)
def test_paths_are_normalised_without_empty_or_dot_parts(path: str, expected: str) -> None:
    assert parse_action({"tool": "read_file", "path": path}).path == expected


def test_tools_text_lists_each_tool_on_its_own_line_for_a_prompt() -> None:
    """The LLM agent's prompt shows the tools with these exact lines."""
    from gym_core.actions import tools_text

    assert tools_text() == (
        "  - bash: Run a shell command in /workspace. cwd and exported variables persist between calls.\n"
        "  - write_file: Create or overwrite a text file.\n"
        "  - read_file: Read a text file.\n"
        "  - validate: Grade the current workspace and report the score. Uses one evaluation.\n"
        "  - submit: Grade the workspace as your final answer and end the episode."
    )
    assert tools_text(indent="").splitlines()[2] == "- read_file: Read a text file."


def test_a_tools_field_is_found_by_name() -> None:
    from gym_core.actions import TOOLS, FieldType

    timeout = TOOLS["bash"].field("timeout_s")
    assert timeout is not None
    assert (timeout.name, timeout.type, timeout.required) == ("timeout_s", FieldType.NUMBER, False)
    command = TOOLS["bash"].field("command")
    assert command is not None and command.name == "command"
    assert TOOLS["bash"].field("path") is None
    assert TOOLS["submit"].field("command") is None


def _nested_lists(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def _nested_dicts(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("nest", [_nested_lists, _nested_dicts], ids=["lists", "objects"])
def test_an_action_may_nest_32_levels_and_no_more(nest: Any) -> None:
    """The action object itself is the first of the 32 levels; lists and objects each count as one."""
    deepest = {"tool": "bash", "command": "ls", "x": nest(31)}
    assert recordable_action(deepest) == deepest
    assert (action_problem(deepest) or "").startswith("bash: unknown field(s) 'x'")
    too_deep = {"tool": "bash", "command": "ls", "x": nest(32)}
    assert action_problem(too_deep) == "action is nested more than 32 levels deep"
    assert recordable_action(too_deep) == "<unreadable action: action is nested more than 32 levels deep>"


def test_integers_of_up_to_1023_bits_are_numbers() -> None:
    action = parse_action({"tool": "bash", "command": "ls", "timeout_s": 2**1022})
    assert action.timeout_s == float(2**1022)
    with pytest.raises(ActionError) as info:
        parse_action({"tool": "bash", "command": "ls", "timeout_s": 2**1023})
    assert str(info.value) == "action holds an integer of 1024 bits, too large for a number"


_BASH_EXAMPLE = '{"tool": "bash", "command": "ls -la", "timeout_s": 60}'
_ONE_OF = "(tool is one of bash, write_file, read_file, validate, submit)"

_EXACT_ERRORS: list[tuple[Any, str]] = [
    ([1, 2], f"action must be a JSON object, got list (e.g. {_BASH_EXAMPLE})"),
    ({"command": "ls"}, f"action has no 'tool' field {_ONE_OF}"),
    ({"tool": None, "command": "ls"}, f"action has no 'tool' field {_ONE_OF}"),
    ({"tool": 3}, f"unknown tool 3 {_ONE_OF}"),
    ({"tool": "rm"}, f"unknown tool 'rm' {_ONE_OF}"),
    (
        {"tool": "bash", "command": "ls", "shell": "zsh", "env": {}},
        f"bash: unknown field(s) 'env', 'shell' (it takes: command, timeout_s) (e.g. {_BASH_EXAMPLE})",
    ),
    (
        {"tool": "submit", "now": True},
        """submit: unknown field(s) 'now' (it takes: no other fields) (e.g. {"tool": "submit"})""",
    ),
    ({"tool": "bash", "command": None}, f"bash: missing field 'command' (e.g. {_BASH_EXAMPLE})"),
    (
        {"tool": "bash", "command": 3},
        f"bash: field 'command' must be a string, got int (e.g. {_BASH_EXAMPLE})",
    ),
    (
        {"tool": "bash", "command": "ls", "timeout_s": "5"},
        f"bash: field 'timeout_s' must be a number, got str (e.g. {_BASH_EXAMPLE})",
    ),
    (
        {"tool": "write_file", "path": "a", "content": 1.5},
        "write_file: field 'content' must be a string, got float "
        """(e.g. {"tool": "write_file", "path": "notes.txt", "content": "..."})""",
    ),
    (
        "ls -la",
        f"action is not valid JSON (Expecting value at line 1 column 1) (send an object such as {_BASH_EXAMPLE})",
    ),
    (
        '{"tool": "bash", "command": "ls", "timeout_s": ' + "1" * 5000 + "}",
        f"action is not valid JSON (a number in it has too many digits) (send an object such as {_BASH_EXAMPLE})",
    ),
    (
        "[" * 100_000,
        f"action is not valid JSON (it is nested too deeply) (send an object such as {_BASH_EXAMPLE})",
    ),
    (
        {"tool": "bash", "command": "echo \ud800"},
        "bash: field 'command' is not valid Unicode text (it holds a lone surrogate, such as an unpaired "
        "\\ud800 escape) (send UTF-8 text)",
    ),
    ({"tool": "bash", "command": " \n"}, f"bash: 'command' is empty (e.g. {_BASH_EXAMPLE})"),
    (
        {"tool": "bash", "command": "a\0b"},
        "bash: 'command' contains a NUL byte, which no command line can hold",
    ),
    (
        {"tool": "bash", "command": "x" * 131072},
        "bash: 'command' is longer than 131071 bytes (write the script to a file with write_file and run the file)",
    ),
    (
        {"tool": "bash", "command": "ls", "timeout_s": 0},
        "bash: 'timeout_s' must be a positive number of seconds",
    ),
    (
        {"tool": "bash", "command": "ls", "x": {1, 2}},
        "action holds a value of type set, which is not a JSON value "
        f"(send a dict of strings and numbers such as {_BASH_EXAMPLE})",
    ),
]


@pytest.mark.parametrize(("raw", "message"), _EXACT_ERRORS, ids=[m[:40] for _, m in _EXACT_ERRORS])
def test_each_malformed_action_gets_its_exact_message_and_fix(raw: Any, message: str) -> None:
    """The whole message is the agent's observation: what is wrong, then (in brackets) what to send."""
    with pytest.raises(ActionError) as info:
        parse_action(raw)
    assert str(info.value) == message


def test_a_command_of_exactly_the_longest_length_is_accepted() -> None:
    command = "x" * 131071
    assert parse_action({"tool": "bash", "command": command}).command == command


def test_timeouts_become_floats_and_a_null_timeout_is_no_timeout() -> None:
    action = parse_action({"tool": "bash", "command": "ls", "timeout_s": 5})
    assert action.timeout_s == 5.0 and type(action.timeout_s) is float
    assert parse_action({"tool": "bash", "command": "ls", "timeout_s": None}) == Action("bash", command="ls")


def test_bytes_are_read_as_utf8_with_bad_bytes_replaced() -> None:
    raw = bytearray(b'{"tool": "bash", "command": "echo \xc3\xa9 \xff"}')
    assert parse_action(raw) == Action("bash", command="echo \u00e9 \ufffd")
    assert parse_action(bytes(raw)) == Action("bash", command="echo \u00e9 \ufffd")


class _MyInt(int):
    pass


class _MyFloat(float):
    pass


def test_plain_values_keep_their_json_type() -> None:
    """Booleans stay booleans (not 1 or 0), tuples become lists, subclasses become the plain type."""
    recorded = recordable_action(
        {
            "tool": "bash",
            "flag": True,
            "off": False,
            "n": _MyInt(3),
            "f": _MyFloat(0.5),
            "t": ("a", (1, None)),
        }
    )
    assert json.dumps(recorded) == (
        '{"tool": "bash", "flag": true, "off": false, "n": 3, "f": 0.5, "t": ["a", [1, null]]}'
    )
    assert isinstance(recorded, dict)
    assert [type(recorded[k]) for k in ("flag", "n", "f", "t")] == [bool, int, float, list]
    action = {"tool": "bash", "command": "ls", "timeout_s": _MyInt(7), "x": (1, 2)}
    assert (
        action_problem(action)
        == f"bash: unknown field(s) 'x' (it takes: command, timeout_s) (e.g. {_BASH_EXAMPLE})"
    )
