"""The HTML report's pictures: each is drawn from the right run and metrics (the perturbed run's against its
clean run) and embedded byte for byte, and the captions say which scale a task without a reference uses.
The golden file masks the pictures, so these pin what it cannot see."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest

from gym_core.report import html, plots
from gym_core.report.entries import build_entries
from gym_core.scoring.run_data import RunData
from tests.report.synthetic import synthetic_run


def test_a_picture_is_embedded_byte_for_byte_with_an_escaped_alt_text() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    assert html._img(png, 'pass@k "and" <pass^k>') == (
        f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
        'alt="pass@k &quot;and&quot; &lt;pass^k&gt;">'
    )


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Records what each plot is drawn from instead of drawing it."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for name in ("score_over_time", "final_score_distribution", "pass_curves"):

        def draw(*args: Any, _name: str = name) -> bytes:
            calls.append((_name, args))
            return _name.encode()

        monkeypatch.setattr(plots, name, draw)
    return calls


def test_a_perturbed_run_is_plotted_against_its_clean_run(drawn: list[tuple[str, tuple[Any, ...]]]) -> None:
    clean = synthetic_run("01HTMLCLEAN000000000000000", k=4, seed=1)
    perturbed = synthetic_run(
        "01HTMLPERTURBED00000000000", k=4, seed=2, perturbations={"tool_failure_rate": "0.2"}
    )
    entry = next(e for e in build_entries([clean, perturbed]) if e.run is perturbed)
    html._section(entry)
    assert entry.clean_run is clean and entry.clean_metrics is not None
    assert drawn == [
        ("score_over_time", (perturbed,)),
        ("final_score_distribution", (perturbed, entry.metrics, clean)),
        ("pass_curves", (entry.metrics, entry.clean_metrics)),
    ]
    assert all(args[0] is not None for _, args in drawn)


def _raw_run() -> RunData:
    run = synthetic_run("01HTMLRAW00000000000000000", k=3, invalid=0, seed=3)
    attempts = tuple(
        replace(
            a,
            final_raw=0.05 + i / 100,
            final_normalized=None,
            evaluations=tuple(replace(e, raw=0.05 + i / 100, normalized=None) for e in a.evaluations),
        )
        for i, a in enumerate(run.attempts)
    )
    return replace(run, reference_raw=None, attempts=attempts)


def test_captions_of_a_task_without_a_reference_say_raw(drawn: list[tuple[str, tuple[Any, ...]]]) -> None:
    section = html._section(build_entries([_raw_run()])[0])
    assert (
        "<figcaption>Raw score of each attempt over time, against the baseline (the task has no reference)."
        "</figcaption>" in section
    )
    assert (
        "<figcaption>Distribution of the final raw scores, with the mean and its 95% bootstrap CI." in section
    )
    assert "normalized" not in section
