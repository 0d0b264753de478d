"""Any rgym task as an Inspect AI task: the rgym-docker sandbox, bash and submit tools, rgym's grader as scorer.

::

    inspect_ai.eval(rgym("calibration-temperature-scaling"), model="openai/gpt-4o")

or ``inspect eval rgym/calibration-temperature-scaling`` (any task along RGYM_TASKS_PATH, registered by
:mod:`gym_core.inspect_registry`), or ``inspect eval <this file>@rgym -T task_id=<id or folder>``
(see docs/importing.md). One sample: the task's README as input, its
workspace copied into ``/workspace`` of an ``rgym-docker`` sandbox (the task image, the task's limits, no
network unless the task allows it). The agent gets Inspect's ``bash`` tool and a ``submit`` tool; when it
submits (or runs out of messages) the scorer copies the declared submission files out of the sandbox and grades
them with rgym's own grader on the **private** split, exactly as ``rgym run`` grades a final submission. The
score's value is the normalized score (the raw score for a task without a reference); ``metadata`` holds the
raw score, the split, whether the attempt succeeded, and the requests the sandbox's network refused (a
task's ``blocked_urls``). Grader output is never shown to the model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer
from inspect_ai.solver import TaskState, basic_agent, system_message
from inspect_ai.tool import bash
from inspect_ai.util import SandboxEnvironmentSpec, sandbox

from gym_core.env.evaluation import Evaluator
from gym_core.grading.grader import Grader
from gym_core.images import image_for
from gym_core.sandbox.inspect_provider import RgymSandboxConfig, RgymSandboxEnvironment
from gym_core.tasks.discovery import find_task
from gym_core.tasks.spec import Split

WORKSPACE = PurePosixPath("/workspace")
SYSTEM = (
    "You are a research agent working in /workspace of a Linux sandbox. Use the bash tool to inspect files, "
    "write code and run it. When the files the task asks for are in place, call submit (its argument is not "
    "graded: the files are)."
)


def _network_refusals() -> list[dict[str, Any]]:
    """What the sample's sandbox network refused (a task's blocked_urls), for the score's metadata."""
    env = sandbox()
    if not isinstance(env, RgymSandboxEnvironment):
        return []
    refusals, _dropped = env.sandbox.take_network_refusals()
    return [r.to_json() for r in refusals]


@scorer(metrics=[mean()])
def rgym_grader(task_id: str) -> Scorer:
    """Grade the sandbox's submission files with the task's grader on the private split."""

    async def score(state: TaskState, target: Target) -> Score:
        rgym_task = find_task(task_id)
        with tempfile.TemporaryDirectory(prefix="rgym-inspect-") as tmp:
            copy = Path(tmp)
            missing = []
            for rel in rgym_task.spec.grader.submission:
                try:
                    data = await sandbox().read_file(str(WORKSPACE / rel), text=False)
                except (FileNotFoundError, IsADirectoryError, PermissionError):
                    missing.append(rel)
                    continue
                target_path = copy / rel
                target_path.parent.mkdir(parents=True, exist_ok=True)
                target_path.write_bytes(data)
            blocked = _network_refusals()
            image = image_for(rgym_task, "docker")
            grader = Grader(rgym_task, backend="docker", image=image)
            # As rgym grades: a grader that fails is regraded and checked against the reference; a broken
            # grader raises (GraderBroken), so Inspect records an error for the sample, not a zero for the model.
            evaluator = Evaluator(rgym_task, backend="docker", image=image)
            result = evaluator.grade_with_regrade(grader, copy, None, Split.PRIVATE)
        spec = rgym_task.spec
        value = result.normalized if spec.has_reference else result.raw
        return Score(
            value=value if value is not None else 0.0,
            answer=", ".join(spec.grader.submission),
            explanation=result.message if result.valid else f"invalid: {result.message}",
            metadata={
                "raw": result.raw,
                "normalized": result.normalized,
                "valid": result.valid,
                "split": Split.PRIVATE.value,
                "succeeded": spec.succeeded(result.raw),
                "missing": missing,
                "self_reported": spec.grader.self_reported,
                "blocked_requests": blocked,
            },
        )

    return score


@task
def rgym(task_id: str, message_limit: int | None = None) -> Task:
    """The rgym task ``task_id`` (an id along RGYM_TASKS_PATH, or a task folder) as an Inspect task."""
    rgym_task = find_task(task_id)
    budget = rgym_task.spec.budget
    config = RgymSandboxConfig(
        image=image_for(rgym_task, "docker"),
        workspace=rgym_task.workspace_dir,
        cpus=budget.cpus,
        memory_mb=budget.memory_mb,
        pids=budget.pids,
        disk_mb=budget.disk_mb,
        network=budget.network.value,
        blocked_urls=tuple(rgym_task.spec.blocked_urls),
    )
    return Task(
        dataset=[Sample(input=rgym_task.readme, id=rgym_task.id)],
        solver=basic_agent(
            init=system_message(SYSTEM),
            tools=[bash(timeout=int(budget.command_timeout_s))],
            message_limit=message_limit or 2 * budget.step_limit,
        ),
        scorer=rgym_grader(str(rgym_task.root)),
        sandbox=SandboxEnvironmentSpec("rgym-docker", config),
        time_limit=int(budget.wall_time_s),
        name=f"rgym/{rgym_task.id}",
    )
