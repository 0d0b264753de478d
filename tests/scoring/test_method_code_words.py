"""The word reader of method_code: quotes, escapes and substitutions undone the way bash undoes them."""

from __future__ import annotations

import warnings

import pytest

from gym_core.scoring.method_code import _word

# (command line, the word bash reads at its start, the substitutions it runs, the index after the word,
# whether any of it was quoted) -- the texts are what bash's own quote removal gives.
_WORDS = [
    (r"s\olve.py x", "solve.py", [], 9, True),
    ("a\\\nb", "ab", [], 4, True),
    ("'a b'c d", "a bc", [], 6, True),
    (r"$'s\x6flve.py' x", "solve.py", [], 14, True),
    (r"$'it\'s' x", "it's", [], 8, True),
    (r"'it\'", "it\\", [], 5, True),
    (r'"a\"b\\c\$d\e" x', 'a"b\\c$d\\e', [], 14, True),
    ('"a\\\nb"', "ab", [], 6, True),
    ('"x$(echo ")")y" z', 'x$(echo ")")y', ['echo ")"'], 15, True),
    ('"\\$(a) $(b)"', "$(a) $(b)", ["b"], 12, True),
    ("$(a b) c", "$(a b)", ["a b"], 6, False),
    ("`a b` c", "`a b`", ["a b"], 5, False),
    ("${X}y z", "${X}y", [], 5, False),
    ("a$b c", "a$b", [], 3, False),
    ("'unclosed", "unclosed", [], 10, True),
    ('"unclosed', "unclosed", [], 10, True),
    (r"$'\u00e9\q'", "é\\q", [], 11, True),
]


@pytest.mark.parametrize(("line", "text", "subs", "end", "quoted"), _WORDS)
def test_word_removes_quotes_like_bash(line: str, text: str, subs: list[str], end: int, quoted: bool) -> None:
    token, i, was_quoted = _word(line, 0)
    assert (token.text, token.subs, i, was_quoted) == (text, subs, end, quoted)


@pytest.mark.parametrize(("line", "text"), [("`a b", "`a b"), ("${X", "${X")])
def test_word_unclosed_substitution_runs_to_the_end(line: str, text: str) -> None:
    token, _, quoted = _word(line, 0)
    assert (token.text, quoted) == (text, False)


def test_an_unknown_c_escape_warns_nothing() -> None:
    """Python deprecates unknown escapes in unicode_escape: an agent's `$'\\q'` must not print a warning
    into the report (nor, once Python refuses them, fail it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token, _, _ = _word("$'\\q'", 0)
    assert token.text == "\\q"
