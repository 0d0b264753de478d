"""Set the baseline policy's knobs: rewrite EPSILON and DECAY in policy.py from knobs.json.

knobs.json (optional) is a JSON object with "epsilon" (a number in [0, 1]) and/or "decay" (a number >= 0);
without it, or for a key it lacks, the baseline's defaults (epsilon 0.1, decay 0) are written. A policy.py
without those two constants (your own policy) is left unchanged. Play the result with `python simulate.py`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

DEFAULTS = {"epsilon": 0.1, "decay": 0.0}
CONSTANTS = {"epsilon": "EPSILON", "decay": "DECAY"}


def read_knobs(path: Path) -> dict[str, float]:
    knobs = dict(DEFAULTS)
    if not path.exists():
        return knobs
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        sys.exit(f"{path}: expected a JSON object such as {json.dumps(DEFAULTS)}")
    for key, value in data.items():
        if key not in DEFAULTS:
            sys.exit(f"{path}: unknown knob {key!r} (known: {', '.join(DEFAULTS)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            sys.exit(f"{path}: {key} must be a finite number, got {value!r}")
        if value < 0 or (key == "epsilon" and value > 1):
            sys.exit(f"{path}: {key} = {value} is out of range")
        knobs[key] = float(value)
    return knobs


def main() -> None:
    knobs = read_knobs(Path("knobs.json"))
    policy = Path("policy.py")
    text = policy.read_text()
    for key, name in CONSTANTS.items():
        pattern = re.compile(rf"^{name} = .*$", re.MULTILINE)
        if not pattern.search(text):
            print(f"policy.py has no {name} constant: left unchanged")
            return
        text = pattern.sub(f"{name} = {knobs[key]!r}", text, count=1)
    policy.write_text(text)
    print(f"policy.py: epsilon-greedy with EPSILON = {knobs['epsilon']!r}, DECAY = {knobs['decay']!r}")


if __name__ == "__main__":
    main()
