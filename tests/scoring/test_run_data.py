"""RunData.gain (gym_core.scoring.run_data): how far a raw score is above its split's baseline."""

from __future__ import annotations

import dataclasses

from tests.report.synthetic import synthetic_run


def test_the_gain_of_a_raw_score_is_measured_from_its_splits_baseline_in_the_better_direction() -> None:
    raw = dataclasses.replace(
        synthetic_run(k=1),
        reference_raw=None,
        direction="maximize",
        baseline_raw=2.0,
        baseline_public_raw=3.0,
    )
    assert (raw.gain(5.0, public=False), raw.gain(5.0, public=True)) == (3.0, 2.0)
    lower = dataclasses.replace(raw, direction="minimize")
    assert (lower.gain(0.5, public=False), lower.gain(0.5, public=True)) == (1.5, 2.5)
