"""Run mutmut with each mutant's tests in order of their measured duration, fastest first.

mutmut runs a mutant's tests with ``pytest -x``, so the run stops at the first failing test, but it hands
pytest the tests in the order of a Python set: an arbitrary order that changes from one run to the next. A
mutant that a 5 ms unit test kills could wait behind a 2 s end-to-end test first. Sorting by the
durations mutmut measured in its stats run lets the cheap tests kill most mutants before a slow test
starts, and makes the order, and so each run, reproducible. Survivors still run every test they reach.

scripts/mutate.py runs this file in place of the ``mutmut`` command, with the same arguments.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Submit = Callable[[Any, str, list[str], int, float], None]


def by_duration(tests: list[str], durations: dict[str, float]) -> list[str]:
    """``tests`` fastest first; a test without a measured duration goes last, ties by name."""
    return sorted(tests, key=lambda t: (durations.get(t, float("inf")), t))


def _fastest_first(submit: Submit, durations: Callable[[], dict[str, float]]) -> Submit:
    def submit_sorted(
        self: Any, mutant_name: str, tests: list[str], cpu_time_limit: int, estimated_time: float
    ) -> None:
        submit(self, mutant_name, by_duration(tests, durations()), cpu_time_limit, estimated_time)

    return submit_sorted


def install(isolation: Any, durations: Callable[[], dict[str, float]]) -> None:
    """Patch the runners of mutmut's ``isolation`` module to sort by ``durations()``.

    mutmut's own order is kept, with a warning, if the runners are not where mutmut 3.8 has them.
    """
    runners: list[Any] = [getattr(isolation, name, None) for name in ("ForkServerRunner", "ForkRunner")]
    if not all(hasattr(runner, "submit") for runner in runners):
        print(
            "mutate: this mutmut has no ForkServerRunner.submit; tests run in mutmut's order", file=sys.stderr
        )
        return
    for runner in runners:
        runner.submit = _fastest_first(runner.submit, durations)


def main() -> int:
    # mutmut reads its configuration from the working directory as it is imported: import it only here.
    from mutmut.__main__ import cli
    from mutmut.state import state
    from mutmut.workers import isolation

    install(isolation, lambda: state().duration_by_test)
    sys.argv[0] = "mutmut"
    result: int = cli()
    return result


if __name__ == "__main__":
    sys.exit(main())
