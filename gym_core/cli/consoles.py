"""Consoles of the CLI: a terminal gets its own width; a pipe or CI log gets a wide fixed one.

Rich assumes 80 columns when it cannot ask a terminal, which folds ids and numbers in tables that are
read in logs and files. Every command prints through these.
"""

from __future__ import annotations

from rich.console import Console

#: Width used when output is not a terminal.
PIPE_WIDTH = 120


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr), at least :data:`PIPE_WIDTH` wide when not a terminal."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=PIPE_WIDTH)
    return console
