"""The words ``executed_files`` expands before it reads a path: the variables the session knows (HOME,
OLDPWD, and those it set), and absolute paths. Every expected result is what bash runs (checked with
``bash -c``), or, for a variable the session never set, the reason given with it."""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import executed_files

WORKSPACE = {
    "a.py": "print('a')\n",
    "Da.py": "print('Da')\n",
    "sub/job.py": "print('job')\n",
}


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # HOME is /tmp (bash: `HOME=/tmp; echo $HOME ${HOME}` prints `/tmp /tmp`)
        (["python $HOME/../workspace/a.py"], {"a.py"}),
        (["python ${HOME}/../workspace/a.py"], {"a.py"}),
        # OLDPWD is the folder the last `cd` left (bash: `cd sub && cd .. && echo $OLDPWD` prints .../sub)
        (["cd sub && cd .. && python $OLDPWD/job.py"], {"sub/job.py"}),
        (["cd sub", "cd ..", "python ${OLDPWD}/job.py"], {"sub/job.py"}),
        # a variable the session never set may come from the agent's environment: its value is unknown, so
        # the word names no file (neither `a.py`, as if it were empty, nor `Da.py`, as if it were its name)
        (["python ${D}a.py"], None),
        # and the one it set is its value
        (["D=sub; python $D/job.py"], {"sub/job.py"}),
    ],
)
def test_variables_the_session_knows_are_expanded(commands: list[str], expected: set[str] | None) -> None:
    assert executed_files(commands, WORKSPACE) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(
    "command",
    [
        # a folder whose name starts like a path's separator is another folder: bash runs no a.py here
        # (`bash /Xtmp/x/a.sh`: No such file or directory)
        "python /Xworkspace/a.py",
        "python /XX/workspace/a.py",
    ],
)
def test_an_absolute_path_outside_the_workspace_names_no_workspace_file(command: str) -> None:
    assert executed_files([command], WORKSPACE) is None


def test_an_absolute_path_into_the_workspace_names_its_file() -> None:
    assert executed_files(["python //workspace/./sub/../a.py"], WORKSPACE) == frozenset({"a.py"})


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # the substitutions inside ${...} run when the variable is unset (bash 5.2, X and OUT unset: each
        # printed a.py's line)
        ("echo ${OUT:-$(python a.py)}", {"a.py"}),
        ("echo ${X:-`python a.py`}", {"a.py"}),
        ('echo ${X:-"$(python a.py)"}', {"a.py"}),
        ("echo ${X:-${Y:-$(python a.py)}}", {"a.py"}),
        # a `}` in quotes or in a $(...) does not close the ${ (bash ran a.py after each)
        ("N=${N:-$(awk '{print $1}' cfg.txt)}; python a.py", {"a.py"}),
        ("echo ${X:-'a}b'}; python sub/job.py", {"sub/job.py"}),
        # in single quotes a $(...) is text (bash printed `$(python a.py)`)
        ("echo ${X:-'$(python a.py)'}", None),
    ],
)
def test_the_substitutions_in_a_parameter_expansion_run(command: str, expected: set[str] | None) -> None:
    result = executed_files([command], WORKSPACE)
    assert result == (None if expected is None else frozenset(expected))
