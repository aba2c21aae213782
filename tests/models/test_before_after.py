from __future__ import annotations

import pytest

from models.before_after import compare_before_after


def test_clear_drop_in_cycle_time() -> None:
    before = [100.0, 102, 98, 101, 99, 103, 97, 100]
    after = [50.0, 52, 48, 51, 49, 53, 47, 50]
    result = compare_before_after("cycle time", before, after)
    assert result.conclusion == "lower after"
    assert result.difference == pytest.approx(-50.0)
    assert result.ci_high is not None and result.ci_high < 0
    assert result.ci_low is not None and result.ci_low > -60


def test_noise_is_not_a_change() -> None:
    before = [10.0, 30, 10, 30, 10, 30, 10, 30]
    after = [30.0, 10, 30, 10, 30, 10, 30, 11]
    result = compare_before_after("error rate", before, after)
    assert result.conclusion == "no clear change"
    assert "cannot tell" in result.explanation


def test_too_few_days_says_so() -> None:
    result = compare_before_after("cost", [1.0, 2.0], [0.5] * 10)
    assert result.conclusion == "not enough data"
    assert result.ci_low is None
    assert "2 day(s) before" in result.explanation


def test_same_seed_same_interval() -> None:
    before, after = [float(i) for i in range(10)], [float(i) + 5 for i in range(10)]
    first = compare_before_after("x", before, after, seed=3)
    assert first == compare_before_after("x", before, after, seed=3)
    assert first.conclusion == "higher after"
