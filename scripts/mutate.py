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

Usage: ``python scripts/mutate.py [gate|all] [--min-score PCT] [--max-children N] [--resume | --rerun-survivors]``.

``--resume`` goes on with an interrupted run; ``--rerun-survivors`` tries the last run's survivors again after
tests were written for them (mutmut itself tries again only the mutants of functions whose code changed).
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SURVIVORS_FILE = REPO / "tests" / "mutation_survivors.toml"
FASTEST_FIRST = REPO / "scripts" / "mutmut_fastest_first.py"


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


MUTMUT_RESULTS = (".py", ".meta", ".spans")
"""What a resumed run keeps of mutmut's tree: the mutated modules and, beside each, its results (``.meta``,
with a hash of each function: mutmut tries again the mutants of a function whose code changed).

Not mutmut's stats (``mutmut-stats.json``: which tests reach which function). mutmut updates them only for
tests added since, so a function added or changed since would be tried only against the new tests, and
its mutants would survive tests that kill them. A resumed run collects the stats again (a few minutes)."""


def _prepare(workdir: Path, profile: Profile, *, resume: bool = False) -> None:
    """A fresh copy of the sources in ``workdir``, with the profile's mutmut configuration.

    With ``resume``, mutmut's results from the last run in ``workdir`` are kept: mutmut tries only the
    mutants without a result, and those of functions whose code changed since. The tests and the other
    copied files are refreshed (mutmut copies a file into ``mutants/`` only when it is not there yet), and
    so are the stats (:data:`MUTMUT_RESULTS`).
    """
    mutants = workdir / "mutants"
    if resume and mutants.is_dir():
        for child in workdir.iterdir():
            if child != mutants:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        for child in mutants.iterdir():
            if child.name == "gym_core":
                # Mutated modules stay (mutmut compares their timestamps with the sources'); anything else
                # under the package is copied again.
                for path in child.rglob("*"):
                    if path.is_file() and not path.name.endswith(MUTMUT_RESULTS):
                        path.unlink()
                    elif path.suffix == ".py" and _left_empty(path, REPO / path.relative_to(mutants)):
                        path.unlink()  # mutmut was stopped while it wrote it: it generates it again
            else:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    elif workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src, dest = REPO / name, workdir / name
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.is_file():
            shutil.copy2(src, dest)
    pyproject = workdir / "pyproject.toml"
    text = re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "", pyproject.read_text(), flags=re.S)
    pyproject.write_text(text + _config(profile))


def _left_empty(mutated: Path, source: Path) -> bool:
    """True when mutmut left a mutated module empty (stopped while writing it) although its source is not:
    kept, it would be taken as up to date, and every test importing it would fail to collect."""
    return mutated.stat().st_size == 0 and source.is_file() and source.stat().st_size > 0


@dataclass(frozen=True)
class Survivor:
    name: str
    module: str
    function: str
    mutation: str
    """The mutated line(s), stripped, as mutmut shows them."""


_NAME = re.compile(r"^(?P<module>[\w.]+)\.x(?:ǁ(?P<cls>\w+)ǁ|_)(?P<func>\w+?)__mutmut_\d+$")


_SHOW_MUTANTS = """
import json, sys, time
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant

def diff(name):
    for attempt in range(3):
        try:
            return get_diff_for_mutant(name, path=find_mutant(name).path)
        except ValueError:  # a results file being written by a running mutmut: read it again
            time.sleep(0.2)
    return ""

json.dump({name: diff(name) for name in json.load(sys.stdin)}, sys.stdout)
"""
"""What ``mutmut show NAME`` prints, for many names in one process (mutmut takes a second to start)."""


def _diffs(workdir: Path, names: list[str]) -> dict[str, str]:
    shown = subprocess.run(
        [sys.executable, "-c", _SHOW_MUTANTS],
        cwd=workdir,
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=True,
    )
    diffs: dict[str, str] = json.loads(shown.stdout)
    return diffs


def survivor_of(name: str, diff: str) -> Survivor:
    """A survivor's module, function (``Class.func`` for a method) and mutated line(s), from its name and diff."""
    added = [
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    match = _NAME.match(name)
    module = match["module"] if match else name
    function = (f"{match['cls']}.{match['func']}" if match["cls"] else match["func"]) if match else "?"
    if not diff.strip():
        return Survivor(
            name, module, function, "(no diff: mutmut was writing its results; run --summary again)"
        )
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


def _undetected(mutmut: Path, workdir: Path, env: dict[str, str]) -> list[str]:
    """The names of the mutants that mutmut's results in ``workdir`` list as not caught by any test."""
    listing = subprocess.run(
        [str(mutmut), "results"], cwd=workdir, env=env, capture_output=True, text=True, check=True
    ).stdout
    return [
        line.split(":")[0].strip()
        for line in listing.splitlines()
        if line.strip().endswith(("survived", "no tests", "suspicious"))
    ]


DETECTED = ("killed", "timeout", "segfault", "caught by type check")
"""mutmut's statuses of a caught mutant: a crash or a timeout of the tests catches it as surely as a failing
assertion."""


def _statuses(mutmut: Path, workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """Every mutant's status in mutmut's results in ``workdir`` (killed, survived, not checked...)."""
    listing = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = {}
    for line in listing.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and _NAME.match(name):
            statuses[name] = status
    return statuses


@dataclass(frozen=True)
class ModuleScore:
    module: str
    killed: int
    tried: int
    total: int

    @property
    def score(self) -> float:
        """Percent of the tried mutants that were caught."""
        return 100.0 * self.killed / self.tried if self.tried else 100.0


def module_scores(statuses: dict[str, str]) -> list[ModuleScore]:
    """Per mutated module, in name order: mutants caught, tried (those with a result) and made."""
    counts: dict[str, list[int]] = {}
    for name, status in statuses.items():
        match = _NAME.match(name)
        module = match["module"] if match else name
        c = counts.setdefault(module, [0, 0, 0])
        c[0] += status in DETECTED
        c[1] += status not in ("not checked", "check was interrupted by user", "skipped")
        c[2] += 1
    return [ModuleScore(m, *c) for m, c in sorted(counts.items())]


def module_table(scores: list[ModuleScore]) -> str:
    """The per-module scores as a Markdown table (the README quotes it)."""
    lines = ["| module | killed | score |", "|---|---|---|"]
    for s in scores:
        untried = f" ({s.total - s.tried} not tried)" if s.tried < s.total else ""
        score = f"{s.score:.1f}%" if s.tried else "-"
        lines.append(f"| `{s.module}` | {s.killed} of {s.tried}{untried} | {score} |")
    return "\n".join(lines)


Entry = dict[str, Any]
"""One ``[[survivor]]`` of the survivors file: module, function, kind, reason, and either ``mutation`` (one
mutated line) or ``mutations`` (several mutants of the function that share the reason)."""


def _explanations() -> list[Entry]:
    if not SURVIVORS_FILE.exists():
        return []
    entries: list[Entry] = tomllib.loads(SURVIVORS_FILE.read_text()).get("survivor", [])
    return entries


def entry_mutations(entry: Entry) -> list[str]:
    """The mutated lines an entry explains."""
    if "mutations" in entry:
        return list(entry["mutations"])
    return [entry["mutation"]] if "mutation" in entry else []


def _explain(survivor: Survivor, entries: list[Entry]) -> Entry | None:
    for entry in entries:
        if (
            entry.get("module") == survivor.module
            and entry.get("function") == survivor.function
            and survivor.mutation in entry_mutations(entry)
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
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the last run's results: try only mutants without one (an interrupted run goes on)",
    )
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="keep the last run's results and try its survivors again (after writing tests for them)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="keep the last run's results and try only the mutants whose names match (fnmatch), e.g. "
        "'gym_core.scoring.compare.*'; they are tried again even if they have a result",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="run nothing: print the score and survivors of the last (or a running) run",
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
    env = {**os.environ, "RGYM_HYPOTHESIS_PROFILE": HYPOTHESIS_PROFILE, "PYTHONDONTWRITEBYTECODE": "1"}
    if args.summary:
        if not (workdir / "mutants").is_dir():
            print(f"mutate: {args.profile}: no run on record in {workdir}", file=sys.stderr)
            return 2
        return _summarize(mutmut, workdir, env, args.profile, None, args.min_score)
    retry: list[str] = []
    if args.rerun_survivors:
        retry = _undetected(mutmut, workdir, {**os.environ}) if (workdir / "mutants").is_dir() else []
        if not retry:
            print(
                f"mutate: {args.profile}: no survivors on record in {workdir} to try again", file=sys.stderr
            )
            return 2
    retry += args.only
    _prepare(workdir, profile, resume=args.resume or bool(retry))
    print(
        f"mutate: {args.profile}: {', '.join(profile.modules)} against {' '.join(profile.tests)}", flush=True
    )
    started = time.monotonic()
    # mutmut's own command, with each mutant's tests run fastest first (scripts/mutmut_fastest_first.py).
    command = [sys.executable, str(FASTEST_FIRST), "run", "--max-children", str(args.max_children), *retry]
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
    return _summarize(mutmut, workdir, env, args.profile, elapsed, args.min_score)


def _summarize(
    mutmut: Path, workdir: Path, env: dict[str, str], profile: str, elapsed: float | None, min_score: float
) -> int:
    """Print the score and every survivor with its reason; write summary.json and unexplained.toml."""
    subprocess.run([str(mutmut), "export-cicd-stats"], cwd=workdir, env=env, check=True, capture_output=True)
    stats = json.loads((workdir / "mutants" / "mutmut-cicd-stats.json").read_text())
    undetected = _undetected(mutmut, workdir, env)
    # A mutant that crashes the tests or makes them time out is caught as surely as a failing assertion.
    detected = stats["killed"] + stats["timeout"] + stats["segfault"]
    total = stats["total"]
    untried = total - detected - len(undetected) - stats.get("skipped", 0)
    score = 100.0 * detected / total if total else 100.0
    entries = _explanations()
    diffs = _diffs(workdir, undetected)
    survivors = [survivor_of(name, diffs[name]) for name in undetected]
    unexplained: list[Survivor] = []
    for s in survivors:
        entry = _explain(s, entries)
        if entry is None:
            unexplained.append(s)
            print(f"  UNEXPLAINED {s.module}.{s.function}: {s.mutation}")
        else:
            print(f"  {entry.get('kind', '?'):>13} {s.module}.{s.function}: {s.mutation}")
    (workdir / "unexplained.toml").write_text(unexplained_toml(unexplained))
    per_module = module_scores(_statuses(mutmut, workdir, env))
    print(module_table(per_module))
    summary = {
        "profile": profile,
        "killed": detected,
        "total": total,
        "score": round(score, 1),
        "survived": len(survivors),
        "unexplained": len(unexplained),
        "untried": untried,
        "seconds": None if elapsed is None else round(elapsed),
        "modules": {
            m.module: {"killed": m.killed, "tried": m.tried, "total": m.total, "score": round(m.score, 1)}
            for m in per_module
        },
    }
    (workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    took = "" if elapsed is None else f", {elapsed:.0f}s"
    not_yet = f"; {untried} not tried yet (--resume goes on)" if untried > 0 else ""
    print(
        f"mutate: {profile}: mutation score {score:.1f}% ({detected} of {total} mutants killed), "
        f"{len(survivors)} survived ({len(unexplained)} not explained in "
        f"{SURVIVORS_FILE.relative_to(REPO)}{'' if not unexplained else '; drafts in ' + str((workdir / 'unexplained.toml').relative_to(REPO))})"
        f"{not_yet}{took}"
    )
    if score < min_score:
        print(f"mutate: {profile}: score {score:.1f}% is below the required {min_score:g}%", file=sys.stderr)
        return 1
    return 0


def unexplained_toml(survivors: list[Survivor]) -> str:
    """Draft entries for the survivors file, one per function, with the kind and reason left to fill in."""
    by_function: dict[tuple[str, str], list[str]] = {}
    for s in survivors:
        by_function.setdefault((s.module, s.function), []).append(s.mutation)
    parts = []
    for (module, function), mutations in sorted(by_function.items()):
        lines = sorted(set(mutations))
        listed = (
            f"mutation = {json.dumps(lines[0], ensure_ascii=False)}"
            if len(lines) == 1
            else "mutations = [\n"
            + "".join(f"    {json.dumps(m, ensure_ascii=False)},\n" for m in lines)
            + "]"
        )
        parts.append(
            f'[[survivor]]\nmodule = "{module}"\nfunction = "{function}"\n{listed}\n'
            'kind = "equivalent or test to write"\nreason = ""\n'
        )
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
