"""Baseline: write the `step` knob from knobs.json (default 1) into policy.py; the grader plays policy.py."""

import json
import pathlib
import re

knobs_file = pathlib.Path("knobs.json")
step = int(json.loads(knobs_file.read_text()).get("step", 1)) if knobs_file.exists() else 1
policy = pathlib.Path("policy.py")
text = policy.read_text()
if re.search(r"^STEP = \d+$", text, flags=re.M):
    policy.write_text(re.sub(r"^STEP = \d+$", f"STEP = {step}", text, flags=re.M))
print(f"policy.py plays with STEP = {step}")
