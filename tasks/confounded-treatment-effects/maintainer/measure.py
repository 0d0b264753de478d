"""Measure the task the way `rgym tasks verify` and the tuner agent see it; prints the numbers of MAINTAINERS.md.

The measurements (``--seed``, ``--grid``, ``--knobs``, ``--exploits``) are gym_core.tasks.maintainer's,
shared by the shipped tasks; see its docstring.

Usage (from the repository root)::

    .venv/bin/python tasks/confounded-treatment-effects/maintainer/measure.py [--seed 0 1 2] [--grid] [--exploits]
        [--knobs JSON ... [--reference]] [--tuner-draws 20000]
"""

from __future__ import annotations

from make_data import TASK_ROOT, write_task_data

from gym_core.tasks.maintainer import measure_main

if __name__ == "__main__":
    measure_main(TASK_ROOT, write_task_data)
