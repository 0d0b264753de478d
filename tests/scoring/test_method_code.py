"""What counts as method: code files, without comments and docstrings, restricted to what the trace ran."""

from __future__ import annotations

import json

import pytest

from gym_core.scoring.consistency import diff_similarity, method_consistency
from gym_core.scoring.method_code import code_lines, executed_files, is_code

METHOD_A = "import statistics\nvalues = [9.5, 10.5]\nprint(statistics.mean(values))\n"
METHOD_B = "def bisect(lo, hi):\n    while hi - lo > 1e-9:\n        lo = (lo + hi) / 2\n    return hi\n"
FILLER = " ".join(f"w{i} {i * 7919 % 10007}" for i in range(2_000))


@pytest.mark.parametrize(
    ("path", "text", "code"),
    [
        ("train.py", "", True),
        ("fit.R", "", True),
        ("src/model.rs", "", True),
        ("run", "#!/bin/bash\necho hi\n", True),
        ("notes.txt", "import os\n", False),
        ("README.md", "```python\nx = 1\n```\n", False),
        ("data.csv", "a,b\n1,2\n", False),
        ("config.yaml", "lr: 0.1\n", False),
        ("train.log", "epoch 1\n", False),
    ],
)
def test_code_files_by_extension_or_shebang(path: str, text: str, code: bool) -> None:
    assert is_code(path, text) is code


def test_python_comments_docstrings_and_bare_strings_are_not_code() -> None:
    text = (
        '"""Module docstring."""\n# a comment\n\ndef f(x):\n    """Docstring."""\n'
        "    'parked text'\n    return x + 1  # trailing\n"
    )
    assert code_lines("m.py", text) == ["def f ( x ) :", "return x + 1"]


def test_a_string_used_by_code_stays() -> None:
    assert code_lines("m.py", 'x = "kept"\nprint(f"{x}")\n')[0] == 'x = "kept"'


def test_python_that_does_not_tokenize_falls_back_to_hash_comments() -> None:
    assert code_lines("m.py", "def f(:\n  x = (  # open\n") == ["def f(:", "  x = ("]


def test_shell_and_r_comments_start_a_word() -> None:
    assert code_lines("run.sh", "#!/bin/bash\n# note\necho $# # count\n") == ["echo $#"]
    assert code_lines("fit.R", "# header\nfit <- lm(y ~ x)  # linear\n") == ["fit <- lm(y ~ x)"]


def test_c_like_block_and_line_comments_go() -> None:
    text = "/* licence\n text */\nint main() { // entry\n  return 0;\n}\n"
    assert code_lines("main.c", text) == ["int main() {", "  return 0;", "}"]


def test_notebook_code_cells_only() -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Filler ", FILLER]},
            {"cell_type": "code", "source": ["x = 1  # one\n", "print(x)\n"]},
            {"cell_type": "code", "source": "!pip list\n"},
        ]
    }
    assert code_lines("a.ipynb", json.dumps(nb)) == ["x = 1", "print ( x )", "pip list"]


WORKSPACE = {
    "train.py": "from model import Net\nimport utils.io\nNet().fit()\n",
    "model.py": "from .layers import dense\nclass Net: ...\n",
    "layers.py": "def dense(): ...\n",
    "utils/__init__.py": "",
    "utils/io.py": "def load(): ...\n",
    "unused.py": "x = 1\n",
    "run.sh": "#!/bin/bash\ncd sub && python job.py\n",
    "sub/job.py": "print(1)\n",
    "fit.R": 'source("helpers.R")\n',
    "helpers.R": "h <- 1\n",
    "notes.txt": "python unused.py\n",
    "pkg/__main__.py": "print(2)\n",
    "pkg/__init__.py": "",
}


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (
            ["python train.py --epochs 3"],
            {"train.py", "model.py", "layers.py", "utils/__init__.py", "utils/io.py"},
        ),
        (["cd /workspace && timeout 60 python3 -u /workspace/train.py"], None),
        (["bash run.sh"], {"run.sh", "sub/job.py"}),
        (["./run.sh > log.txt 2>&1"], {"run.sh", "sub/job.py"}),
        (["Rscript fit.R"], {"fit.R", "helpers.R"}),
        (["env A=1 python -m pkg"], {"pkg/__init__.py", "pkg/__main__.py"}),
        (["cat unused.py; ls; head notes.txt"], set()),
        (["echo hi", "pip list"], set()),
    ],
)
def test_executed_files_follow_the_commands_and_their_imports(
    commands: list[str], expected: set[str] | None
) -> None:
    found = executed_files(commands, WORKSPACE)
    if expected is None:  # the same as the first case, spelled differently
        expected = {"train.py", "model.py", "layers.py", "utils/__init__.py", "utils/io.py"}
    assert (found or set()) == expected
    if not expected:
        assert found is None  # the trace names nothing: every changed code file counts


def test_relative_imports_resolve_within_the_package() -> None:
    ws = {"app/main.py": "from .model import Net\n", "app/model.py": "", "app/__init__.py": ""}
    assert executed_files(["python -m app.main"], ws) == frozenset(
        {"app/main.py", "app/model.py", "app/__init__.py"}
    )


# --- what method consistency then counts -------------------------------------------------------------


def test_filler_in_a_notes_file_does_not_lift_similarity() -> None:
    a = {"solve.py": ("", METHOD_A), "notes.txt": ("", FILLER)}
    b = {"solve.py": ("", METHOD_B), "notes.txt": ("", FILLER)}
    assert diff_similarity(a, b) == 0.0


def test_filler_in_an_unexecuted_python_file_does_not_lift_consistency() -> None:
    filler_py = "\n".join(f"v{i} = {i * 7919 % 10007}" for i in range(2_000))
    a = {"solve.py": ("", METHOD_A), "pad.py": ("", filler_py)}
    b = {"solve.py": ("", METHOD_B), "pad.py": ("", filler_py)}
    assert method_consistency([a, b]) > 0.9  # unknown what ran: every code file counts
    ran = [frozenset({"solve.py"}), frozenset({"solve.py"})]
    assert method_consistency([a, b], executed=ran) == 0.0


def test_filler_as_comments_and_docstrings_of_the_executed_file_does_not_count() -> None:
    padding = f'"""{FILLER}"""\n' + "".join(f"# {FILLER[i : i + 80]}\n" for i in range(0, 8000, 80))
    a = {"solve.py": ("", padding + METHOD_A)}
    b = {"solve.py": ("", padding + METHOD_B)}
    assert method_consistency([a, b], executed=[frozenset({"solve.py"})] * 2) == 0.0


def test_the_same_method_with_different_filler_stays_consistent() -> None:
    a = {"solve.py": ("", "# first try\n" + METHOD_A), "notes.txt": ("", FILLER)}
    b = {"solve.py": ("", '"""Another docstring."""\n' + METHOD_A), "log.txt": ("", "other filler " * 500)}
    assert method_consistency([a, b]) == 1.0


def test_attempts_that_changed_no_code_are_not_compared() -> None:
    only_notes = {"notes.txt": ("", FILLER)}
    assert method_consistency([only_notes, only_notes]) != method_consistency([only_notes, only_notes])  # NaN
    code = {"solve.py": ("", METHOD_A)}
    assert method_consistency([only_notes, code, code]) == 1.0


def test_executed_must_match_the_diffs() -> None:
    with pytest.raises(ValueError, match="1 entries for 2 diffs"):
        method_consistency([{}, {}], executed=[None])


# --- notebooks -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", []),
        ("[1, 2]", []),  # JSON, but not a notebook
        ('{"nbformat": 4}', []),
        ('{"cells": null}', []),
        ('{"cells": ["x = 1", 3]}', []),  # cells that are not objects
        ('{"cells": [{"cell_type": "code"}]}', []),  # a code cell without source
        ('{"cells": [{"cell_type": "markdown", "source": "Plain prose here"}]}', []),
        ('{"cells": [{"cell_type": "code", "source": 7}]}', ["7"]),  # a source that is not text
        ('{"cells": [{"cell_type": "code", "source": ["y = ", "2"]}]}', ["y = 2"]),
    ],
)
def test_notebook_prose_and_malformed_notebooks_are_not_code(text: str, code: list[str]) -> None:
    """Only code cells count, and a notebook that is not one (or a broken one) has no code, without error."""
    assert code_lines("a.ipynb", text) == code


# --- which files ran -----------------------------------------------------------------------------------

TRAIN = {"train.py", "model.py", "layers.py", "utils/__init__.py", "utils/io.py"}

RUN_WORKSPACE = {
    **WORKSPACE,
    ".py": "hidden = 1\n",  # a hidden file: no module name denotes it
    "runit": "#!/bin/sh\npython layers.py\n",  # a script without extension, run by its own name
    "go.bash": "python layers.py\n",
    "go.zsh": "python sub/job.py\n",
    "two.sh": "python layers.py\npython sub/job.py\n",
    "usepkg.py": "import pkg\n",
    "nb.ipynb": json.dumps({"cells": [{"cell_type": "code", "source": "import layers\n"}]}),
    "sub/pkg2/__init__.py": "",
    "sub/pkg2/__main__.py": "print(3)\n",
    "data.csv": "a,b\n",
    "fit=v2.R": "x <- 2\n",
}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # cd: to an absolute workspace folder, back up, and within a subshell
        ("cd /workspace/sub && python job.py", {"sub/job.py"}),
        ("cd sub && cd .. && python train.py", TRAIN),
        ("(cd sub && python job.py)", {"sub/job.py"}),
        ("cd sub && python -m pkg2", {"sub/pkg2/__init__.py", "sub/pkg2/__main__.py"}),
        ("cd sub && python -c 'import job'", {"sub/job.py"}),
        # scripts that run scripts: .bash, .zsh, every line of a .sh, a #! file without extension
        ("bash go.bash", {"go.bash", "layers.py"}),
        ("zsh go.zsh", {"go.zsh", "sub/job.py"}),
        ("sh two.sh", {"two.sh", "layers.py", "sub/job.py"}),
        ("./runit", {"runit", "layers.py"}),
        ("papermill nb.ipynb out.ipynb", {"nb.ipynb", "layers.py"}),
        # importing a package runs its __init__, not its __main__
        ("python usepkg.py", {"usepkg.py", "pkg/__init__.py"}),
        # every command of a line counts, whatever the ones before it did
        ("python -m pkg && python layers.py", {"pkg/__init__.py", "pkg/__main__.py", "layers.py"}),
        ("./run.sh && python layers.py", {"run.sh", "sub/job.py", "layers.py"}),
        ("pip install numpy && python layers.py", {"layers.py"}),
        ("python layers.py; python -c 'import model'", {"layers.py", "model.py"}),
        ("python layers.py; bash -c 'python sub/job.py'", {"layers.py", "sub/job.py"}),
        # inline code and modules, by every interpreter that has them
        ("pypy3 -c 'import model'", {"model.py", "layers.py"}),
        ("ipython -c 'import model'", {"model.py", "layers.py"}),
        ("python3.11 -c 'import model'", {"model.py", "layers.py"}),
        ("sh -c 'python layers.py'", {"layers.py"}),
        ("zsh -c 'python layers.py'", {"layers.py"}),
        ("dash -c 'python layers.py'", {"layers.py"}),
        ("python -m pkg --epochs 3", {"pkg/__init__.py", "pkg/__main__.py"}),
        ("python -u -m pkg", {"pkg/__init__.py", "pkg/__main__.py"}),
        ("nice python -m pkg", {"pkg/__init__.py", "pkg/__main__.py"}),
        ("python -m", None),
        ("python -c", None),
        ("python -c train.py", None),  # python runs the code `train.py`, not the file
        # the script a runner runs: after options and their values, or --file=
        ("python -W ignore layers.py", {"layers.py"}),
        ("python -W ignore -X dev layers.py", {"layers.py"}),
        ("Rscript --file=fit.R", {"fit.R", "helpers.R"}),
        ("Rscript --file=fit=v2.R", {"fit=v2.R"}),
        # what shell syntax hides: a comment, an unclosed quote, a number that is the command
        ("python layers.py  # then: python -m pkg", {"layers.py"}),
        ("python layers.py 'oops", {"layers.py"}),
        ("10 python layers.py", None),
        # a data file handed to a runner is not code that ran
        ("python data.csv", None),
    ],
)
def test_executed_files_read_shell_commands_as_the_shell_runs_them(
    command: str, expected: set[str] | None
) -> None:
    assert executed_files([command], RUN_WORKSPACE) == expected


def test_imports_resolve_relative_to_the_package_and_from_the_workspace_root() -> None:
    """`from ..x`, `from . import y`, `from .pkg import mod` climb the package; absolute imports in a
    subfolder also find modules at the workspace root (run from there)."""
    ws = {
        "app/__init__.py": "",
        "app/core.py": "",
        "app/sub/__init__.py": "",
        "app/sub/deep.py": (
            "from ..core import run\nfrom . import helpers\nfrom .inner import tool\n"
            "import lib.tools\nfrom lib2 import helpers2\n"
        ),
        "app/sub/helpers.py": "",
        "app/sub/inner/__init__.py": "",
        "app/sub/inner/tool.py": "",
        "lib/__init__.py": "",
        "lib/tools.py": "",
        "lib2/__init__.py": "",
        "lib2/helpers2.py": "",
        "unrelated.py": "",
    }
    assert executed_files(["python -m app.sub.deep"], ws) == frozenset(ws) - {"unrelated.py"}


LAUNCH_WORKSPACE = {
    **RUN_WORKSPACE,
    "main.go": "package main\n",
    "main.c": "int main() { return 0; }\n",
    "..x.py": "",
}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # options after the script are the script's own (`-c config.yaml`), not the interpreter's
        ("python train.py -c config.yaml", TRAIN),
        ("python train.py -m resnet", TRAIN),
        ("bash -e -u run.sh", {"run.sh", "sub/job.py"}),  # bash -e is errexit, not inline code
        ("gcc -c main.c -o main.o", {"main.c"}),  # gcc -c compiles main.c
        # -e CODE: the interpreter evaluates the text `layers.py`, it does not run the file
        *(
            (f"{runner} -e layers.py", None)
            for runner in ("Rscript", "R", "julia", "node", "bun", "perl", "ruby", "lua")
        ),
        ("Rscript -e 'x <- 1'", None),
        # launchers: a subcommand, then the command or script, after their options and option values
        ("uv run train.py", TRAIN),
        ("~/.local/bin/uv run python train.py", TRAIN),
        ("poetry run python -m pkg", {"pkg/__init__.py", "pkg/__main__.py"}),
        ("go run main.go", {"main.go"}),
        ("accelerate launch --num_processes 2 train.py", TRAIN),
        ("jupyter execute nb.ipynb", {"nb.ipynb", "layers.py"}),
        ("torchrun --nproc_per_node 2 train.py", TRAIN),
        ("torchrun --nproc_per_node=2 -m pkg", {"pkg/__init__.py", "pkg/__main__.py"}),
        ("srun -n 4 python train.py", TRAIN),
        ("uv pip install numpy", None),
        ("python --version && python layers.py", {"layers.py"}),  # a runner given no script
        # HOME is /tmp, outside the workspace: `cd`, `cd ~` and `~/` leave it
        ("cd && python train.py", None),
        ("cd ~ && python train.py", None),
        ("python ~/train.py", None),
        ("cd /tmp && python train.py", None),
        ("cd .. && python train.py", None),
        ("cd /tmp && python -m pkg", None),
        ("cd && cd ../workspace/sub && python job.py", {"sub/job.py"}),
        ("cd ~/../workspace/sub && python job.py", {"sub/job.py"}),
        ("cd /workspace && python train.py", TRAIN),
        ("cd sub && cd /workspace && python -m pkg", {"pkg/__init__.py", "pkg/__main__.py"}),
        ("cd sub && cd .. && python -m pkg", {"pkg/__init__.py", "pkg/__main__.py"}),
        ("cd sub && python ../layers.py", {"layers.py"}),
        ("python /workspace/sub/../layers.py", {"layers.py"}),
        ("python ..x.py", {"..x.py"}),  # a file whose name starts with two dots is still in the workspace
    ],
)
def test_executed_files_know_script_arguments_launchers_and_home(
    command: str, expected: set[str] | None
) -> None:
    assert executed_files([command], LAUNCH_WORKSPACE) == expected


# --- hostile command forms: the real method run by a form once missed, beside an identical decoy --------

HOSTILE_WORKSPACE = {
    "decoy.py": "print(10)\n",
    "real.py": "print(sum([9.5, 10.5]) / 2)\n",
    "real/decoy.py": "print(10)\n",
    "loader.py": "import sys\nexec(open(sys.argv[1]).read())\n",
    "driver.py": "import subprocess\nsubprocess.run(['python', 'real.py'], check=True)\n",
    "byname.py": "import importlib\nimportlib.import_module('real')\n",
    "fwd.sh": 'python "$1"\n',
    "tests/test_real.py": "import real\n",
    "Makefile": "PY = python\nall:\n\t@$(PY) real.py\n",
}


@pytest.mark.parametrize(
    "command",
    [
        # quoting and grouping bash reads, and the old splitter did not
        "bash -lc 'python real.py'",
        "sh -c 'echo start; python real.py'",
        "bash -euxo pipefail -c 'python real.py'",
        "{ python real.py; }",
        "if python real.py; then echo ok; fi",
        "for i in 1; do python real.py; done",
        "! python real.py",
        "f() { python real.py; }; f",
        # redirections and stdin
        "python real.py>answer.txt",
        ">answer.txt python real.py",
        "python - < real.py",
        "python<real.py",
        "cat real.py | python",
        "python /dev/stdin < real.py",
        "python - <<'EOF'\nimport real\nEOF",
        # substitutions, grouped options, wrappers, expansions
        'X="$(python real.py)"; echo $X',
        "echo `python real.py`",
        'python -c "$(cat real.py)"',
        "python -c \"exec(open('real.py').read())\"",
        "python -uc 'import real'",
        "python -mreal",
        "/usr/bin/env python real.py",
        "env -u HOME python real.py",
        "timeout -s KILL 10 python real.py",
        "env -S 'python real.py'",
        "echo real.py | xargs python",
        "p=python; $p real.py",
        "F=real.py; python $F",
        "python r*l.py",
        "python {real,decoy}.py",
        "python $'\\x72eal.py'",
        "python //workspace/real.py",
        "python -m cProfile -o out.prof real.py",
        "python -m torch.distributed.run --nproc_per_node 1 real.py",
        # code handed on: an argument executed, a subprocess, a dynamic import, a shell script's $1
        "python loader.py real.py",
        "python driver.py",
        "python byname.py",
        "bash fwd.sh real.py",
        # copies and links outside the workspace, make, pytest
        "cp real.py /tmp/r.py && python /tmp/r.py",
        "cat real.py > /tmp/r.py; python /tmp/r.py",
        "ln -s /workspace /tmp/w && python /tmp/w/real.py",
        "make",
        "pytest tests",
        # a `cd` that failed leaves the shell where it was
        "cd /nowhere 2>/dev/null; python real.py",
    ],
)
def test_the_real_method_run_by_any_shell_form_counts_beside_a_decoy(command: str) -> None:
    """The decoy (identical in every attempt) runs plainly; the method runs through ``command``: the method
    must count, or the decoy alone makes every attempt look the same."""
    found = executed_files(["python decoy.py > /dev/null", command], HOSTILE_WORKSPACE)
    assert found is not None and "real.py" in found, found


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # the session keeps its folder from one command to the next (shell_session.py)
        (["cd real", "python decoy.py"], {"real/decoy.py"}),
        (["pushd real && python decoy.py"], {"real/decoy.py"}),
        (["cd real; cd -; python decoy.py"], {"decoy.py"}),
        # a subshell's or a pipeline's `cd` stays there
        (["(cd real); python decoy.py"], {"decoy.py"}),
        (["cd real | true; python decoy.py"], {"decoy.py"}),
        (["bash -c 'cd real'", "python decoy.py"], {"decoy.py"}),
        (["env -C real python decoy.py", "python decoy.py"], {"real/decoy.py", "decoy.py"}),
        # a here-document that only writes a file runs nothing
        (["cat > run2.sh <<'EOF'\npython decoy.py\nEOF"], None),
        # an argument is still data when the script does not run it
        (["python real.py loader.py"], {"real.py"}),
    ],
)
def test_the_session_folder_subshells_and_here_documents(
    commands: list[str], expected: set[str] | None
) -> None:
    assert executed_files(commands, HOSTILE_WORKSPACE) == expected


DEEP = ["-" * 20_000 + "1", "(" * 20_000, "a" + ".b" * 20_000, "1+" * 20_000 + "1"]


@pytest.mark.parametrize("code", DEEP)
def test_python_too_deep_for_the_parser_does_not_crash(code: str) -> None:
    """A run file (or inline code) that overflows Python's parser has no imports to follow: no crash, which
    would erase the report."""
    assert executed_files(["python a.py"], {"a.py": code}) == {"a.py"}
    assert executed_files([f"python -c '{code}'"], {"a.py": code}) is None


@pytest.mark.parametrize(
    "command",
    [
        "'",
        '"',
        "\\",
        "$(",
        "`",
        "$((",
        "<<",
        "<<EOF",
        "cd ''",
        "\x00python\x00 a.py",
        "$'\\",
        "${",
        "((((",
        "))))",
        "|||",
        "&&&;;;",
        "ln -s",
        "cp a",
        "pushd",
        "popd",
        "cd -",
        "env -S",
        "env -C",
        "make -f",
        "pytest -k",
        "python -m",
        "echo $'\\N{bad}'",
        "python [",
        "cd " + "a/" * 5_000,
        "cd a;" * 3_000,
        "$(" * 3_000 + "python a.py" + ")" * 3_000,
        "bash -c '" * 2_000,
        "python " + "x" * 1_000_000,
        "`" * 10_001,
        '"$("' * 5_000,
        "cat <<E\n" * 3_000,
    ],
)
def test_odd_commands_do_not_crash_the_parser(command: str) -> None:
    executed_files([command], {"a.py": "import b\n", "b.py": "", "Makefile": "all:\n\tmake\n"})
