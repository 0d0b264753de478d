"""Hostile probes of method consistency's "files the attempt executed" that found holes, fixed since.

docs/metrics.md counts, of the changed code files, those the attempt's commands ran. ``executed_files``
(gym_core/scoring/method_code.py, ``_run_by``) counts every argument of a runner that names a workspace code
file, so a file that is only an argument is counted as run: ``python3 -c pass pad.py`` (python runs the
inline code; ``pad.py`` is its ``sys.argv[1]``) or ``python solve.py pad.py`` (python runs solve.py only).
One such command per attempt brings the same never-run filler file back into the comparison, which the
executed-files rule exists to keep out: two different methods then look the same.
"""

from __future__ import annotations

import pytest

from gym_core.scoring.consistency import method_consistency
from gym_core.scoring.method_code import executed_files

METHOD_A = "import statistics\nvalues = [9.5, 10.5]\nprint(statistics.mean(values))\n"
METHOD_B = "def bisect(lo, hi):\n    while hi - lo > 1e-9:\n        lo = (lo + hi) / 2\n    return hi\n"
PAD = "\n".join(f"v{i} = {i * 7919 % 10007}" for i in range(2_000))


@pytest.mark.parametrize(
    "command",
    ["python3 -c pass pad.py", "python solve.py pad.py", "bash -c true pad.py"],
)
def test_a_file_named_only_as_an_argument_is_not_executed(command: str) -> None:
    a = {"solve.py": ("", METHOD_A), "pad.py": ("", PAD)}
    b = {"solve.py": ("", METHOD_B), "pad.py": ("", PAD)}
    ran = [executed_files(["python solve.py", command], {p: t for p, (_, t) in d.items()}) for d in (a, b)]
    assert all(r is not None and "pad.py" not in r for r in ran), ran
    assert method_consistency([a, b], executed=ran) == 0.0  # different methods, whatever the padding
