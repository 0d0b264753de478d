"""Which files ``make``, ``pytest``, interpreter options and Python strings run (method_code runners)."""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import executed_files

# --- make ------------------------------------------------------------------------------------------------

MAKE_WORKSPACE = {
    "Makefile": "all:\n\tpython real.py\n",
    "build.mk": "all:\n\tpython other.py\n",
    "real.py": "",
    "other.py": "",
    "sub/Makefile": "all:\n\tpython job.py\n",
    "sub/job.py": "",
    "d/Makefile": "all:\n\tpython run.py\n",
    "d/run.py": "",
}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("make", {"real.py"}),
        # -C DIR, -CDIR, --directory DIR: the makefile of that folder, its recipes run there
        ("make -C sub", {"sub/job.py"}),
        ("make -C sub all", {"sub/job.py"}),
        ("make --directory sub", {"sub/job.py"}),
        ("make -Csub", {"sub/job.py"}),
        ("make -Cd", {"d/run.py"}),
        # -f FILE, --file FILE, --makefile FILE: that makefile instead of Makefile
        ("make -f build.mk", {"other.py"}),
        ("make --file build.mk", {"other.py"}),
        ("make --makefile build.mk", {"other.py"}),
        # goals are not folders: however many, the makefile of the current folder is read
        ("make clean build test", {"real.py"}),
        # a `cd` that may have failed: the makefile of each folder the shell may be in
        ("cd nowhere; cd sub; make", {"sub/job.py", "real.py"}),
        # an option without its value: make stops with an error, nothing runs
        ("make -C", None),
        ("make --directory", None),
        ("make -f", None),
        ("make all --file", None),
        ("make --makefile", None),
    ],
)
def test_make_reads_the_makefile_its_options_name(command: str, expected: set[str] | None) -> None:
    assert executed_files([command], MAKE_WORKSPACE) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(
    ("makefile", "expected"),
    [
        # a make variable, lower case too, expands in the recipe
        ("py = python\nall:\n\t$(py) real.py\n", {"real.py"}),
        # every recipe line is a command of its own
        ("all:\n\tpython real.py\n\tpython other.py\n", {"real.py", "other.py"}),
        # `$$X` is the shell's variable X, set by the recipe line itself
        ("all:\n\tX=real.py; python $$X\n", {"real.py"}),
        # make strips only blanks (space, tab) and @-+ before a recipe: a no-break space stays, and the
        # shell has no command `\xa0@python`
        ("all:\n\t\xa0@python real.py\n\tpython other.py\n", {"other.py"}),
    ],
)
def test_make_recipes_are_read_as_make_hands_them_to_the_shell(makefile: str, expected: set[str]) -> None:
    assert executed_files(["make"], {"Makefile": makefile, "real.py": "", "other.py": ""}) == frozenset(
        expected
    )


class _CountingWorkspace(dict[str, str]):
    """A workspace that counts how often each file's text is read."""

    def __init__(self, files: dict[str, str]) -> None:
        super().__init__(files)
        self.reads: dict[str, int] = {}

    def __getitem__(self, key: str) -> str:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().__getitem__(key)


def test_a_makefile_is_read_once_even_when_its_recipe_runs_make_again() -> None:
    workspace = _CountingWorkspace({"Makefile": "all:\n\tpython real.py\n\tmake all\n", "real.py": ""})
    assert executed_files(["make", "make"], workspace) == frozenset({"real.py"})
    assert workspace.reads["Makefile"] == 1


# --- pytest ----------------------------------------------------------------------------------------------

PYTEST_WORKSPACE = {
    "conftest.py": "",
    "test_top.py": "",
    "lib.py": "",
    "tests/conftest.py": "",
    "tests/test_a.py": "",
    "tests/data.txt": "",
    "tests/unit/b_test.py": "",
    "tests/unit/helper.py": "",
    "tests/unit/conftest.py": "",
    "other/deep/d_test.py": "",  # no conftest.py in other/ nor other/deep/
}
ALL_TESTS = {
    "conftest.py",
    "test_top.py",
    "tests/conftest.py",
    "tests/test_a.py",
    "tests/unit/b_test.py",
    "tests/unit/conftest.py",
    "other/deep/d_test.py",
}
UNIT = {"tests/unit/b_test.py", "tests/unit/conftest.py", "tests/conftest.py", "conftest.py"}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # no folder given: every test file (test_*.py, *_test.py) and conftest.py of the current folder down
        ("pytest", ALL_TESTS),
        ("pytest -q", ALL_TESTS),
        ("cd tests && pytest", ALL_TESTS - {"test_top.py", "other/deep/d_test.py"}),
        # a folder: its test files and conftest.py files, and the conftest.py files of the folders above
        ("pytest tests/unit", UNIT),
        ("pytest tests", ALL_TESTS - {"test_top.py", "other/deep/d_test.py"}),
        ("pytest other/deep", {"other/deep/d_test.py", "conftest.py"}),
        # an option's value is not a folder to test; a folder outside the workspace holds nothing
        ("pytest --rootdir . tests/unit", UNIT),
        ("pytest -k slow tests/unit", UNIT),
        ("pytest /tmp/elsewhere tests/unit", UNIT),
    ],
)
def test_pytest_runs_the_test_files_of_its_folders_with_their_conftests(
    command: str, expected: set[str]
) -> None:
    assert executed_files([command], PYTEST_WORKSPACE) == frozenset(expected)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # a test file, or one test of it (a node id): the file and the conftest.py of its folder and of
        # every folder above it (pytest loads them all before the file)
        ("pytest tests/unit/b_test.py", UNIT),
        ("pytest tests/test_a.py::TestA::test_one", {"tests/test_a.py", "tests/conftest.py", "conftest.py"}),
        ("pytest test_top.py::test_one", {"test_top.py", "conftest.py"}),
        ("pytest other/deep/d_test.py", {"other/deep/d_test.py", "conftest.py"}),
        ("cd tests && pytest unit/b_test.py", UNIT),
        # a data file given to pytest is not code that ran
        ("pytest tests/data.txt", {"tests/conftest.py", "conftest.py"}),
    ],
)
def test_pytest_given_a_file_loads_the_conftests_of_its_folder_and_above(
    command: str, expected: set[str]
) -> None:
    assert executed_files([command], PYTEST_WORKSPACE) == frozenset(expected)


# --- interpreter options that take a value ---------------------------------------------------------------

OPTIONS_WORKSPACE = {"real.py": "", "run.sh": "python real.py\n"}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python -O real.py", {"real.py"}),  # python -O optimizes: no value follows
        # a shell's -o/+o/-O/+O take an option name: the script comes after it
        ("bash -o pipefail run.sh", {"run.sh", "real.py"}),
        ("bash +o histexpand run.sh", {"run.sh", "real.py"}),
        ("bash -O extglob run.sh", {"run.sh", "real.py"}),
        ("bash +O extglob run.sh", {"run.sh", "real.py"}),
    ],
)
def test_option_values_are_not_the_script(command: str, expected: set[str]) -> None:
    assert executed_files([command], OPTIONS_WORKSPACE) == frozenset(expected)


INLINE_WORKSPACE = {
    "real.py": "print('real')\n",
    "fwd.sh": 'python "$1"\n',
    "pkg/__init__.py": "",
    "pkg/__main__.py": "print('main')\n",
}
PKG = {"pkg/__init__.py", "pkg/__main__.py"}


# Each expected result was checked with the real programs (bash 5.2, python 3.11), real.py printing a line.
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # short options grouped with -c/-m: the value is the rest of the word or the next argument, and what
        # follows it is the code's or module's own arguments
        ("python -uc 'import real' x.py", {"real.py"}),
        ("python -um pkg --epochs 3", PKG),
        ("python -umpkg", PKG),
        # -W/-X grouped take their value from the rest of the word (`-Wignore`, `-Xdev`), or the next argument
        # when nothing follows the letter (`-uW ignore`): the script comes after it
        ("python -Wignore real.py", {"real.py"}),
        ("python -Xdev real.py", {"real.py"}),
        ("python -Werror::DeprecationWarning real.py", {"real.py"}),  # a `c` in the value is not -c
        ("python -uW ignore real.py", {"real.py"}),
        ("python -uX dev real.py", {"real.py"}),
        # a shell's grouped -c, first or last in its group, or in an earlier group than another option's
        ("bash -ce 'python real.py'", {"real.py"}),
        ("bash -lc -eu 'python real.py'", {"real.py"}),
        # a long option is not a group of letters: the `c` of --norc is not -c, fwd.sh is the script and gets
        # real.py as its $1
        ("bash --norc fwd.sh real.py", {"fwd.sh", "real.py"}),
        # a long option with its value: the script follows (python 3.11 ran real.py)
        ("python --check-hash-based-pycs always real.py", {"real.py"}),
    ],
)
def test_grouped_interpreter_options_and_their_values(command: str, expected: set[str]) -> None:
    assert executed_files([command], INLINE_WORKSPACE) == frozenset(expected)


@pytest.mark.parametrize(
    "command", ["python -uc", "python -um", "bash -ec", "python -c", "python -m", "bash -c"]
)
def test_an_inline_code_option_without_its_value_runs_nothing(command: str) -> None:
    """Python stops ("Argument expected for the -c option"), and so does bash ("-c: option requires an
    argument"), grouped or not; nothing is read past the end of the command.

    The missing value is no name at all: the workspace also holds a module and a script named by a
    placeholder word (mutation testing puts ``XXXX`` in a string it empties), and neither runs."""
    workspace = {**INLINE_WORKSPACE, "XXXX.py": "import real\n", "XXXX": "#!/bin/sh\npython real.py\n"}
    assert executed_files([command], workspace) is None


@pytest.mark.parametrize(
    "command",
    [
        # -c or -m without its value: the interpreter stops, it does not read the file on stdin as its script
        "python -c < real.py",
        "python -uc < real.py",
        "python -m < real.py",
        "python -um < real.py",
        "bash -c < fwd.sh",
        "bash -ec < fwd.sh",
        "bash -lc -e < fwd.sh",
        # empty code runs nothing: stdin is not read either
        "python -c '' < real.py",
        "python -uc '' < real.py",
        "bash -c '' < fwd.sh",
    ],
)
def test_an_inline_code_option_without_code_runs_nothing_from_stdin(command: str) -> None:
    assert executed_files([command], INLINE_WORKSPACE) is None


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # python - ARGS: the script is stdin, ARGS are its own (python 3.11 ran only real.py each time)
        ("python - fwd.py < real.py", {"real.py"}),
        ("cat real.py | python - fwd.py", {"real.py"}),
        ("python -u - fwd.py < real.py", {"real.py"}),
        # bash -s ARGS: the commands come from stdin, ARGS are the positional parameters (bash 5.2 ran fwd.sh
        # with real.py as $1, so real.py ran too)
        ("bash -s real.py < fwd.sh", {"fwd.sh", "real.py"}),
        ("cat fwd.sh | bash -s -- real.py", {"fwd.sh", "real.py"}),
        ("bash -es real.py < fwd.sh", {"fwd.sh", "real.py"}),
        ("bash -x -s < fwd.sh", {"fwd.sh"}),
        # -c wins over -s; for bash a lone - is --, so the script follows it
        ("bash -sc 'python real.py' x < fwd.sh", {"real.py"}),
        ("bash - fwd.sh real.py < x.sh", {"fwd.sh", "real.py"}),
    ],
)
def test_a_script_read_from_stdin_takes_the_arguments_as_its_own(command: str, expected: set[str]) -> None:
    workspace = {**INLINE_WORKSPACE, "fwd.py": "import pkg\n", "x.sh": "python fwd.py\n"}
    assert executed_files([command], workspace) == frozenset(expected)


# --- commands inside commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # a process substitution runs its command (checked with bash: `cat <(python3 real.py)` prints)
        ("cat <(python real.py)", {"real.py"}),
        ("diff <(python real.py) <(python -m pkg)", {"real.py", *PKG}),
        # a redirection may come first in a command, after another command too (bash runs real.py)
        ("true; >log.txt python real.py", {"real.py"}),
        ("true && 2>err.txt python real.py", {"real.py"}),
    ],
)
def test_process_substitutions_and_leading_redirections(command: str, expected: set[str]) -> None:
    assert executed_files([command], INLINE_WORKSPACE) == frozenset(expected)


def _nested(depth: int) -> str:
    """`python real.py` inside ``depth`` nested command substitutions."""
    return "$(" * depth + "python real.py" + ")" * depth


@pytest.mark.parametrize(
    "before", [[], ["echo one"], ["echo one", "eval echo two", "cd .", "echo $(echo x)"]]
)
def test_nested_commands_are_read_sixteen_deep_in_every_command_of_a_session(before: list[str]) -> None:
    """Bash runs any depth; the module reads 16 nested commands (``_MAX_DEPTH``, its guard against a
    recursion without end) and no deeper, the same budget for every command however many came before."""
    assert executed_files([*before, _nested(16)], INLINE_WORKSPACE) == {"real.py"}
    assert executed_files([*before, _nested(17)], INLINE_WORKSPACE) is None


def test_python_dash_m_dot_runs_no_module() -> None:
    """`python -m .` names no module (python refuses a relative name): not the hidden file `.py`."""
    assert executed_files(["python -m ."], {".py": "x = 1\n"}) is None


# --- what a run file runs in turn --------------------------------------------------------------------------


def test_an_r_script_runs_every_file_it_sources() -> None:
    workspace = {"fit.R": 'source("a.R")\nsource("b.R")\n', "a.R": "", "b.R": ""}
    assert executed_files(["Rscript fit.R"], workspace) == frozenset({"fit.R", "a.R", "b.R"})


#: 4095 characters, the longest path open() takes (PATH_MAX, 4096, counts the final NUL), and one longer
LONGEST = "./" * 2044 + "real.py"
TOO_LONG = "./" * 2044 + "/real.py"
assert (len(LONGEST), len(TOO_LONG)) == (4095, 4096)

PY_WORKSPACE = {
    "real.py": "",
    "layers.py": "",
    "m.py": "",
    "Net.py": "",
    "XGB": "#!/bin/sh\necho boosted\n",
    "sub/job.py": "",
    "odd\nname.py": "",
}


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        # a file named in a string, from the script's folder or the workspace root
        ("sub/d.py", 'exec(open("real.py").read())\n', {"real.py"}),
        ("a.py", 'exec(open("sub/job.py").read())\n', {"sub/job.py"}),
        ("a.py", "import layers\nprint('a.b')\n", {"layers.py"}),
        ("a.py", "exec(open('odd\\nname.py').read())\n", {"odd\nname.py"}),  # a newline in a file name
        ("a.py", f"exec(open({LONGEST!r}).read())\n", {"real.py"}),
        ("a.py", f"exec(open({TOO_LONG!r}).read())\n", set()),  # 4096 characters: too long a path
        # a bare word names no file (subprocess looks it up on PATH, not in the workspace)
        ("a.py", "import subprocess\nsubprocess.run('XGB')\n", set()),
        # a module imported by name: __import__, import_module, a one-letter or capitalized name, from
        # the workspace root too
        ("a.py", '__import__("layers")\n', {"layers.py"}),
        ("a.py", 'import importlib\nimportlib.import_module("m")\n', {"m.py"}),
        ("a.py", 'import importlib\nimportlib.import_module("Net")\n', {"Net.py"}),
        ("sub/d.py", 'import importlib\nimportlib.import_module("layers")\n', {"layers.py"}),
        # without a dynamic import, a word in a string is only text
        ("a.py", 'print("layers")\n', set()),
    ],
)
def test_python_runs_the_files_and_modules_it_names_in_strings(
    path: str, code: str, expected: set[str]
) -> None:
    workspace = {**PY_WORKSPACE, path: code}
    assert executed_files([f"python {path}"], workspace) == frozenset({path} | expected)
