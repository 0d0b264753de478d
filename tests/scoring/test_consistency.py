"""Method consistency: workspace diffs compared by token-shingle Jaccard."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gym_core.scoring.consistency import (
    changed_lines,
    diff_similarity,
    diff_workspaces,
    method_consistency,
    method_diff,
    method_shingle_sets,
    shingles,
)

INITIAL = "lr = 0.1\nmodel = Baseline()\nmodel.fit(x, y)\n"
TEMPERATURE = {
    "train.py": (INITIAL, INITIAL + "T = fit_temperature(logits, labels)\nprobs = softmax(logits / T)\n")
}
ISOTONIC = {"calib.py": ("", "iso = IsotonicRegression()\nscores = iso.fit_transform(raw, targets)\n")}


def test_identical_diffs_are_fully_similar() -> None:
    assert diff_similarity(TEMPERATURE, dict(TEMPERATURE)) == 1.0


def test_disjoint_diffs_share_nothing() -> None:
    assert diff_similarity(TEMPERATURE, ISOTONIC) == 0.0


def test_reformatting_and_renaming_the_file_does_not_change_the_method() -> None:
    spaced = {
        "other.py": (
            INITIAL,
            INITIAL + "T  =  fit_temperature( logits,labels )\n\nprobs = softmax(logits/T)\n",
        )
    }
    assert diff_similarity(TEMPERATURE, spaced) == 1.0


def test_partial_overlap_is_strictly_between() -> None:
    tweaked = {
        "train.py": (INITIAL, INITIAL + "T = fit_temperature(logits, labels)\nprobs = sigmoid(logits * T)\n")
    }
    assert 0.0 < diff_similarity(TEMPERATURE, tweaked) < 1.0


def test_deleting_code_is_not_writing_it() -> None:
    added = {"a.py": ("", "x = compute(y)\n")}
    removed = {"a.py": ("x = compute(y)\n", "")}
    assert diff_similarity(added, removed) == 0.0


def test_two_empty_diffs_are_the_same_non_change() -> None:
    assert diff_similarity({}, {}) == 1.0
    assert diff_similarity({}, ISOTONIC) == 0.0


def test_hand_computed_jaccard() -> None:
    # Added tokens: a = 1 \n -> shingles (a,=,1) (=,1,\n); b: a = 2 \n -> (a,=,2) (=,2,\n). Union 4, overlap 0.
    assert diff_similarity({"f.py": ("", "a = 1\n")}, {"f.py": ("", "a = 2\n")}) == 0.0
    # a = 1 \n b \n  vs  a = 1 \n: shingles {(a,=,1),(=,1,\n),(1,\n,b),(\n,b,\n)} vs {(a,=,1),(=,1,\n)} -> 2/4.
    assert diff_similarity({"f.py": ("", "a = 1\nb\n")}, {"f.py": ("", "a = 1\n")}) == 0.5


def test_changed_lines_only_reports_the_change() -> None:
    lines = changed_lines({"f.py": ("keep\nold\n", "keep\nnew\n")})
    assert lines == [("-", "old"), ("+", "new")]
    # files that are not code are skipped, whatever their place in path order
    assert changed_lines({"a_notes.txt": ("", "notes\n"), "b.py": ("", "x = 1\n")}) == [("+", "x = 1")]


def test_diff_workspaces_lists_changed_added_and_removed_files() -> None:
    diff = diff_workspaces({"same": "x", "edit": "a", "gone": "b"}, {"same": "x", "edit": "A", "new": "c"})
    assert diff == {"edit": ("a", "A"), "gone": ("b", ""), "new": ("", "c")}


def test_shingle_width_applies_to_both_sides() -> None:
    # Width 1: token sets {a, =, 1, \n} and {a, =, 2, \n} share 3 of 5.
    assert diff_similarity({"f.py": ("", "a = 1\n")}, {"f.py": ("", "a = 2\n")}, width=1) == 0.6


def test_method_consistency_is_the_mean_of_pairs() -> None:
    half_a = {"f.py": ("", "a = 1\nb\n")}
    half_b = {"f.py": ("", "a = 1\n")}
    # Pairs: (A, A) = 1, (A, B) = 0.5, (A, B) = 0.5 -> mean 2/3.
    assert method_consistency([half_a, half_a, half_b]) == pytest.approx(2 / 3)


def test_method_consistency_needs_two_attempts() -> None:
    assert math.isnan(method_consistency([]))
    assert math.isnan(method_consistency([TEMPERATURE]))


def test_bad_shingle_width_is_refused() -> None:
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        shingles(TEMPERATURE, width=0)


def test_a_line_break_separates_phrases() -> None:
    # "a = b" then "c" is not the statement "a = b c": the end-of-line token keeps them apart (1 of 6 shingles).
    assert diff_similarity({"f.py": ("", "a = b\nc\n")}, {"f.py": ("", "a = b c\n")}) == pytest.approx(1 / 6)


def test_removed_code_is_compared_too() -> None:
    """Removed lines are shingled like added ones: removing different code is a different method, also when
    nothing (or only a short line) was added."""
    removed_a = {"f.py": ("old_a = compute(x)\n", "")}
    removed_b = {"f.py": ("old_z = other(y)\n", "")}
    assert diff_similarity(removed_a, removed_b) == 0.0
    # The same short added line `b` (one shingle, shorter than the width), different removals: 1 of 11.
    short_a = {"f.py": ("old_a = compute(x)\n", "b\n")}
    short_b = {"f.py": ("old_z = other(y)\n", "b\n")}
    assert diff_similarity(short_a, short_b) == pytest.approx(1 / 11)
    assert shingles({"f.py": ("", "b\n")}) == {("+", "b", "\n")}  # shorter than the width: one shingle


def test_a_script_without_extension_is_code_when_added_or_removed() -> None:
    # Its `#!` line makes it code, read from the side of the diff that has text; the `#!` line itself is not.
    diff = {
        "run": ("", "#!/bin/sh\n# note\npython solve.py\n"),
        "gone": ("#!/usr/bin/env python\nx = 1\n", ""),
    }
    assert changed_lines(diff) == [("-", "x = 1"), ("+", "python solve.py")]
    assert shingles({"run": diff["run"]}) == {
        ("+", "python", "solve", "."),
        ("+", "solve", ".", "py"),
        ("+", ".", "py", "\n"),
    }


def test_method_diff_keeps_the_changed_code_files_that_ran() -> None:
    diff = {
        "notes.txt": ("", "python notes\n"),
        "a.py": ("", "x = 1\n"),
        "b.py": ("y = 2\n", ""),
        "run": ("", "#!/bin/sh\npython a.py\n"),
        "gone": ("#!/usr/bin/env python\nz = 3\n", ""),
    }
    assert method_diff(diff) == {p: diff[p] for p in ("a.py", "b.py", "run", "gone")}
    assert method_diff(diff, executed={"a.py", "notes.txt"}) == {"a.py": diff["a.py"]}


def test_method_consistency_uses_the_shingle_width_it_is_given() -> None:
    # Width 1, as in test_shingle_width_applies_to_both_sides: 3 of 5 tokens shared.
    a, b = {"f.py": ("", "a = 1\n")}, {"f.py": ("", "a = 2\n")}
    assert method_consistency([a, b], width=1) == pytest.approx(0.6)
    assert method_shingle_sets([a, b], width=1) == [
        {("+", "a"), ("+", "="), ("+", "1"), ("+", "\n")},
        {("+", "a"), ("+", "="), ("+", "2"), ("+", "\n")},
    ]


def test_executed_must_have_one_entry_per_diff() -> None:
    with pytest.raises(ValueError, match=r"^executed has 1 entries for 2 diffs$"):
        method_consistency([{}, {}], executed=[None])


code_lines = st.lists(
    st.sampled_from(["x = 1", "y = f(x)", "return y", "lr = 0.01", "import numpy", "z += y"]), max_size=6
)


@given(code_lines, code_lines)
def test_similarity_is_symmetric_and_bounded(a_lines: list[str], b_lines: list[str]) -> None:
    a = {"f.py": ("", "\n".join(a_lines))}
    b = {"f.py": ("", "\n".join(b_lines))}
    s = diff_similarity(a, b)
    assert s == diff_similarity(b, a)
    assert 0.0 <= s <= 1.0
    assert diff_similarity(a, a) == 1.0
