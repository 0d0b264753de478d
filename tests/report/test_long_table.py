"""`long_table`: the linear-time layout of tables with many rows (``rgym episodes`` of a big run)."""

from __future__ import annotations

import io

from rich.console import Console

from gym_core.report.layout import long_table

COLUMNS = [("#", "right"), ("episode id", "left"), ("final raw (private)", "right"), ("failure", "left")]


def _rows(count: int) -> list[list[tuple[str, str]]]:
    return [
        [(str(i), ""), (f"EP{i:024d}", "cyan"), (f"{i / 7:.3f}", ""), ("timed_out" if i % 3 else "", "red")]
        for i in range(count)
    ]


def _plain(text: object, width: int = 200) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(text, soft_wrap=True)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def test_every_row_once_whole_and_aligned() -> None:
    rows = _rows(500)
    text = long_table("run X", COLUMNS, rows, 120)
    assert text is not None
    lines = _plain(text)
    assert lines[0] == "run X"
    body = [line for line in lines if line.lstrip()[:1].isdigit()]
    assert len(body) == 500
    for i, line in enumerate(body):
        cells = line.split()
        assert cells[:3] == [str(i), f"EP{i:024d}", f"{i / 7:.3f}"]
    # Right-justified numbers end in one column, left-justified ids start in one column.
    assert len({line.index("EP") for line in body}) == 1
    ends = {line.index(f"{i / 7:.3f}") + len(f"{i / 7:.3f}") for i, line in enumerate(body)}
    assert len(ends) == 1


def test_headers_wrap_between_words_to_fit_and_nothing_else_does() -> None:
    text = long_table("t", COLUMNS, _rows(3), 60)
    assert text is not None
    lines = _plain(text, width=60)
    assert max(len(line.rstrip()) for line in lines) <= 60
    header = "\n".join(lines[1:4])
    assert "final raw" in header and "(private)" in header
    assert any(line.split()[:2] == ["2", f"EP{2:024d}"] for line in lines)


def test_too_narrow_gives_none() -> None:
    assert long_table("t", COLUMNS, _rows(3), 30) is None


def test_styles_are_kept() -> None:
    text = long_table("t", COLUMNS, _rows(2), 120)
    assert text is not None
    styled = {str(span.style) for span in text.spans}
    assert {"cyan", "red", "bold", "italic"} <= styled
