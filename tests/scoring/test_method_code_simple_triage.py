"""What one simple command runs, in the cases the other method_code tests leave loose: ``python -m pytest`` and the
launcher modules (``python -m cProfile -o out.prof train.py``), code read from stdin when a later ``<`` replaces a
here-document, the folder a here-document's imports are read from, ``python -m pkg`` after a ``cd`` that may have
failed, and a ``$(cat x)`` handed to a script that runs it.

Every expected result was checked against bash 5.2 and python 3.11 (pytest for what it collects), run in a scratch
folder holding the same files: what they ran is what the module must find.
"""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import executed_files

WORKSPACE = {
    "train.py": "import layers\n",
    "layers.py": "",
    "conftest.py": "",
    "tests/conftest.py": "",
    "tests/test_a.py": "def test_a():\n    pass\n",
    "tests/unit/test_b.py": "def test_b():\n    pass\n",
    "other/test_c.py": "def test_c():\n    pass\n",
    # a script that runs the code it is given as its first argument
    "runner.py": "import sys\nexec(sys.argv[1])\n",
    "helper.py": "print('helper')\n",
    "run.sh": "python train.py\n",
    "sub/job.py": "",
    "sub/pkg2/__init__.py": "",
    "sub/pkg2/__main__.py": "",
}
TRAIN = {"train.py", "layers.py"}
ALL_TESTS = {"conftest.py", "tests/conftest.py", "tests/test_a.py", "tests/unit/test_b.py", "other/test_c.py"}


def _run(*commands: str) -> frozenset[str] | None:
    return executed_files(list(commands), WORKSPACE)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # `python -m pytest ARGS` collects what `pytest ARGS` collects (checked with --collect-only)
        ("python -m pytest", ALL_TESTS),
        ("python -m pytest tests/unit", {"tests/unit/test_b.py", "tests/conftest.py", "conftest.py"}),
        ("python3 -m pytest -q other", {"other/test_c.py", "conftest.py"}),
        ("python -m pytest -k slow tests/unit", {"tests/unit/test_b.py", "tests/conftest.py", "conftest.py"}),
        # the module grouped with its option: every argument after it is pytest's
        (
            "python -mpytest tests/unit other",
            {"tests/unit/test_b.py", "tests/conftest.py", "conftest.py", "other/test_c.py"},
        ),
    ],
)
def test_python_m_pytest_runs_what_pytest_runs(command: str, expected: set[str]) -> None:
    assert _run(command) == frozenset(expected)


@pytest.mark.parametrize(
    "command",
    [
        # a launcher module runs the first code file among its arguments (python 3.11 ran train.py in each)
        "python -m cProfile train.py",
        "python -m cProfile -o out.prof train.py",
        "python -mcProfile -o out.prof train.py",
        "python -m profile -o out.prof train.py",
        "python -m pdb -c continue train.py",
        "python -m trace --count -C cov train.py",
        "python -m torch.distributed.run --nproc_per_node 2 train.py",
        "python -m torch.distributed.launch train.py",
        "python -m scalene train.py",
    ],
)
def test_a_launcher_module_runs_the_script_among_its_arguments(command: str) -> None:
    assert _run(command) == frozenset(TRAIN)


def test_a_launcher_option_is_not_its_script_even_when_a_file_has_its_name() -> None:
    """``python -m cProfile -o out.prof train.py`` profiles train.py: ``-o`` is cProfile's option, even in a
    workspace where ``touch -- -o`` made a file of that name (python 3.11 ran train.py)."""
    workspace = {**WORKSPACE, "-o": "#!/bin/sh\npython other/test_c.py\n"}
    assert executed_files(["python -m cProfile -o out.prof train.py"], workspace) == frozenset(TRAIN)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # redirections of one fd apply left to right: the last one is what the command reads
        # (bash: `python <<EOF < main.py` runs main.py, not the here-document)
        ("python <<EOF < train.py\nprint('hi')\nEOF", TRAIN),
        ("bash <<EOF < run.sh\necho hi\nEOF", {"run.sh"} | TRAIN),
        ("bash <<< 'echo hi' < run.sh", {"run.sh"} | TRAIN),
        # code read from stdin imports from the current folder (sys.path[0] is '')
        ("cd sub && python <<EOF\nimport job\nEOF", {"sub/job.py"}),
        ("cd sub && python - <<< 'import job'", {"sub/job.py"}),
        # the catted text is runner.py's argument, and runner.py executes it (python printed 'helper')
        # (python's script is /dev/stdin, here runner.py; what follows it is the script's argv)
        ('python /dev/stdin "$(cat helper.py)" < runner.py', {"runner.py", "helper.py"}),
        ('python runner.py "$(cat helper.py)"', {"runner.py", "helper.py"}),
    ],
)
def test_code_read_from_stdin_or_handed_over_counts(command: str, expected: set[str]) -> None:
    assert _run(command) == frozenset(expected)


def test_python_m_after_a_cd_that_may_have_failed_finds_the_module_where_the_shell_is() -> None:
    # bash: `cd nowhere` fails, `cd sub` succeeds, python runs sub/pkg2/__main__.py
    assert _run("cd nowhere; cd sub; python -m pkg2") == frozenset(
        {"sub/pkg2/__init__.py", "sub/pkg2/__main__.py"}
    )
