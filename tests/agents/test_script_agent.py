"""script:FILE.jsonl: plays the file, submits when it runs out, and names bad lines at load time."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_env import FakeEnv, make_task, run_episode

from gym_core.errors import AgentError
from rgym_agents.script import ScriptAgent, load_script


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


def test_plays_the_file_in_order_then_submits(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"tool": "write_file", "path": "notes.txt", "content": "hi"}\n'
        "\n"
        '{"tool": "bash", "command": "python baseline.py", "timeout_s": 30}\n'
        '{"tool": "validate"}\n',
    )
    env = run_episode(ScriptAgent(path), FakeEnv(make_task(), lambda c: 0.9))
    assert env.actions == [
        {"tool": "write_file", "path": "notes.txt", "content": "hi"},
        {"tool": "bash", "command": "python baseline.py", "timeout_s": 30},
        {"tool": "validate"},
        {"tool": "submit"},
    ]
    assert env.files["notes.txt"] == "hi"
    assert env.final_score == 0.9


def test_a_script_that_submits_itself_ends_there(tmp_path: Path) -> None:
    path = write(tmp_path, '{"tool": "submit"}\n{"tool": "bash", "command": "never"}\n')
    env = run_episode(ScriptAgent(path), FakeEnv(make_task(), lambda c: 0.9))
    assert env.actions == [{"tool": "submit"}]


def test_each_episode_replays_the_whole_script(tmp_path: Path) -> None:
    agent = ScriptAgent(write(tmp_path, '{"tool": "bash", "command": "ls"}\n'))
    for _ in range(2):
        env = run_episode(agent, FakeEnv(make_task(), lambda c: 0.9))
        assert env.actions == [{"tool": "bash", "command": "ls"}, {"tool": "submit"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"tool": "validate"}\n{"tool": "bash", "command": \n', r"plan\.jsonl:2: not valid JSON"),
        (
            '{"tool": "validate"}\n\n{"tool": "shell", "command": "ls"}\n',
            r"plan\.jsonl:3: unknown tool 'shell'",
        ),
        ('{"tool": "bash"}\n', r"plan\.jsonl:1: bash: missing field 'command'"),
        ('"bash ls"\n', r"plan\.jsonl:1: action must be a JSON object, got str"),
        (
            '{"tool": "bash", "cmd": "ls", "command": "ls"}\n',
            r"plan\.jsonl:1: bash: unknown field\(s\) 'cmd'",
        ),
    ],
)
def test_bad_lines_are_reported_with_file_and_line_number(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(AgentError, match=expected):
        load_script(write(tmp_path, text))


def test_several_bad_lines_report_the_first_and_a_count(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as caught:
        load_script(write(tmp_path, "nope\n{}\n[]\n"))
    message = str(caught.value)
    assert "plan.jsonl:1:" in message and "(and 2 more bad line(s))" in message
    assert "\n" not in message


def test_missing_file_and_folder_are_clear(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="file not found"):
        load_script(tmp_path / "absent.jsonl")
    with pytest.raises(AgentError, match="is a folder"):
        load_script(tmp_path)
