"""Where a ``${...}`` ends, as bash reads it: a ``}`` escaped, quoted, in a ``$(...)`` or in a nested
``${...}`` does not close it, and what follows the closing ``}`` is read as commands again. Every expected
result was checked with bash 5.2 (``bash -c``, X and Y unset): a ``;`` or ``cd`` inside the braces is text,
so ``job.sh`` runs from the folder the real ``cd`` left."""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import executed_files

WORKSPACE = {
    "job.sh": "echo root\n",
    "sub/job.sh": "echo sub\n",
    "r": "#!/bin/sh\necho r\n",
    "fwd.sh": 'python "$1"\n',
    "real.py": "print('real')\n",
}


@pytest.mark.timeout(60)  # a misread end could loop: fail instead of hanging
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # an escaped } is text (bash printed `}`, then ran sub/job.sh; `} ; cd sub ;`, then job.sh)
        ("echo ${X:-\\}}; cd sub; bash job.sh", {"sub/job.sh"}),
        ("echo ${X:-\\} ; cd sub ; }; bash job.sh", {"job.sh"}),
        # the } of a nested ${...} closes only it (bash printed `; cd sub ;`)
        ("echo ${X:-${Y} ; cd sub ; }; bash job.sh", {"job.sh"}),
        # quoted text ends at its own closing quote, however short, and the ${ at the } after it
        ("echo ${X:-'a'}; cd sub; echo 'b'; bash job.sh", {"sub/job.sh"}),
        ("echo ${X:-''}; cd sub; echo 'b'; bash job.sh", {"sub/job.sh"}),
        # a double-quoted part ends at its own closing quote: not an escaped one, nor one in a $(...) (bash
        # printed `a"b`, `"}` and `}`, then ran sub/job.sh; then ran job.sh)
        ('echo ${X:-"a\\"b"}; cd sub; bash job.sh', {"sub/job.sh"}),
        ('echo ${X:-"\\"}"}; cd sub; bash job.sh', {"sub/job.sh"}),
        ('echo ${X:-"$(echo "}")"}; cd sub; bash job.sh', {"sub/job.sh"}),
        ('echo ${X:-"$(bash job.sh "x")"}', {"job.sh"}),
        # a ( alone is text, and a $(...) ends at its own ) (bash printed `(`)
        ("echo ${X:-($(true)}; cd sub; bash job.sh", {"sub/job.sh"}),
        # the command of a $(...) is what is between its parentheses: `r` after it is text (bash printed r)
        ("echo ${X:-$(true)r}", None),
        # a backquote substitution after quoted text runs (bash printed x, then ran job.sh)
        ("echo ${X:-'x'`bash job.sh`}", {"job.sh"}),
        # an unclosed quote ends the reading (bash refuses the command)
        ("echo ${X:-'abc", None),
    ],
)
def test_where_a_parameter_expansion_ends(command: str, expected: set[str] | None) -> None:
    result = executed_files([command], WORKSPACE)
    assert result == (None if expected is None else frozenset(expected))


def test_bash_s_reads_stdin_whatever_options_follow_it() -> None:
    """``bash -s -x ARG < fwd.sh``: -s holds after a later option; fwd.sh runs with ARG as $1 (bash 5.2
    ran real.py through it)."""
    assert executed_files(["bash -s -x real.py < fwd.sh"], WORKSPACE) == frozenset({"fwd.sh", "real.py"})
