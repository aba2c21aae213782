"""Before/after comparison of a KPI around a go-live date, with a bootstrap confidence interval.

Samples are per-day values (daily mean cycle time, daily error rate, daily cost per
transaction): days, not single runs, are the unit, so a burst of correlated runs does not
pass for many independent observations. Pure: numpy only, seeded, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_SAMPLES", "Comparison", "compare_before_after"]

MIN_SAMPLES = 7  # a week of days on each side before anything is concluded


@dataclass(frozen=True)
class Comparison:
    """Mean before and after, the difference (after - before) and its bootstrap interval."""

    metric: str
    n_before: int
    n_after: int
    mean_before: float | None
    mean_after: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    conclusion: str  # 'lower after', 'higher after', 'no clear change', 'not enough data'
    explanation: str


def compare_before_after(
    metric: str,
    before: Sequence[float],
    after: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 5000,
    seed: int = 0,
    min_samples: int = MIN_SAMPLES,
) -> Comparison:
    """Bootstrap the difference of means; say plainly when the data cannot support a conclusion."""
    b = np.asarray([x for x in before if x == x], dtype=float)  # drop NaN days
    a = np.asarray([x for x in after if x == x], dtype=float)
    mean_b = float(b.mean()) if b.size else None
    mean_a = float(a.mean()) if a.size else None
    if b.size < min_samples or a.size < min_samples:
        return Comparison(
            metric, int(b.size), int(a.size), mean_b, mean_a,
            None if mean_a is None or mean_b is None else mean_a - mean_b,
            None, None, confidence, "not enough data",
            f"{b.size} day(s) before and {a.size} after go-live; at least {min_samples} on "
            "each side are needed before this comparison means anything.",
        )  # fmt: skip
    rng = np.random.default_rng(seed)
    boot_b = rng.choice(b, size=(resamples, b.size), replace=True).mean(axis=1)
    boot_a = rng.choice(a, size=(resamples, a.size), replace=True).mean(axis=1)
    diffs = boot_a - boot_b
    tail = (1.0 - confidence) / 2.0
    low, high = (float(v) for v in np.quantile(diffs, [tail, 1.0 - tail]))
    difference = float(mean_a - mean_b)  # type: ignore[operator]
    pct = round(confidence * 100)
    if low > 0:
        conclusion = "higher after"
        explanation = (
            f"{metric} rose by {difference:.4g} ({pct}% interval {low:.4g} to {high:.4g})."
        )
    elif high < 0:
        conclusion = "lower after"
        explanation = (
            f"{metric} fell by {-difference:.4g} ({pct}% interval {low:.4g} to {high:.4g})."
        )
    else:
        conclusion = "no clear change"
        explanation = (
            f"The {pct}% interval of the change ({low:.4g} to {high:.4g}) includes zero: the "
            "data cannot tell a real change from noise."
        )
    return Comparison(
        metric, int(b.size), int(a.size), mean_b, mean_a, difference, low, high,
        confidence, conclusion, explanation,
    )  # fmt: skip
