"""Method consistency: do the successful attempts solve the task the same way?

Each attempt's method is read from its workspace diff (final workspace against the initial one), code
only (:mod:`gym_core.scoring.method_code`): the changed code files, restricted to the files the attempt
executed (and what those import) when its trace shows them, without comments, docstrings or blank lines.
The changed code lines are cut into tokens, the tokens into overlapping shingles of :data:`SHINGLE_WIDTH`,
and two attempts are compared by the Jaccard similarity of their shingle sets. ``docs/metrics.md``
explains why.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Collection, Mapping, Sequence

from gym_core.scoring.method_code import code_lines, is_code

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


def method_diff(diff: WorkspaceDiff, executed: Collection[str] | None = None) -> dict[str, tuple[str, str]]:
    """The part of a workspace diff that is method: its code files, and of those only the ``executed`` ones
    when that is known (None: every changed code file counts)."""
    return {
        path: texts
        for path, texts in diff.items()
        if is_code(path, texts[1] or texts[0]) and (executed is None or path in executed)
    }


def changed_lines(diff: WorkspaceDiff) -> list[tuple[str, str]]:
    """The removed (``-``) and added (``+``) code lines of a workspace diff, in path order.

    Only code files count, and of them only code: comments, docstrings and blank lines are dropped
    (:func:`gym_core.scoring.method_code.code_lines`).
    """
    lines: list[tuple[str, str]] = []
    for path in sorted(diff):
        before, after = diff[path]
        language_of = after or before
        if not is_code(path, language_of):
            continue
        # a removed file is still read as the language it was; an empty side has no code lines
        old = code_lines(path, before)
        new = code_lines(path, after)
        for line in difflib.ndiff(old, new):
            sign, text = line[:1], line[2:]
            if sign in ("+", "-") and line[1:2] == " " and text.strip():
                lines.append((sign, text))
    return lines


def tokenize(text: str) -> list[str]:
    """Identifiers, numbers and single punctuation marks; whitespace is dropped, so reformatting is free."""
    return _TOKEN.findall(text)


def shingles(
    diff: WorkspaceDiff, width: int = SHINGLE_WIDTH, *, executed: Collection[str] | None = None
) -> frozenset[Shingle]:
    """The set of token shingles of a diff's changed code lines, each tagged with its side (``+``/``-``).

    Added and removed lines are shingled separately, so deleting code is never mistaken for writing it.
    File paths are left out on purpose: the same code written to a differently named file is the same
    method. ``executed``: see :func:`method_diff`.
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    streams: dict[str, list[str]] = {"+": [], "-": []}
    for sign, text in changed_lines(method_diff(diff, executed)):
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


def method_shingle_sets(
    diffs: Sequence[WorkspaceDiff],
    width: int = SHINGLE_WIDTH,
    *,
    executed: Sequence[Collection[str] | None] | None = None,
) -> list[frozenset[Shingle]]:
    """The shingle set of each diff that changed any code (:func:`shingles`); diffs without are left out.

    An attempt whose method left no code (it only wrote outputs, notes or data) has nothing to compare:
    were two such attempts "identical", an agent could look perfectly consistent by writing no code.
    """
    if executed is not None and len(executed) != len(diffs):
        raise ValueError(f"executed has {len(executed)} entries for {len(diffs)} diffs")
    sets = [
        shingles(d, width, executed=executed[i] if executed is not None else None)
        for i, d in enumerate(diffs)
    ]
    return [s for s in sets if s]


def method_consistency(
    diffs: Sequence[WorkspaceDiff],
    width: int = SHINGLE_WIDTH,
    *,
    executed: Sequence[Collection[str] | None] | None = None,
) -> float:
    """Mean pairwise Jaccard similarity of the diffs' method code; NaN for fewer than two with code.

    Args:
        diffs: one workspace diff per successful attempt.
        width: tokens per shingle.
        executed: per diff (same order), the workspace files its trace shows executed, with what they
            import (:func:`gym_core.scoring.method_code.executed_files`), or None when unknown: then every
            changed code file of that diff counts. Default: unknown for all.
    """
    sets = method_shingle_sets(diffs, width, executed=executed)
    if len(sets) < 2:
        return math.nan
    pairs = [jaccard(a, b) for a, b in itertools.combinations(sets, 2)]
    return math.fsum(pairs) / len(pairs)
