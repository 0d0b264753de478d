"""``rgym runs``: one line per run, newest first, with its status and headline metrics."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from gym_core.cli.consoles import make_console
from gym_core.cli.options import StoreOption, note_store
from gym_core.errors import ConfigError

if TYPE_CHECKING:  # the report package pulls in matplotlib: import it when a command needs it
    from gym_core.report.run_rows import Health, RunRow, SuiteRunRow
    from gym_core.store import TraceStore

console = make_console()
err_console = make_console(stderr=True)

FORMATS = ("table", "json")

HEALTH_STYLE: dict[Health, str] = {"ok": "green", "warn": "yellow", "bad": "bold red", "pending": "cyan"}

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A ``--since`` value as an aware datetime.

    Accepts an ISO date or date-time (``2025-03-01``, ``2025-03-01T14:00``, with or without an offset; no
    offset means local time), ``today``, ``yesterday``, or an age such as ``90m``, ``12h``, ``7d``, ``2w``.

    Raises:
        ConfigError: anything else.
    """
    now = now or datetime.now(UTC)
    value = text.strip().lower()
    if value in ("today", "yesterday"):
        local = now.astimezone()
        start = datetime.combine(local.date(), datetime.min.time(), tzinfo=local.tzinfo)
        return start - timedelta(days=1) if value == "yesterday" else start
    match = _RELATIVE.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ConfigError(
                f"--since {text!r} is not a date",
                hint="use 2025-03-01, 2025-03-01T14:00, today, yesterday, or an age like 12h, 7d, 2w",
            ) from None
        parsed = datetime.combine(day, datetime.min.time())
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


def runs(
    task: Annotated[str | None, typer.Option("--task", help="Only runs of this task id.")] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Only runs of this agent: its --agent spec, or the name before ':'."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only runs started since: 2025-03-01, 2025-03-01T14:00, today, 12h, 7d."
        ),
    ] = None,
    suites: Annotated[
        bool,
        typer.Option(
            "--suites",
            help="One line per suite run (rgym run --suite) instead: its tasks and the mean best-of-K, "
            "pass@K, pass^K and flicker over them.",
        ),
    ] = False,
    suite_run: Annotated[
        str | None,
        typer.Option("--suite-run", help="Only the per-task runs of this suite run (an id or its prefix)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many runs.")] = 50,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json")] = "table",
    store: StoreOption = None,
) -> None:
    """One line per run, newest first: status, n/K, c, pass@K, pass^K and mean; the suite run a run belongs
    to, if any. With --suites, one line per suite run."""
    from gym_core.report.store_loader import load_run_rows
    from gym_core.store import open_store

    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if suites and suite_run is not None:
        raise ConfigError(
            "--suites lists suite runs, --suite-run the runs of one: give one of them",
            hint="rgym runs --suites, then rgym runs --suite-run ID (or rgym report ID)",
        )
    since_at = parse_since(since) if since is not None else None
    with open_store(store) as trace_store:
        if suites:
            _list_suite_runs(trace_store, task=task, agent=agent, since=since, limit=limit, fmt=fmt)
            return
        suite_run_id = trace_store.resolve_suite_run_id(suite_run) if suite_run is not None else None
        records = trace_store.list_runs(
            task_id=task, agent=agent, since=since_at, suite_run_id=suite_run_id, limit=limit
        )
        rows = load_run_rows(trace_store, records)
        has_suite_runs = suite_run is None and bool(trace_store.list_suite_runs(limit=1))
        note_store(trace_store, err_console)
    if fmt == "json":
        typer.echo(json.dumps([row.json() for row in rows], indent=2, allow_nan=False))
        return
    if not rows:
        filters = [
            f"{name} {value}"
            for name, value in (("task", task), ("agent", agent), ("since", since), ("suite run", suite_run))
            if value
        ]
        where = f" matching {', '.join(filters)}" if filters else ""
        console.print(
            f"no runs{where}; start one with: rgym run TASK_ID --agent baseline --runs 3", style="dim"
        )
        return
    from gym_core.report.layout import is_narrow

    console.print(runs_records(rows) if is_narrow(console) else runs_table(rows))
    if len(rows) == limit:
        err_console.print(f"showing the newest {limit}; --limit N shows more", style="dim")
    if has_suite_runs:
        err_console.print(
            "suite runs (rgym run --suite) group runs: rgym runs --suites lists them, "
            "rgym report SUITE_RUN reports one",
            style="dim",
        )


def _list_suite_runs(
    trace_store: TraceStore, *, task: str | None, agent: str | None, since: str | None, limit: int, fmt: str
) -> None:
    """``rgym runs --suites``."""
    from gym_core.report.store_loader import load_suite_run_rows

    since_at = parse_since(since) if since is not None else None
    records = trace_store.list_suite_runs(agent=agent, since=since_at)
    if task is not None:
        records = [r for r in records if task in r.tasks]
    rows = load_suite_run_rows(trace_store, records[:limit])
    note_store(trace_store, err_console)
    if fmt == "json":
        typer.echo(json.dumps([row.json() for row in rows], indent=2, allow_nan=False))
        return
    if not rows:
        filters = [
            f"{name} {value}" for name, value in (("task", task), ("agent", agent), ("since", since)) if value
        ]
        where = f" matching {', '.join(filters)}" if filters else ""
        console.print(
            f"no suite runs{where}; start one with: rgym run --suite core --agent tuner --runs 3", style="dim"
        )
        return
    from gym_core.report.layout import is_narrow

    if is_narrow(console):
        console.print(suite_runs_records(rows))
    else:
        console.print(suite_runs_table(rows))
        for row in rows:
            if row.problem or row.na_reason:
                console.print(f"{row.suite_run_id}: n/a: {row.problem or row.na_reason}", style="dim")
    if len(rows) == limit:
        err_console.print(f"showing the newest {limit}; --limit N shows more", style="dim")
    err_console.print(
        "rgym report SUITE_RUN shows a suite run's per-task table (two or more: their AUP); "
        "rgym runs --suite-run SUITE_RUN lists its runs",
        style="dim",
    )


def runs_table(rows: list[RunRow]) -> Table:
    """The runs as a table. Ids and numbers never wrap; the task, agent and status columns fold instead.

    The flicker (pass@K - pass^K) is left to ``--format json`` and ``rgym report``, to leave room for text.
    """
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("run", style="cyan", no_wrap=True, min_width=26)
    table.add_column("started", no_wrap=True)
    table.add_column("task", overflow="fold")
    table.add_column("agent", overflow="fold")
    table.add_column("status", overflow="fold")
    show_suite = any(row.suite_run_id for row in rows)
    if show_suite:
        table.add_column("suite run", no_wrap=True, min_width=SUITE_ID_WIDTH)
    numeric = ["n/K", "c", "pass@K", "pass^K", "mean"]
    show_excluded = any(row.excluded for row in rows)
    if show_excluded:
        numeric.insert(2, "excl.")
    for header in numeric:
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for row in rows:
        m = row.metrics
        started = row.created_at.astimezone().strftime("%m-%d %H:%M") if row.created_at else "-"
        task = f"{row.task_id} v{row.task_version}"
        if row.perturbations:
            task += " [" + ", ".join(f"{k}={v}" for k, v in sorted(row.perturbations.items())) + "]"
        status = Text(row.status_text, style=HEALTH_STYLE[row.health])
        if m is None:
            cells = [f"?/{row.k}", "-", "-", "-", "-"]
            status = Text(f"{row.status_text} ({row.problem})", style=HEALTH_STYLE[row.health])
        else:
            cells = [
                f"{m.n}/{m.k}",
                str(m.c),
                _rate(m.pass_at_k),
                _rate(m.pass_hat_k),
                _rate(m.mean),
            ]
        if show_excluded:
            cells.insert(2, str(row.excluded))
        if show_suite:
            cells.insert(0, short_id(row.suite_run_id) if row.suite_run_id else "-")
        table.add_row(row.run_id, started, task, row.agent, status, *cells)
    return table


SUITE_ID_WIDTH = 10
"""Characters of a suite run id shown beside its runs (a prefix that ``rgym report`` accepts)."""


def short_id(ulid: str) -> str:
    """The first :data:`SUITE_ID_WIDTH` characters of an id."""
    return ulid[:SUITE_ID_WIDTH]


def suite_runs_table(rows: list[SuiteRunRow]) -> Table:
    """The suite runs as a table: one line each, with the means of its ``rgym report`` aggregate row."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("suite run", style="cyan", no_wrap=True, min_width=26)
    table.add_column("started", no_wrap=True)
    table.add_column("suite", overflow="fold")
    table.add_column("agent", overflow="fold")
    table.add_column("status", no_wrap=True)
    numeric = ["runs", "K", *SUITE_MEANS.values()]
    for header in numeric:
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for row in rows:
        started = row.created_at.astimezone().strftime("%m-%d %H:%M") if row.created_at else "-"
        table.add_row(
            row.suite_run_id,
            started,
            row.suite,
            row.agent,
            Text(row.status, style=HEALTH_STYLE[row.health]),
            f"{row.runs}/{row.tasks}",
            str(row.k),
            *(_rate(row.means.get(name, math.nan)) for name in SUITE_MEANS),
        )
    return table


def suite_runs_records(rows: list[SuiteRunRow]) -> Group:
    """The suite runs for a narrow console."""
    from gym_core.report.layout import records

    cells = []
    for row in rows:
        started = row.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if row.created_at else "-"
        pairs = [
            ("started", started),
            ("suite", row.suite),
            ("agent", row.agent),
            ("runs", f"{row.runs}/{row.tasks}"),
            ("K", str(row.k)),
        ]
        pairs += [(header, _rate(row.means.get(name, math.nan))) for name, header in SUITE_MEANS.items()]
        if row.problem or row.na_reason:
            pairs.append(("n/a", row.problem or row.na_reason or ""))
        cells.append(pairs)
    return records(
        cells,
        heads=[f"{row.suite_run_id}  {row.status}" for row in rows],
        styles=[HEALTH_STYLE[row.health] for row in rows],
    )


SUITE_MEANS = {
    "best_of_k": "best-of-K",
    "pass_at_k": "pass@K",
    "pass_hat_k": "pass^K",
    "flicker": "flicker",
}
"""The aggregate row of a suite report (means over its tasks), as column headers."""


def _cells(row: RunRow) -> list[tuple[str, str]]:
    m = row.metrics
    started = row.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if row.created_at else "-"
    pairs = [("started", started), ("task", f"{row.task_id} v{row.task_version}"), ("agent", row.agent)]
    if row.suite_run_id:
        pairs.append(("suite run", short_id(row.suite_run_id)))
    if row.perturbations:
        pairs.append(("perturbation", ", ".join(f"{k}={v}" for k, v in sorted(row.perturbations.items()))))
    if m is None:
        return [*pairs, ("not scored", row.problem or "")]
    pairs += [("n/K", f"{m.n}/{m.k}"), ("c", str(m.c))]
    if row.excluded:
        pairs.append(("excluded", str(row.excluded)))
    return [
        *pairs,
        ("pass@K", _rate(m.pass_at_k)),
        ("pass^K", _rate(m.pass_hat_k)),
        ("flicker", _rate(m.flicker)),
        ("mean", _rate(m.mean)),
    ]


def runs_records(rows: list[RunRow]) -> Group:
    """The runs for a narrow console: the id and status on a line, then the numbers, wrapped between words."""
    from gym_core.report.layout import records

    return records(
        [_cells(row) for row in rows],
        heads=[f"{row.run_id}  {row.status_text}" for row in rows],
        styles=[HEALTH_STYLE[row.health] for row in rows],
    )


def _rate(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def register(app: typer.Typer) -> None:
    """Mount ``runs`` on the root app."""
    app.command("runs")(runs)
