"""Statistics of the study's verdicts: errors compared on a log scale.

Errors of trained networks spread over orders of magnitude and are roughly
log-normal, so every comparison works on ``log(error)``:

- :func:`welch` — Welch's two-sample t-test on the log errors
  (``scipy.stats.ttest_ind(equal_var=False)``), two-sided;
- :func:`ratio_ci` — the ratio of geometric means ``exp(mean log a - mean
  log b)`` with a seeded percentile bootstrap confidence interval
  (``scipy.stats.bootstrap``, the two samples resampled independently);
- :func:`holm` — Holm's step-down correction of a report's p-values;
- :func:`decide` — the verdict of one comparison: ``"better"`` / ``"worse"``
  only for an effect of at least :data:`MIN_EFFECT` with corrected
  ``p < ALPHA``, ``"inconclusive"`` otherwise, and ``"baseline unsolved"``
  whenever the reference misses its problem's target (the comparison then
  says nothing about the idea, whatever the numbers).

Plain NumPy and SciPy: the report is written in a process without a Keras
backend.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ALPHA",
    "BOOTSTRAP_RESAMPLES",
    "CONFIDENCE",
    "MIN_EFFECT",
    "decide",
    "geometric_mean",
    "holm",
    "ratio_ci",
    "welch",
]

ALPHA = 0.05
"""Family-wise significance level after Holm's correction."""

MIN_EFFECT = 1.5
"""Smallest error ratio (either way) called an effect."""

CONFIDENCE = 0.95
"""Level of the bootstrap confidence interval of the error ratio."""

BOOTSTRAP_RESAMPLES = 2000
"""Bootstrap resamples (seeded: the report is reproducible)."""


def _logs(values: Sequence[float], name: str) -> np.ndarray:
    a = np.asarray(list(values), dtype="float64")
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"`{name}` must be a non-empty list of errors. Received: {name}={values!r}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"`{name}` must hold positive finite errors. Received: {name}={values!r}")
    return np.log(a)


def geometric_mean(values: Sequence[float]) -> float:
    """``exp(mean(log(values)))`` of positive errors."""
    return float(np.exp(_logs(values, "values").mean()))


def welch(a: Sequence[float], b: Sequence[float]) -> dict:
    """Welch's t-test of ``log a`` against ``log b`` (two-sided).

    Args:
        a: errors of the variant, positive.
        b: errors of the reference, positive.

    Returns:
        ``{"t", "df", "p"}``; ``p`` is None when the test is undefined (fewer
        than two values in a sample, or both samples without spread).
    """
    from scipy import stats

    la, lb = _logs(a, "a"), _logs(b, "b")
    if la.size < 2 or lb.size < 2:
        return {"t": None, "df": None, "p": None}
    va, vb = la.var(ddof=1) / la.size, lb.var(ddof=1) / lb.size
    if va + vb == 0:
        return {"t": None, "df": None, "p": None}
    with warnings.catch_warnings():
        # scipy warns of precision loss when one sample has (almost) no spread; the test is still defined.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(la, lb, equal_var=False)
    df = (va + vb) ** 2 / (va**2 / (la.size - 1) + vb**2 / (lb.size - 1))
    return {"t": float(result.statistic), "df": float(df), "p": float(result.pvalue)}


def ratio_ci(
    a: Sequence[float],
    b: Sequence[float],
    confidence: float = CONFIDENCE,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict:
    """Ratio of geometric means ``gm(a) / gm(b)`` and its bootstrap interval.

    Args:
        a: errors of the variant, positive.
        b: errors of the reference, positive.
        confidence: level of the interval.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling.

    Returns:
        ``{"ratio", "low", "high"}``; the interval is None (both ends) when a
        sample has fewer than two values.
    """
    from scipy import stats

    la, lb = _logs(a, "a"), _logs(b, "b")
    ratio = float(np.exp(la.mean() - lb.mean()))
    if la.size < 2 or lb.size < 2:
        return {"ratio": ratio, "low": None, "high": None}

    def statistic(x, y, axis=-1):
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    result = stats.bootstrap(
        (la, lb),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return {"ratio": ratio, "low": float(np.exp(low)), "high": float(np.exp(high))}


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the input order.

    With the ``m`` defined p-values sorted, ``p_(i)`` becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``; a None (an undefined test)
    stays None and does not count in ``m``.
    """
    defined = [(p, i) for i, p in enumerate(p_values) if p is not None]
    m = len(defined)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(defined)):
        running = max(running, min(1.0, (m - rank) * float(p)))
        adjusted[i] = running
    return adjusted


def decide(
    ratio: float | None,
    p_corrected: float | None,
    baseline_met: bool | None,
    min_effect: float = MIN_EFFECT,
    alpha: float = ALPHA,
) -> str:
    """The verdict of one comparison.

    Args:
        ratio: ``gm(variant) / gm(reference)`` (below 1: the variant's errors
            are lower), or None.
        p_corrected: Holm-corrected p-value, or None (test undefined).
        baseline_met: whether the reference met its problem's target (None:
            no target, treated as met).
        min_effect: smallest ratio (either way) called an effect.
        alpha: significance level.

    Returns:
        ``"baseline unsolved"``, ``"better"``, ``"worse"`` or
        ``"inconclusive"``.
    """
    if baseline_met is False:
        return "baseline unsolved"
    if ratio is None or p_corrected is None or not math.isfinite(ratio) or p_corrected >= alpha:
        return "inconclusive"
    if ratio <= 1.0 / min_effect:
        return "better"
    if ratio >= min_effect:
        return "worse"
    return "inconclusive"
