"""Tests of overlapping h-day errors: the long-run variance and the non-overlapping
subsample they use, their boundaries, and on simulated errors that are overlapping sums
of iid days, a false-alarm rate near the level (where tests that ignore the overlap
fire many times more often) and the detection of real breaks at five days."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from market_predictor.triggers.base import PERFORMANCE_WINDOW
from market_predictor.triggers.bias import bias_test
from market_predictor.triggers.coverage import coverage_test
from market_predictor.triggers.overlap import (
    LONGEST_TEST_WINDOW,
    MIN_NON_OVERLAPPING,
    ewc_long_run_variance,
    horizon_window,
    newest_non_overlapping,
    overlap_t,
)
from market_predictor.triggers.skill import skill_test
from tests.unit.triggers.overlap_data import h_day_errors

BONFERRONI = 0.01 / 60  # a day's 1% over 4 symbols x 15 tests


def test_the_long_run_variance_equals_a_hand_computed_value_on_four_days() -> None:
    a, b, c, d = 1.0, 3.0, 2.0, 6.0
    # Two cosines over four days: sqrt(2/4) cos(pi j (t - 1/2) / 4), t = 1..4.
    first = math.sqrt(0.5) * ((a - d) * math.cos(math.pi / 8) + (b - c) * math.cos(3 * math.pi / 8))
    second = math.sqrt(0.5) * math.cos(math.pi / 4) * (a - b - c + d)  # = (a - b - c + d) / 2
    expected = (first**2 + second**2) / 2
    assert expected == pytest.approx(4.98744, abs=1e-5)
    assert ewc_long_run_variance(np.array([a, b, c, d]), 2) == pytest.approx(expected)
    assert ewc_long_run_variance(np.array([a, b, c, d]), 1) == pytest.approx(first**2)


def test_with_every_cosine_the_long_run_variance_is_the_sample_variance() -> None:
    values = np.random.default_rng(1).normal(3.0, 2.0, 12)
    assert ewc_long_run_variance(values, 11) == pytest.approx(values.var(ddof=1))
    assert ewc_long_run_variance(values + 100.0, 11) == pytest.approx(values.var(ddof=1))


def test_the_overlap_t_is_the_mean_over_its_long_run_standard_error() -> None:
    values = np.array([0.3, -0.1, 0.8, 0.5, -0.4, 0.9, 0.2, 0.0, 1.1, -0.2] * 2)
    tested = overlap_t(values, 2)  # 20 two-day values: 10 non-overlapping, 5 cosines
    assert tested is not None
    n, cosines = 20, 5
    projections = [
        math.sqrt(2 / n)
        * sum(v * math.cos(math.pi * j * (t + 0.5) / n) for t, v in enumerate(values))
        for j in range(1, cosines + 1)
    ]
    long_run = sum(p * p for p in projections) / cosines
    assert tested.dof == cosines and tested.constant is False
    assert tested.statistic == pytest.approx(values.mean() / math.sqrt(long_run / n))


def test_the_same_value_every_day_is_a_sure_sign_or_none() -> None:
    assert overlap_t(np.full(30, 0.2), 3) == (math.inf, 5, True)
    assert overlap_t(np.full(30, -0.2), 3) == (-math.inf, 5, True)
    assert overlap_t(np.zeros(30), 3) == (0.0, 5, True)


def test_non_overlapping_errors_are_every_hth_counted_back_from_the_newest() -> None:
    values = np.arange(12.0)
    assert newest_non_overlapping(values, 5).tolist() == [6.0, 11.0]
    assert newest_non_overlapping(values, 3).tolist() == [2.0, 5.0, 8.0, 11.0]
    assert newest_non_overlapping(values, 1).tolist() == values.tolist()
    assert newest_non_overlapping(values, 13).size == 0


def test_each_horizon_reads_the_next_days_count_of_non_overlapping_errors_up_to_a_cap() -> None:
    assert horizon_window(1) == PERFORMANCE_WINDOW == 60
    assert horizon_window(2) == 120
    assert horizon_window(3) == horizon_window(5) == horizon_window(21) == LONGEST_TEST_WINDOW
    assert LONGEST_TEST_WINDOW == 180


def _sure_failures(n: int, horizon: int) -> dict[str, object]:
    """Every test's strongest evidence: a model 3x worse than persistence every day,
    no close inside the interval, every close above the median."""
    return {
        "coverage": coverage_test([False] * n, 0.8, BONFERRONI, horizon),
        "skill": skill_test(np.full(n, 3.0), np.ones(n), BONFERRONI, horizon),
        "bias": bias_test(np.linspace(0.5, 1.0, n), BONFERRONI, horizon),
    }


@pytest.mark.parametrize("horizon", [5, 21])
def test_too_few_non_overlapping_errors_is_no_test_not_a_false_alarm(horizon: int) -> None:
    short = MIN_NON_OVERLAPPING * horizon - 1  # 4 non-overlapping errors
    assert all(test is None for test in _sure_failures(short, horizon).values())
    assert all(test is not None for test in _sure_failures(short + 1, horizon).values())
    assert overlap_t(np.arange(short, dtype="float64"), horizon) is None
    assert overlap_t(np.arange(short + 1, dtype="float64"), horizon) is not None
    full = _sure_failures(LONGEST_TEST_WINDOW, horizon)
    assert all(test.fired for test in full.values())  # type: ignore[attr-defined]


def _fired_share(errors: dict[str, np.ndarray], level: float, horizon: int) -> dict[str, float]:
    """The share of simulated windows on which each test fired."""
    windows = errors["abs_error"].shape[0]
    fired = {"coverage": 0, "skill": 0, "bias": 0}
    for i in range(windows):
        tests = {
            "coverage": coverage_test(errors["inside_interval"][i], 0.8, level, horizon),
            "skill": skill_test(
                errors["abs_error"][i], errors["persistence_abs_error"][i], level, horizon
            ),
            "bias": bias_test(errors["scaled_error"][i], level, horizon),
        }
        for name, test in tests.items():
            assert test is not None
            fired[name] += test.fired
    return {name: count / windows for name, count in fired.items()}


@pytest.mark.parametrize("horizon", [5, 21])
def test_with_no_change_the_tests_fire_at_about_their_level_and_naive_ones_far_above(
    horizon: int,
) -> None:
    # 1,500 windows of 180 overlapping h-day errors: equal skill, exact 80% intervals,
    # no bias. The tests that ignore the overlap (the next day's, on the same errors)
    # fire 8-60 times as often.
    errors = h_day_errors(seed=11, windows=1500, n=LONGEST_TEST_WINDOW, horizon=horizon)
    level = 0.01
    honest = _fired_share(errors, level, horizon)
    naive = _fired_share(errors, level, 1)
    # 1,500 windows: at the level, 15 firings (sd about 4) expected at most.
    assert honest["coverage"] <= 2 * level  # exact but discrete: below the level
    assert level / 3 <= honest["skill"] <= 2 * level
    assert level / 3 <= honest["bias"] <= 2 * level
    assert all(share >= 6 * level for share in naive.values()), naive


def test_real_breaks_at_five_days_are_detected_at_a_bonferroni_level() -> None:
    # 20 windows of 180 five-day errors each: a median 2.5x as far off as
    # persistence's, an interval 0.4x the right width (coverage about 36%), a trend of
    # 0.5 daily standard deviations a day the median does not follow.
    skill_loss = h_day_errors(seed=3, windows=20, n=LONGEST_TEST_WINDOW, horizon=5, worse=5.0)
    narrow = h_day_errors(seed=3, windows=20, n=LONGEST_TEST_WINDOW, horizon=5, width=0.4)
    trend = h_day_errors(seed=3, windows=20, n=LONGEST_TEST_WINDOW, horizon=5, drift=0.5)
    assert _fired_share(skill_loss, BONFERRONI, 5)["skill"] >= 0.9
    assert _fired_share(narrow, BONFERRONI, 5)["coverage"] >= 0.9
    assert _fired_share(trend, BONFERRONI, 5)["bias"] >= 0.9
    no_change = h_day_errors(seed=3, windows=20, n=LONGEST_TEST_WINDOW, horizon=5)
    assert _fired_share(no_change, BONFERRONI, 5) == {"coverage": 0.0, "skill": 0.0, "bias": 0.0}


def test_the_skill_test_beyond_the_next_day_has_a_t_reference_with_its_cosines() -> None:
    errors = h_day_errors(seed=5, windows=1, n=100, horizon=5, worse=2.0)
    model, rival = errors["abs_error"][0], errors["persistence_abs_error"][0]
    result = skill_test(model, rival, BONFERRONI, 5)
    tested = overlap_t(model - rival, 5)
    assert result is not None and tested is not None
    assert tested.dof == 10  # 100 five-day errors: 20 non-overlapping, 10 cosines
    assert result.test == "skill:h5" and result.window == 100
    assert result.statistic == tested.statistic
    assert result.p_value == pytest.approx(stats.t.sf(tested.statistic, 10))
    assert result.threshold == f"> {stats.t.isf(BONFERRONI, 10):.3f} (t, 10 df)"
