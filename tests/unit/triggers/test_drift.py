"""The drift tests: a chi-square statistic per model input against the quintile bins of
the champion's reference, with a null measured on the reference's own windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from market_predictor.features import build_features
from market_predictor.triggers.base import Evidence
from market_predictor.triggers.drift import (
    Bins,
    DriftTrigger,
    chi_square,
    drift_tests,
    model_inputs,
    profile,
)
from market_predictor.triggers.family import per_test_level, trigger_count
from market_predictor.triggers.reference import DriftReference
from tests.unit.triggers.data import LEVEL, bars, stationary_bootstrap


def _daily_drift_flags(
    reference: DriftReference, prices: pd.DataFrame, first_day: int
) -> list[bool]:
    inputs = model_inputs(build_features(prices))
    level = per_test_level(0.01, 1, trigger_count(reference))
    dates = sorted(inputs["date"].unique())
    flags = []
    for day in dates[first_day:]:
        window = inputs[inputs["date"] <= day].tail(reference.window)
        flags.append(any(t.fired for t in drift_tests(reference, window, "AAA", level)))
    return flags


def test_drift_false_alarms_stay_under_five_percent_on_a_stationary_bootstrap(
    history: np.ndarray, reference: DriftReference
) -> None:
    flags = []
    for seed in (1, 2, 3):
        resampled = stationary_bootstrap(history, 300, seed)
        flags += _daily_drift_flags(reference, bars(resampled, "AAA", seed=seed), first_day=60)
    assert len(flags) > 600
    assert np.mean(flags) <= 0.05


def test_drift_detects_a_shifted_input_within_twenty_days(
    history: np.ndarray, reference: DriftReference
) -> None:
    returns = stationary_bootstrap(history, 300, 7)
    gaps = np.where(np.arange(300) >= 200, 0.02, 0.0)  # opens 2% off from day 200 on
    flags = _daily_drift_flags(reference, bars(returns, "AAA", gap=gaps, seed=7), first_day=0)
    inputs_start = 300 - len(flags)
    before = flags[: 200 - inputs_start]
    after = flags[200 - inputs_start :]
    assert np.mean(before) <= 0.05
    assert any(after[:20])


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
    bins = profile(np.array([0.0] * 5 + [1.0] * 5))
    edges = bins.edges
    assert edges == sorted(set(edges)) and set(edges) <= {0.0, 1.0}
    assert len(bins.fractions) == len(edges) + 1
    # The lowest edge is the smallest value: nothing lies below it.
    assert bins.fractions[0] == 0.0
    assert sum(bins.fractions) == pytest.approx(1.0)


def test_a_profiles_fractions_are_its_values_share_in_each_bin() -> None:
    values = np.arange(10.0)
    bins = profile(values)
    assert sum(bins.fractions) == pytest.approx(1.0)
    assert chi_square(values, np.asarray(bins.edges), np.asarray(bins.fractions)) == (
        pytest.approx(0.0)
    )


def test_a_profile_of_distinct_values_splits_them_into_equal_quintiles() -> None:
    assert profile(np.arange(100.0)).fractions == pytest.approx([0.2] * 5)


def _two_bin_reference(window: int = 5, inflation: float = 2.0) -> DriftReference:
    """Input x split at 0 for AAA and at 10 for symbols without a profile."""
    return DriftReference(
        inputs=["x"],
        window=window,
        symbols={"AAA": {"x": Bins(edges=[0.0], fractions=[0.5, 0.5])}},
        pooled={"x": Bins(edges=[10.0], fractions=[0.5, 0.5])},
        inflation={"x": inflation},
    )


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
    three = Bins(edges=[0.0, 10.0], fractions=[0.25, 0.5, 0.25])
    reference = reference.model_copy(update={"symbols": {"AAA": {"x": three}}})
    # Counts (0, 4, 0) against (1, 2, 1): 1 + 2 + 1.
    (result,) = drift_tests(reference, {"x": np.full(4, 5.0)}, "AAA", LEVEL)
    assert result.statistic == pytest.approx(4.0)
    assert result.p_value == pytest.approx(stats.chi2.sf(4.0, 2))


def test_an_input_without_a_measured_inflation_is_tested_against_the_plain_quantile() -> None:
    reference = _two_bin_reference()
    reference = reference.model_copy(update={"inflation": {}})
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


def test_an_input_with_too_few_days_does_not_stop_the_tests_of_the_inputs_after_it() -> None:
    reference = _two_bin_reference(window=5)
    bins = reference.symbols["AAA"]["x"]
    reference = reference.model_copy(
        update={"inputs": ["x", "y"], "symbols": {"AAA": {"x": bins, "y": bins}}}
    )
    days = {"x": np.full(5, np.nan), "y": np.array([1.0, -1.0, 1.0, -1.0, 1.0])}
    assert [result.test for result in drift_tests(reference, days, "AAA", LEVEL)] == ["drift:y"]


def _drift_reference(inflation: float, dispersion: float | None) -> DriftReference:
    """One input `x` in five equally likely bins (4 degrees of freedom), whose reference
    windows' statistic per degree of freedom had mean `inflation` and variance
    `dispersion` (None: a reference stored before the spread was measured)."""
    bins = Bins(edges=[1.0, 2.0, 3.0, 4.0], fractions=[0.2] * 5)
    return DriftReference(
        inputs=["x"],
        window=20,
        symbols={"AAA": {"x": bins}},
        pooled={"x": bins},
        inflation={"x": inflation},
        dispersion=None if dispersion is None else {"x": dispersion},
    )


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


def test_a_dispersion_stored_for_other_inputs_leaves_this_one_first_order() -> None:
    reference = _drift_reference(1.5, 2.0).model_copy(update={"dispersion": {"y": 2.0}})
    [result] = drift_tests(reference, _counts(13, 7, 0, 0, 0), "AAA", LEVEL)
    assert result.threshold == f"> {1.5 * stats.chi2.isf(LEVEL, 4):.3g}" and result.fired


def test_the_drift_trigger_runs_one_test_per_profiled_input_when_inputs_are_given() -> None:
    reference = _two_bin_reference()
    both = reference.model_copy(
        update={
            "inputs": ["x", "y"],
            "symbols": {"AAA": dict.fromkeys("xy", Bins(edges=[0.0], fractions=[0.5, 0.5]))},
        }
    )
    days = {"x": np.ones(4), "y": -np.ones(4)}
    trigger = DriftTrigger()
    assert (trigger.count(None), trigger.count(reference), trigger.count(both)) == (0, 1, 2)
    tests = trigger.run(Evidence({}, days, 0.8), both, "AAA", LEVEL)
    assert tests == drift_tests(both, days, "AAA", LEVEL)
    assert [t.test for t in tests] == ["drift:x", "drift:y"]
    assert trigger.run(Evidence({}, None, 0.8), both, "AAA", LEVEL) == []
    assert trigger.run(Evidence({}, days, 0.8), None, "AAA", LEVEL) == []
