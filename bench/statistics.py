"""Medians, percentiles and pair-by-pair ratios over benchmark samples.

Ratios are taken round by round (contestant A's figure in round r over contestant B's figure in
the same round r) and then the median of those ratios is reported: absolute times on a shared
machine drift between rounds, a ratio within one round mostly does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median; raises ValueError naming the problem on an empty sequence."""
    if not values:
        raise ValueError("median of no values: the figure has no samples")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in (0, 1]): the smallest value with at least that
    fraction of the samples at or below it. With fewer than 100 samples p99 is the maximum."""
    if not values:
        raise ValueError("percentile of no values: the figure has no samples")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"percentile fraction must be in (0, 1], got {fraction}")
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered))
    return float(ordered[rank - 1])


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float | None:
    """Median over rounds of ``numerators[r] / denominators[r]``.

    Rounds where either side is missing (NaN) or the denominator is zero are left out; None when
    no round is left. The two sequences must have one value per round each.
    """
    if len(numerators) != len(denominators):
        raise ValueError(
            f"paired ratio needs one value per round on each side, got {len(numerators)} "
            f"and {len(denominators)}"
        )
    ratios = [
        numerator / denominator
        for numerator, denominator in zip(numerators, denominators, strict=True)
        if not math.isnan(numerator) and not math.isnan(denominator) and denominator != 0
    ]
    return median(ratios) if ratios else None
