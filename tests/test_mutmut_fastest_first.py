"""scripts/mutmut_fastest_first.py: each mutant's tests go to mutmut's runner fastest first."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fastest_first() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "rgym_mutmut_fastest_first", REPO / "scripts" / "mutmut_fastest_first.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_tests_are_ordered_by_measured_duration(fastest_first: ModuleType) -> None:
    durations = {"t::slow": 2.0, "t::fast": 0.001, "t::mid": 0.3, "t::also_fast": 0.001}
    ordered = fastest_first.by_duration(
        ["t::slow", "t::unmeasured", "t::mid", "t::fast", "t::also_fast"], durations
    )
    assert ordered == ["t::also_fast", "t::fast", "t::mid", "t::slow", "t::unmeasured"]


def test_the_runners_receive_the_sorted_tests(fastest_first: ModuleType) -> None:
    received: list[tuple[str, list[str]]] = []

    class Runner:
        def submit(
            self, mutant_name: str, tests: list[str], cpu_time_limit: int, estimated_time: float
        ) -> None:
            received.append((mutant_name, tests))

    isolation = SimpleNamespace(ForkServerRunner=Runner, ForkRunner=Runner)
    fastest_first.install(isolation, lambda: {"a": 1.0, "b": 0.5, "c": 0.7})
    Runner().submit("m", ["a", "b", "c"], 10, 2.2)
    assert received == [("m", ["b", "c", "a"])]


def test_an_unknown_mutmut_keeps_its_own_order(
    fastest_first: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    isolation = SimpleNamespace(ForkRunner=object)
    fastest_first.install(isolation, dict)
    assert "tests run in mutmut's order" in capsys.readouterr().err
