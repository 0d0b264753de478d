"""One simple command as ``executed_files`` reads it: assignments and ``export``, reserved words and ``function``,
wrappers (``env -C``, ``env -S``, ``nice -n``, ``xargs``), stdin redirections and here-documents, ``mkdir``, copies
(``mv``, ``install``), ``eval``, ``$(cat x)`` as the code a runner runs, ``py.test``; and the pipelines and
background jobs that run a command in a subshell.

Every expected result was checked against bash 5.2 (GNU coreutils 9.1 for ``env``, ``install``, ``mkdir``), run in
a scratch folder holding the same files: what bash ran is what the module must find.
"""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import executed_files

WORKSPACE = {
    "solve.py": "print('solve')\n",
    "a.py": "print('a')\n",
    "b.py": "print('b')\n",
    "sub/job.py": "print('job')\n",
    # a hyperparameter folder (hydra style): its path holds a `=`
    "runs/lr=0.1/train.py": "print('train')\n",
    "run.sh": "python b.py\n",
    "setup.sh": "python a.py\n",
    "gen.sh": "echo generated\n",
    "tests/test_model.py": "def test_model():\n    pass\n",
    # scripts known by their `#!` line, named like a word of a command that is not them
    "run": "#!/bin/sh\necho run\n",
    "uv": "#!/bin/sh\necho uv\n",
    # `cat -x.py` reads -x as an option
    "-x.py": "print('x')\n",
}
TRAIN = "runs/lr=0.1/train.py"


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # a variable's value runs to the end of the word, `=` and all (bash: `S=a=b; echo $S` prints a=b)
        (["S=runs/lr=0.1/train.py; python $S"], {TRAIN}),
        (["export S=runs/lr=0.1/train.py", "python $S"], {TRAIN}),
        (["export S=solve.py && python $S"], {"solve.py"}),
        # a reserved word before a command is one word: the command's name and options follow it
        (["if python -u solve.py; then echo ok; fi"], {"solve.py"}),
        (["until python -u solve.py; do sleep 1; done"], {"solve.py"}),
        (["{ python -m sub.job; }"], {"sub/job.py"}),
        # `function NAME { ...; }` and a call of it: the body runs
        (["function train { python solve.py; }; train"], {"solve.py"}),
        # a function whose body is a `for` loop: its variable `run` is no command, whatever file has that name
        (["function loop for run in 1 2; do echo $run; done; loop"], None),
    ],
)
def test_assignments_reserved_words_and_functions(commands: list[str], expected: set[str] | None) -> None:
    assert executed_files(commands, WORKSPACE) == expected


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # env -C DIR / --chdir DIR: the command runs in DIR
        (["env --chdir sub python job.py"], {"sub/job.py"}),
        (["env -C sub python -m job"], {"sub/job.py"}),
        # env -C without a command stops ("env: must specify command with --chdir"): the folder is not run
        (["env -C solve.py"], None),
        # env -S / --split-string: the string is split into words, the rest of the arguments follow them
        (["env --split-string 'python solve.py'"], {"solve.py"}),
        (["env -S 'python -u' solve.py"], {"solve.py"}),
        # a wrapper's option and its value, then the whole command (python -m, not a module named `-m`)
        (["nice -n 10 python -m sub.job"], {"sub/job.py"}),
        # xargs without a pipe (its input a file): the command and its own script
        (["xargs python solve.py < list.txt"], {"solve.py"}),
        # echo / printf piped into xargs: the words become the command's arguments
        (["printf 'a.py' | xargs python"], {"a.py"}),
        (["F=a.py; echo $F | xargs python"], {"a.py"}),
        # ...only for xargs: `time python` reads the text `solve.py` as Python code (a NameError), no file
        (["echo solve.py | time python"], None),
        # a tool's subcommand alone runs nothing: `uv` is the tool found on PATH, not the workspace's ./uv
        (["uv run"], None),
    ],
)
def test_wrappers_and_their_options(commands: list[str], expected: set[str] | None) -> None:
    assert executed_files(commands, WORKSPACE) == expected


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # stdin from a file; the output file is written, not run
        (["bash < run.sh > gen.sh"], {"run.sh", "b.py"}),
        # a here-string and a tab-stripping here-document are the commands a shell reads
        (["bash <<< 'python solve.py'"], {"solve.py"}),
        (["bash <<- EOF\n\tpython solve.py\n\tEOF"], {"solve.py"}),
        # cat's options are not files: `cat -x.py` fails ("invalid option -- 'x'"), python reads nothing
        (["cat -x.py | python"], None),
    ],
)
def test_what_a_runner_reads_from_stdin(commands: list[str], expected: set[str] | None) -> None:
    assert executed_files(commands, WORKSPACE) == expected


@pytest.mark.parametrize("command", ["bash << EOF", "bash << EOF\nEOF"])
def test_an_empty_here_document_gives_the_shell_no_command(command: str) -> None:
    """A here-document with no body (none read before the command ends, or an empty one: bash warns and
    reads nothing) is no command, not even one named like a workspace script."""
    workspace = {"XXXX": "#!/bin/sh\necho x\n", "solve.py": "print('solve')\n"}
    assert executed_files([command], workspace) is None


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # `mkdir -p` alone makes nothing ("missing operand"): `cp` then writes the file `-p`, not into a folder
        (["mkdir -p", "cp solve.py ./-p", "python ./-p"], {"solve.py"}),
        # mv and install leave a copy of the file where they put it
        (["mv solve.py /tmp/s.py", "python /tmp/s.py"], {"solve.py"}),
        (["install -D solve.py /tmp/app/solve.py", "python /tmp/app/solve.py"], {"solve.py"}),
    ],
)
def test_mkdir_mv_and_install(commands: list[str], expected: set[str]) -> None:
    assert executed_files(commands, WORKSPACE) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # eval runs its arguments as a command
        ("eval python solve.py", {"solve.py"}),
        # the text of `$(cat x)` is the code eval or a runner runs: every file catted, in any word
        ('eval "$(cat run.sh)"', {"run.sh", "b.py"}),
        ('eval "$(cat setup.sh); $(cat run.sh)"', {"setup.sh", "a.py", "run.sh", "b.py"}),
        ('bash -c "$(cat run.sh)"', {"run.sh", "b.py"}),
        ('python3.11 -c "$(cat solve.py)"', {"solve.py"}),
        ('python -c "$(< solve.py)"', {"solve.py"}),  # $(< file) is bash's $(cat file)
        # a command that is no runner only prints the text
        ('echo "$(cat solve.py)"', None),
        # a substitution that is not a cat is an argument of the script: data
        ('python solve.py --ref "$(echo b.py)"', {"solve.py"}),
        # py.test is pytest's other name: the test files of the folder
        ("py.test", {"tests/test_model.py"}),
    ],
)
def test_eval_catted_code_and_py_test(command: str, expected: set[str] | None) -> None:
    assert executed_files([command], WORKSPACE) == expected


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # a command of a pipeline (`|` or `|&`) or a background job runs in a subshell: its cd does not stay
        # (bash: `cd sub |& true; pwd` and `cd sub & wait; pwd` print the first folder)
        (["cd sub |& true; python solve.py"], {"solve.py"}),
        (["cd sub & python solve.py"], {"solve.py"}),
        (["cd sub | true; python solve.py"], {"solve.py"}),
        # `|&` pipes stdout (and stderr) as `|` does
        (["cat solve.py |& python"], {"solve.py"}),
    ],
)
def test_pipelines_and_background_jobs_run_in_a_subshell(
    commands: list[str], expected: set[str] | None
) -> None:
    assert executed_files(commands, WORKSPACE) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("cat b.py | python", {"b.py"}),
        # the command's own `<`, here-string or here-document replaces the pipe as its stdin
        # (bash: `cat b.py | python < a.py` prints a, `cat b.py | python <<< "import a"` prints a)
        ("cat b.py | python < a.py", {"a.py"}),
        ("cat b.py | python <<< 'import a'", {"a.py"}),
        ("cat b.py | bash << EOF\npython a.py\nEOF", {"a.py"}),
    ],
)
def test_a_stdin_redirection_of_its_own_replaces_the_pipe(command: str, expected: set[str]) -> None:
    assert executed_files([command], WORKSPACE) == expected
