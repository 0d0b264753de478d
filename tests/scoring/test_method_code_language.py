"""How a code file without an extension is known by its ``#!`` line (Python or shell), and what of a file's
first line is code.

Every script below was run as ``./NAME`` by bash 5.2 (and the kernel's ``#!`` handling) with python 3.11 in a
scratch folder holding the same files: what they ran is what the module must find.
"""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import code_lines, executed_files

WORKSPACE = {
    "layers.py": "print('layers ran')\n",
    # Python by its `#!` line: the interpreter through env, by its path with an option, after a space
    "train": "#!/usr/bin/env python3\nimport layers\n",
    "fit": "#!/usr/bin/python3 -u\nimport layers\n",
    "spaced": "#! /usr/bin/python3\nimport layers\n",
    # one line without a newline: python runs nothing
    "bare": "#!/usr/bin/env python3",
    # shell by its `#!` line, with a space after `#!` too; only the first line says which
    "go": "#! /bin/sh\npython3 layers.py\n",
    "later": "#!/bin/sh\n# needs python3\npython3 layers.py\n",
}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # the kernel runs `python3` (env finds it), which imports layers: bash prints "layers ran"
        ("./train", {"train", "layers.py"}),
        ("./fit", {"fit", "layers.py"}),
        # whitespace after `#!` is allowed: the kernel still runs /usr/bin/python3
        ("./spaced", {"spaced", "layers.py"}),
        ("./bare", {"bare"}),
        # /bin/sh runs the script, whose `python3 layers.py` runs layers.py
        ("./go", {"go", "layers.py"}),
        # `python3` on the second line (a comment) does not make it Python: sh runs it and layers.py
        ("./later", {"later", "layers.py"}),
    ],
)
def test_a_script_without_extension_is_read_in_the_language_of_its_first_line(
    command: str, expected: set[str]
) -> None:
    assert executed_files([command], WORKSPACE) == frozenset(expected)


def test_a_python_script_known_by_its_first_line_loses_its_docstring() -> None:
    text = '#!/usr/bin/env python3\n"""Fit the model."""\nx = 1\n'
    assert code_lines("train", text) == ["x = 1"]


def test_a_shell_script_known_by_its_first_line_keeps_its_commands_only() -> None:
    assert code_lines("go", "#! /bin/sh\n# fit\npython3 layers.py\n") == ["python3 layers.py"]


def test_a_rust_inner_attribute_is_code() -> None:
    # `#![...]` is an inner attribute in Rust, not a `#!` interpreter line: it changes what compiles
    text = "#![allow(dead_code)]\nfn main() {}\n"
    assert code_lines("src/main.rs", text) == ["#![allow(dead_code)]", "fn main() {}"]
