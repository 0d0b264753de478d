"""The ``rgym`` command line (SPEC.md section 4).

Every sub-command lives in its own module and is mounted here. Any :class:`RgymError` that escapes a
command is printed as one clear line and turned into its exit code; bad input never shows a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from gym_core import __version__
from gym_core.cli import gc as gc_cli
from gym_core.cli import images as images_cli
from gym_core.cli import runs as runs_cli
from gym_core.cli import serve as serve_cli
from gym_core.cli import tasks as tasks_cli
from gym_core.cli import traces as traces_cli
from gym_core.errors import EXIT_BAD_INPUT, RgymError

err_console = Console(stderr=True, highlight=False)

app = typer.Typer(
    name="rgym",
    help="A containerized environment for research agents, scored for capability and reliability.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tasks_cli.app, name="tasks")
app.add_typer(images_cli.app, name="images")
runs_cli.register(app)
traces_cli.register(app)
gc_cli.register(app)
serve_cli.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rgym {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """rgym: research tasks as Gymnasium environments, traced and scored."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rgym`` console script; returns the process exit code.

    Click handles its own usage errors (exit 2) and ``typer.Exit``; rgym's own errors become one line.
    """
    try:
        app(args=argv, prog_name="rgym", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_BAD_INPUT)
    except RgymError as exc:
        for line in str(exc).splitlines():
            err_console.print(f"[bold red]error:[/] {line}", soft_wrap=True, markup=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
