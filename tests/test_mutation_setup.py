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


def test_every_known_survivor_has_its_reason() -> None:
    entries = tomllib.loads((REPO / "tests" / "mutation_survivors.toml").read_text())["survivor"]
    assert entries
    for entry in entries:
        assert set(entry) == {"module", "function", "mutation", "kind", "reason"}, entry
        assert entry["kind"] in ("equivalent", "test to write"), entry
        assert entry["module"].startswith("gym_core.") and entry["mutation"] and len(entry["reason"]) > 20
    keys = [(e["module"], e["function"], e["mutation"]) for e in entries]
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
