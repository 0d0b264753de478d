"""The ``rgym`` command line (README.md and docs/ describe every command).

Every sub-command lives in its own module and is mounted here. Any :class:`RgymError` that escapes a
command is printed as one clear line and turned into its exit code; bad input never shows a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from gym_core import __version__
from gym_core.errors import EXIT_BAD_INPUT, RgymError

if TYPE_CHECKING:
    from rich.console import Console
    from typer._click.core import Command, Context  # typer's own click, which TyperGroup extends

#: Every command and the module that defines it, in the order ``rgym --help`` lists them. A module is
#: imported only when one of its commands runs (or help lists them all), so ``rgym --version`` and
#: ``rgym tasks list`` never load the docker SDK, SQLAlchemy, numpy or matplotlib. A module mounts its
#: commands with ``register(app)``, or is a sub-app (``app``) mounted under the command's name.
COMMANDS: dict[str, str] = {
    "run": "gym_core.cli.runs",
    "report": "gym_core.cli.runs",
    "resume": "gym_core.cli.runs",
    "runs": "gym_core.cli.run_list",
    "compare": "gym_core.cli.compare",
    "episodes": "gym_core.cli.traces",
    "replay": "gym_core.cli.traces",
    "export": "gym_core.cli.traces",
    "gc": "gym_core.cli.gc",
    "serve": "gym_core.cli.serve",
    "tasks": "gym_core.cli.tasks",
    "images": "gym_core.cli.images",
    "tokens": "gym_core.cli.tokens",
}

_SETTINGS: dict[str, object] = {
    "pretty_exceptions_enable": False,
    "add_completion": False,
    # Markdown joins a docstring's lines into paragraphs, so help text wraps at the terminal's width.
    "rich_markup_mode": "markdown",
}


class LazyGroup(TyperGroup):
    """The root command group: builds each command from its module on first use (see :data:`COMMANDS`)."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self._mount(COMMANDS[cmd_name])
        return self.commands.get(cmd_name)

    def _mount(self, module_name: str) -> None:
        module = importlib.import_module(module_name)
        holder = typer.Typer(**_SETTINGS)  # type: ignore[arg-type]
        holder.callback()(_noop)  # a group even when the module mounts a single command
        if hasattr(module, "register"):
            module.register(holder)
        else:
            for name, owner in COMMANDS.items():
                if owner == module_name:
                    holder.add_typer(module.app, name=name)
        for name, command in typer.main.get_group(holder).commands.items():
            self.commands.setdefault(name, command)


def _noop() -> None:
    """Placeholder callback of a module's holder app."""


app = typer.Typer(
    name="rgym",
    help="A containerized environment for research agents, scored for capability and reliability.",
    no_args_is_help=True,
    cls=LazyGroup,
    **_SETTINGS,  # type: ignore[arg-type]
)


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


def _err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


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
        from rich.markup import escape

        err_console = _err_console()
        for line in str(exc).splitlines():
            # the message is plain text: "pip install 'rgym[ray]'" must not read as a style tag
            err_console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, markup=True)
        return exc.exit_code
    except KeyboardInterrupt:
        _err_console().print("[bold red]interrupted[/]")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
