"""The bias test: a two-sided t-test that the served median's errors, over the width of
its interval, have mean zero."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence
from market_predictor.triggers.bias import BiasTrigger, bias_test
from tests.unit.triggers.data import LEVEL


def test_bias_waits_for_enough_realised_errors_and_ignores_missing_ones() -> None:
    errors = [0.5, -0.3] * 10
    assert bias_test(errors[:-1], LEVEL) is None
    assert bias_test([*errors[:-1], np.nan, np.inf], LEVEL) is None
    result = bias_test(errors, LEVEL)
    assert result is not None and result.window == MIN_REALISED_ERRORS


def test_bias_is_a_two_sided_t_test_of_the_mean_scaled_error() -> None:
    rng = np.random.default_rng(3)
    errors = rng.normal(0.3, 1.0, 40)
    result = bias_test(errors, LEVEL)
    expected = stats.ttest_1samp(errors, 0.0)
    assert result is not None
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.threshold == f"|t| > {stats.t.isf(LEVEL / 2, 39):.3f}"
    mirrored = bias_test(-errors, LEVEL)
    assert mirrored is not None
    assert mirrored.statistic == pytest.approx(-result.statistic)
    assert mirrored.p_value == pytest.approx(result.p_value)


def test_bias_fires_exactly_when_its_p_value_is_below_the_level() -> None:
    base = np.tile([1.0, -1.0], 15)
    for shift in np.linspace(0.0, 1.5, 31):
        for sign in (1.0, -1.0):
            result = bias_test(sign * (base + shift), LEVEL)
            assert result is not None and result.p_value is not None
            assert result.fired == (result.p_value < LEVEL)
    assert not bias_test(base, LEVEL).fired  # type: ignore[union-attr]
    assert bias_test(base + 1.5, LEVEL).fired  # type: ignore[union-attr]


def test_the_same_error_every_day_is_a_sure_bias_unless_it_is_zero() -> None:
    above = bias_test([0.25] * 20, LEVEL)
    below = bias_test([-0.25] * 20, LEVEL)
    none = bias_test([0.0] * 20, LEVEL)
    assert above is not None and above.fired and above.statistic > 0 and above.p_value == 0.0
    assert below is not None and below.fired and below.statistic < 0
    assert none is not None and not none.fired and none.statistic == 0 and none.p_value == 1.0


def test_the_bias_trigger_tests_the_scaled_errors() -> None:
    errors = np.tile([0.5, -0.3], 15)
    evidence = Evidence({"scaled_error": errors}, None, 0.8)
    [own] = BiasTrigger().run(evidence, None, "AAA", LEVEL)
    assert own == bias_test(errors, LEVEL)
    short = Evidence({"scaled_error": errors[:5]}, None, 0.8)
    assert BiasTrigger().run(short, None, "AAA", LEVEL) == []


def test_beyond_the_next_day_bias_is_the_t_test_of_every_hth_error_from_the_newest() -> None:
    errors = np.random.default_rng(4).normal(0.2, 1.0, 103)
    chosen = errors[[7 + 5 * i for i in range(20)]]  # 103 // 5: the newest and 19 before it
    result = bias_test(errors, LEVEL, horizon=5)
    expected = stats.ttest_1samp(chosen, 0.0)
    assert result is not None
    assert result.test == "bias:h5" and result.window == 20
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.threshold == f"|t| > {stats.t.isf(LEVEL / 2, 19):.3f} (1 in every 5 errors)"
    evidence = Evidence({"scaled_error": errors}, None, 0.8, horizon=5)
    assert BiasTrigger().run(evidence, None, "AAA", LEVEL) == [result]


def test_a_missing_error_beyond_the_next_day_leaves_its_place_empty() -> None:
    # A day without an error (a zero-width interval) is dropped after the choice of the
    # non-overlapping days, so the others stay the newest's non-overlapping ones.
    errors = np.random.default_rng(6).normal(0.0, 1.0, 31)
    errors[-1] = np.nan  # the newest: days 25, 20, 15, 10 and 5 are left
    result = bias_test(errors, LEVEL, horizon=5)
    expected = stats.ttest_1samp(errors[[5, 10, 15, 20, 25]], 0.0)
    assert result is not None and result.window == 5
    assert result.statistic == pytest.approx(expected.statistic)
    assert bias_test(errors[6:], LEVEL, horizon=5) is None  # 25 days: 4 left


def test_two_day_bias_already_tests_only_every_other_error() -> None:
    errors = np.array([0.9, 0.1, -0.4, 0.3, 0.2, -0.6, 1.1, 0.5, -0.3, 0.8])
    result = bias_test(errors, LEVEL, horizon=2)
    expected = stats.ttest_1samp(errors[1::2], 0.0)  # the newest and every 2nd before it
    assert result is not None and result.test == "bias:h2" and result.window == 5
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.threshold.endswith(" (1 in every 2 errors)")


def test_a_mean_error_of_exactly_zero_is_no_bias_even_at_level_one() -> None:
    # At level 1 the t quantile is 0: every bias fires but none at all (its p-value is 1).
    balanced = bias_test([0.5, -0.5] * 10, 1.0)
    assert balanced is not None and balanced.statistic == 0.0 and balanced.p_value == 1.0
    assert not balanced.fired
    leaning = bias_test([0.5, -0.5] * 9 + [0.5, -0.4], 1.0)
    assert leaning is not None and leaning.statistic > 0 and leaning.fired
