"""Comparing two runs of one task: each metric's difference, its bootstrap CI, a permutation-test p-value,
a verdict, and how many attempts a difference would need to be detected.

Pure functions of the attempts' outcomes; the trace store and the renderers are elsewhere. The statistics
are explained for users in ``docs/metrics.md`` ("Comparing runs"):

* Attempts are **paired by seed** where both runs have finished attempts with the same seed (``rgym run
  --seed S`` gives attempt ``i`` the seed ``S + i``). Paired, a resample draws pairs and a permutation swaps
  the two outcomes within a pair; unpaired, a resample draws each run's attempts apart and a permutation
  reshuffles the pooled attempts between the runs.
* The CI of a difference is a percentile bootstrap (seeded, so a comparison printed twice never changes).
* The p-value is two-sided: how often a relabelling of the attempts gives a difference at least as large
  as the observed one. It is exact (every relabelling enumerated) when there are at most
  :data:`PERMUTATIONS` of them, else a seeded Monte Carlo estimate ``(1 + hits) / (1 + draws)``.
* A verdict is "better" or "worse" only when ``p < alpha`` and the CI excludes 0; otherwise "no detectable
  difference at n = ...".
* The power note is the normal approximation of the attempts per run needed to detect a given difference
  with 80% power at ``alpha``: two proportions for the success rate, two means for the mean score.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gym_core.outcomes import EvaluationKind
from gym_core.scoring import estimators
from gym_core.scoring.metrics import REGRESSION_MARGIN
from gym_core.scoring.run_data import Attempt, RunData

NAN = float("nan")

RESAMPLES = 10_000
"""Bootstrap resamples of a difference."""
PERMUTATIONS = 10_000
"""Random relabellings of a permutation test; fewer possible relabellings are enumerated exactly."""
SEED = 0
"""Seed of every random draw, so the same runs always give the same comparison."""
ALPHA = 0.05
"""Significance level of the verdicts."""
POWER = 0.8
"""Power the attempts-needed note is computed for."""
CONFIDENCE = 0.95
"""Coverage of the bootstrap interval of a difference."""
DETECT = 0.1
"""Default difference the power note is computed for: 10 points of success rate, or a tenth of the gap
between the baseline (0) and the reference (1) on the normalized scale."""

Verdict = Literal["better", "worse", "no detectable difference", "not estimable"]

FloatArray = NDArray[np.float64]


# --- the attempts as arrays --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One run's finished attempts as aligned arrays (one entry per attempt)."""

    success: FloatArray
    """1.0 for a success, 0.0 for a failure."""
    final: FloatArray
    """Final normalized score; NaN for an invalid or missing submission."""
    validated: FloatArray
    """1.0 when the attempt made at least one valid validate call."""
    regressed: FloatArray
    """1.0 when it validated and its final score fell more than the regression margin below its best."""

    @property
    def size(self) -> int:
        return int(self.success.size)

    @classmethod
    def of(cls, attempts: Sequence[Attempt]) -> Sample:
        """The arrays of ``attempts`` (every attempt given counts: filter unfinished ones first)."""
        success, final, validated, regressed = [], [], [], []
        for attempt in attempts:
            best = max(
                (
                    e.normalized
                    for e in attempt.evaluations
                    if e.kind == EvaluationKind.VALIDATE and e.normalized is not None
                ),
                default=None,
            )
            score = attempt.final_normalized
            success.append(1.0 if attempt.succeeded else 0.0)
            final.append(NAN if score is None else float(score))
            validated.append(0.0 if best is None else 1.0)
            fell = best is not None and (score is None or score < best - REGRESSION_MARGIN)
            regressed.append(1.0 if fell else 0.0)
        return cls(*(np.asarray(v, dtype=float) for v in (success, final, validated, regressed)))

    def concat(self, other: Sample) -> Sample:
        """This sample followed by ``other`` (the pool that permutations draw from)."""
        return Sample(
            np.concatenate([self.success, other.success]),
            np.concatenate([self.final, other.final]),
            np.concatenate([self.validated, other.validated]),
            np.concatenate([self.regressed, other.regressed]),
        )

    def take(self, idx: NDArray[np.intp]) -> Sample:
        """Rows of resampled attempts: ``idx`` is (draws, attempts) indices into this sample."""
        return Sample(self.success[idx], self.final[idx], self.validated[idx], self.regressed[idx])

    def whole(self) -> Sample:
        """The sample itself as a single draw (one row)."""
        return self.take(np.arange(self.size, dtype=np.intp)[None, :])


# --- the metrics compared ----------------------------------------------------------------------------

Statistic = Callable[[Sample, int], FloatArray]
"""A metric of each row of a drawn sample, for k attempts per draw of pass@k and pass^k."""


def _pass_table(n: int, k: int, estimator: Callable[[int, int, int], float]) -> FloatArray:
    # pass@k and pass^k depend on the sample only through c: look them up instead of recomputing.
    return np.asarray([estimator(n, c, k) for c in range(n + 1)], dtype=float)


def _success_rate(s: Sample, k: int) -> FloatArray:
    return np.asarray(s.success.mean(axis=1), dtype=float)


def _pass_at(s: Sample, k: int) -> FloatArray:
    n = s.success.shape[1]
    if n < k:
        return np.full(s.success.shape[0], NAN)
    return np.asarray(_pass_table(n, k, estimators.pass_at_k)[s.success.sum(axis=1).astype(int)], dtype=float)


def _pass_hat(s: Sample, k: int) -> FloatArray:
    n = s.success.shape[1]
    if n < k:
        return np.full(s.success.shape[0], NAN)
    return np.asarray(
        _pass_table(n, k, estimators.pass_hat_k)[s.success.sum(axis=1).astype(int)], dtype=float
    )


def _flicker(s: Sample, k: int) -> FloatArray:
    return _pass_at(s, k) - _pass_hat(s, k)


def _valid_counts(s: Sample) -> NDArray[np.int64]:
    return np.asarray((~np.isnan(s.final)).sum(axis=1), dtype=np.int64)


def _mean(s: Sample, k: int) -> FloatArray:
    counts = _valid_counts(s)
    sums = np.nansum(s.final, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), NAN)


def _extreme(s: Sample, k: int, pick: Callable[..., FloatArray], fill: float) -> FloatArray:
    if s.final.shape[1] < k:
        return np.full(s.final.shape[0], NAN)
    counts = _valid_counts(s)
    values = pick(np.where(np.isnan(s.final), fill, s.final), axis=1)
    return np.where(counts > 0, values, NAN)


def _best(s: Sample, k: int) -> FloatArray:
    return _extreme(s, k, np.max, -np.inf)


def _worst(s: Sample, k: int) -> FloatArray:
    return _extreme(s, k, np.min, np.inf)


def _regression_rate(s: Sample, k: int) -> FloatArray:
    validated = s.validated.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(validated > 0, s.regressed.sum(axis=1) / np.maximum(validated, 1), NAN)


@dataclass(frozen=True)
class ComparedMetric:
    """A metric that ``rgym compare`` tests, and which way is better."""

    name: str
    statistic: Statistic
    higher_is_better: bool


COMPARED_METRICS: tuple[ComparedMetric, ...] = (
    ComparedMetric("success_rate", _success_rate, True),
    ComparedMetric("pass_at_k", _pass_at, True),
    ComparedMetric("pass_hat_k", _pass_hat, True),
    ComparedMetric("flicker", _flicker, False),
    ComparedMetric("mean", _mean, True),
    ComparedMetric("best_of_k", _best, True),
    ComparedMetric("worst_of_k", _worst, True),
    ComparedMetric("regression_rate", _regression_rate, False),
)
"""Every metric compared, in display order. ``success_rate`` is c/n (pass@1): the headline of a verdict."""

METRICS_BY_NAME = {m.name: m for m in COMPARED_METRICS}


def statistic_of(name: str, sample: Sample, k: int) -> float:
    """One metric of a whole sample (NaN when it cannot be estimated)."""
    return float(METRICS_BY_NAME[name].statistic(sample.whole(), k)[0])


# --- resampling ----------------------------------------------------------------------------------------


def _differences(a: Sample, b: Sample, statistic: Statistic, k: int) -> FloatArray:
    return np.asarray(statistic(b, k) - statistic(a, k), dtype=float)


def bootstrap_diff_ci(
    a: Sample,
    b: Sample,
    statistic: Statistic,
    k: int,
    *,
    paired: bool,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(b) - statistic(a)``.

    Paired samples (same length, entry i of each from the same seed) are resampled by pair; unpaired ones
    each on their own. Draws where the difference cannot be estimated (say, a resample with no valid score
    for the mean) are left out.

    Returns:
        ``(low, high)``; ``(NaN, NaN)`` when a side has no attempt or no draw gives a difference.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if a.size == 0 or b.size == 0:
        return NAN, NAN
    if paired and a.size != b.size:
        raise ValueError(f"paired samples need the same size, got {a.size} and {b.size}")
    rng = np.random.default_rng(seed)
    if paired:
        idx = rng.integers(0, a.size, size=(resamples, a.size))
        diffs = _differences(a.take(idx), b.take(idx), statistic, k)
    else:
        idx_a = rng.integers(0, a.size, size=(resamples, a.size))
        idx_b = rng.integers(0, b.size, size=(resamples, b.size))
        diffs = _differences(a.take(idx_a), b.take(idx_b), statistic, k)
    diffs = diffs[~np.isnan(diffs)]
    if diffs.size == 0:
        return NAN, NAN
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return float(low), float(high)


def _relabellings(
    a: Sample, b: Sample, *, paired: bool, permutations: int, seed: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], bool]:
    """Index rows into ``a.concat(b)`` for the relabelled A and B sides, and whether they are exhaustive."""
    n_a, n_b = a.size, b.size
    rng = np.random.default_rng(seed)
    if paired:
        n = n_a
        if 2**n <= permutations:
            # Row r swaps pair j when bit j of r is set: every subset of pairs, once.
            swaps = (np.arange(2**n, dtype=np.intp)[:, None] >> np.arange(n, dtype=np.intp)) & 1
            exact = True
        else:
            swaps = rng.integers(0, 2, size=(permutations, n)).astype(np.intp)
            exact = False
        base = np.arange(n, dtype=np.intp)[None, :]
        return base + swaps * n, base + (1 - swaps) * n, exact
    total = n_a + n_b
    if math.comb(total, n_a) <= permutations:
        rows_a, rows_b = [], []
        everyone = set(range(total))
        for chosen in itertools.combinations(range(total), n_a):
            rows_a.append(chosen)
            rows_b.append(sorted(everyone.difference(chosen)))
        return (
            np.asarray(rows_a, dtype=np.intp).reshape(-1, n_a),
            np.asarray(rows_b, dtype=np.intp).reshape(-1, n_b),
            True,
        )
    shuffled = rng.permuted(np.tile(np.arange(total, dtype=np.intp), (permutations, 1)), axis=1)
    return shuffled[:, :n_a], shuffled[:, n_a:], False


def permutation_p_value(
    a: Sample,
    b: Sample,
    statistic: Statistic,
    k: int,
    *,
    paired: bool,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> float:
    """Two-sided p-value of ``statistic(b) - statistic(a)`` under "the labels A and B do not matter".

    Returns:
        The share of relabellings whose difference is at least as large in absolute value as the observed
        one (exact when all relabellings fit in ``permutations``, else ``(1 + hits) / (1 + draws)``); NaN
        when the observed difference cannot be estimated.
    """
    if a.size == 0 or b.size == 0:
        return NAN
    if paired and a.size != b.size:
        raise ValueError(f"paired samples need the same size, got {a.size} and {b.size}")
    observed = float(_differences(a.whole(), b.whole(), statistic, k)[0])
    if math.isnan(observed):
        return NAN
    pool = a.concat(b)
    idx_a, idx_b, exact = _relabellings(a, b, paired=paired, permutations=permutations, seed=seed)
    diffs = _differences(pool.take(idx_a), pool.take(idx_b), statistic, k)
    diffs = diffs[~np.isnan(diffs)]
    if diffs.size == 0:
        return NAN
    # A tolerance, so that float noise never decides whether a tie counts as extreme.
    hits = int(np.sum(np.abs(diffs) >= abs(observed) - 1e-9 * max(1.0, abs(observed))))
    if exact:
        # Every relabelling, the observed one among them: the p-value is a plain share.
        return hits / diffs.size
    return (1 + hits) / (1 + diffs.size)


# --- verdicts and power ------------------------------------------------------------------------------


def verdict(
    diff: float, ci: tuple[float, float], p: float, *, higher_is_better: bool, alpha: float = ALPHA
) -> Verdict:
    """``better`` / ``worse`` (B against A) when ``p < alpha`` and the CI excludes 0, else no detectable
    difference; ``not estimable`` when the difference, its CI or its p-value is NaN."""
    if any(math.isnan(x) for x in (diff, ci[0], ci[1], p)):
        return "not estimable"
    if p < alpha and (ci[0] > 0 or ci[1] < 0):
        up = diff > 0
        return "better" if up == higher_is_better else "worse"
    return "no detectable difference"


def _z(alpha: float, power: float) -> tuple[float, float]:
    normal = NormalDist()
    return normal.inv_cdf(1 - alpha / 2), normal.inv_cdf(power)


def attempts_to_detect_rate(
    rate: float, delta: float, *, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Attempts per run to tell a success rate of ``rate`` from one ``delta`` away (two-sided test of two
    proportions, normal approximation, equal group sizes).

    The other rate is ``rate + delta``, or ``rate - delta`` when that would pass 1. None when ``delta`` is
    not in (0, 1].
    """
    if not 0 < delta <= 1 or math.isnan(rate):
        return None
    p1 = min(max(rate, 0.0), 1.0)
    p2 = p1 + delta if p1 + delta <= 1 else p1 - delta
    if p2 < 0:
        return None
    z_a, z_b = _z(alpha, power)
    pbar = (p1 + p2) / 2
    numerator = z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return max(2, math.ceil((numerator / delta) ** 2))


def attempts_to_detect_mean(
    sd: float, delta: float, *, paired: bool, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Attempts per run (or pairs) to detect a difference ``delta`` of mean scores whose spread is ``sd``
    (the sd of one run's scores; of the pairwise differences when ``paired``), normal approximation.

    None when ``sd`` is NaN or 0 (no spread was observed to plan with) or ``delta`` is not positive.
    """
    if math.isnan(sd) or sd <= 0 or not delta > 0:
        return None
    z_a, z_b = _z(alpha, power)
    factor = 1.0 if paired else 2.0
    return max(2, math.ceil(factor * ((z_a + z_b) * sd / delta) ** 2))


# --- two runs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    """How the attempts of two runs were matched."""

    paired: bool
    pairs: int
    """Seeds both runs finished an attempt with (0 when unpaired)."""
    n_a: int
    """Finished attempts of A that are compared."""
    n_b: int
    unmatched_a: int
    """Finished attempts of A left out because B has no attempt with their seed (paired only)."""
    unmatched_b: int

    @property
    def n_text(self) -> str:
        """``6 pairs`` or ``6 vs 5 attempts``: the n a verdict is stated at."""
        return f"{self.pairs} pairs" if self.paired else f"{self.n_a} vs {self.n_b} attempts"


@dataclass(frozen=True)
class MetricDifference:
    """One metric of B against A."""

    name: str
    a: float
    b: float
    diff: float
    """b - a."""
    ci: tuple[float, float]
    p_value: float
    verdict: Verdict
    higher_is_better: bool


@dataclass(frozen=True)
class PowerNote:
    """How many attempts a difference of ``delta`` in one metric would take to detect."""

    metric: str
    delta: float
    needed: int | None
    """Attempts per run (pairs when paired); None when there is nothing to plan with."""
    have: int
    """Attempts per run (or pairs) compared now."""
    basis: str
    """What the number was computed from, for the reader."""


@dataclass(frozen=True)
class RunComparison:
    """Run B against run A: every compared metric, how the attempts were paired, and the power notes."""

    a_run_id: str
    b_run_id: str
    k: int
    """The k of pass@k and pass^k in this comparison: the smaller K of the two runs."""
    pairing: Pairing
    metrics: tuple[MetricDifference, ...]
    power: tuple[PowerNote, ...]
    alpha: float
    exact_p: bool
    """True when the p-values enumerate every relabelling; False for a Monte Carlo estimate."""
    relabellings: int
    """How many relabellings the p-values are taken over."""

    @property
    def headline(self) -> MetricDifference:
        """The success rate's difference: what the one-line verdict states."""
        return next(m for m in self.metrics if m.name == "success_rate")


def _finished(run: RunData) -> list[Attempt]:
    """The attempts a run's metrics count: finished, and not excluded as environment failures."""
    return [a for a in run.attempts if a.finished and not a.excluded]


def pair_by_seed(a: Sequence[Attempt], b: Sequence[Attempt]) -> list[tuple[Attempt, Attempt]] | None:
    """Attempts of two runs matched by seed, in seed order; None when fewer than two seeds match (or a
    seed repeats within a run, which would make a pairing ambiguous)."""
    seeds_a = [x.seed for x in a if x.seed is not None]
    seeds_b = [x.seed for x in b if x.seed is not None]
    if len(set(seeds_a)) != len(seeds_a) or len(set(seeds_b)) != len(seeds_b):
        return None
    by_seed_b = {x.seed: x for x in b if x.seed is not None}
    pairs = sorted(
        ((x, by_seed_b[x.seed]) for x in a if x.seed is not None and x.seed in by_seed_b),
        key=lambda pair: pair[0].seed or 0,
    )
    return pairs if len(pairs) >= 2 else None


def compare_runs(
    a: RunData,
    b: RunData,
    *,
    detect: float = DETECT,
    alpha: float = ALPHA,
    resamples: int = RESAMPLES,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> RunComparison:
    """Compare run ``b`` with run ``a`` (the reference), metric by metric.

    Only the attempts the runs' metrics count do: finished, and not excluded as environment failures
    (docs/metrics.md). They are paired by seed when at least two seeds match; then attempts
    whose seed the other run lacks are left out (and counted in :class:`Pairing`).
    """
    finished_a, finished_b = _finished(a), _finished(b)
    pairs = pair_by_seed(finished_a, finished_b)
    if pairs is not None:
        sample_a = Sample.of([x for x, _ in pairs])
        sample_b = Sample.of([y for _, y in pairs])
        pairing = Pairing(
            True,
            len(pairs),
            len(pairs),
            len(pairs),
            len(finished_a) - len(pairs),
            len(finished_b) - len(pairs),
        )
    else:
        sample_a, sample_b = Sample.of(finished_a), Sample.of(finished_b)
        pairing = Pairing(False, 0, sample_a.size, sample_b.size, 0, 0)
    k = min(a.k, b.k)
    possible = 2**pairing.pairs if pairing.paired else math.comb(sample_a.size + sample_b.size, sample_a.size)
    differences = []
    for metric in COMPARED_METRICS:
        value_a = statistic_of(metric.name, sample_a, k) if sample_a.size else NAN
        value_b = statistic_of(metric.name, sample_b, k) if sample_b.size else NAN
        diff = value_b - value_a
        ci = bootstrap_diff_ci(
            sample_a, sample_b, metric.statistic, k, paired=pairing.paired, resamples=resamples, seed=seed
        )
        p = permutation_p_value(
            sample_a,
            sample_b,
            metric.statistic,
            k,
            paired=pairing.paired,
            permutations=permutations,
            seed=seed,
        )
        differences.append(
            MetricDifference(
                name=metric.name,
                a=value_a,
                b=value_b,
                diff=diff,
                ci=ci,
                p_value=p,
                verdict=verdict(diff, ci, p, higher_is_better=metric.higher_is_better, alpha=alpha),
                higher_is_better=metric.higher_is_better,
            )
        )
    return RunComparison(
        a_run_id=a.run_id,
        b_run_id=b.run_id,
        k=k,
        pairing=pairing,
        metrics=tuple(differences),
        power=_power_notes(sample_a, sample_b, pairing, detect, alpha),
        alpha=alpha,
        exact_p=possible <= permutations,
        relabellings=min(possible, permutations),
    )


def _power_notes(a: Sample, b: Sample, pairing: Pairing, delta: float, alpha: float) -> tuple[PowerNote, ...]:
    have = pairing.pairs if pairing.paired else min(pairing.n_a, pairing.n_b)
    rate_a = float(a.success.mean()) if a.size else NAN
    rate = PowerNote(
        "success_rate",
        delta,
        attempts_to_detect_rate(rate_a, delta, alpha=alpha),
        have,
        f"A's success rate {rate_a:.2f}, two proportions" if not math.isnan(rate_a) else "no attempts",
    )
    if pairing.paired:
        both = ~np.isnan(a.final) & ~np.isnan(b.final)
        sd = estimators.sample_std(list((b.final - a.final)[both]))
        basis = f"the sd of the paired differences {sd:.3f}"
    else:
        pooled = [float(x) for x in np.concatenate([a.final, b.final]) if not math.isnan(x)]
        sd = estimators.sample_std(pooled)
        basis = f"the sd of the final scores {sd:.3f}"
    if math.isnan(sd) or sd <= 0:
        basis = "no spread of the final scores observed yet"
    mean = PowerNote(
        "mean", delta, attempts_to_detect_mean(sd, delta, paired=pairing.paired, alpha=alpha), have, basis
    )
    return rate, mean


def comparability_problem(a: RunData, b: RunData) -> str | None:
    """Why two runs must not be compared as they are, or None.

    Different tasks are never comparable; neither are two versions of one task. The same version with a
    different checksum means the task folder changed between the runs (grader, data, README...).
    """
    if a.task_id != b.task_id:
        return f"run {b.run_id} is of task {b.task_id}, run {a.run_id} of task {a.task_id}"
    if a.task_version != b.task_version:
        return (
            f"run {b.run_id} used {b.task_id} v{b.task_version}, run {a.run_id} v{a.task_version}: "
            "scores of two task versions are not comparable"
        )
    if a.task_checksum != b.task_checksum:
        return (
            f"run {b.run_id} used {b.task_id} v{b.task_version} with checksum {b.task_checksum[:12]}, run "
            f"{a.run_id} with {a.task_checksum[:12]}: the task folder changed between them"
        )
    return None
