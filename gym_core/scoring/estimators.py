"""The estimators behind docs/metrics.md, as pure functions of counts and score lists.

Every estimator indexed by k returns NaN when fewer than k attempts finished: an estimate from too few
attempts is reported as missing, never silently clamped to what the attempts allow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

NAN = float("nan")

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
BOOTSTRAP_CONFIDENCE = 0.95


def _check_counts(n: int, c: int, k: int) -> None:
    if n < 0 or not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k attempts drawn from the n succeeds (Chen et al. 2021).

    Unbiased estimator ``1 - C(n-c, k) / C(n, k)``, computed as the product
    ``1 - prod_{i=n-c+1}^{n} (1 - k/i)`` so that large n neither overflows nor cancels.

    Args:
        n: finished attempts.
        c: successful attempts among them.
        k: attempts per draw.

    Returns:
        A value in [0, 1], or NaN when ``n < k``.
    """
    _check_counts(n, c, k)
    if n < k:
        return NAN
    if n - c < k:
        # Every k-subset must contain a success.
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Chance that all of k attempts drawn from the n succeed (pass^k of tau-bench, Yao et al. 2024).

    Unbiased estimator ``C(c, k) / C(n, k)``, computed as ``prod_{i=0}^{k-1} (c-i)/(n-i)``.

    Returns:
        A value in [0, 1], or NaN when ``n < k``.
    """
    _check_counts(n, c, k)
    if n < k:
        return NAN
    if c < k:
        return 0.0
    product = 1.0
    for i in range(k):
        product *= (c - i) / (n - i)
    return product


def pass_curves(n: int, c: int, k_max: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """pass@k and pass^k for k = 1..k_max (NaN wherever k > n)."""
    ks = range(1, k_max + 1)
    return tuple(pass_at_k(n, c, k) for k in ks), tuple(pass_hat_k(n, c, k) for k in ks)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; NaN for no values."""
    return math.fsum(values) / len(values) if values else NAN


def sample_std(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1 in the denominator); NaN for fewer than two values."""
    if len(values) < 2:
        return NAN
    return float(np.std(np.asarray(values, dtype=float), ddof=1))


def median(values: Sequence[float]) -> float:
    """Median; NaN for no values."""
    return float(np.median(np.asarray(values, dtype=float))) if values else NAN


def bootstrap_ci(
    values: Sequence[float],
    *,
    confidence: float = BOOTSTRAP_CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean.

    The generator is seeded, so the same scores always give the same interval: a report rendered twice
    must not change.

    Args:
        values: the sample.
        confidence: coverage of the interval, e.g. 0.95.
        resamples: bootstrap resamples.
        seed: seed of the numpy generator.

    Returns:
        ``(low, high)``; ``(NaN, NaN)`` for fewer than two values, where a resample says nothing new.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if len(values) < 2:
        return NAN, NAN
    sample = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    # Resample in chunks so a run of many attempts never allocates resamples x n at once.
    means = np.empty(resamples, dtype=float)
    chunk = max(1, 2_000_000 // sample.size)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, sample.size, size=(stop - start, sample.size))
        means[start:stop] = sample[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)
