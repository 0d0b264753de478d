"""``rgym tasks import researchgym``: a ResearchGym task folder as an rgym task folder.

A ResearchGym task folder (``tasks/<split>/<name>/`` of a ResearchGym checkout) holds:

=====================  ==========  ===================================================================
file                   required    becomes
=====================  ==========  ===================================================================
task_description.md    yes         README.md; its first "Baseline Results" table gives metric and baseline
grading/grade.sh       yes         the grader, run by :mod:`gym_core.importers.researchgym_grader` in eval/
requirements.txt       no          maintainer/requirements.researchgym.txt (not installed: unpinned, GPU)
install.sh             no          maintainer/install.sh (kept for the record; never run by rgym)
idea_hint.txt          no          ``description_variants.hint``: the README plus the hint
blocked_urls.yaml      no          ``blocked_urls`` (its ``urls:`` list)
anything else          -           workspace/ (the starter code)
=====================  ==========  ===================================================================

**Metric and baseline.** ResearchGym writes baselines as markdown tables: a method per row, a setting per
column, cells like ``76.6 ±0.2`` or ``64.92 (0.87)``. The importer reads the first table under "## Baseline
Results": the column is the first whose header says "avg", "average" or "overall", else the first column with a
number in every baseline row; the metric is named after it; the direction is read from an arrow in the header
(↑ / ↓), else from the metric's name (``--direction`` overrides); ``baseline.score`` is the best baseline row in
that direction (the score to beat). Rows named "Your Method" are the agent's and are skipped.

**Grading.** ResearchGym's graders parse logs the agent's own runs wrote; there is no hidden data. The import
marks such a task ``grader.self_reported: true`` ("self-reported grading: not tamper-proof"), which ``rgym tasks
verify`` and reports show. The submission is the log files (default ``logs/results.json``; ``--submission``).

**Runnable here.** ResearchGym's tasks train on GPUs and download datasets and checkpoints, so an import
sets ``budget.gpus: 1`` and ``budget.network: egress`` and says "not runnable here" with the reason.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from gym_core.errors import ImportSourceError
from gym_core.importers import researchgym_grader
from gym_core.importers.common import ImportResult, check_folder, dump_spec, kebab, prepare_output
from gym_core.importers.mlgym import MINIMIZED

PREFIX = "researchgym-"
GRADER_FILE = "rgym_researchgym_grade.py"
METHOD_ROW = "Your Method"
SPECIAL = {
    "task_description.md",
    "grading",
    "requirements.txt",
    "install.sh",
    "idea_hint.txt",
    "blocked_urls.yaml",
}
SKIPPED = {".git", "__pycache__", "logs"}


def task_folders(src: Path) -> list[Path]:
    """Every task folder of a checkout's ``tasks/test`` (or of ``src`` itself when it holds task folders)."""
    root = src / "tasks" / "test" if (src / "tasks" / "test").is_dir() else src
    if not root.is_dir():
        raise ImportSourceError(f"{src}: no such folder")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_task(src: Path, name: str) -> Path:
    """The task folder ``name``: ``SRC/tasks/*/name``, ``SRC/name``, or ``SRC`` itself."""
    if (src / "task_description.md").is_file() or src.name == name:
        return src
    for candidate in [src / name, *sorted((src / "tasks").glob(f"*/{name}"))]:
        if candidate.is_dir():
            return candidate
    raise ImportSourceError(f"{src}: no task folder named {name} (looked in tasks/*/ and the folder itself)")


def _direction(header: str, metric: str) -> str:
    if "↓" in header:
        return "minimize"
    if "↑" in header:
        return "maximize"
    return "minimize" if MINIMIZED.search(metric.lower()) else "maximize"


def read_baseline(text: str, label: str) -> tuple[int, str, float, str]:
    """(column, metric name, best baseline, direction) from the first baseline table of a description."""
    if "## Baseline Results" not in text:
        raise ImportSourceError(f"{label}: Baseline Results: no '## Baseline Results' section with a table")
    try:
        rows = researchgym_grader.table_rows(text, 0)
    except ValueError:
        raise ImportSourceError(f"{label}: Baseline Results: no markdown table under the heading") from None
    header, body = rows[0], [r for r in rows[1:] if r and r[0].strip("* ").lower() != METHOD_ROW.lower()]
    if body and not body[0][0].strip() and not any(researchgym_grader.cell_number(c) for c in body[0]):
        header, body = body[0], body[1:]  # a group header above the real one: "|  | Quadruped-Walk | ..."
    if not body:
        raise ImportSourceError(f"{label}: Baseline Results: the first table has no baseline rows")

    def numbers(col: int) -> list[float]:
        values = [researchgym_grader.cell_number(r[col]) if col < len(r) else None for r in body]
        return [v for v in values if v is not None]

    columns = [c for c in range(1, len(header)) if numbers(c)]
    if not columns:
        raise ImportSourceError(f"{label}: Baseline Results: the first table has no numeric column")
    summary = [c for c in columns if re.search(r"\b(avg|average|overall|mean)\b", header[c], re.IGNORECASE)]
    full = [c for c in columns if len(numbers(c)) == len(body)]
    column = (summary or full or columns)[0]
    metric = re.sub(r"\s+", " ", re.sub(r"[*↑↓\\]", "", header[column])).strip() or f"column {column}"
    direction = _direction(header[column], metric)
    values = numbers(column)
    best = max(values) if direction == "maximize" else min(values)
    return column, metric, best, direction


def _blocked_urls(path: Path, label: str) -> list[str]:
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ImportSourceError(f"{label}: YAML syntax error: {getattr(exc, 'problem', exc)}") from None
    urls = data.get("urls") if isinstance(data, dict) else data
    if urls is None:
        return []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ImportSourceError(f"{label}: urls: must be a list of URL patterns")
    return [u.strip() for u in urls if u.strip()]


def import_task(
    src: Path,
    name: str,
    out_dir: Path,
    *,
    submission: list[str] | None = None,
    direction: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Convert one ResearchGym task folder into ``out_dir/researchgym-<name>``.

    Raises:
        ImportSourceError: the folder is not a ResearchGym task (one line naming the file and field).
    """
    folder = find_task(src.resolve(), name)
    label = folder.name
    description_path = folder / "task_description.md"
    if not description_path.is_file():
        raise ImportSourceError(
            f"{label}/task_description.md: file not found (every ResearchGym task has one)"
        )
    if not (folder / "grading" / "grade.sh").is_file():
        raise ImportSourceError(f"{label}/grading/grade.sh: file not found (the task's grader)")
    description = description_path.read_text(encoding="utf-8", errors="replace")
    column, metric, best, guessed = read_baseline(description, f"{label}/task_description.md")
    direction = direction or guessed
    blocked = _blocked_urls(folder / "blocked_urls.yaml", f"{label}/blocked_urls.yaml")
    hint_path = folder / "idea_hint.txt"
    hint = hint_path.read_text(encoding="utf-8", errors="replace").strip() if hint_path.is_file() else ""
    submission = submission or ["logs/results.json"]
    task_id = PREFIX + kebab(folder.name)
    result = ImportResult(source=folder.name, task_id=task_id)
    root = prepare_output(out_dir, task_id, force=force)
    try:
        _write(root, folder, description, hint, blocked, submission, column, metric, best, direction)
        check_folder(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    result.folder = root
    result.runnable = False
    result.why_not = (
        "trains on a GPU and downloads its datasets and checkpoints (ResearchGym runs it on a GPU host)"
    )
    result.notes.append("self-reported grading: not tamper-proof")
    return result


def _readme(description: str, metric: str, direction: str, best: float, submission: list[str]) -> str:
    word = "higher" if direction == "maximize" else "lower"
    return (
        description.rstrip()
        + "\n\n## In rgym\n\n"
        + f"- **Score:** `{metric}` from the first baseline table above ({word} is better); the baseline to "
        f"beat is {best:g}.\n"
        + f"- **Submission:** {', '.join(f'`{s}`' for s in submission)}: the logs `grading/grade.sh` reads "
        '(see its docstring for their format). The grader fills the "Your Method" row from them.\n'
        + "- **Self-reported grading:** the score comes from logs you write; nothing hidden checks them.\n"
    )


def _write(
    root: Path,
    folder: Path,
    description: str,
    hint: str,
    blocked: list[str],
    submission: list[str],
    column: int,
    metric: str,
    best: float,
    direction: str,
) -> None:
    workspace, eval_dir, maintainer = root / "workspace", root / "eval", root / "maintainer"
    workspace.mkdir()
    for path in sorted(folder.iterdir()):
        if path.name in SPECIAL or path.name in SKIPPED:
            continue
        target = workspace / path.name
        if path.is_symlink():
            continue
        if path.is_dir():
            shutil.copytree(path, target, symlinks=False, ignore=shutil.ignore_patterns(*SKIPPED))
        else:
            shutil.copyfile(path, target)
    eval_dir.mkdir()
    shutil.copytree(folder / "grading", eval_dir / "grading", ignore=shutil.ignore_patterns(*SKIPPED))
    shutil.copyfile(folder / "task_description.md", eval_dir / "task_description.md")
    shutil.copyfile(Path(researchgym_grader.__file__), eval_dir / GRADER_FILE)
    adapter = {
        "submission": submission,
        "table": 0,
        "column": column,
        "method_row": METHOD_ROW,
        "timeout_s": 1200,
    }
    (eval_dir / researchgym_grader.CONFIG_FILE).write_text(json.dumps(adapter, indent=2) + "\n")
    maintainer.mkdir()
    for name, kept in (("requirements.txt", "requirements.researchgym.txt"), ("install.sh", "install.sh")):
        if (folder / name).is_file():
            shutil.copyfile(folder / name, maintainer / kept)
    readme = _readme(description, metric, direction, best, submission)
    (root / "README.md").write_text(readme)
    spec: dict[str, Any] = {
        "id": root.name,
        "version": 1,
        "title": f"{folder.name.replace('-', ' ').capitalize()} (ResearchGym)",
        "paper": {"title": f"ResearchGym task {folder.name}", "venue": "ResearchGym", "year": 2025},
        "metric": {"name": metric, "direction": direction},
        "baseline": {"score": best, "public_score": best, "command": "true", "tolerance": 0.05},
        "reference": None,
        "budget": {
            "wall_time_s": 86400,
            "step_limit": 500,
            "eval_limit": 20,
            "command_timeout_s": 43200,
            "cpus": 8.0,
            "memory_mb": 65536,
            "disk_mb": 204800,
            "gpus": 1,
            "network": "egress",
        },
        "grader": {
            "command": f"python /eval/{GRADER_FILE} /submission",
            "timeout_s": 1800,
            "submission": submission,
            "submission_kind": "files",
            "self_reported": True,
        },
        "blocked_urls": blocked,
    }
    if hint:
        spec["description_variants"] = {"hint": f"{readme}\n## Hint\n\n{hint}\n"}
    header = (
        f"Imported from ResearchGym ({folder.name}) by `rgym tasks import researchgym`; see MAINTAINERS.md.\n"
        "Self-reported grading: not tamper-proof (the grader reads logs the agent writes)."
    )
    (root / "task.yaml").write_text(dump_spec(spec, header))
    (root / "MAINTAINERS.md").write_text(
        f"# {root.name}: imported from ResearchGym\n\n"
        f"- Source: `{folder.name}`, commit `{_commit(folder)}`.\n"
        f"- Metric: `{metric}` (column {column} of the first baseline table), {direction}d; baseline.score "
        f"{best:g} is the best published baseline in that column.\n"
        f"- The paper's title and venue are not in ResearchGym's task folder: fill `paper` by hand.\n"
        f"- Idea hint: {'kept as description_variants.hint' if hint else 'none'}; blocked URL patterns: "
        f"{len(blocked)}.\n"
        "- Not runnable here: GPU training and downloads. requirements.txt and install.sh are kept under "
        "maintainer/ for whoever builds a GPU image.\n"
    )


def _commit(folder: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"
