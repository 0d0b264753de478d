"""Method consistency: do the successful attempts solve the task the same way?

Each attempt's method is read from its workspace diff (final workspace against the initial one). The
changed lines are cut into tokens, the tokens into overlapping shingles of :data:`SHINGLE_WIDTH`, and two
attempts are compared by the Jaccard similarity of their shingle sets. ``docs/metrics.md`` explains why.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Mapping, Sequence

SHINGLE_WIDTH = 3
"""Tokens per shingle: three tokens capture a phrase such as ``lr = 0.01``, so two diffs that merely share
common tokens (``=``, ``self``) do not look alike, while editing one token changes only a few shingles."""

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[^\sA-Za-z0-9_]")

Shingle = tuple[str, ...]
WorkspaceDiff = Mapping[str, tuple[str, str]]


def diff_workspaces(initial: Mapping[str, str], final: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The changed text files between two workspace snapshots, in the shape of ``Attempt.workspace_diff``.

    Args:
        initial: path -> text of the initial workspace.
        final: path -> text of the final workspace.

    Returns:
        path -> (initial text, final text) for every file that changed; an added file has initial text
        ``""`` and a removed one final text ``""``.
    """
    diff: dict[str, tuple[str, str]] = {}
    for path in sorted(set(initial) | set(final)):
        before, after = initial.get(path, ""), final.get(path, "")
        if before != after:
            diff[path] = (before, after)
    return diff


def changed_lines(diff: WorkspaceDiff) -> list[tuple[str, str]]:
    """The removed (``-``) and added (``+``) lines of a workspace diff, in path order, blank lines dropped."""
    lines: list[tuple[str, str]] = []
    for path in sorted(diff):
        before, after = diff[path]
        for line in difflib.ndiff(before.splitlines(), after.splitlines()):
            sign, text = line[:1], line[2:]
            if sign in "+-" and line[1:2] == " " and text.strip():
                lines.append((sign, text))
    return lines


def tokenize(text: str) -> list[str]:
    """Identifiers, numbers and single punctuation marks; whitespace is dropped, so reformatting is free."""
    return _TOKEN.findall(text)


def shingles(diff: WorkspaceDiff, width: int = SHINGLE_WIDTH) -> frozenset[Shingle]:
    """The set of token shingles of a diff's changed lines, each tagged with its side (``+`` or ``-``).

    Added and removed lines are shingled separately, so deleting code is never mistaken for writing it.
    File paths are left out on purpose: the same code written to a differently named file is the same
    method.
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    streams: dict[str, list[str]] = {"+": [], "-": []}
    for sign, text in changed_lines(diff):
        # A line break is a token too, so that shingles spanning two lines still mean something.
        streams[sign].extend([*tokenize(text), "\n"])
    result: set[Shingle] = set()
    for sign, tokens in streams.items():
        if not tokens:
            continue
        if len(tokens) <= width:
            result.add((sign, *tokens))
            continue
        for start in range(len(tokens) - width + 1):
            result.add((sign, *tokens[start : start + width]))
    return frozenset(result)


def jaccard(a: frozenset[Shingle], b: frozenset[Shingle]) -> float:
    """|a & b| / |a | b|; two empty sets are identical (1.0)."""
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def diff_similarity(a: WorkspaceDiff, b: WorkspaceDiff, width: int = SHINGLE_WIDTH) -> float:
    """Similarity in [0, 1] of two workspace diffs: 1 for the same change, 0 for changes sharing nothing."""
    return jaccard(shingles(a, width), shingles(b, width))


def method_consistency(diffs: Sequence[WorkspaceDiff], width: int = SHINGLE_WIDTH) -> float:
    """Mean pairwise :func:`diff_similarity` of the given diffs; NaN for fewer than two."""
    if len(diffs) < 2:
        return math.nan
    sets = [shingles(d, width) for d in diffs]
    pairs = [jaccard(a, b) for a, b in itertools.combinations(sets, 2)]
    return math.fsum(pairs) / len(pairs)
