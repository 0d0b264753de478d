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
    assert executed_files(["python -m app.main"], ws) == {"app/main.py", "app/model.py", "app/__init__.py"}


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
