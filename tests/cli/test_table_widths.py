"""Piped and narrow tables keep ids and numbers whole: free text wraps, numbers never do."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from gym_core.cli import compare as compare_cli
from gym_core.cli import run_list as run_list_cli
from gym_core.cli import runs as runs_cli
from gym_core.cli import traces as traces_cli
from gym_core.cli.main import main
from gym_core.store import open_store
from tests.cli.recorded import record_run

LONG_AGENT = "module:/home/someone/projects/research-agents/agents/very_long_agent_module_name.py:GreedyAgentWithMemory"
NUMBERS = ("5/5", "0.620", "1.000", "0.000")


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[str, str, str]:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    with open_store(url) as store:
        first = record_run(store, [1.0, 1.0, 0.0, 0.2, 0.9], agent=LONG_AGENT)
        second = record_run(store, [1.0, 0.0, 0.0, 0.2, 0.9], agent="baseline")
    return url, first, second


def _summary_row(text: str, header_word: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line.startswith(("┃", "│"))]
    header = next(line for line in lines if header_word in line)
    names = [c.strip() for c in re.split(r"[┃│]", header)[1:-1]]
    row = next(line for line in lines if line is not header and "5/5" in line)
    return dict(zip(names, [c.strip() for c in re.split(r"[┃│]", row)[1:-1]], strict=True))


def test_a_piped_report_keeps_the_run_id_and_every_number_whole_with_a_long_agent_name(
    recorded: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, run_id, _ = recorded
    assert main(["report", run_id, "--store", url]) == 0
    out = capsys.readouterr().out
    _check_whole(out, 120, run_id, *NUMBERS)
    row = _summary_row(out, "pass@K")
    assert row["run"] == run_id  # the whole id, on the row's first line
    assert row["agent"] != LONG_AGENT and LONG_AGENT.startswith(row["agent"])  # the agent folds instead
    panel_title = next(line for line in out.splitlines() if line.startswith("╭"))
    assert run_id in panel_title  # the run's panel names it, however long the agent's name
    assert {k: row[k] for k in ("n/K", "c", "pass@K", "pass^K", "flicker", "mean")} == {
        "n/K": "5/5",
        "c": "3",
        "pass@K": "1.000",
        "pass^K": "0.000",
        "flicker": "1.000",
        "mean": "0.620",
    }


def _narrow(monkeypatch: pytest.MonkeyPatch, width: int = 60) -> io.StringIO:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=True, color_system=None, highlight=False)
    for module in (runs_cli, run_list_cli, traces_cli, compare_cli):
        monkeypatch.setattr(module, "console", console)
    return buffer


def _check_whole(text: str, width: int, *words: str) -> None:
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    tokens = {t.strip("│,:[]()") for line in lines for t in line.split()}
    for word in words:
        assert word in tokens, f"{word!r} is cut or missing in:\n{text}"


def test_a_report_on_an_80_column_terminal_keeps_the_run_id_and_every_number_whole(
    recorded: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, run_id, _ = recorded
    buffer = _narrow(monkeypatch, width=80)
    assert main(["report", run_id, "--store", url]) == 0
    text = buffer.getvalue()
    _check_whole(text, 80, run_id, *NUMBERS)
    summary = text.split("╭")[0]  # the summary, before the run's panel
    assert f"run {run_id}" in summary
    assert all(f" {label} {value}" in " ".join(summary.split()) for label, value in SUMMARY_CELLS)
    assert "very_long_agent_module_name" in "".join(summary.split())  # folded, not dropped


#: The summary's cells of the long-named agent's run, as ``label value`` on a narrow console.
SUMMARY_CELLS = (
    ("n/K", "5/5"),
    ("c", "3"),
    ("pass@K", "1.000"),
    ("pass^K", "0.000"),
    ("flicker", "1.000"),
    ("mean", "0.620"),
)


@pytest.mark.parametrize(
    "command",
    [
        ["report", "{first}"],
        ["runs"],
        ["episodes", "{first}"],
        ["compare", "{second}", "{first}"],
    ],
)
def test_narrow_terminals_get_records_with_ids_and_numbers_whole(
    recorded: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    url, first, second = recorded
    buffer = _narrow(monkeypatch)
    args = [part.format(first=first, second=second) for part in command]
    assert main([*args, "--store", url]) == 0
    text = buffer.getvalue()
    _check_whole(text, 60, first, *(NUMBERS if command[0] != "episodes" else ("1", "0.2", "0.9")))
    if command[0] in ("runs", "compare"):
        _check_whole(text, 60, second)
