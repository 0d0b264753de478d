"""What every importer shares: the outcome of one import, task ids, pinned requirements, writing a folder."""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gym_core.errors import ImportSourceError, TaskSpecError
from gym_core.tasks.loader import load_task

PINNED: dict[str, list[str]] = {
    # import name -> pinned requirement lines (manylinux wheels for CPython 3.11), with their dependencies.
    "numpy": ["numpy==2.4.6"],
    "pandas": [
        "numpy==2.4.6",
        "pandas==3.1.1",
        "python-dateutil==2.9.0.post0",
        "six==1.17.0",
        "tzdata==2025.2",
    ],
    "sklearn": [
        "numpy==2.4.6",
        "scipy==1.17.1",
        "scikit-learn==1.9.1",
        "joblib==1.6.0",
        "threadpoolctl==3.8.0",
    ],
    "scipy": ["numpy==2.4.6", "scipy==1.17.1"],
}
"""Packages an imported task's environment may pin; others make a task "not runnable here"."""

STDLIB = frozenset(__import__("sys").stdlib_module_names)


@dataclass
class ImportResult:
    """The outcome of importing one task."""

    source: str
    """The task's name in its source benchmark."""
    task_id: str | None = None
    folder: Path | None = None
    runnable: bool = False
    why_not: str | None = None
    """Why the task cannot run here (GPU, download, unsupported kind); None when it can."""
    baseline_unreproducible: str | None = None
    """Why the published baseline cannot be reproduced from the source's files (the task may still run);
    None when it can."""
    error: str | None = None
    """Why it was not imported at all (a malformed source); None when it was."""
    notes: list[str] = field(default_factory=list)
    """Facts worth a line in the summary, e.g. a measured baseline."""

    @property
    def imported(self) -> bool:
        return self.error is None and self.folder is not None

    def state(self) -> str:
        """``runnable here``, ``runnable here, baseline not reproducible: ...`` or ``not runnable here: ...``."""
        if not self.runnable:
            return f"not runnable here: {self.why_not}"
        if self.baseline_unreproducible:
            return f"runnable here, baseline not reproducible: {self.baseline_unreproducible}"
        return "runnable here"


def kebab(name: str) -> str:
    """``titanicSurvival`` -> ``titanic-survival``; any other character becomes a hyphen."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name)
    spaced = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "-", spaced)
    return re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-")


def imported_modules(source: str) -> set[str]:
    """Top-level modules a Python source imports (an unparsable source imports nothing we can tell)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def requirements_for(modules: set[str], local: set[str]) -> tuple[list[str], list[str]]:
    """Pinned requirement lines for third-party ``modules``, and the modules rgym cannot pin."""
    lines: list[str] = []
    unknown: list[str] = []
    for module in sorted(modules - local - STDLIB - {"__main__"}):
        pinned = PINNED.get(module)
        if pinned is None:
            unknown.append(module)
            continue
        lines.extend(line for line in pinned if line not in lines)
    return lines, unknown


def load_yaml(path: Path, label: str) -> dict[str, Any]:
    """A YAML mapping, or :class:`ImportSourceError` naming the file."""
    if not path.is_file():
        raise ImportSourceError(f"{label}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportSourceError(f"{label}: cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ImportSourceError(
            f"{label}: {where}YAML syntax error: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(data, dict):
        raise ImportSourceError(f"{label}: must be a YAML mapping of fields")
    return data


def prepare_output(out_dir: Path, task_id: str, *, force: bool) -> Path:
    """The new task folder ``out_dir/task_id``, empty; an existing one is replaced only with ``force``."""
    root = out_dir / task_id
    if root.exists():
        if not force:
            raise ImportSourceError(f"{root}: already exists", hint="pass --force to replace it")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    return root


def dump_spec(spec: dict[str, Any], header: str) -> str:
    """task.yaml text: a comment header, then the fields in the order they were given."""
    body = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=110)
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body


def check_folder(root: Path) -> None:
    """Validate the written folder as ``rgym tasks validate`` would; a failure is the importer's bug."""
    try:
        load_task(root)
    except TaskSpecError as exc:  # pragma: no cover - the importer writes what the spec accepts
        raise ImportSourceError(f"{root}: the imported task does not validate: {exc}") from None
