"""``rgym episodes``, ``rgym replay`` and ``rgym export``: read what the trace store recorded.

Ids may be given as any unique prefix (``rgym replay 01J9``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich import box
from rich.console import Group, JustifyMethod
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gym_core.cli.consoles import make_console
from gym_core.cli.options import StoreOption, WeakIsolationOption, note_store, suite_run_or_none
from gym_core.errors import ConfigError, NotFoundError
from gym_core.outcomes import EpisodeStatus, RunStatus

if TYPE_CHECKING:  # the store pulls in SQLAlchemy and Alembic: import it when a command needs it
    from gym_core.store import EpisodePublic, EvaluationPublic, StepPublic, TraceStore

console = make_console()
err_console = make_console(stderr=True)

#: Lines of output shown per step in the whole-episode view; ``--step N`` shows all of them.
PREVIEW_LINES = 12
EXPORT_FORMATS = ("jsonl",)

_STATUS_STYLE = {
    EpisodeStatus.RUNNING: "yellow",
    EpisodeStatus.SUBMITTED: "green",
    EpisodeStatus.TRUNCATED: "cyan",
    EpisodeStatus.CRASHED: "red",
    EpisodeStatus.INTERRUPTED: "magenta",
    RunStatus.COMPLETED: "green",
    "failed": "red",
}


def register(app: typer.Typer) -> None:
    """Mount ``episodes``, ``replay`` and ``export`` on the root app."""
    app.command("episodes")(episodes)
    app.command("replay")(replay)
    app.command("export")(export)


# --- formatting helpers ---------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def describe_action(action: Any) -> str:
    """A one-line human form of a recorded action (the raw text when it was not a valid action)."""
    if isinstance(action, str):
        try:
            action = json.loads(action)
        except ValueError:
            return f"(not JSON) {action}"
    if not isinstance(action, dict):
        return f"(not an action) {json.dumps(action)}"
    tool = action.get("tool")
    if tool == "bash":
        timeout = f"  [timeout {action['timeout_s']}s]" if "timeout_s" in action else ""
        return f"$ {action.get('command', '')}{timeout}"
    if tool == "write_file":
        content = action.get("content")
        size = f" ({len(content)} chars)" if isinstance(content, str) else ""
        return f"write_file {action.get('path', '?')}{size}"
    if tool == "read_file":
        return f"read_file {action.get('path', '?')}"
    if tool in ("validate", "submit"):
        return str(tool)
    return json.dumps(action)


def _preview(text: str, max_lines: int | None) -> str:
    lines = text.splitlines()
    if max_lines is None or len(lines) <= max_lines:
        return text.rstrip("\n")
    head = max_lines // 2
    tail = max_lines - head
    hidden = len(lines) - max_lines
    marker = f"... {hidden} more lines (rgym replay EPISODE --step N shows them all) ..."
    return "\n".join([*lines[:head], marker, *lines[-tail:]])


def _refusal_lines(flags: dict[str, Any]) -> list[Text]:
    """The requests the sandbox's network refused in a step (a task's blocked_urls), for evaluators."""
    refusals = flags.get("blocked_requests") or []
    lines = []
    for r in refusals[:20]:
        if not isinstance(r, dict):
            continue
        pattern = f", pattern {r['pattern']}" if r.get("pattern") else ""
        lines.append(
            Text(
                f"network refused: {r.get('method')} {r.get('target')} ({r.get('reason')}{pattern})",
                style="bold yellow",
            )
        )
    more = int(flags.get("blocked_requests_count") or len(refusals)) - len(lines)
    if lines and more > 0:
        lines.append(Text(f"network refused {more} more requests", style="bold yellow"))
    return lines


def _step_panel(
    step: StepPublic, evaluations: list[EvaluationPublic], output: str, max_lines: int | None
) -> Panel:
    title = Text.assemble(("step ", "bold"), (str(step.index), "bold cyan"))
    facts = [
        f"exit {step.exit_code if step.exit_code is not None else '-'}",
        f"took {_duration(step.duration_s)}",
    ]
    if step.agent_time_s is not None:
        facts.append(f"agent thought {_duration(step.agent_time_s)}")
    raised = [name for name, value in step.flags.items() if value]
    if raised:
        facts.append("flags: " + ", ".join(raised))
    if "output" in step.overflow:
        facts.append("output cut in store; full text kept")
    parts: list[Any] = [
        Text(describe_action(step.action), style="bold"),
        Text("  ".join(facts), style="dim"),
    ]
    if output.strip():
        parts.append(Text(_preview(output, max_lines)))
    parts.extend(_refusal_lines(step.flags))
    for ev in evaluations:
        verdict = "valid" if ev.valid else "INVALID"
        parts.append(
            Text(
                f"{ev.kind}: raw {_num(ev.raw_score)}  normalized {_num(ev.normalized_score)}  ({verdict})"
                + ("  [snapshot truncated]" if ev.snapshot_truncated else ""),
                style="bold green" if ev.valid else "bold red",
            )
        )
    return Panel(
        Group(*parts), title=title, title_align="left", subtitle=step.started_at.strftime("%H:%M:%S")
    )


def _episode_header(store: TraceStore, episode: EpisodePublic) -> Table:
    run = store.get_run(episode.run_id)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    table.add_row("episode", Text(episode.id, style="bold"))
    table.add_row("run", f"{run.id}  task {run.task_id} v{run.task_version}  agent {run.agent}")
    table.add_row("attempt", f"{episode.index}  seed {episode.seed if episode.seed is not None else '-'}")
    table.add_row("status", _status(episode.status))
    table.add_row(
        "score",
        f"final (private) {_num(episode.final_raw)} (normalized {_num(episode.final_normalized)})  "
        f"best validate (public) {_num(episode.best_raw)} (normalized {_num(episode.best_normalized)})",
    )
    table.add_row(
        "steps", f"{episode.n_steps}  evaluations {episode.n_evals}  wall {_duration(episode.wall_time_s)}"
    )
    if episode.failure_kind or episode.error:
        table.add_row(
            "failure", Text(f"{episode.failure_kind or ''} {episode.error or ''}".strip(), style="red")
        )
    return table


# Full ids stay whole: they are what `rgym replay` takes.
_EPISODE_COLUMNS: list[tuple[str, JustifyMethod, int | None]] = [
    ("#", "right", None),
    ("episode", "left", 26),
    ("seed", "right", None),
    ("status", "left", 11),
    ("final raw (private)", "right", None),
    ("final norm (private)", "right", None),
    ("best validate (public)", "right", None),
    ("steps", "right", None),
    ("evals", "right", None),
    ("wall", "right", None),
    ("failure", "left", None),
]

# --- commands -------------------------------------------------------------------------------------


def episodes(
    run_id: Annotated[str, typer.Argument(help="Run id (any unique prefix).")],
    store: StoreOption = None,
) -> None:
    """One line per attempt of a run: status, final raw/normalized and best normalized score, steps,
    evaluations, wall time, failure kind."""
    from gym_core.store import open_store

    with open_store(store) as trace_store:
        run = trace_store.get_run(trace_store.resolve_run_id(run_id))
        rows = trace_store.list_episodes(run.id)
        note_store(trace_store, err_console)
    from gym_core.report.layout import LONG_TABLE_ROWS, is_narrow, long_table, records

    title = f"run {run.id}: {run.task_id} v{run.task_version}, agent {run.agent}, k={run.k} ({run.status})"
    if is_narrow(console):
        console.print(Text(title, style="italic"))
        console.print(
            records(
                [
                    [
                        ("#", str(ep.index)),
                        ("seed", "-" if ep.seed is None else str(ep.seed)),
                        ("final raw (private)", _num(ep.final_raw)),
                        ("final norm (private)", _num(ep.final_normalized)),
                        ("best validate (public)", _num(ep.best_normalized)),
                        ("steps", str(ep.n_steps)),
                        ("evals", str(ep.n_evals)),
                        ("wall", _duration(ep.wall_time_s)),
                        *([("failure", ep.failure_kind)] if ep.failure_kind else []),
                    ]
                    for ep in rows
                ],
                heads=[f"{ep.id}  {ep.status}" for ep in rows],
                styles=[_STATUS_STYLE.get(ep.status, "") for ep in rows],
            )
        )
        if not rows:
            console.print("no episodes recorded yet", style="dim")
        return
    if len(rows) >= LONG_TABLE_ROWS:
        text = long_table(
            title,
            [(name, "left" if justify == "left" else "right") for name, justify, _ in _EPISODE_COLUMNS],
            [
                [
                    (str(ep.index), ""),
                    (ep.id, "cyan"),
                    ("-" if ep.seed is None else str(ep.seed), ""),
                    (ep.status, _STATUS_STYLE.get(ep.status, "")),
                    (_num(ep.final_raw), ""),
                    (_num(ep.final_normalized), ""),
                    (_num(ep.best_normalized), ""),
                    (str(ep.n_steps), ""),
                    (str(ep.n_evals), ""),
                    (_duration(ep.wall_time_s), ""),
                    (ep.failure_kind or "", ""),
                ]
                for ep in rows
            ],
            console.width,
        )
        if text is not None:
            console.print(text, soft_wrap=True)
            return
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify, width in _EPISODE_COLUMNS:
        table.add_column(name, justify=justify, min_width=width, no_wrap=width is not None)
    for ep in rows:
        table.add_row(
            str(ep.index),
            Text(ep.id, style="cyan"),
            "-" if ep.seed is None else str(ep.seed),
            _status(ep.status),
            _num(ep.final_raw),
            _num(ep.final_normalized),
            _num(ep.best_normalized),
            str(ep.n_steps),
            str(ep.n_evals),
            _duration(ep.wall_time_s),
            ep.failure_kind or "",
        )
    console.print(table)
    if not rows:
        console.print("no episodes recorded yet", style="dim")


def replay(
    episode_id: Annotated[str, typer.Argument(help="Episode id (any unique prefix).")],
    step: Annotated[
        int | None, typer.Option("--step", min=0, help="Show only this step, with its full output.")
    ] = None,
    execute: Annotated[
        bool,
        typer.Option(
            "--execute", help="Re-run the recorded actions in a fresh sandbox and report divergence."
        ),
    ] = False,
    store: StoreOption = None,
    allow_weak_isolation: WeakIsolationOption = False,
) -> None:
    """Show an episode's trace step by step: action, output, exit code, timing, flags, scores."""
    from gym_core.store import open_store

    with open_store(store) as trace_store:
        resolved = trace_store.resolve_episode_id(episode_id)
        if execute:
            from gym_core.replay import execute_replay

            execute_replay(trace_store, resolved, console=console)
            return
        episode = trace_store.get_episode(resolved)
        evaluations = trace_store.list_evaluations(resolved)
        console.print(_episode_header(trace_store, episode))
        if step is not None:
            shown = [trace_store.get_step(resolved, step)]
            outputs = {step: trace_store.get_step_output(resolved, step)}
            max_lines: int | None = None
        else:
            shown = trace_store.list_steps(resolved)
            outputs = {s.index: str(s.observation.get("output") or "") for s in shown}
            max_lines = PREVIEW_LINES
    by_step: dict[int, list[EvaluationPublic]] = {}
    for ev in evaluations:
        by_step.setdefault(ev.step_index, []).append(ev)
    for s in shown:
        console.print(_step_panel(s, by_step.get(s.index, []), outputs[s.index], max_lines))
    if not shown:
        console.print("no steps recorded", style="dim")


def export(
    run_id: Annotated[str, typer.Argument(help="Run id or suite run id (any unique prefix).")],
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    store: StoreOption = None,
) -> None:
    """Every run/episode/step/evaluation of a run, one JSON object a line; of a suite run, the suite run's
    record, then every record of each of its runs."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(
            f"--format {fmt!r} is not supported", hint=f"use one of: {', '.join(EXPORT_FORMATS)}"
        )
    from gym_core.store import open_store

    with open_store(store) as trace_store:
        try:
            resolved = trace_store.resolve_run_id(run_id)
            records = trace_store.export_run(resolved)
            what = "run"
        except NotFoundError:
            suite_run = suite_run_or_none(trace_store, run_id)
            if suite_run is None:
                raise
            resolved, records, what = suite_run, trace_store.export_suite_run(suite_run), "suite run"
        note_store(trace_store, err_console)
        if out is None:
            _write_jsonl(records, sys.stdout)
            sys.stdout.flush()
            return
        tmp = out.with_name(out.name + ".partial")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8") as fh:
                count = _write_jsonl(records, fh)
            tmp.replace(out)  # a reader never sees half an export
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ConfigError(f"cannot write {out}: {exc.strerror or exc}") from exc
    err_console.print(f"wrote {count} records of {what} {resolved} to {out}")


def _write_jsonl(records: Iterable[dict[str, Any]], stream: TextIO) -> int:
    count = 0
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False, allow_nan=False))
        stream.write("\n")
        count += 1
    return count
