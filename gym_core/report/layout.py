"""Tables that never cut an id or a number: wide consoles get tables, narrow ones get records.

A table too wide for its console makes rich squeeze or crop columns, numbers included. Below
:data:`NARROW_BELOW` columns each row is printed instead as a paragraph of ``label value`` pairs, which
wraps between words: an id or a number is one word, so it stays whole.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Literal

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.text import Text

NARROW_BELOW = 100
"""Consoles narrower than this get records instead of tables."""


def is_narrow(console: Console) -> bool:
    """True when tables would not fit ``console`` whole."""
    return console.width < NARROW_BELOW


def records(
    rows: Sequence[Sequence[tuple[str, str]]],
    *,
    heads: Sequence[str] | None = None,
    styles: Sequence[str] = (),
) -> Group:
    """One paragraph per row: an optional bold head line (an id), then ``label value`` pairs.

    Args:
        rows: per row, the (label, value) pairs in order.
        heads: per row, a line of its own above the pairs (e.g. the run id), or None.
        styles: per row, a style for the head.
    """
    items: list[RenderableType] = []
    for i, pairs in enumerate(rows):
        if heads is not None:
            style = styles[i] if i < len(styles) else "bold"
            items.append(Text(heads[i], style=style or "bold", overflow="fold"))
        line = Text("  ", overflow="fold")
        for j, (label, value) in enumerate(pairs):
            if j:
                line.append(" · ", style="dim")
            line.append(f"{label} ", style="dim")
            line.append(value)
        items.append(line)
    return Group(*items)


LONG_TABLE_ROWS = 200
"""From this many rows on, :func:`long_table` lays a table out instead of rich (whose measuring and
wrapping of every cell takes seconds for a thousand rows)."""

_GAP = "  "


def long_table(
    title: str,
    columns: Sequence[tuple[str, Literal["left", "right"]]],
    rows: Sequence[Sequence[tuple[str, str]]],
    width: int,
) -> Text | None:
    """A table of many rows as one text, in linear time: a title, the headers (wrapped between words when
    the columns would not fit otherwise), a rule, then one line per row; cells are never cut or wrapped.

    Args:
        columns: per column, its header and justification.
        rows: per row, one (text, style) per column; cells are plain text (no markup), style may be "".
        width: the console's width.

    Returns:
        The table, or None when its rows are wider than ``width`` (print a rich table or records then).
    """
    count = len(columns)
    data = [max((cell_len(row[i][0]) for row in rows), default=0) for i in range(count)]
    words = [max((len(w) for w in header.split()), default=0) for header, _ in columns]
    widths = [max(data[i], len(header)) for i, (header, _) in enumerate(columns)]
    room = width - len(_GAP) * (count - 1)
    # Wrap the headers that gain the most first, until the table fits.
    for i in sorted(range(count), key=lambda i: widths[i] - max(data[i], words[i]), reverse=True):
        if sum(widths) <= room:
            break
        widths[i] = max(data[i], words[i])
    if sum(widths) > room:
        return None
    # textwrap refuses a width of 0: that of a blank header over a column of empty cells.
    heads = [textwrap.wrap(header, max(widths[i], 1)) or [""] for i, (header, _) in enumerate(columns)]
    out = Text(no_wrap=True, overflow="ignore")
    out.append(f"{title}\n", style="italic")

    def line(cells: Sequence[tuple[str, str]]) -> None:
        for i, (text, style) in enumerate(cells):
            pad = " " * (widths[i] - cell_len(text))
            if i:
                out.append(_GAP)
            if columns[i][1] == "right":
                out.append(pad)
            out.append(text, style=style or None)
            if columns[i][1] == "left" and i < count - 1:
                out.append(pad)
        out.append("\n")

    for at in range(max(len(h) for h in heads)):
        line([(h[at] if at < len(h) else "", "bold") for h in heads])
    out.append("─" * (sum(widths) + len(_GAP) * (count - 1)) + "\n", style="dim")
    for row in rows:
        line(row)
    return out
