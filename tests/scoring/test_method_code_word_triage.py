"""How one shell word is read, in the cases the other method_code tests leave loose: a line continuation inside a
word, ``$'...'`` strings holding characters beyond latin-1, a backslash before an ordinary character in double
quotes, two backquote substitutions in one command (and an empty one), a command that starts with ``$(...)``,
several ``${...}`` in one command (one holding `` #``), ``cd -`` before any ``cd``, and commands cut short inside a double quote.

Every expected result was checked against bash 5.2 (``env -u OLDPWD bash -c ...``) in a scratch folder holding the
same files, each printing its name when run: what bash ran is what the module must find.
"""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import executed_files

WORKSPACE = {
    "train.py": "print('train')\n",
    "prep.py": "print('prep')\n",
    "XGBoost.py": "print('xgboost')\n",
    "sub/job.py": "print('job')\n",
}


def _run(*commands: str) -> frozenset[str] | None:
    return executed_files(list(commands), WORKSPACE)


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # a fresh session has no OLDPWD: `cd -` fails ("cd: OLDPWD not set") and the shell stays in /workspace
        (["cd -", "python train.py"], {"train.py"}),
        (["cd -; python train.py"], {"train.py"}),
        # backslash-newline inside a word is a line continuation: it is removed, the word goes on
        (["python train.py\\\n  --epochs 3"], {"train.py"}),
        (["python tr\\\nain.py"], {"train.py"}),
        # $'...' with a character beyond latin-1 still has its escapes read: \n ends the echo, python runs
        (["bash -c $'echo \"\u2192 start\"\\npython train.py'"], {"train.py"}),
        # in double quotes a backslash escapes only " \\ $ ` (and a newline): before X it stays, and bash looks
        # for a file named `\XGBoost.py` (python: can't open file)
        (['python "\\XGBoost.py"'], None),
        # two backquote substitutions in one command: each closes at the next backquote, both run
        (["echo `python prep.py` `python train.py`"], {"prep.py", "train.py"}),
        # an empty substitution `` closes at once: the `cd` after it runs in the session, not in a subshell
        (["echo `` ; cd sub", "python job.py"], {"sub/job.py"}),
        # a command that starts with $(...): a later $VAR is a variable, not another substitution
        (["$(which python) --version; echo $PATH; python train.py"], {"train.py"}),
        # each ${...} ends at its own closing brace
        (["OUT_DIR=out; mkdir -p ${OUT_DIR} && python train.py --out ${OUT_DIR}"], {"train.py"}),
        # a command that starts with ${...}: a later $VAR is a plain variable, it does not run to a closing brace
        (["export PYTHON=python3", "${PYTHON} prep.py && $PYTHON train.py"], {"prep.py", "train.py"}),
        # a space inside ${...} does not end the word, so the ` #` in it starts no comment
        (["line='python prep.py  # first'; echo ${line%% #*}; python train.py"], {"train.py"}),
    ],
)
def test_a_word_is_read_as_bash_reads_it(commands: list[str], expected: set[str] | None) -> None:
    assert _run(*commands) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(
    "commands",
    [
        # cut short inside a double quote right after a backslash: bash reports an unexpected EOF and runs
        # nothing of that command; the commands before it still ran
        ["python train.py", 'echo "unfinished \\'],
        ["python train.py", 'python "train.py\\'],
        # `\"` at the very end escapes the quote, so nothing closes the string nor the backquote: nothing runs
        ["python train.py", 'echo "`python prep.py\\"'],
    ],
)
def test_a_command_cut_after_a_backslash_in_double_quotes_runs_nothing(commands: list[str]) -> None:
    assert _run(*commands) == frozenset({"train.py"})


@pytest.mark.timeout(60)
def test_a_closing_brace_before_a_parameter_expansion_is_not_its_end() -> None:
    # the `}` of the group comes before `${HOME}`: the expansion ends at its own `}`, later in the command
    assert _run("{ python prep.py; python train.py; } > log.txt 2>&1; echo ${HOME}") == frozenset(
        {"prep.py", "train.py"}
    )
