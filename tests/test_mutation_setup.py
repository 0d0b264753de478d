"""The mutation-testing setup: the survivors file is well formed and scripts/mutate.py reads mutmut's names."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mutate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rgym_mutate_script", REPO / "scripts" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_known_survivor_has_its_reason(mutate: ModuleType) -> None:
    entries = tomllib.loads((REPO / "tests" / "mutation_survivors.toml").read_text())["survivor"]
    assert entries
    for entry in entries:
        (lines,) = set(entry) - {"module", "function", "kind", "reason"}
        assert lines in ("mutation", "mutations"), entry
        assert entry["kind"] in ("equivalent", "test to write"), entry
        assert entry["module"].startswith("gym_core.") and len(entry["reason"]) > 20, entry
        mutations = mutate.entry_mutations(entry)
        assert mutations and all(isinstance(m, str) and m for m in mutations), entry
        assert lines == "mutation" or len(mutations) > 1, f"one mutation is written `mutation = ...`: {entry}"
    keys = [(e["module"], e["function"], m) for e in entries for m in mutate.entry_mutations(e)]
    assert len(keys) == len(set(keys)), "a survivor is listed twice"


def test_mutated_modules_exist(mutate: ModuleType) -> None:
    for profile in mutate.PROFILES.values():
        for pattern in (*profile.modules, *profile.tests):
            assert list(REPO.glob(pattern)), pattern
    for path in mutate.NOT_MUTATED:
        assert (REPO / path).is_file(), path


@pytest.mark.parametrize(
    ("name", "module", "function"),
    [
        (
            "gym_core.scoring.estimators.x_bootstrap_ci__mutmut_26",
            "gym_core.scoring.estimators",
            "bootstrap_ci",
        ),
        (
            "gym_core.scoring.metrics.x__best_validated__mutmut_2",
            "gym_core.scoring.metrics",
            "_best_validated",
        ),
        (
            "gym_core.scoring.metrics.xǁRunMetricsǁvalue__mutmut_2",
            "gym_core.scoring.metrics",
            "RunMetrics.value",
        ),
    ],
)
def test_survivor_names_are_split_into_module_and_function(
    mutate: ModuleType, name: str, module: str, function: str
) -> None:
    match = mutate._NAME.match(name)
    assert match is not None
    found = f"{match['cls']}.{match['func']}" if match["cls"] else match["func"]
    assert (match["module"], found) == (module, function)


def test_a_survivor_matches_its_entry_exactly(mutate: ModuleType) -> None:
    survivor = mutate.Survivor("n", "gym_core.scoring.estimators", "pass_at_k", "if n + c < k:")
    entries = [
        {"module": "gym_core.scoring.estimators", "function": "pass_at_k", "mutation": "if n + c < k:"}
    ]
    assert mutate._explain(survivor, entries) is entries[0]
    other = mutate.Survivor("n", "gym_core.scoring.estimators", "pass_at_k", "if n - c <= k:")
    assert mutate._explain(other, entries) is None


def test_an_entry_can_explain_several_mutants_of_one_function(mutate: ModuleType) -> None:
    entries = [
        {
            "module": "gym_core.report.html",
            "function": "render",
            "mutations": ['css = "XXa {}XX"', 'css = "A {}"'],
        }
    ]
    for line in entries[0]["mutations"]:
        assert mutate._explain(mutate.Survivor("n", "gym_core.report.html", "render", line), entries)
    assert (
        mutate._explain(mutate.Survivor("n", "gym_core.report.html", "render", 'css = ""'), entries) is None
    )
    assert (
        mutate._explain(mutate.Survivor("n", "gym_core.report.html", "other", 'css = "A {}"'), entries)
        is None
    )


def test_a_survivor_is_read_from_its_diff(mutate: ModuleType) -> None:
    diff = (
        "--- gym_core/scoring/estimators.py\n+++ gym_core/scoring/estimators.py\n@@ -1,2 +1,2 @@\n"
        "-    if n - c < k:\n+    if n + c < k:\n"
    )
    survivor = mutate.survivor_of("gym_core.scoring.estimators.x_pass_at_k__mutmut_3", diff)
    assert (survivor.module, survivor.function, survivor.mutation) == (
        "gym_core.scoring.estimators",
        "pass_at_k",
        "if n + c < k:",
    )
    removed = mutate.survivor_of("gym_core.scoring.estimators.x_pass_at_k__mutmut_4", "-    return 1.0\n")
    assert removed.mutation == "(line removed)"


def test_unexplained_survivors_are_drafted_as_entries_of_the_survivors_file(mutate: ModuleType) -> None:
    survivors = [
        mutate.Survivor("a", "gym_core.report.html", "render", 'css = "XX"'),
        mutate.Survivor("b", "gym_core.report.html", "render", 'title = "A \\"quoted\\" ü"'),
        mutate.Survivor("c", "gym_core.actions", "parse_action", "if size >= LIMIT:"),
    ]
    entries = tomllib.loads(mutate.unexplained_toml(survivors))["survivor"]
    assert [(e["module"], e["function"]) for e in entries] == [
        ("gym_core.actions", "parse_action"),
        ("gym_core.report.html", "render"),
    ]
    assert entries[0]["mutation"] == "if size >= LIMIT:"
    assert sorted(entries[1]["mutations"]) == sorted(s.mutation for s in survivors[:2])
    # Each draft is matched by the survivor it was made from, so pasting it in explains exactly those.
    for s in survivors:
        assert mutate._explain(s, entries) is not None


def test_the_score_of_each_module_counts_caught_mutants_of_those_tried(mutate: ModuleType) -> None:
    statuses = {
        "gym_core.scoring.metrics.x_compute__mutmut_1": "killed",
        "gym_core.scoring.metrics.x_compute__mutmut_2": "timeout",
        "gym_core.scoring.metrics.x_compute__mutmut_3": "survived",
        "gym_core.scoring.metrics.xǁRunMetricsǁvalue__mutmut_1": "segfault",
        "gym_core.actions.x_parse__mutmut_1": "survived",
        "gym_core.actions.x_parse__mutmut_2": "not checked",
        "gym_core.actions.x_parse__mutmut_3": "no tests",
        "gym_core.tasks.spec.x_load__mutmut_1": "not checked",
    }
    scores = mutate.module_scores(statuses)
    assert [(s.module, s.killed, s.tried, s.total) for s in scores] == [
        ("gym_core.actions", 0, 2, 3),
        ("gym_core.scoring.metrics", 3, 4, 4),
        ("gym_core.tasks.spec", 0, 0, 1),
    ]
    assert [s.score for s in scores] == [0.0, 75.0, 100.0]
    assert mutate.module_table(scores).splitlines() == [
        "| module | killed | score |",
        "|---|---|---|",
        "| `gym_core.actions` | 0 of 2 (1 not tried) | 0.0% |",
        "| `gym_core.scoring.metrics` | 3 of 4 | 75.0% |",
        "| `gym_core.tasks.spec` | 0 of 0 (1 not tried) | - |",
    ]


def test_a_resumed_run_keeps_the_results_and_collects_the_stats_again(
    mutate: ModuleType, tmp_path: Path
) -> None:
    """mutmut updates its stats only for new tests: kept, a function changed since would be tried against
    the new tests alone. Its results (.meta beside each mutated module) must survive the refresh."""
    mutants = tmp_path / "mutants"
    (mutants / "gym_core" / "scoring").mkdir(parents=True)
    kept = {
        "gym_core/scoring/metrics.py": "# mutated\n",
        "gym_core/scoring/metrics.py.meta": '{"exit_code_by_key": {}}',
        "gym_core/scoring/metrics.py.spans": "{}",
    }
    for rel, text in kept.items():
        (mutants / rel).write_text(text)
    (mutants / "gym_core" / "py.typed").write_text("")
    (mutants / "mutmut-stats.json").write_text("{}")
    (mutants / "tests").mkdir()
    (mutants / "tests" / "test_gone.py").write_text("")
    (tmp_path / "mutmut.log").write_text("old")

    mutate._prepare(tmp_path, mutate.PROFILES["gate"], resume=True)

    assert {rel: (mutants / rel).read_text() for rel in kept} == kept
    assert not (mutants / "mutmut-stats.json").exists()
    assert not (mutants / "tests").exists() and not (mutants / "gym_core" / "py.typed").exists()
    assert not (tmp_path / "mutmut.log").exists()
    assert (tmp_path / "tests" / "test_mutation_setup.py").is_file()  # the tests, copied afresh
    assert "[tool.mutmut]" in (tmp_path / "pyproject.toml").read_text()


def test_a_resumed_run_drops_a_mutated_module_an_interrupted_run_left_empty(
    mutate: ModuleType, tmp_path: Path
) -> None:
    """A mutmut stopped while writing a mutated module leaves it empty; kept, mutmut would take it as up to
    date and no test importing it could be collected. An empty module whose source is empty too stays."""
    package = tmp_path / "mutants" / "gym_core" / "scoring"
    package.mkdir(parents=True)
    (package / "metrics.py").write_text("")  # the source is not empty
    (package / "metrics.py.meta").write_text("{}")
    (package / "estimators.py").write_text("# mutated\n")
    (tmp_path / "mutants" / "gym_core" / "tasks").mkdir()
    (tmp_path / "mutants" / "gym_core" / "tasks" / "__init__.py").write_text("")  # its source is empty
    assert (mutate.REPO / "gym_core" / "scoring" / "metrics.py").stat().st_size > 0
    assert (mutate.REPO / "gym_core" / "tasks" / "__init__.py").stat().st_size == 0

    mutate._prepare(tmp_path, mutate.PROFILES["gate"], resume=True)

    assert not (package / "metrics.py").exists()
    assert (package / "metrics.py.meta").read_text() == "{}"  # its results stay
    assert (package / "estimators.py").read_text() == "# mutated\n"
    assert (tmp_path / "mutants" / "gym_core" / "tasks" / "__init__.py").is_file()
