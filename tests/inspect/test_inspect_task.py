"""An rgym task run by Inspect AI end to end: mockllm plays a scripted solution in the rgym-docker sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"


def _script(answer: str) -> list[Any]:
    from inspect_ai.model import ModelOutput, ModelUsage

    outputs = [
        ModelOutput.for_tool_call(
            "mockllm/model", "bash", {"command": f"cd /workspace && echo {answer} > answer.txt"}
        ),
        ModelOutput.for_tool_call("mockllm/model", "submit", {"answer": "done"}),
    ]
    for output in outputs:  # given usage, mockllm does not count tokens (tiktoken would download its tables)
        output.usage = ModelUsage(input_tokens=10, output_tokens=10, total_tokens=20)
    return outputs


@pytest.mark.docker
@pytest.mark.slow
def test_mockllm_solves_tiny_mean_and_the_log_records_rgym_s_score(
    docker_client: Any, tmp_path: Path
) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from gym_core.inspect_task import rgym
    from gym_core.tasks.loader import load_task

    task_root = FIXTURES / "tiny-mean"
    spec = load_task(task_root).spec
    logs = inspect_eval(
        rgym(str(task_root)),
        model=get_model("mockllm/model", custom_outputs=_script("8")),
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    [log] = logs
    assert log.status == "success", log.error
    assert log.samples is not None
    [sample] = log.samples
    assert sample.scores is not None
    score = next(iter(sample.scores.values()))
    # Private split: mean 10, so 8 is off by 2; baseline 5 -> 0, reference 0 -> 1: normalized 0.6, as rgym run.
    assert score.metadata is not None and score.metadata["raw"] == 2.0
    assert score.value == pytest.approx(spec.normalize(2.0)) == pytest.approx(0.6)
    assert score.metadata["succeeded"] is True and score.metadata["split"] == "private"
    assert log.results is not None
    assert log.results.scores[0].metrics["mean"].value == pytest.approx(0.6)


@pytest.mark.docker
@pytest.mark.slow
def test_a_broken_grader_is_an_error_of_the_sample_not_a_zero(docker_client: Any, tmp_path: Path) -> None:
    """The grader crashes on every submission, the reference's too: rgym calls it broken (the environment's),
    so Inspect records an error for the sample instead of scoring the model 0."""
    import shutil

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from gym_core.inspect_task import rgym

    task_root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURES / "tiny-mean", task_root)
    grade = task_root / "eval" / "grade.py"
    grade.write_text("raise SystemExit(3)  # the grader fails, whatever it is given\n" + grade.read_text())
    logs = inspect_eval(
        rgym(str(task_root)),
        model=get_model("mockllm/model", custom_outputs=_script("10")),
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    [log] = logs
    assert log.status == "error"
    assert log.error is not None and "GraderBroken" in log.error.message + log.error.traceback
