"""Synthetic runs: plausible RunData without a store, for previews, docs and tests of the report."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from gym_core.report.suite import SuiteRunData
from gym_core.scoring.run_data import Attempt, EvalPoint, RunData
from gym_core.store.records import SuiteRunPublic

_INITIAL_TRAIN = "lr = 0.1\nepochs = 10\nmodel = Baseline()\nmodel.fit(x, y, lr=lr, epochs=epochs)\n"
_METHODS = (
    "T = fit_temperature(logits, labels)\nprobs = softmax(logits / T)\n",
    "iso = IsotonicRegression()\nprobs = iso.fit(scores, labels).predict(scores)\n",
)


def _attempt(rng: random.Random, index: int, *, skill: float, invalid: bool, budget_s: float) -> Attempt:
    evaluations: list[EvalPoint] = []
    t, score, best = 0.0, rng.uniform(-0.3, 0.1), None
    for step in range(rng.randint(1, 5)):
        t += rng.uniform(0.05, 0.2) * budget_s
        score = min(1.3, score + rng.gauss(skill, 0.25))
        best = score if best is None else max(best, score)
        evaluations.append(
            EvalPoint(step_index=3 * step + 2, t_s=t, kind="validate", raw=None, normalized=score)
        )
    t = min(budget_s, t + rng.uniform(0.02, 0.1) * budget_s)
    # Most attempts submit their best validated workspace; some fall back from it: a regression.
    top = score if best is None else best
    final = None if invalid else top - (rng.uniform(0.1, 0.4) if rng.random() < 0.25 else 0.0)
    kind = "auto" if t >= budget_s * 0.98 else "submit"
    evaluations.append(EvalPoint(step_index=20, t_s=t, kind=kind, raw=None, normalized=final))
    method = _METHODS[0] if rng.random() < 0.7 else _METHODS[1]
    diff = {
        "train.py": (_INITIAL_TRAIN, _INITIAL_TRAIN.replace("lr = 0.1", f"lr = {rng.choice([0.1, 0.01])}"))
    }
    diff["calibrate.py"] = ("", method)
    return Attempt(
        episode_id=f"ep-{index}",
        index=index,
        seed=index,
        status="truncated" if kind == "auto" else "submitted",
        failure_kind="invalid_submission" if invalid else ("timed_out" if kind == "auto" else None),
        final_raw=None,
        final_normalized=final,
        succeeded=final is not None and final >= 0.0,
        evaluations=tuple(evaluations),
        wall_time_s=t,
        wall_budget_s=budget_s,
        steps=20,
        workspace_diff=diff,
    )


def synthetic_run(
    run_id: str = "demo-run",
    *,
    k: int = 8,
    finished: int | None = None,
    skill: float = 0.15,
    invalid: int = 1,
    seed: int = 0,
    agent: str = "tuner",
    task_id: str = "calibration-temperature-scaling",
    perturbations: dict[str, str] | None = None,
) -> RunData:
    """A reproducible run of ``k`` requested attempts, ``finished`` of them done (default all).

    Args:
        run_id: id of the run.
        k: attempts requested.
        finished: attempts that finished; the rest are left ``interrupted``.
        skill: mean improvement per validate call; higher means more successes.
        invalid: how many finished attempts end with an invalid submission.
        seed: seed of the generator; the same arguments give the same run.
        agent: agent name.
        task_id: task id.
        perturbations: the ``--perturb`` pairs; empty or None for a clean run.
    """
    rng = random.Random(seed)
    done = k if finished is None else finished
    budget_s = 1800.0
    attempts = [_attempt(rng, i, skill=skill, invalid=i < invalid, budget_s=budget_s) for i in range(done)]
    attempts += [
        Attempt(
            episode_id=f"ep-{i}",
            index=i,
            seed=i,
            status="interrupted",
            failure_kind=None,
            final_raw=None,
            final_normalized=None,
            succeeded=False,
            evaluations=(),
            wall_time_s=0.0,
            wall_budget_s=budget_s,
            steps=0,
        )
        for i in range(done, k)
    ]
    return RunData(
        run_id=run_id,
        task_id=task_id,
        task_version=1,
        task_checksum="sha256:" + f"{rng.getrandbits(128):032x}",
        agent=agent,
        metric_name="ece",
        direction="minimize",
        baseline_raw=0.071,
        reference_raw=0.018,
        success_threshold=0.0,
        k=k,
        perturbations=dict(perturbations or {}),
        attempts=tuple(attempts),
        created_at="2025-01-01T12:00:00+00:00",
    )


def synthetic_suite_run(
    suite_run_id: str,
    runs: tuple[RunData, ...],
    *,
    tasks: list[str] | None = None,
    suite: str = "core",
    agent: str = "tuner",
    k: int = 3,
    created_at: datetime = datetime(2026, 12, 1, tzinfo=UTC),
    finished_at: datetime | None = None,
) -> SuiteRunData:
    """A completed suite run of ``runs`` (its tasks are theirs unless ``tasks`` names more)."""
    record = SuiteRunPublic(
        id=suite_run_id,
        suite=suite,
        tasks=[r.task_id for r in runs] if tasks is None else tasks,
        agent=agent,
        config={},
        k=k,
        status="completed",
        created_at=created_at,
        finished_at=finished_at,
    )
    return SuiteRunData(suite_run=record, runs=runs)
