"""``inspect eval rgym/<task id>``: Inspect's own command line finds rgym's tasks through the entry point.

The model is Inspect's ``mockllm`` playing a scripted solution. The command line cannot hand mockllm
Python objects, so a ``sitecustomize`` module on the subprocess's PYTHONPATH gives it its script (the
outputs the Python-API test passes as ``custom_outputs``); everything else is the real ``inspect``
program: its loader, the entry point, the rgym-docker sandbox, the scorer and the log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gym_core.grading.grader import Grader
from gym_core.images import image_for
from gym_core.tasks.loader import load_task
from gym_core.tasks.spec import Split

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasks"
INSPECT = Path(sys.executable).parent / "inspect"

SITECUSTOMIZE = textwrap.dedent(
    """
    import json, os

    _script = os.environ.get("RGYM_TEST_MOCKLLM_SCRIPT")
    if _script:
        from inspect_ai.model import ModelOutput, ModelUsage
        from inspect_ai.model._providers import mockllm

        _calls = json.loads(open(_script).read())
        _init = mockllm.MockLLM.__init__

        def __init__(self, model_name, *args, custom_outputs=None, **kwargs):
            outputs = []
            for tool, arguments in _calls:
                out = ModelOutput.for_tool_call("mockllm/model", tool, arguments)
                out.usage = ModelUsage(input_tokens=10, output_tokens=10, total_tokens=20)
                outputs.append(out)
            _init(self, model_name, *args, custom_outputs=outputs, **kwargs)

        mockllm.MockLLM.__init__ = __init__
    """
)


def _inspect_eval(
    tmp_path: Path, name: str, calls: list[Any], *extra: str
) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(calls))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "RGYM_TEST_MOCKLLM_SCRIPT": str(script),
        "RGYM_TASKS_PATH": str(FIXTURES),
        "INSPECT_LOG_DIR": str(tmp_path / "logs"),
    }
    return subprocess.run(
        [
            str(INSPECT),
            "eval",
            name,
            "--model",
            "mockllm/model",
            "--log-format",
            "json",
            "--display",
            "plain",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )


@pytest.mark.docker
@pytest.mark.slow
def test_inspect_eval_rgym_task_id_scores_as_rgym_s_grader(docker_client: Any, tmp_path: Path) -> None:
    calls = [
        ["bash", {"command": "cd /workspace && echo 8 > answer.txt"}],
        ["submit", {"answer": "done"}],
    ]
    proc = _inspect_eval(tmp_path, "rgym/tiny-mean", calls)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [log_file] = (tmp_path / "logs").glob("*.json")
    log = json.loads(log_file.read_text())
    assert log["status"] == "success", log.get("error")
    assert log["eval"]["task"] == "rgym/tiny-mean"
    [sample] = log["samples"]
    [score] = sample["scores"].values()

    # what rgym's own grader gives the same file, on the private split
    task = load_task(FIXTURES / "tiny-mean")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "answer.txt").write_text("8\n")
    expected = Grader(task, backend="docker", image=image_for(task, "docker")).grade(
        submission, split=Split.PRIVATE
    )
    assert expected.valid and expected.normalized is not None
    assert score["metadata"]["raw"] == expected.raw == 2.0
    assert score["value"] == pytest.approx(expected.normalized)
    assert log["results"]["scores"][0]["metrics"]["mean"]["value"] == pytest.approx(expected.normalized)
