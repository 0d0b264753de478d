"""Reading a command as bash does: where a ``$(...)`` or a backquote substitution ends, what of a double-quoted
string or an unquoted here-document runs, and where a here-document ends.

Each case is a command whose result depends on that reading: a script that runs only if the reading is
right (inside the substitution, or after it), or one that stays text (after the end of the substitution in a
double-quoted string, inside a here-document fed to ``cat``). Every expected result is what bash runs.
"""

from __future__ import annotations

import pytest

from gym_core.scoring.method_code import executed_files

WORKSPACE = {"a.py": "print('a')\n", "b.py": "print('b')\n"}
A = frozenset({"a.py"})
B = frozenset({"b.py"})
AB = frozenset({"a.py", "b.py"})


def _ran(command: str) -> frozenset[str] | None:
    return executed_files([command], WORKSPACE)


# A misread substitution end can send the reader back to where it was: these tests fail rather than hang.
_NO_HANG = pytest.mark.timeout(20)


@_NO_HANG
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # the `)` ends the substitution: what follows is the next command, whole
        ("echo $(echo a); python b.py", B),
        ("python b.py; echo $(echo a)", B),
        # nested parentheses: the substitution ends at its own `)`
        ('echo "$( (echo a); python b.py)"', B),
        ("echo $( (echo a) ); python b.py", B),
        # in a double-quoted string, what follows the substitution is text
        ('echo "$(python a.py); python b.py ok"', A),
        # a backslash escapes the next character: `\'` opens no quote, `\)` closes nothing
        ("echo $(echo \\'; python a.py); python b.py", AB),
        ("echo $(echo \\a'b)c'); python b.py", B),
        ('echo "$(echo \\); python b.py)"', B),
        # a `)` in single quotes is text
        ("echo $(echo ')'; python a.py); python b.py", AB),
        ("echo $(echo 'a') 'x'; python b.py", B),
        ("echo $(echo ''); python b.py", B),
        ("echo $(echo '(' ')'); python b.py", B),
        # and so is a `)` or a `'` in double quotes
        ('x=$(echo ")"; python a.py)', A),
        ('x=$(echo "it\'s"); python b.py', B),
        ('x=$(echo "\\")"; python a.py)', A),
        ('echo "$(echo "$(echo ")")"; python a.py)"', A),
        ('x=$(echo "$(echo a)"); python b.py', B),
        ('x=$(echo "\\a"); python b.py', B),
        # a command cut short (bash: a syntax error) runs nothing, and is read to its end
        ("echo $(echo 'x", None),
        ('echo $(echo "x', None),
    ],
)
def test_a_substitution_ends_at_its_own_parenthesis(command: str, expected: frozenset[str] | None) -> None:
    assert _ran(command) == expected


@_NO_HANG
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # `$(...)` anywhere in the string runs, whatever comes before it
        ('echo "$(python a.py)"', A),
        ('echo "x $(python a.py)"', A),
        ('echo "xy $(python a.py)"', A),
        ('echo ")$(python a.py); python b.py "', A),
        # a substitution's here-document ends at the `)` (bash warns, and runs it)
        ('x="$(python <<EOF\nimport b\nEOF)"', B),
        # backquotes: the text between them runs, the text around them does not
        ('echo "`python a.py` done"', A),
        ('echo "#`python a.py`"', A),
        ('echo "`echo a` python b.py `echo c`"', None),
        ('echo "x `` python b.py `python a.py`"', A),
        ('echo "`echo a``python a.py`"', A),
        ('echo "`echo a`$(python a.py)"', A),
        ('echo "`echo a', None),
        # escaped, `$(` and a backquote are text; an escaped backslash leaves the `$(` that follows it
        ('echo "\\$(python a.py)"', None),
        ('echo "\\`python a.py\\`"', None),
        ('echo "\\\\$(python a.py)"', A),
    ],
)
def test_the_substitutions_of_a_double_quoted_string_run(
    command: str, expected: frozenset[str] | None
) -> None:
    assert _ran(command) == expected


@_NO_HANG
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # the body ends at the delimiter line: the commands after it run, the body fed to cat does not
        ("cat <<EOF\nhi\nEOF\npython b.py", B),
        ("cat <<EOF\npython a.py\nEOF\npython b.py\n", B),
        # `<<-` strips the leading tabs (only tabs) of the delimiter line; `<<` strips nothing
        ("cat <<-EOF\nhi\n\tEOF\npython b.py", B),
        ("cat <<EOF\nhi\n\tEOF\npython b.py\nEOF\npython a.py", A),
        ("cat <<-EOF\n  EOF\npython b.py\nEOF\npython a.py", A),
        ("cat <<-EOF\nXEOF\npython b.py\nEOF\npython a.py", A),
        # a body fed to bash runs line by line
        ("bash <<EOF\necho hi\npython a.py\nEOF", A),
        ("bash <<EOF\necho hi\npython a.py\nEOF\npython b.py", AB),
        # `$(...)` and backquotes in an unquoted body run; in a quoted one they are text
        ("cat <<EOF\n$(python a.py)\nEOF", A),
        ("cat <<EOF\nx `python a.py`\nEOF", A),
        ("cat <<'EOF'\n$(python a.py)\nEOF", None),
        ('cat <<"EOF"\n`python a.py`\nEOF', None),
        # in an unquoted body, `\$` is text and `\\` a backslash
        ("cat <<EOF\n\\$(python a.py)\nEOF", None),
        ("cat <<EOF\n\\\\$(python a.py)\nEOF", A),
    ],
)
def test_a_here_document_ends_at_its_delimiter(command: str, expected: frozenset[str] | None) -> None:
    assert _ran(command) == expected


# Each expected result was checked with real bash (`bash -c`, with scripts that echo in place of python).
@_NO_HANG
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # a backslash-newline between words joins the lines: `python a.py`, not `python '' a.py` (the
        # quotes make the lines read from the wrong place end in an open quote, not loop)
        ("'python' \\\n a.py", A),
        # ... wherever it stands, and nothing of it or around it is skipped but the two characters: bash
        # reads `ab c; python a.py` (`ab` is not found, a.py runs)
        ("'ab' \\\n'c'; python a.py", A),
        # a `#` that starts a word starts a comment, to the end of its line: the `;` in it separates nothing
        ("echo hi # ; python b.py", None),
        ("echo hi # x\npython b.py", B),
        # a comment after a here-document: its quote opens nothing, and what follows it is still comment
        ("cat <<E\n'\nE\n# c'; python b.py\npython a.py", A),
        # the body of a here-document starts on the line after its `<<`, not after the next operator
        ("cat <<E; python b.py\nbody\nE", B),
        # a number right before `>` or `<` is the file descriptor of the redirection, not the command
        ("2>err python a.py", A),
        ("0<a.py python", A),
    ],
)
def test_line_continuations_comments_and_redirections_read_like_bash(
    command: str, expected: frozenset[str] | None
) -> None:
    assert _ran(command) == expected
