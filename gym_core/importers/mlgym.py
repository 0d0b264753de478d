"""``rgym tasks import mlgym``: an MLGym task (facebookresearch/MLGym) as an rgym task folder.

An MLGym checkout holds a task as ``configs/tasks/NAME.yaml`` (description, entry point, starter code, evaluation
script, baseline scores), the dataset configs it names (``configs/datasets/*.yaml``) and ``data/<task dir>/``
with the starter code, ``evaluate.py`` and local data. The import writes:

* ``workspace/``: the starter code at the top and the local dataset under ``data/``, as MLGym lays out
  ``/home/agent/workspace``, without the hidden files;
* ``eval/``: MLGym's evaluation files under ``mlgym/`` (with the game's opponent for a strategy task), the
  hidden files (Titanic's ``ground_truth.csv``) under ``data/``, and rgym's adapter
  (:mod:`gym_core.importers.mlgym_grader`) with its ``rgym_mlgym.json``;
* ``task.yaml`` with ``reference: null`` (MLGym publishes no withheld method) and MLGym's baseline;
* ``README.md`` (MLGym's description, dataset docs filled in, and what differs in rgym), ``MAINTAINERS.md``
  (provenance, what was measured), ``environment/requirements.txt`` (pinned).

A file counts as hidden when ``evaluate.py`` names it (a string literal holding its file name) or its name
says so (``ground_truth``, ``answers``, ``labels``, ``solution``). Splits: the private split is what MLGym
grades (the whole test set, or a game played with a fixed secret seed); the public split is a fixed secret
half of the test rows, or the game with another secret seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_core.errors import ImportSourceError
from gym_core.importers import mlgym_grader
from gym_core.importers.common import (
    ImportResult,
    check_folder,
    dump_spec,
    imported_modules,
    kebab,
    load_yaml,
    prepare_output,
    requirements_for,
)

PAPER = {
    "title": "MLGym: A New Framework and Benchmark for Advancing AI Research Agents",
    "venue": "arXiv",
    "year": 2025,
    "url": "https://arxiv.org/abs/2502.14499",
}
MINIMIZED = re.compile(
    r"(^|[^a-z])(rmse|mse|mae|loss|error|time|perplexity|ppl|regret|cost|distance)([^a-z]|$)"
)
"""Metric names (lower case) that are better when smaller; every other MLGym metric is maximized."""
HIDDEN_NAME = re.compile(r"ground[_-]?truth|answers?\b|labels?\b|solutions?\b", re.IGNORECASE)
WORKSPACE = "/home/agent/workspace"
GRADER_FILE = "rgym_mlgym_grade.py"
PREFIX = "mlgym-"


@dataclass
class MLGymTask:
    """One MLGym task config, read and checked."""

    name: str
    """The config's file stem (``titanic``)."""
    label: str
    """The config's path relative to the checkout, for messages."""
    config: dict[str, Any]
    datasets: list[dict[str, Any]]
    data_dir: Path
    """``data/<task dir>`` in the checkout."""
    evaluate: str
    """The evaluation script's workspace-relative path (``evaluate.py``)."""
    entrypoint: str
    metric: str
    baseline: float
    problems: list[str] = field(default_factory=list)
    """Why the task cannot run here."""


def _require(config: dict[str, Any], key: str, label: str, kind: type | tuple[type, ...]) -> Any:
    if key not in config:
        raise ImportSourceError(f"{label}: {key}: required field is missing")
    value = config[key]
    if not isinstance(value, kind) or (isinstance(value, (str, list)) and not value):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ImportSourceError(f"{label}: {key}: must be a non-empty {names}, got {value!r}"[:300])
    return value


def _config_path(src: Path, name: str) -> Path:
    """``configs/tasks/NAME.yaml``, or the config whose ``id`` is NAME."""
    tasks = src / "configs" / "tasks"
    if not tasks.is_dir():
        raise ImportSourceError(f"{src}: configs/tasks/ not found; SRC_DIR must be an MLGym checkout")
    direct = tasks / f"{name}.yaml"
    if direct.is_file():
        return direct
    for path in sorted(tasks.glob("*.yaml")):
        if re.search(rf"^id:\s*['\"]?{re.escape(name)}['\"]?\s*$", path.read_text(errors="replace"), re.M):
            return path
    raise ImportSourceError(f"{src}: configs/tasks/{name}.yaml not found (and no task config has id {name})")


def task_names(src: Path) -> list[str]:
    """Every task config of a checkout, by file stem."""
    tasks = src / "configs" / "tasks"
    if not tasks.is_dir():
        raise ImportSourceError(f"{src}: configs/tasks/ not found; SRC_DIR must be an MLGym checkout")
    return sorted(p.stem for p in tasks.glob("*.yaml"))


def read_task(src: Path, name: str, metric: str | None = None) -> MLGymTask:
    """Read and check one task config and the dataset configs it names."""
    path = _config_path(src, name)
    label = path.relative_to(src).as_posix()
    config = load_yaml(path, label)
    for key in ("id", "name", "description", "task_entrypoint"):
        _require(config, key, label, str)
    evaluation = _require(config, "evaluation_paths", label, list)
    evaluate = str(evaluation[0])
    starter = config.get("starter_code") or []
    if not isinstance(starter, list):
        raise ImportSourceError(f"{label}: starter_code: must be a list of paths")
    data_dir = _data_dir(src, label, starter, evaluate)
    scores = _require(config, "baseline_scores", label, list)
    first = scores[0]
    if not isinstance(first, dict) or not first:
        raise ImportSourceError(f"{label}: baseline_scores[0]: must map a metric name to its score")
    wanted = metric or str(next(iter(first)))
    value = next((v for k, v in first.items() if str(k).lower() == wanted.lower()), None)
    if value is None:
        raise ImportSourceError(
            f"{label}: baseline_scores[0]: no metric {wanted!r} (has {', '.join(map(str, first))})"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ImportSourceError(
            f"{label}: baseline_scores[0].{wanted}: must be a finite number, got {value!r}"
        )
    datasets = []
    for i, rel in enumerate(config.get("dataset_configs") or []):
        ds_label = f"configs/{rel}"
        dataset = load_yaml(src / "configs" / str(rel), ds_label)
        for key in ("name", "data_path"):
            if not isinstance(dataset.get(key), str) or not dataset[key]:
                raise ImportSourceError(
                    f"{ds_label}: {key}: required field is missing (named by {label}: dataset_configs[{i}])"
                )
        datasets.append(dataset)
    task = MLGymTask(
        name=path.stem,
        label=label,
        config=config,
        datasets=datasets,
        data_dir=data_dir,
        evaluate=evaluate,
        entrypoint=str(config["task_entrypoint"]),
        metric=wanted,
        baseline=float(value),
    )
    return task


def _data_dir(src: Path, label: str, starter: list[Any], evaluate: str) -> Path:
    """The task's ``data/<dir>``: where its evaluation script lives among the starter code."""
    for i, rel in enumerate(starter):
        rel_path = Path(str(rel))
        if rel_path.name == Path(evaluate).name:
            if not (src / rel_path).is_file():
                raise ImportSourceError(f"{label}: starter_code[{i}]: {rel} not found in the checkout")
            return (src / rel_path).parent
    raise ImportSourceError(
        f"{label}: evaluation_paths[0]: {evaluate} is not among starter_code, so its data folder is unknown"
    )


def _direction(metric: str) -> str:
    return "minimize" if MINIMIZED.search(metric.lower()) else "maximize"


def _dataset_docs(datasets: list[dict[str, Any]]) -> str:
    """MLGym's ``{dataset_docs}``: each dataset's name in capitals, a colon, and its description."""
    return "".join(f"{str(d['name']).upper()}:\n{d.get('description', '')}\n\n" for d in datasets)


def _starter_files(src: Path, task: MLGymTask) -> list[tuple[Path, str]]:
    """(source path, workspace-relative path) of every starter file; folders are copied whole."""
    out = []
    for i, rel in enumerate(task.config.get("starter_code") or []):
        path = src / str(rel)
        if not path.exists():
            raise ImportSourceError(f"{task.label}: starter_code[{i}]: {rel} not found in the checkout")
        out.append((path, path.name))
    return out


def _copy(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copyfile(path, target)


PUBLIC_MARK = "# rgym: the grader's own copy of a file MLGym also gives the agent (workspace/{name}).\n"


def _copy_public(path: Path, target: Path) -> None:
    """The grader's copy of a file the agent also gets, marked as such.

    ``rgym tasks verify`` reports any eval/ file whose content the agent's sandbox holds (a leaked label file);
    MLGym gives the agent ``evaluate.py`` and a game's opponent on purpose, so the grader's copy says so in a
    first comment line (Python files only; the content then differs from the agent's copy).
    """
    _copy(path, target)
    if target.is_file() and target.suffix == ".py":
        target.write_text(PUBLIC_MARK.format(name=target.name) + target.read_text(encoding="utf-8"))


def _digest(path: Path) -> str:
    """The content's digest; for text data (CSV, TSV, TXT, JSON) with line endings and trailing blanks
    normalised, so a copy saved with CRLF or without its last newline is still the same file."""
    if not path.is_file():
        return ""
    data = path.read_bytes()
    if path.suffix.lower() in (".csv", ".tsv", ".txt", ".json"):
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        data = b"\n".join(line.rstrip() for line in lines).rstrip(b"\n")
    return hashlib.sha256(data).hexdigest()


def _hidden(name: str, evaluation_source: str) -> bool:
    literals = set(re.findall(r"""['"]([^'"\n]+)['"]""", evaluation_source))
    named = any(Path(lit).name == name for lit in literals)
    return named or bool(HIDDEN_NAME.search(Path(name).stem))


def _submission_modules(
    task: MLGymTask, starter: list[tuple[Path, str]], evaluation_source: str
) -> list[str]:
    """The starter modules the agent rewrites: imported by evaluate.py and named in the description."""
    local = {Path(rel).stem for _, rel in starter if rel.endswith(".py")}
    imported = imported_modules(evaluation_source) & local
    description = str(task.config["description"])
    named = sorted(m for m in imported if re.search(rf"\b{re.escape(m)}\.py\b", description))
    if not named:
        raise ImportSourceError(
            f"{task.label}: description: names none of the modules {task.evaluate} imports "
            f"({', '.join(sorted(imported)) or 'none'}) as the file to edit, so the submission is unknown"
        )
    return named


def _source_commit(src: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def _readme(task: MLGymTask, submission: list[str], kind: str, baseline_how: str, direction: str) -> str:
    description = str(task.config["description"]).replace("{dataset_docs}", _dataset_docs(task.datasets))
    word = "higher" if direction == "maximize" else "lower"
    lines = [
        f"# {task.config['name']}",
        "",
        description.rstrip(),
        "",
        "## In rgym",
        "",
        f"- **Submission:** {', '.join(f'`{s}`' for s in submission)} in `/workspace`"
        + (
            " (your code: the grader imports it in a separate process and calls it)."
            if kind == "code"
            else "."
        ),
        f"- **Metric:** `{task.metric}` as MLGym's `{task.evaluate}` reports it; {word} is better.",
        "- **validate** scores the public split: "
        + (
            "the game played with one fixed random seed. **submit** plays it with another."
            if kind == "code"
            else "a fixed half of the test rows. **submit** scores the whole test set, as MLGym does."
        ),
        f"- **Baseline:** {task.baseline:g} ({baseline_how}), as MLGym publishes it. A submission succeeds "
        f"when it beats it.",
    ]
    if kind == "files":
        lines.append(
            f"- The ground truth is not in the workspace, so `python {task.evaluate}` cannot score a submission "
            "here: use validate."
        )
    return "\n".join(lines) + "\n"


def import_task(
    src: Path,
    name: str,
    out_dir: Path,
    *,
    metric: str | None = None,
    direction: str | None = None,
    ground_truth: Path | None = None,
    force: bool = False,
) -> ImportResult:
    """Convert one MLGym task into ``out_dir/mlgym-<id>``.

    Raises:
        ImportSourceError: the source is malformed or incomplete (one line naming the file and field).
    """
    src = src.resolve()
    task = read_task(src, name, metric)
    task_id = PREFIX + kebab(str(task.config["id"]))
    result = ImportResult(source=task.name, task_id=task_id)
    starter = _starter_files(src, task)
    evaluate_path = task.data_dir / Path(task.evaluate).name
    evaluation_source = evaluate_path.read_text(encoding="utf-8", errors="replace")
    kinds = {"CSVSubmissionTasks": "files", "PythonSubmissionTasks": "code"}
    kind = kinds.get(task.entrypoint, "files")
    problems = task.problems
    if task.entrypoint not in kinds:
        problems.append(f"task_entrypoint {task.entrypoint} (rgym imports CSV and Python-code submissions)")
    if task.entrypoint == "LMSubmissionTasks":
        problems.append("needs a GPU (MLGym runs it with torchrun)")

    # Datasets: local ones are copied (hidden files to eval/), remote ones need a download.
    data_files: list[tuple[Path, str]] = []
    for dataset in task.datasets:
        if not dataset.get("is_local", False):
            problems.append(f"downloads the dataset {dataset['data_path']} at run time")
            continue
        data_path = src / str(dataset["data_path"])
        if not data_path.is_dir() or not any(data_path.iterdir()):
            problems.append(
                f"its dataset folder {dataset['data_path']} is not in the checkout (made separately)"
            )
            continue
        for path in sorted(p for p in data_path.rglob("*") if p.is_file()):
            data_files.append((path, f"data/{path.relative_to(data_path).as_posix()}"))

    hidden = [(p, rel) for p, rel in data_files if _hidden(p.name, evaluation_source)]
    public = [(p, rel) for p, rel in data_files if (p, rel) not in hidden]
    if ground_truth is not None:
        truth = [i for i, (_, rel) in enumerate(hidden) if rel.endswith(".csv")]
        if not truth:
            raise ImportSourceError(
                f"{task.label}: --ground-truth given, but the task has no hidden CSV file"
            )
        if not ground_truth.is_file():
            raise ImportSourceError(f"{ground_truth}: --ground-truth: file not found")
        hidden[truth[0]] = (ground_truth, hidden[truth[0]][1])
        result.notes.append(f"{hidden[truth[0]][1]} taken from {ground_truth}")

    submission: list[str]
    modules: list[str] = []
    if kind == "code":
        modules = _submission_modules(task, starter, evaluation_source)
        submission = [f"{m}.py" for m in modules]
    elif task.entrypoint == "ModelSubmissionTasks":
        submission = ["config.yaml"]
    else:
        submission = ["submission.csv"]
    sample = task.config.get("sample_submission")
    if kind == "code":
        baseline_command, baseline_how = "true", f"the unchanged starter {', '.join(submission)}"
    elif task.config.get("baseline_paths") and str(task.config["baseline_paths"][0]) != task.evaluate:
        script = str(task.config["baseline_paths"][0])
        baseline_command, baseline_how = f"python {script}", f"`python {script}`"
    elif sample:
        if not (src / str(sample)).is_file():
            raise ImportSourceError(f"{task.label}: sample_submission: {sample} not found in the checkout")
        baseline_command = f"cp sample_submission.csv {submission[0]}"
        baseline_how = "MLGym's sample submission, `sample_submission.csv`"
    else:  # MLGym publishes a score but nothing here reproduces it: the task imports, and says so
        baseline_command, baseline_how = "true", "no baseline script or sample submission in the checkout"
        problems.append(
            "MLGym gives no baseline_paths and no sample_submission: its baseline cannot be reproduced"
        )
    direction = direction or _direction(task.metric)

    # Nothing the agent sees may be a copy of a hidden file (MLGym's Titanic ground truth is byte for byte
    # its sample submission): such a file stays out of the workspace, and a baseline built on it is refused.
    secret = {_digest(p): rel for p, rel in hidden}
    visible = [*starter, *public]
    if sample and kind == "files":
        visible.append((src / str(sample), "sample_submission.csv"))
    leaks = {rel: secret[d] for p, rel in visible if p.is_file() and (d := _digest(p)) in secret}
    for rel, twin in leaks.items():
        result.notes.append(f"{rel} left out of the workspace: it is a copy of the hidden {twin}")
    if "sample_submission.csv" in leaks and baseline_command.startswith("cp sample_submission.csv"):
        # MLGym's Titanic: the shipped "ground truth" is the gender-based sample submission, not Kaggle's test
        # labels its published score was measured on. The task runs (it grades against what MLGym ships),
        # but nothing here reproduces the published baseline, and the sample itself would score perfectly.
        twin = leaks["sample_submission.csv"]
        result.baseline_unreproducible = (
            f"MLGym's hidden {twin} equals its sample submission, so the published {task.metric} "
            f"{task.baseline:g} (measured on labels MLGym does not ship) cannot be reproduced from its files, "
            f"and the rule that made the sample submission scores perfectly here; give the real labels with "
            f"--ground-truth"
        )
        baseline_command, baseline_how = "true", "MLGym's published score"
    starter = [(p, rel) for p, rel in starter if rel not in leaks]
    public = [(p, rel) for p, rel in public if rel not in leaks]
    if "sample_submission.csv" in leaks:
        sample = None

    modules_used: set[str] = set()
    for path, _rel in starter:
        for py in [path] if path.is_file() else sorted(path.rglob("*.py")):
            if py.suffix == ".py":
                modules_used |= imported_modules(py.read_text(encoding="utf-8", errors="replace"))
    local = {Path(rel).stem for _, rel in starter}
    local |= {py.stem for path, _ in starter if path.is_dir() for py in path.rglob("*.py")}
    requirements, unknown = requirements_for(modules_used, local)
    if unknown:
        problems.append(f"needs packages rgym does not pin ({', '.join(unknown)})")

    root = prepare_output(out_dir, task_id, force=force)
    try:
        _write(
            root,
            src,
            task,
            starter,
            public,
            hidden,
            submission,
            modules,
            kind,
            sample,
            baseline_command,
            baseline_how,
            direction,
            requirements,
            result.baseline_unreproducible,
        )
        check_folder(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    result.folder = root
    result.runnable = not problems
    result.why_not = "; ".join(problems) or None
    return result


def _write(
    root: Path,
    src: Path,
    task: MLGymTask,
    starter: list[tuple[Path, str]],
    public: list[tuple[Path, str]],
    hidden_files: list[tuple[Path, str]],
    submission: list[str],
    modules: list[str],
    kind: str,
    sample: Any,
    baseline_command: str,
    baseline_how: str,
    direction: str,
    requirements: list[str],
    baseline_unreproducible: str | None = None,
) -> None:
    workspace, eval_dir = root / "workspace", root / "eval"
    workspace.mkdir()
    (eval_dir / "mlgym").mkdir(parents=True)
    for path, rel in starter:
        _copy(path, workspace / rel)
        if Path(rel).stem not in modules:  # evaluation files and fixed modules (a game's opponent)
            _copy_public(path, eval_dir / "mlgym" / rel)
    for path, rel in public:
        _copy(path, workspace / rel)
    for path, rel in hidden_files:
        _copy(path, eval_dir / rel)
    hidden = [rel for _, rel in hidden_files]
    if sample and kind == "files":
        _copy(src / str(sample), workspace / "sample_submission.csv")
    shutil.copyfile(Path(mlgym_grader.__file__), eval_dir / GRADER_FILE)

    adapter: dict[str, Any] = {
        "kind": kind,
        "metric": task.metric,
        "evaluate": Path(task.evaluate).name,
        "submission": submission,
        "workspace_paths": [WORKSPACE],
        "timeout_s": 1500,
    }
    if kind == "code":
        adapter["modules"] = modules
        adapter["seeds"] = {
            split: {"grader": secrets.randbits(63), "submission": secrets.randbits(63)}
            for split in ("public", "private")
        }
    else:
        flag = "--config_fname" if task.entrypoint == "ModelSubmissionTasks" else "--submission_file"
        adapter["args"] = [flag, f"{{view}}/{submission[0]}"]
        truth = [rel for rel in hidden if rel.endswith(".csv")]
        if truth:
            id_column = _first_column(eval_dir / truth[0])
            adapter["split"] = {
                "kind": "rows",
                "truth": truth[0],
                "submission": submission[0],
                "id_column": id_column,
                "salt": secrets.token_hex(16),
            }
    (eval_dir / mlgym_grader.CONFIG_FILE).write_text(json.dumps(adapter, indent=2) + "\n")

    env = root / "environment"
    env.mkdir()
    (env / "requirements.txt").write_text(
        "# Pinned by rgym tasks import mlgym from the modules the starter code and evaluate.py import.\n"
        + "".join(f"{line}\n" for line in requirements)
    )
    (root / "README.md").write_text(_readme(task, submission, kind, baseline_how, direction))

    spec: dict[str, Any] = {
        "id": root.name,
        "version": 1,
        "title": f"{task.config['name']} (MLGym)",
        "paper": PAPER,
        "metric": {"name": task.metric, "direction": direction},
        "baseline": {
            "score": task.baseline,
            "public_score": task.baseline,
            "command": baseline_command,
            "tolerance": 0.05 if kind == "code" else 0.02,
        },
        "reference": None,
        "budget": {
            "wall_time_s": max(3600, 2 * int(task.config.get("training_timeout") or 1800)),
            "step_limit": 50,
            "eval_limit": 20,
            "command_timeout_s": int(task.config.get("training_timeout") or 1800),
            "cpus": 1.0,
            "memory_mb": 4096,
            "disk_mb": 2048,
            "gpus": 1 if task.entrypoint == "LMSubmissionTasks" else 0,
        },
        "grader": {
            "command": f"python /eval/{GRADER_FILE} /submission",
            "timeout_s": 1800,
            "submission": submission,
            "submission_kind": kind,
        },
    }
    header = f"Imported from MLGym ({task.label}) by `rgym tasks import mlgym`; see MAINTAINERS.md.\n" + (
        "baseline.score is MLGym's published score, which MLGym's own files cannot reproduce\n"
        '(MAINTAINERS.md, "Baseline not reproducible").'
        if baseline_unreproducible
        else "baseline.score is MLGym's published score until `rgym tasks import ... --measure` or\n"
        "`rgym tasks verify` measures both splits here."
    )
    (root / "task.yaml").write_text(dump_spec(spec, header))
    (root / "MAINTAINERS.md").write_text(
        "\n".join(
            [
                f"# {root.name}: imported from MLGym",
                "",
                f"- Source: facebookresearch/MLGym `{task.label}`, commit `{_source_commit(src)}`.",
                f"- Entry point: `{task.entrypoint}`; submission kind `{kind}` ({', '.join(submission)}).",
                f"- MLGym's published baseline: {task.metric} = {task.baseline!r} ({baseline_how}).",
                "- Reference: none (MLGym publishes no withheld method); success = beating the baseline.",
                f"- Hidden files moved to eval/: {', '.join(hidden) or 'none'}.",
                "- Splits: private = what MLGym grades"
                + (" (the game, private seed)" if kind == "code" else " (the whole test set)")
                + "; public = "
                + (
                    "the game with another seed."
                    if kind == "code"
                    else "a fixed secret half of the test rows."
                ),
                "- Seeds and the row salt are secret (eval/rgym_mlgym.json); a re-import draws new ones.",
                "",
                *_unreproducible_section(baseline_unreproducible),
                "## Measured here",
                "",
                "(not yet: run `rgym tasks verify " + root.name + "`)",
                "",
            ]
        )
    )


def _unreproducible_section(why: str | None) -> list[str]:
    """MAINTAINERS.md's account of a published baseline that the source's files cannot reproduce."""
    if not why:
        return []
    return [
        "## Baseline not reproducible",
        "",
        f"{why[0].upper()}{why[1:]}.",
        "",
        "- The task runs and grades against the file MLGym ships, but scores then measure agreement with the "
        "rule that produced the sample submission (for MLGym's Titanic: women survive, men do not), not "
        "the real outcome: a submission that applies that rule scores perfectly, and beating the published "
        "baseline proves nothing.",
        "- The sample submission is kept out of the workspace (it is a copy of the hidden file), and "
        "`baseline.command` is `true`: nothing here reproduces `baseline.score`, so `rgym tasks verify` "
        "cannot confirm it either.",
        "- The fix: import again with the real labels, `rgym tasks import mlgym SRC --task NAME "
        "--ground-truth LABELS.csv --force` (for Titanic, Kaggle's test labels, which MLGym does not ship); "
        "the sample submission then becomes the baseline and its score can be measured (`--measure`).",
        "",
    ]


def _first_column(path: Path) -> str:
    header = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    if not header or not header[0].strip():
        raise ImportSourceError(f"{path.name}: empty CSV file, no id column")
    return header[0].split(",")[0].strip().strip('"')
