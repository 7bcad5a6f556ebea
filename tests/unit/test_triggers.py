"""Retrain-trigger tests: thresholds that depend on the sample size, a bounded
false-alarm rate on data with no change, and detection of a real one in time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from market_predictor.features import build_features
from market_predictor.triggers import (
    MIN_REALISED_ERRORS,
    SCALE_WINDOW,
    coverage_test,
    drift_reference,
    drift_tests,
    model_inputs,
    per_test_level,
    scale_test,
    skill_test,
    strongest,
    trigger_count,
)

LEVEL = 0.001


def test_each_test_level_shares_the_days_alpha_over_symbols_and_tests() -> None:
    assert per_test_level(0.01, 4, 7) == pytest.approx(0.01 / 28)
    assert per_test_level(0.01, 1, 2) == pytest.approx(0.005)


def test_performance_tests_wait_for_enough_realised_errors() -> None:
    few = MIN_REALISED_ERRORS - 1
    assert coverage_test([False] * few, 0.8, LEVEL) is None
    assert skill_test([9.0] * few, [1.0] * few, LEVEL) is None
    assert coverage_test([False] * MIN_REALISED_ERRORS, 0.8, LEVEL) is not None


def test_coverage_threshold_depends_on_the_window_length() -> None:
    # 70% coverage: noise over 30 days, a failure over 600.
    short = coverage_test([True] * 21 + [False] * 9, 0.8, LEVEL)
    long = coverage_test([True] * 420 + [False] * 180, 0.8, LEVEL)
    assert short is not None and long is not None
    assert short.statistic == long.statistic == pytest.approx(0.7)
    assert not short.fired and long.fired
    assert short.window == 30 and long.window == 600
    assert long.threshold.startswith("outside ")


def test_coverage_fires_on_the_first_count_beyond_the_acceptance_bounds() -> None:
    n = 60
    accepted = [
        k
        for k in range(n + 1)
        if not coverage_test([True] * k + [False] * (n - k), 0.8, LEVEL).fired
    ]  # type: ignore[union-attr]
    low, high = min(accepted), max(accepted)
    assert accepted == list(range(low, high + 1))
    assert 0 < low < 48 < high < 60
    bounds = coverage_test([True] * low + [False] * (n - low), 0.8, LEVEL)
    assert bounds is not None
    assert bounds.threshold == f"outside {low / n:.3f}-{high / n:.3f}"


def test_skill_fires_only_when_the_model_is_significantly_worse_than_persistence() -> None:
    rng = np.random.default_rng(3)
    persistence = np.abs(rng.normal(0, 1, 60))
    same = skill_test(persistence + rng.normal(0, 0.05, 60), persistence, LEVEL)
    worse = skill_test(persistence * 1.5 + 0.1, persistence, LEVEL)
    better = skill_test(persistence * 0.5, persistence, LEVEL)
    assert same is not None and not same.fired
    assert worse is not None and worse.fired and worse.statistic > 0
    assert better is not None and not better.fired


def test_a_persistence_median_has_no_skill_to_lose() -> None:
    result = skill_test([1.0, 2.0] * 15, [1.0, 2.0] * 15, LEVEL)
    assert result is not None
    assert result.statistic == 0.0 and not result.fired


def _bars(
    returns: np.ndarray,
    symbol: str,
    gap: float | np.ndarray = 0.0,
    seed: int = 0,
    wick: float | np.ndarray = 0.004,
) -> pd.DataFrame:
    """Daily bars closing on `returns`; `wick` is the scale of the intraday excursions
    beyond the open and close."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(returns))
    previous = np.concatenate([[100.0], close[:-1]])
    opens = previous * np.exp(returns * 0.3 + gap)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": pd.bdate_range("2010-01-04", periods=returns.size),
            "open": opens,
            "high": np.maximum(opens, close)
            * np.exp(np.abs(rng.normal(0, 1, returns.size)) * wick),
            "low": np.minimum(opens, close)
            * np.exp(-np.abs(rng.normal(0, 1, returns.size)) * wick),
            "close": close,
            "volume": np.exp(rng.normal(14, 0.3, returns.size)),
        }
    )


def _garch_returns(days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(6, days) * np.sqrt(4 / 6)
    out, variance = np.empty(days), 1e-4
    for t in range(days):
        out[t] = np.sqrt(variance) * shocks[t]
        variance = 2e-6 + 0.08 * out[t] ** 2 + 0.9 * variance
    return out


def _stationary_bootstrap(source: np.ndarray, length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out, position = np.empty(length), rng.integers(source.size)
    for i in range(length):
        if rng.random() < 1 / 20:
            position = rng.integers(source.size)
        out[i] = source[position % source.size]
        position += 1
    return out


def _daily_drift_flags(reference: dict, prices: pd.DataFrame, first_day: int) -> list[bool]:
    inputs = model_inputs(build_features(prices))
    level = per_test_level(0.01, 1, trigger_count(reference))
    dates = sorted(inputs["date"].unique())
    flags = []
    for day in dates[first_day:]:
        window = inputs[inputs["date"] <= day].tail(reference["window"])
        flags.append(any(t.fired for t in drift_tests(reference, window, "AAA", level)))
    return flags


@pytest.fixture(scope="module")
def history() -> np.ndarray:
    return _garch_returns(2500, seed=5)


@pytest.fixture(scope="module")
def reference(history: np.ndarray) -> dict:
    return drift_reference(build_features(_bars(history[:800], "AAA")))


def test_drift_false_alarms_stay_under_five_percent_on_a_stationary_bootstrap(
    history: np.ndarray, reference: dict
) -> None:
    flags = []
    for seed in (1, 2, 3):
        resampled = _stationary_bootstrap(history, 300, seed)
        flags += _daily_drift_flags(reference, _bars(resampled, "AAA", seed=seed), first_day=60)
    assert len(flags) > 600
    assert np.mean(flags) <= 0.05


def test_drift_detects_a_shifted_input_within_twenty_days(
    history: np.ndarray, reference: dict
) -> None:
    returns = _stationary_bootstrap(history, 300, 7)
    gaps = np.where(np.arange(300) >= 200, 0.02, 0.0)  # opens 2% off from day 200 on
    flags = _daily_drift_flags(reference, _bars(returns, "AAA", gap=gaps, seed=7), first_day=0)
    inputs_start = 300 - len(flags)
    before = flags[: 200 - inputs_start]
    after = flags[200 - inputs_start :]
    assert np.mean(before) <= 0.05
    assert any(after[:20])


def test_the_reference_covers_recent_training_years_and_measures_its_own_null(
    history: np.ndarray,
) -> None:
    reference = drift_reference(build_features(_bars(history[:1200], "AAA")))
    assert reference["reference_days"] == 504
    assert pd.Timestamp(reference["first_date"]) > pd.Timestamp("2010-01-04") + pd.Timedelta(
        days=365
    )
    assert set(reference["symbols"]) == {"AAA"}
    # Overlapping volatility ratios are serially dependent: their null is inflated.
    assert reference["inflation"]["volatility_ratio"] > reference["inflation"]["return_z"]
    assert min(reference["inflation"].values()) >= 1.0


def test_the_reported_test_is_the_most_significant_firing_one() -> None:
    weak = coverage_test([True] * 40 + [False] * 20, 0.8, LEVEL)
    strong = coverage_test([True] * 20 + [False] * 40, 0.8, LEVEL)
    quiet = coverage_test([True] * 48 + [False] * 12, 0.8, LEVEL)
    assert strongest([quiet, weak, strong]) == strong  # type: ignore[list-item]
    assert strongest([quiet]) == quiet  # type: ignore[list-item]
    assert strongest([]) is None


def test_a_model_worse_by_the_same_amount_every_day_fires() -> None:
    result = skill_test([3.0] * 30, [1.0] * 30, LEVEL)
    assert result is not None and result.fired and result.p_value == 0.0


# -- scale --------------------------------------------------------------------------------


def _scale_reference(mean: float, sd: float) -> dict:
    null = {"mean": mean, "sd": sd}
    return {"scale": {"input": "range_z", "window": SCALE_WINDOW, "symbols": {}, "pooled": null}}


def _ranges(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"range_z": values})


def test_scale_fires_only_strictly_above_its_threshold() -> None:
    # A reference whose weeks never vary: the threshold is its one window mean, 1.0.
    reference = _scale_reference(mean=0.0, sd=0.0)
    at = scale_test(reference, _ranges([1.0] * SCALE_WINDOW), "AAA", LEVEL)
    above = scale_test(reference, _ranges([1.0] * (SCALE_WINDOW - 1) + [1.0 + 1e-9]), "AAA", LEVEL)
    assert at is not None and above is not None
    assert at.statistic == 1.0 and at.threshold == "> 1"
    assert not at.fired and at.p_value == 1.0
    assert above.fired and above.p_value == 0.0


def test_scale_threshold_widens_with_the_references_spread_and_a_stricter_level() -> None:
    week = _ranges([2.0] * SCALE_WINDOW)
    calm = scale_test(_scale_reference(0.0, 0.1), week, "AAA", LEVEL)
    wild = scale_test(_scale_reference(0.0, 0.4), week, "AAA", LEVEL)
    lenient = scale_test(_scale_reference(0.0, 0.2), week, "AAA", 0.05)
    strict = scale_test(_scale_reference(0.0, 0.2), week, "AAA", 1e-6)
    assert calm is not None and wild is not None and lenient is not None and strict is not None
    assert calm.fired and not wild.fired
    assert lenient.fired and not strict.fired
    assert calm.p_value < wild.p_value  # type: ignore[operator]


def test_scale_reads_only_the_last_week_and_waits_for_a_full_one() -> None:
    reference = _scale_reference(mean=0.0, sd=0.1)
    wide_then_calm = scale_test(reference, _ranges([9.0] * 15 + [1.0] * SCALE_WINDOW), "AAA", LEVEL)
    calm_then_wide = scale_test(reference, _ranges([1.0] * 15 + [9.0] * SCALE_WINDOW), "AAA", LEVEL)
    assert wide_then_calm is not None and not wide_then_calm.fired
    assert calm_then_wide is not None and calm_then_wide.fired
    assert calm_then_wide.window == SCALE_WINDOW
    assert scale_test(reference, _ranges([9.0] * (SCALE_WINDOW - 1)), "AAA", LEVEL) is None


def test_a_reference_without_a_scale_null_skips_the_scale_test(reference: dict) -> None:
    older = {key: value for key, value in reference.items() if key != "scale"}
    week = model_inputs(build_features(_bars(np.full(60, 0.001), "AAA")))
    assert scale_test(older, week, "AAA", LEVEL) is None
    assert trigger_count(reference) == trigger_count(older) + 1


def _iid_returns(days: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_t(5, days) * 0.01 * np.sqrt(3 / 5)


def _daily_scale_flags(reference: dict, prices: pd.DataFrame) -> list[bool]:
    inputs = model_inputs(build_features(prices))
    level = per_test_level(0.01, 1, trigger_count(reference))
    flags = []
    for day in sorted(inputs["date"].unique()):
        result = scale_test(reference, inputs[inputs["date"] <= day], "AAA", level)
        flags.append(result is not None and result.fired)
    return flags


def test_scale_fires_within_a_week_of_the_ranges_tripling_and_not_before() -> None:
    reference = drift_reference(build_features(_bars(_iid_returns(800, seed=11), "AAA")))
    returns = _iid_returns(300, seed=12)
    tripled = np.where(np.arange(300) >= 200, 3.0, 1.0)
    prices = _bars(returns * tripled, "AAA", seed=12, wick=0.004 * tripled)
    flags = _daily_scale_flags(reference, prices)
    first = 300 - len(flags)  # the first rows have no 21-day volatility yet
    assert not any(flags[: 200 - first])
    assert any(flags[200 - first : 200 - first + SCALE_WINDOW])


def test_clustered_volatility_widens_the_scale_null(reference: dict) -> None:
    iid = drift_reference(build_features(_bars(_iid_returns(800, seed=11), "AAA")))
    garch, calm = reference["scale"]["symbols"]["AAA"], iid["scale"]["symbols"]["AAA"]
    assert garch["sd"] > calm["sd"] > 0


def test_scale_false_alarms_stay_under_five_percent_on_a_stationary_bootstrap(
    history: np.ndarray, reference: dict
) -> None:
    flags = []
    for seed in (1, 2, 3):
        resampled = _stationary_bootstrap(history, 300, seed)
        flags += _daily_scale_flags(reference, _bars(resampled, "AAA", seed=seed))[60:]
    assert len(flags) > 600
    assert np.mean(flags) <= 0.05


def test_a_day_without_symbols_keeps_the_whole_alpha_for_one_test() -> None:
    assert per_test_level(0.01, 0, 7) == pytest.approx(0.01)


def _gaps_of_mean_one(n: int) -> tuple[list[float], list[float]]:
    """Model errors exceeding persistence's by 0 and 2 on alternate days (mean 1)."""
    return [1.0, 3.0] * (n // 2), [1.0] * n


def test_skill_statistic_is_the_small_sample_corrected_diebold_mariano_t() -> None:
    model, persistence = _gaps_of_mean_one(20)
    result = skill_test(model, persistence, LEVEL)
    assert result is not None
    # mean 1, s.d. sqrt(20/19): DM = 1 / (sd / sqrt(20)), HLN factor sqrt(19/20).
    statistic = 1 / (np.sqrt(20 / 19) / np.sqrt(20)) * np.sqrt(19 / 20)
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(stats.t.sf(statistic, 19))
    assert result.window == 20 and result.test == "skill"


def test_skill_fires_exactly_when_its_p_value_is_below_the_level() -> None:
    model, persistence = _gaps_of_mean_one(20)
    p_value = skill_test(model, persistence, LEVEL).p_value  # type: ignore[union-attr]
    above = skill_test(model, persistence, p_value * 1.01)
    below = skill_test(model, persistence, p_value * 0.99)
    assert above is not None and above.fired
    assert below is not None and not below.fired
    critical = float(above.threshold.removeprefix("> "))
    assert critical == pytest.approx(above.statistic, rel=0.01)


def test_skill_ignores_days_without_an_error_and_counts_only_the_rest() -> None:
    model, persistence = _gaps_of_mean_one(20)
    clean = skill_test(model, persistence, LEVEL)
    with_gaps = skill_test([np.nan, *model, 2.0], [1.0, *persistence, np.nan], LEVEL)
    assert clean is not None and with_gaps is not None
    assert with_gaps.window == 20 and with_gaps.statistic == clean.statistic
    assert skill_test([np.nan, *model[1:]], persistence, LEVEL) is None  # 19 days left


def test_a_model_better_by_the_same_amount_every_day_does_not_fire() -> None:
    result = skill_test([1.0] * 30, [3.0] * 30, LEVEL)
    assert result is not None and not result.fired
    assert result.statistic == -np.inf and result.p_value == 1.0


def test_coverage_reports_the_hit_rate_and_its_two_sided_binomial_p_value() -> None:
    result = coverage_test([True] * 40 + [False] * 10, 0.8, LEVEL)
    assert result is not None
    assert result.statistic == pytest.approx(0.8) and result.window == 50
    assert result.p_value == 1.0  # at the nominal rate exactly: nothing to reject
    low = coverage_test([True] * 30 + [False] * 20, 0.8, LEVEL)
    assert low is not None
    assert low.p_value == pytest.approx(2 * stats.binom.cdf(30, 50, 0.8))
    assert low.test == "coverage"
    high = coverage_test([True] * 49 + [False], 0.8, LEVEL)  # P(X >= 49), both tails
    assert high is not None
    assert high.p_value == pytest.approx(2 * (stats.binom.pmf(49, 50, 0.8) + 0.8**50))


def test_an_untestable_result_ranks_after_any_with_a_p_value() -> None:
    quiet = coverage_test([True] * 45 + [False] * 15, 0.8, LEVEL)
    assert quiet is not None and not quiet.fired and quiet.p_value < 1.0  # type: ignore[operator]
    unknown = dataclasses.replace(quiet, test="drift:x", p_value=None)
    assert strongest([unknown, quiet]) == quiet
    firing = dataclasses.replace(unknown, fired=True)
    assert strongest([quiet, firing]) == firing


def test_a_persistence_median_gives_no_evidence_even_at_a_lax_level() -> None:
    result = skill_test([1.0, 2.0] * 15, [1.0, 2.0] * 15, 0.5)  # critical value 0
    assert result is not None
    assert result.statistic == 0.0 and not result.fired  # at the critical value: no fire
    assert result.p_value is not None and result.p_value >= 0.5


def test_a_model_worse_by_a_small_constant_every_day_fires_with_certainty() -> None:
    result = skill_test([1.25] * 30, [1.0] * 30, LEVEL)
    assert result is not None and result.fired
    assert result.statistic == np.inf and result.p_value == 0.0


def test_a_result_without_a_p_value_ranks_level_with_one_at_p_one() -> None:
    exact = coverage_test([True] * 48 + [False] * 12, 0.8, LEVEL)  # at nominal: p = 1
    assert exact is not None and exact.p_value == 1.0
    unknown = dataclasses.replace(exact, test="drift:x", p_value=None)
    assert strongest([unknown, exact]) == unknown
    assert strongest([exact, unknown]) == exact


def test_scale_p_value_is_the_normal_tail_of_the_log_window_mean() -> None:
    wide = scale_test(_scale_reference(0.0, 0.2), _ranges([2.0] * SCALE_WINDOW), "AAA", LEVEL)
    narrow = scale_test(_scale_reference(0.0, 0.5), _ranges([0.5] * SCALE_WINDOW), "AAA", LEVEL)
    assert wide is not None and narrow is not None
    assert wide.test == "scale:range_z" and wide.statistic == pytest.approx(2.0)
    assert wide.p_value == pytest.approx(stats.norm.sf(np.log(2.0) / 0.2))
    assert narrow.p_value == pytest.approx(stats.norm.sf(np.log(0.5) / 0.5))
    assert not narrow.fired


def test_a_week_without_any_range_does_not_fire_the_scale_test() -> None:
    still = scale_test(_scale_reference(0.0, 0.2), _ranges([0.0] * SCALE_WINDOW), "AAA", LEVEL)
    assert still is not None and not still.fired
    assert still.statistic == 0.0 and still.p_value == 1.0
