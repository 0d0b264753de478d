"""``rgym report`` and ``rgym episodes`` on a run of 1,000 attempts x 1,000 steps, SQLite and PostgreSQL.

Each command runs as its own process (start-up included, as a user sees it) against a synthetic store
(:mod:`benchmarks.synthetic_store`). The baseline, in the same run and also a fresh process, is the least
any tool must do for the same answer: a raw SQL select of the rows the command reads (the run's episodes
and their evaluations for the report, the episodes for the listing) with the database's own driver. The
first report of a run computes its method consistency and caches it; it is timed apart ("first report").
The peak memory of each command is recorded too. Target (issue 18): under 2 s each.

Usage::

    python -m benchmarks.bench_reports [--attempts 1000] [--steps 1000] [--repeats 5]
        [--databases sqlite,postgres] [--sqlite-store PATH --run-id ID] [--out benchmarks/results/reports.json]

PostgreSQL comes from ``scripts/ensure-postgres`` (skipped with a note when it cannot start); the
benchmark creates a database of its own there and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from benchmarks.common import REPO_ROOT, RESULTS_DIR, print_rows, row, run_timed, write_result
from benchmarks.synthetic_store import build_store

TARGET_MS = 2000.0

# The least any tool must do for a command's answer, with the database's own driver: select the run's
# episodes, and for the report their evaluations too.
_RAW_SELECT = """
import {driver}, sys
db = {driver}.connect(sys.argv[1])
run = sys.argv[2]
rows = db.execute('SELECT * FROM episodes WHERE run_id = {param} ORDER BY "index", id', (run,)).fetchall()
{evaluations}
print(len(rows))
"""
_RAW_EVALUATIONS = (
    "evals = db.execute('SELECT e.* FROM evaluations e JOIN episodes p ON p.id = e.episode_id "
    "WHERE p.run_id = {param} ORDER BY e.id', (run,)).fetchall()"
)
COMMANDS = {  # rgym's command: its raw baseline, and whether that reads the evaluations
    "report": ("raw SQL select of the episodes and evaluations", True),
    "episodes": ("raw SQL select of the episodes", False),
}


@contextmanager
def _postgres_database(console: Console) -> Iterator[str | None]:
    """A fresh PostgreSQL database (its SQLAlchemy URL), dropped afterwards; None when none can start."""
    try:
        server = subprocess.run(
            [str(REPO_ROOT / "scripts" / "ensure-postgres")],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        console.print(f"[yellow]PostgreSQL skipped[/]: scripts/ensure-postgres failed ({exc})")
        yield None
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server)
    name = f"rgym_bench_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _raw_select(driver: str, param: str, evaluations: bool) -> str:
    """The raw baseline's script, for ``python -c`` (argv: the database, the run id)."""
    return _RAW_SELECT.format(
        driver=driver, param=param, evaluations=_RAW_EVALUATIONS.format(param=param) if evaluations else ""
    )


def _bench_database(
    label: str, url: str, run_id: str, repeats: int, env: dict[str, str], progress: Progress
) -> list[dict[str, Any]]:
    python = sys.executable
    if url.startswith("sqlite"):
        target, driver, param = url.split("///", 1)[1], "sqlite3", "?"
    else:
        from sqlalchemy.engine import make_url

        target = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        driver, param = "psycopg", "%s"
    argv: dict[str, list[str]] = {}
    for command, (_, evaluations) in COMMANDS.items():
        argv[f"raw {command}"] = [python, "-c", _raw_select(driver, param, evaluations), target, run_id]
        argv[command] = [python, "-m", "gym_core.cli.main", command, run_id, "--store", url]

    from gym_core.store import open_store

    with open_store(url) as store:  # a stale key: the first report computes the consistency again
        store.put_run_consistency(run_id, key="cold", value=None, n_compared=0)
    bar = progress.add_task(f"timing on {label}", total=1 + repeats)
    first_s, first_rss, first_cpu = run_timed(argv["report"], env=env)  # computes and caches the consistency
    progress.advance(bar)
    samples: dict[str, list[float]] = {name: [] for name in argv}
    cpu: dict[str, list[float]] = {name: [] for name in argv}
    peak: dict[str, int] = {"report": first_rss, "episodes": 0}
    for _ in range(repeats):  # interleaved, so the machine's load hits all alike
        for name in ("raw report", "report", "raw episodes", "episodes"):
            elapsed, rss, cpu_s = run_timed(argv[name], env=env)
            samples[name].append(elapsed)
            cpu[name].append(cpu_s)
            if name in peak:
                peak[name] = max(peak[name], rss)
        progress.advance(bar)
    first = {"first_report_ms": first_s * 1000, "first_report_cpu_ms": first_cpu * 1000}
    return [
        row(
            f"rgym {command} ({label})",
            samples[command],
            baseline=baseline,
            baseline_s=samples[f"raw {command}"],
            target_ms=TARGET_MS,
            cpu_s=cpu[command],
            baseline_cpu_s=cpu[f"raw {command}"],
            peak_rss_mb=peak[command] / 1024,
            **(first if command == "report" else {}),
        )
        for command, (baseline, _) in COMMANDS.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--sqlite-store", type=Path, help="reuse this synthetic SQLite store (with --run-id)")
    parser.add_argument("--run-id", help="the run of --sqlite-store")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "reports.json")
    args = parser.parse_args(argv)
    console = Console()
    rows: list[dict[str, Any]] = []
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    with tempfile.TemporaryDirectory(prefix="rgym-bench-") as tmp:
        env = {**os.environ, "RGYM_DATA_DIR": str(Path(tmp) / "data")}
        with Progress(console=console) as progress:

            def build(url: str, label: str) -> str:
                bar = progress.add_task(
                    f"writing {args.attempts}x{args.steps} steps to {label}", total=args.attempts
                )
                return build_store(
                    url,
                    attempts=args.attempts,
                    steps=args.steps,
                    advance=lambda done: progress.update(bar, completed=done),
                )

            if "sqlite" in databases:
                if args.sqlite_store is not None:
                    url, run_id = f"sqlite:///{args.sqlite_store.resolve()}", args.run_id
                else:
                    url = f"sqlite:///{Path(tmp) / 'traces.db'}"
                    run_id = build(url, "SQLite")
                rows += _bench_database("SQLite", url, run_id, args.repeats, env, progress)
            if "postgres" in databases:
                with _postgres_database(console) as pg_url:
                    if pg_url is not None:
                        run_id = build(pg_url, "PostgreSQL")
                        rows += _bench_database("PostgreSQL", pg_url, run_id, args.repeats, env, progress)
    print_rows(
        console,
        f"reports at scale: {args.attempts} attempts x {args.steps} steps",
        rows,
        extra=[
            ("cpu_median_ms", "CPU ms"),
            ("first_report_ms", "first report ms"),
            ("peak_rss_mb", "peak MB"),
        ],
    )
    write_result(args.out, "reports", rows, attempts=args.attempts, steps=args.steps, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
