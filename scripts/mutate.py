"""Mutation testing of rgym's pure modules with mutmut: ``make mutate`` and the CI gate in ``make test``.

A mutant is the code with one small change (``<`` for ``<=``, ``+`` for ``-``, a string emptied...). A test
suite that lets a mutant pass ("survive") does not check what that line does. Profiles:

* ``gate``: the scoring estimators and metrics against tests/scoring, with few hypothesis examples, so
  it fits in CI; ``make test`` fails when fewer than ``--min-score`` percent of its mutants are killed.
* ``all``: every pure module (scoring, report, the actions, the task spec, replay's comparison) against
  the tests that cover them; ``make mutate`` runs it and prints the score the README quotes.

Each profile runs in a fresh copy of the sources under ``build/mutate/<profile>``: mutmut mutates in a
``mutants/`` folder beside its configuration, and reads its configuration from there, not from the
project's pyproject.toml. mutmut's own log is ``build/mutate/<profile>/mutmut.log`` when the output is not
a terminal.

Survivors are matched against ``tests/mutation_survivors.toml``, which gives each known survivor its reason
(an equivalent mutant, or a test still to write). Survivors it does not explain are listed as such.

Usage: ``python scripts/mutate.py [gate|all] [--min-score PCT] [--max-children N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SURVIVORS_FILE = REPO / "tests" / "mutation_survivors.toml"


@dataclass(frozen=True)
class Profile:
    modules: tuple[str, ...]
    """Source files whose functions are mutated."""
    tests: tuple[str, ...]
    """The tests that run against each mutant (only those that reach the mutated function)."""
    pytest_args: tuple[str, ...]


PROFILES = {
    "gate": Profile(
        modules=("gym_core/scoring/estimators.py", "gym_core/scoring/metrics.py"),
        tests=("tests/scoring",),
        pytest_args=("-m", "not slow"),
    ),
    "all": Profile(
        modules=(
            "gym_core/scoring/*.py",
            "gym_core/report/*.py",
            "gym_core/actions.py",
            "gym_core/tasks/spec.py",
            "gym_core/replay/comparison.py",
        ),
        tests=(
            "tests/scoring",
            "tests/report",
            "tests/test_actions.py",
            "tests/tasks/test_spec.py",
            "tests/replay/test_replay.py",
            # `rgym runs`, `rgym compare` and the viewer's API drive the comparison modules, store_loader and
            # run_rows in-process (calls of the CLI's main() and FastAPI's TestClient).
            "tests/cli",
            "tests/server/test_api.py",
            "tests/server/test_compare_suites_api.py",
        ),
        # Not the replays of recorded episodes (they exercise replay's execution, which is not mutated) nor
        # the bootstrap's coverage simulation (slow; the exact-quantile and width tests catch what it does).
        # Not the tests that need an engine, a server or a browser, nor the slow ones: those that call the
        # `rgym` executable run the installed, unmutated code anyway.
        pytest_args=(
            "-k",
            "not replay_f and not covers_the_true_mean",
            "-m",
            "not docker and not postgres and not browser and not slow",
        ),
    ),
}
NOT_MUTATED = ("gym_core/report/plots.py",)
"""Not mutated, on purpose. plots.py draws the html report's pictures: tests check that each is drawn and
what it is fed (the same metrics as the tables), not its pixels, so its ~700 mutants (colours, labels,
sizes) would survive without saying anything, and each takes seconds of matplotlib to try."""

HYPOTHESIS_PROFILE = "mutation"
"""Registered in tests/conftest.py: few, derandomized examples, so each mutant's tests stay fast."""

#: What the tests read besides the package: tasks, and the docs and scripts that tests/cli checks the CLI's
#: pointers against.
ALSO_COPIED = ("agents", "benchmarks", "setup.py", "tasks", "docs", "scripts", "README.md")
COPIED = ("gym_core", "tests", "pyproject.toml", *ALSO_COPIED)


def _config(profile: Profile) -> str:
    def toml_list(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["gym_core"]\n'
        f"also_copy = {toml_list(ALSO_COPIED)}\n"
        f"only_mutate = {toml_list(profile.modules)}\n"
        f"do_not_mutate = {toml_list(NOT_MUTATED)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(profile.tests)}\n"
        f"pytest_add_cli_args = {toml_list(('-p', 'no:cacheprovider', '-q', *profile.pytest_args))}\n"
    )


def _prepare(workdir: Path, profile: Profile) -> None:
    """A fresh copy of the sources in ``workdir``, with the profile's mutmut configuration."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name in COPIED:
        src, dest = REPO / name, workdir / name
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.is_file():
            shutil.copy2(src, dest)
    pyproject = workdir / "pyproject.toml"
    text = re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "", pyproject.read_text(), flags=re.S)
    pyproject.write_text(text + _config(profile))


@dataclass(frozen=True)
class Survivor:
    name: str
    module: str
    function: str
    mutation: str
    """The mutated line(s), stripped, as mutmut shows them."""


_NAME = re.compile(r"^(?P<module>[\w.]+)\.x(?:ǁ(?P<cls>\w+)ǁ|_)(?P<func>\w+?)__mutmut_\d+$")


def _survivor(mutmut: Path, workdir: Path, name: str) -> Survivor:
    shown = subprocess.run(
        [str(mutmut), "show", name], cwd=workdir, capture_output=True, text=True, check=False
    ).stdout
    added = [
        line[1:].strip() for line in shown.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    match = _NAME.match(name)
    module = match["module"] if match else name
    function = (f"{match['cls']}.{match['func']}" if match["cls"] else match["func"]) if match else "?"
    return Survivor(name, module, function, " / ".join(added) or "(line removed)")


def _run_mutmut(
    command: list[str], workdir: Path, env: dict[str, str], log_path: Path, time_limit: float | None
) -> int | None:
    """Run mutmut in its own process group; its exit code, or None when it ran past ``time_limit``.

    On a terminal mutmut draws its progress there; otherwise it goes to ``log_path``, since mutmut redraws
    its progress line hundreds of times.
    """
    with log_path.open("w") as log:
        output = None if sys.stdout.isatty() else log
        proc = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=output, stderr=output, start_new_session=True
        )
        try:
            return proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return None
        except BaseException:  # Ctrl-C or SIGTERM: leave no worker behind
            _kill_group(proc)
            raise


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill mutmut and every worker it forked (they share its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _explanations() -> list[dict[str, str]]:
    if not SURVIVORS_FILE.exists():
        return []
    entries: list[dict[str, str]] = tomllib.loads(SURVIVORS_FILE.read_text()).get("survivor", [])
    return entries


def _explain(survivor: Survivor, entries: list[dict[str, str]]) -> dict[str, str] | None:
    for entry in entries:
        if (
            entry.get("module") == survivor.module
            and entry.get("function") == survivor.function
            and entry.get("mutation") == survivor.mutation
        ):
            return entry
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", nargs="?", default="all", choices=sorted(PROFILES))
    parser.add_argument("--min-score", type=float, default=0.0, help="fail below this percent killed")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--time-limit", type=float, default=None, help="fail when mutmut runs longer (seconds)"
    )
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    # SIGTERM (a CI step cancelled) becomes SystemExit, so mutmut's workers are killed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mutmut = Path(sys.executable).with_name("mutmut")
    if not mutmut.exists():
        print("mutate: mutmut is not installed; run `make install`", file=sys.stderr)
        return 2
    workdir = REPO / "build" / "mutate" / args.profile
    _prepare(workdir, profile)
    env = {**os.environ, "RGYM_HYPOTHESIS_PROFILE": HYPOTHESIS_PROFILE, "PYTHONDONTWRITEBYTECODE": "1"}
    print(
        f"mutate: {args.profile}: {', '.join(profile.modules)} against {' '.join(profile.tests)}", flush=True
    )
    started = time.monotonic()
    command = [str(mutmut), "run", "--max-children", str(args.max_children)]
    log_path = workdir / "mutmut.log"
    returncode = _run_mutmut(command, workdir, env, log_path, args.time_limit)
    if returncode is None:
        print(
            f"mutate: {args.profile}: mutmut ran past the {args.time_limit:g}s limit: a test got much slower, or "
            f"mutants time out (see {log_path})",
            file=sys.stderr,
        )
        return 1
    if not sys.stdout.isatty():
        progress = re.split(r"[\r\n]+", log_path.read_text(errors="replace").strip())
        print("\n".join(line for line in progress[-3:] if line.strip()), flush=True)
    elapsed = time.monotonic() - started
    if returncode != 0:
        print(f"mutate: mutmut failed (exit {returncode}); see {log_path}", file=sys.stderr)
        return 1
    subprocess.run([str(mutmut), "export-cicd-stats"], cwd=workdir, check=True, capture_output=True)
    stats = json.loads((workdir / "mutants" / "mutmut-cicd-stats.json").read_text())
    listing = subprocess.run(
        [str(mutmut), "results"], cwd=workdir, env=env, capture_output=True, text=True, check=True
    ).stdout
    undetected = [
        line.split(":")[0].strip()
        for line in listing.splitlines()
        if line.strip().endswith(("survived", "no tests", "suspicious"))
    ]
    # A mutant that crashes the tests or makes them time out is caught as surely as a failing assertion.
    detected = stats["killed"] + stats["timeout"] + stats["segfault"]
    total = stats["total"]
    score = 100.0 * detected / total if total else 100.0
    entries = _explanations()
    survivors = [_survivor(mutmut, workdir, name) for name in undetected]
    unexplained = 0
    for s in survivors:
        entry = _explain(s, entries)
        if entry is None:
            unexplained += 1
            print(f"  UNEXPLAINED {s.module}.{s.function}: {s.mutation}")
        else:
            print(f"  {entry.get('kind', '?'):>13} {s.module}.{s.function}: {s.mutation}")
    summary = {
        "profile": args.profile,
        "killed": detected,
        "total": total,
        "score": round(score, 1),
        "survived": len(survivors),
        "unexplained": unexplained,
        "seconds": round(elapsed),
    }
    (workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"mutate: {args.profile}: mutation score {score:.1f}% ({detected} of {total} mutants killed), "
        f"{len(survivors)} survived ({unexplained} not explained in {SURVIVORS_FILE.relative_to(REPO)}), "
        f"{elapsed:.0f}s"
    )
    if score < args.min_score:
        print(
            f"mutate: {args.profile}: score {score:.1f}% is below the required {args.min_score:g}%",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
