from __future__ import annotations

import math

import pytest

from bench.statistics import median, paired_ratio, percentile


def test_median_of_odd_and_even_counts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_median_of_nothing_says_so() -> None:
    with pytest.raises(ValueError, match="no samples"):
        median([])


def test_percentile_is_nearest_rank() -> None:
    values = [float(value) for value in range(1, 201)]  # 1..200
    assert percentile(values, 0.99) == 198.0
    assert percentile(values, 0.5) == 100.0
    assert percentile([5.0, 1.0, 3.0], 0.99) == 5.0  # fewer than 100 samples: the maximum


def test_percentile_rejects_a_fraction_out_of_range() -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 0.0)
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 99)


def test_paired_ratio_is_the_median_of_ratios_round_by_round() -> None:
    # Round by round the ratio is 2, 4, 3 although the medians of each side give 2.0 / 1.0.
    assert paired_ratio([2.0, 8.0, 3.0], [1.0, 2.0, 1.0]) == 3.0


def test_paired_ratio_skips_rounds_without_a_value_or_with_a_zero_denominator() -> None:
    assert paired_ratio([math.nan, 4.0, 9.0], [1.0, 0.0, 3.0]) == 3.0
    assert paired_ratio([math.nan], [1.0]) is None


def test_paired_ratio_needs_one_value_per_round_on_each_side() -> None:
    with pytest.raises(ValueError, match="one value per round"):
        paired_ratio([1.0, 2.0], [1.0])
