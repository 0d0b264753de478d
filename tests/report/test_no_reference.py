"""Reports of a run without a reference: the scale sentence says so and the numbers are raw scores."""

from __future__ import annotations

import json
from dataclasses import replace

from gym_core.report import entries as report_entries
from gym_core.report.json_format import render_json
from gym_core.report.markdown import render_markdown
from tests.report.synthetic import synthetic_run


def _raw_run():  # type: ignore[no-untyped-def]
    run = synthetic_run(k=3, invalid=0, seed=3)
    attempts = tuple(
        replace(
            a,
            final_raw=[0.05, 0.06, 0.07][i],
            final_normalized=None,
            evaluations=tuple(replace(e, raw=[0.05, 0.06, 0.07][i], normalized=None) for e in a.evaluations),
        )
        for i, a in enumerate(run.attempts)
    )
    return replace(run, reference_raw=None, attempts=attempts, baseline_public_raw=0.07)


def test_markdown_and_json_show_raw_scores() -> None:
    run = _raw_run()
    entry = report_entries.build_entries([run])[0]
    text = render_markdown([entry])
    assert "no reference: scores are raw ece" in text and "= 0, reference" not in text
    doc = json.loads(render_json([entry]))["runs"][0]
    assert doc["scale"] == "raw" and doc["reference_raw"] is None
    assert [a["final_raw"] for a in doc["attempts"]] == [0.05, 0.06, 0.07]
    assert doc["metrics"]["best_of_k"] == 0.05  # ece is minimized: the lowest raw score is the best


def test_html_plots_draw_raw_scores_against_the_baseline() -> None:
    from gym_core.report import render_report

    html = render_report([_raw_run()], "html")
    assert "no reference: scores are raw ece" in html
    assert "Raw score of each attempt over time" in html
