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
    _STRIDE,
    DRIFT_INPUTS,
    MIN_REALISED_ERRORS,
    SCALE_WINDOW,
    _profile,
    _scale_null,
    _window_log_means,
    bias_test,
    chi_square,
    coverage_test,
    drift_reference,
    drift_tests,
    is_current_reference,
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


# -- drift statistics on hand-computed inputs ----------------------------------------------


def test_a_value_on_a_bin_edge_counts_in_the_bin_above_it() -> None:
    halves = np.array([0.5, 0.5])
    # One value below the edge and one on it: one per bin, exactly as expected.
    assert chi_square(np.array([-1.0, 0.0]), np.array([0.0]), halves) == 0.0
    # Both on or above it: counts (0, 2) against (1, 1).
    assert chi_square(np.array([0.0, 1.0]), np.array([0.0]), halves) == 2.0


def test_the_chi_square_counts_every_bin_even_an_empty_top_one() -> None:
    thirds = np.full(3, 1 / 3)
    # Counts (3, 0, 0) against (1, 1, 1): 4 + 1 + 1.
    statistic = chi_square(np.full(3, -1.0), np.array([0.0, 1.0]), thirds)
    assert statistic == pytest.approx(6.0)


def test_a_value_in_a_bin_the_reference_never_saw_is_a_large_finite_statistic() -> None:
    statistic = chi_square(np.array([1.0]), np.array([0.0]), np.array([1.0, 0.0]))
    assert np.isfinite(statistic) and statistic > 1e3


def test_a_profile_of_tied_values_has_distinct_edges_and_puts_ties_above_them() -> None:
    profile = _profile(np.array([0.0] * 5 + [1.0] * 5))
    edges = profile["edges"]
    assert edges == sorted(set(edges)) and set(edges) <= {0.0, 1.0}
    assert len(profile["fractions"]) == len(edges) + 1
    # The lowest edge is the smallest value: nothing lies below it.
    assert profile["fractions"][0] == 0.0
    assert sum(profile["fractions"]) == pytest.approx(1.0)


def test_a_profiles_fractions_are_its_values_share_in_each_bin() -> None:
    values = np.arange(10.0)
    profile = _profile(values)
    assert sum(profile["fractions"]) == pytest.approx(1.0)
    assert chi_square(values, np.asarray(profile["edges"]), np.asarray(profile["fractions"])) == (
        pytest.approx(0.0)
    )


def _features(symbol: str, **inputs: list[float] | np.ndarray) -> pd.DataFrame:
    """Feature rows whose model inputs (model_inputs) are `inputs` exactly: a 21-day
    volatility of 1 makes each normalised input its raw feature; a leading row, whose
    previous volatility is unknown, is dropped. Inputs not given are 0, 1, 2, ..."""
    days = len(next(iter(inputs.values())))
    default = np.arange(days, dtype="float64")
    column = {
        "return_z": "log_return",
        "gap_z": "overnight_gap",
        "range_z": "high_low_range",
        "volatility_ratio": "volatility_5",
        "volume_change": "volume_change",
    }
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": pd.bdate_range("2011-01-03", periods=days + 1),
            "volatility_21": 1.0,
            **{
                column[name]: np.concatenate([[1.0], inputs.get(name, default)])
                for name in DRIFT_INPUTS
            },
        }
    )


def test_a_symbol_needs_two_windows_of_rows_to_get_a_profile() -> None:
    window = 5
    features = pd.concat(
        [
            _features("AAA", return_z=np.arange(2.0 * window)),
            _features("BBB", return_z=np.arange(2.0 * window - 1)),
        ]
    )
    reference = drift_reference(features, reference_days=100, window=window)
    assert set(reference["symbols"]) == {"AAA"}
    assert set(reference["scale"]["symbols"]) == {"AAA"}
    short = _features("BBB", return_z=np.arange(2.0 * window - 1))
    assert drift_reference(short, reference_days=100, window=window) == {}


def test_the_reference_profiles_only_each_symbols_last_reference_days() -> None:
    old, recent = np.full(10, 100.0), np.arange(10.0) / 10
    features = _features("AAA", return_z=np.concatenate([old, recent]))
    reference = drift_reference(features, reference_days=10, window=5)
    edges = reference["symbols"]["AAA"]["return_z"]["edges"]
    assert edges and max(edges) < 1.0
    first_recent = features["date"].iloc[1 + old.size]  # after the dropped leading row
    assert reference["first_date"] == first_recent.date().isoformat()
    assert reference["last_date"] == features["date"].iloc[-1].date().isoformat()
    # Too few recent rows for two windows: nothing to profile, whatever came before.
    assert drift_reference(features, reference_days=9, window=5) == {}


def test_each_symbol_gets_its_own_bins_and_new_symbols_the_pooled_ones() -> None:
    low, high = np.arange(10.0) / 10, 100 + np.arange(10.0) / 10
    features = pd.concat([_features("LOW", return_z=low), _features("HIGH", return_z=high)])
    reference = drift_reference(features, reference_days=100, window=5)
    assert max(reference["symbols"]["LOW"]["return_z"]["edges"]) < 1.0
    assert min(reference["symbols"]["HIGH"]["return_z"]["edges"]) > 100.0
    pooled = reference["pooled"]["return_z"]["edges"]
    assert min(pooled) < 1.0 and max(pooled) > 100.0


def test_windows_matching_their_profile_leave_the_chi_square_null_uninflated() -> None:
    # Every 5-day window holds each of 0..4 once, the profile's own mix: statistic 0.
    periodic = np.tile(np.arange(5.0), 4)
    inputs = dict.fromkeys(DRIFT_INPUTS, periodic)
    reference = drift_reference(_features("AAA", **inputs), reference_days=100, window=5)
    assert reference["inflation"] == dict.fromkeys(DRIFT_INPUTS, 1.0)


def test_inflation_is_the_mean_window_statistic_per_degree_of_freedom_over_all_symbols() -> None:
    window = 5
    steps = 3
    # A rise then a plateau: windows far from the whole's mix, the last one farthest.
    trend = np.concatenate([np.arange(float(steps * _STRIDE)), np.full(window, 100.0)])
    periodic = np.tile(np.arange(5.0), trend.size // 5 + 1)[: trend.size]
    features = pd.concat([_features("TREND", return_z=trend), _features("FLAT", return_z=periodic)])
    reference = drift_reference(features, reference_days=100, window=window)
    profile = reference["symbols"]["TREND"]["return_z"]
    edges, fractions = np.asarray(profile["edges"]), np.asarray(profile["fractions"])
    # Windows every _STRIDE rows, the last one ending on the last row.
    starts = [step * _STRIDE for step in range(steps + 1)]
    trend_ratios = [
        chi_square(trend[s : s + window], edges, fractions) / edges.size for s in starts
    ]
    flat = reference["symbols"]["FLAT"]["return_z"]
    flat_ratios = [
        chi_square(
            periodic[s : s + window], np.asarray(flat["edges"]), np.asarray(flat["fractions"])
        )
        / len(flat["edges"])
        for s in starts
    ]
    assert np.mean(trend_ratios) != np.mean(trend_ratios[:-1])  # the last one counts
    assert reference["inflation"]["return_z"] == pytest.approx(np.mean(trend_ratios + flat_ratios))
    assert reference["inflation"]["return_z"] > 1.0


def test_window_log_means_need_a_full_window_and_drop_non_positive_means() -> None:
    assert _window_log_means(np.array([1.0]), 2).size == 0
    assert _window_log_means(np.array([3.0, 5.0]), 2).tolist() == [pytest.approx(np.log(4.0))]
    # Means 2, 0, 1: a run of zero ranges has no log and is left out.
    logs = _window_log_means(np.array([4.0, 0.0, 0.0, 2.0]), 2)
    assert logs.tolist() == [pytest.approx(np.log(2.0)), pytest.approx(0.0)]


def test_the_scale_null_is_the_mean_and_sample_spread_of_the_log_week_means() -> None:
    week = SCALE_WINDOW
    # One week mean each: 1 and e^2 (log 0 and 2); a missing day is skipped, a week
    # of zero ranges has no log.
    null = _scale_null(
        [
            np.array([np.nan, *[1.0] * week]),
            np.full(week, np.exp(2.0)),
            np.zeros(week),
        ]
    )
    assert null["mean"] == pytest.approx(1.0)
    assert null["sd"] == pytest.approx(np.sqrt(2.0))  # sample s.d. of (0, 2)


def test_the_reference_measures_a_scale_null_per_symbol_and_pooled() -> None:
    days = 20
    features = pd.concat(
        [
            _features("ONE", range_z=np.ones(days)),
            _features("E2", range_z=np.full(days, np.exp(2.0))),
            _features("SHORT", range_z=np.full(9, 1e6)),  # too short to profile: left out
        ]
    )
    scale = drift_reference(features, reference_days=100, window=5)["scale"]
    assert scale["symbols"]["ONE"] == {"mean": pytest.approx(0.0), "sd": 0.0}
    assert scale["symbols"]["E2"] == {"mean": pytest.approx(2.0), "sd": pytest.approx(0.0)}
    weeks = 2 * (days - SCALE_WINDOW + 1)  # log means 0 and 2, half each
    assert scale["pooled"]["mean"] == pytest.approx(1.0)
    assert scale["pooled"]["sd"] == pytest.approx(np.sqrt(weeks / (weeks - 1)))


def _two_bin_reference(window: int = 5, inflation: float = 2.0) -> dict:
    """Input x split at 0 for AAA and at 10 for symbols without a profile."""
    return {
        "inputs": ["x"],
        "window": window,
        "symbols": {"AAA": {"x": {"edges": [0.0], "fractions": [0.5, 0.5]}}},
        "pooled": {"x": {"edges": [10.0], "fractions": [0.5, 0.5]}},
        "inflation": {"x": inflation},
    }


def test_drift_uses_the_symbols_own_bins_and_the_pooled_ones_for_a_new_symbol() -> None:
    values = {"x": np.array([1.0, 1.0, 1.0, 11.0])}
    (own,) = drift_tests(_two_bin_reference(), values, "AAA", LEVEL)
    (new,) = drift_tests(_two_bin_reference(), values, "NEW", LEVEL)
    assert own.statistic == 4.0  # counts (0, 4) against (2, 2)
    assert new.statistic == 1.0  # counts (3, 1) against (2, 2)
    assert own.test == new.test == "drift:x" and own.window == new.window == 4


def test_drift_fires_above_the_inflated_chi_square_quantile() -> None:
    values = {"x": np.array([1.0, 1.0, 1.0, 1.0])}  # statistic 4, 2 after inflation
    p_value = stats.chi2.sf(4.0 / 2.0, 1)
    (result,) = drift_tests(_two_bin_reference(inflation=2.0), values, "AAA", LEVEL)
    assert result.p_value == pytest.approx(p_value)
    assert result.threshold == f"> {2.0 * stats.chi2.isf(LEVEL, 1):.3g}"
    (lax,) = drift_tests(_two_bin_reference(inflation=2.0), values, "AAA", p_value * 1.01)
    (strict,) = drift_tests(_two_bin_reference(inflation=2.0), values, "AAA", p_value * 0.99)
    assert lax.fired and not strict.fired
    # Without the inflation the same counts are far beyond that level's quantile.
    (plain,) = drift_tests(_two_bin_reference(inflation=1.0), values, "AAA", p_value * 0.99)
    assert plain.fired and plain.p_value == pytest.approx(stats.chi2.sf(4.0, 1))


def test_a_drift_statistic_exactly_at_its_threshold_does_not_fire() -> None:
    quantile = stats.chi2.isf(LEVEL, 1)
    inflation = 4.0 / quantile
    assert inflation * quantile == 4.0  # the threshold is the statistic, to the last bit
    reference = _two_bin_reference(inflation=inflation)
    (result,) = drift_tests(reference, {"x": np.ones(4)}, "AAA", LEVEL)
    assert result.statistic == 4.0 and not result.fired
    assert result.p_value == pytest.approx(LEVEL)


def test_drift_degrees_of_freedom_are_the_number_of_edges() -> None:
    reference = _two_bin_reference(inflation=1.0)
    reference["symbols"]["AAA"]["x"] = {"edges": [0.0, 10.0], "fractions": [0.25, 0.5, 0.25]}
    # Counts (0, 4, 0) against (1, 2, 1): 1 + 2 + 1.
    (result,) = drift_tests(reference, {"x": np.full(4, 5.0)}, "AAA", LEVEL)
    assert result.statistic == pytest.approx(4.0)
    assert result.p_value == pytest.approx(stats.chi2.sf(4.0, 2))


def test_an_input_without_a_measured_inflation_is_tested_against_the_plain_quantile() -> None:
    reference = _two_bin_reference()
    reference["inflation"] = {}
    (result,) = drift_tests(reference, {"x": np.ones(4)}, "AAA", LEVEL)
    assert result.p_value == pytest.approx(stats.chi2.sf(4.0, 1))


def test_drift_drops_missing_days_and_needs_half_a_window_of_the_rest() -> None:
    reference = _two_bin_reference(window=5)  # half a window: 2 days
    gappy = {"x": np.array([np.nan, 1.0, np.inf, -np.inf, -1.0])}
    (result,) = drift_tests(reference, gappy, "AAA", LEVEL)
    assert result.window == 2 and result.statistic == 0.0  # one day in each bin
    assert (
        drift_tests(reference, {"x": np.array([np.nan, 1.0, np.nan, np.nan])}, "AAA", LEVEL) == []
    )


# -- the drift null's spread (second-order correction) -------------------------------------


def _drift_reference(inflation: float, dispersion: float | None) -> dict:
    """One input `x` in five equally likely bins (4 degrees of freedom), whose reference
    windows' statistic per degree of freedom had mean `inflation` and variance
    `dispersion` (None: a reference stored before the spread was measured)."""
    profile = {"edges": [1.0, 2.0, 3.0, 4.0], "fractions": [0.2] * 5}
    reference = {
        "inputs": ["x"],
        "window": 20,
        "symbols": {"AAA": {"x": profile}},
        "pooled": {"x": profile},
        "inflation": {"x": inflation},
    }
    if dispersion is not None:
        reference["dispersion"] = {"x": dispersion}
    return reference


def _counts(*counts: int) -> pd.DataFrame:
    """20 values with `counts` of them in each of the five bins (expected: 4 each)."""
    return pd.DataFrame({"x": np.repeat([0.5, 1.5, 2.5, 3.5, 4.5], counts)})


def test_an_over_dispersed_null_raises_the_drift_threshold_to_its_scaled_chi_square() -> None:
    # Windows whose statistic has mean 1.5 x 4 and variance 2 x 16: c * chi2(nu) with the
    # same two moments has c * nu = 6 and 2 c^2 nu = 32.
    scale = 32 / (2 * 6)
    shape = 6 / scale
    expected = scale * stats.chi2.isf(LEVEL, shape)
    first_order = 1.5 * stats.chi2.isf(LEVEL, 4)
    assert expected > first_order
    # Counts (13, 7, 0, 0, 0): statistic (81 + 9 + 16 + 16 + 16) / 4 = 34.5, between them.
    window = _counts(13, 7, 0, 0, 0)
    [spread] = drift_tests(_drift_reference(1.5, 2.0), window, "AAA", LEVEL)
    [mean_only] = drift_tests(_drift_reference(1.5, None), window, "AAA", LEVEL)
    assert spread.statistic == mean_only.statistic == pytest.approx(34.5)
    assert first_order < 34.5 < expected
    assert spread.threshold == f"> {expected:.3g}" and not spread.fired
    assert mean_only.threshold == f"> {first_order:.3g}" and mean_only.fired
    assert spread.p_value == pytest.approx(stats.chi2.sf(34.5 / scale, shape))
    assert spread.p_value > LEVEL > mean_only.p_value


def test_a_null_no_wider_than_chi_square_keeps_the_first_order_threshold() -> None:
    # Variance 2/4 per degree of freedom is chi-square(4)'s own; a smaller one (windows
    # more alike than independent days) must not lower the threshold below it either.
    first_order = stats.chi2.isf(LEVEL, 4)
    for dispersion in (0.5, 0.1):
        [result] = drift_tests(
            _drift_reference(1.0, dispersion), _counts(4, 4, 4, 4, 4), "AAA", LEVEL
        )
        assert result.threshold == f"> {first_order:.3g}"
        assert result.statistic == 0.0 and result.p_value == pytest.approx(1.0)


def test_a_drift_test_fires_exactly_when_its_p_value_is_below_the_level() -> None:
    reference = _drift_reference(1.5, 2.0)
    for counts in ((13, 7, 0, 0, 0), (16, 4, 0, 0, 0), (20, 0, 0, 0, 0), (6, 2, 4, 4, 4)):
        [result] = drift_tests(reference, _counts(*counts), "AAA", LEVEL)
        assert result.p_value is not None
        assert result.fired == (result.p_value < LEVEL)


def test_serially_dependent_inputs_have_a_null_wider_than_chi_square(history: np.ndarray) -> None:
    reference = drift_reference(build_features(_bars(history[:1200], "AAA")))
    chi_square_dispersion = 2 / 4  # variance of chi2(4) / 4 per degree of freedom squared
    # Overlapping 5/21-day volatility ratios and clustered ranges repeat across days.
    assert reference["dispersion"]["volatility_ratio"] > 2 * chi_square_dispersion
    assert reference["dispersion"]["range_z"] > 2 * chi_square_dispersion


def test_a_profile_of_distinct_values_splits_them_into_equal_quintiles() -> None:
    assert _profile(np.arange(100.0))["fractions"] == pytest.approx([0.2] * 5)


def test_a_short_symbol_does_not_stop_the_profiling_of_the_symbols_after_it() -> None:
    features = pd.concat(
        [_features("SHORT", return_z=np.arange(9.0)), _features("LONG", return_z=np.arange(10.0))]
    )
    reference = drift_reference(features, reference_days=100, window=5)
    assert set(reference["symbols"]) == {"LONG"}


def test_an_input_with_too_few_days_does_not_stop_the_tests_of_the_inputs_after_it() -> None:
    reference = _two_bin_reference(window=5)
    reference["inputs"] = ["x", "y"]
    reference["symbols"]["AAA"]["y"] = reference["symbols"]["AAA"]["x"]
    days = {"x": np.full(5, np.nan), "y": np.array([1.0, -1.0, 1.0, -1.0, 1.0])}
    assert [result.test for result in drift_tests(reference, days, "AAA", LEVEL)] == ["drift:y"]


def _window_ratios(values: np.ndarray, profile: dict, window: int) -> list[float]:
    """Each full window's chi-square per degree of freedom (one per bin edge), every
    _STRIDE rows."""
    edges, fractions = np.asarray(profile["edges"]), np.asarray(profile["fractions"])
    return [
        chi_square(values[start : start + window], edges, fractions) / edges.size
        for start in range(0, values.size - window + 1, _STRIDE)
    ]


def test_the_reference_stores_the_sample_variance_of_its_window_statistics() -> None:
    window = 5
    values = np.array([0.0, 1, 2, 3, 4, 9, 9, 9, 8, 7, 5, 5, 6, 6, 6])  # three windows
    reference = drift_reference(_features("AAA", return_z=values), reference_days=100, window=5)
    ratios = _window_ratios(values, reference["symbols"]["AAA"]["return_z"], window)
    assert len(ratios) == 3 and len(set(ratios)) > 1
    assert reference["dispersion"]["return_z"] == pytest.approx(np.var(ratios, ddof=1))


def test_a_spread_needs_two_windows() -> None:
    values = np.arange(10.0)
    two = drift_reference(_features("AAA", return_z=values), reference_days=100, window=5)
    assert "return_z" in two["dispersion"]
    # One window has no spread to measure: nothing is stored (NaN is not JSON).
    one = drift_reference(_features("AAA", return_z=values[:8]), reference_days=100, window=4)
    assert "return_z" in one["inflation"] and "return_z" not in one["dispersion"]


def test_the_null_counts_full_windows_only_and_one_degree_of_freedom_per_edge() -> None:
    window = 5
    # 19 rows: full windows start at 0, 5 and 10; rows 15-18 are too few for a fourth.
    # Three early -1s among 0s: every inner quintile is 0, a single bin edge.
    values = np.concatenate([[-1.0] * 3, np.zeros(16)])
    reference = drift_reference(_features("AAA", return_z=values), reference_days=100, window=5)
    profile = reference["symbols"]["AAA"]["return_z"]
    assert profile["edges"] == [0.0]
    ratios = _window_ratios(values, profile, window)
    assert len(ratios) == 3
    assert reference["inflation"]["return_z"] == pytest.approx(np.mean(ratios))


# -- bias ------------------------------------------------------------------------------------


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


def test_a_model_without_a_reference_runs_the_three_performance_tests() -> None:
    assert trigger_count(None) == 3


def test_a_reference_built_by_this_code_is_current(history: np.ndarray) -> None:
    reference = drift_reference(build_features(_bars(history[:300], "AAA")))
    assert is_current_reference(reference)
    assert not is_current_reference({key: v for key, v in reference.items() if key != "version"})
