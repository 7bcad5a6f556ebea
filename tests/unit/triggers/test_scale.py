"""The scale test: the last week's mean range in units of the volatility the interval was
scaled by, one-sided against the reference's own weeks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from market_predictor.features import build_features
from market_predictor.triggers.base import Evidence
from market_predictor.triggers.drift import model_inputs
from market_predictor.triggers.family import per_test_level, trigger_count
from market_predictor.triggers.reference import DriftReference, build_reference
from market_predictor.triggers.scale import (
    SCALE_WINDOW,
    ScaleNull,
    ScaleReference,
    ScaleTrigger,
    scale_null,
    scale_test,
    window_log_means,
)
from tests.unit.triggers.data import LEVEL, bars, iid_returns, stationary_bootstrap


def _scale_reference(mean: float, sd: float) -> ScaleReference:
    null = ScaleNull(mean=mean, sd=sd)
    return ScaleReference(input="range_z", window=SCALE_WINDOW, symbols={}, pooled=null)


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


def test_a_reference_without_a_scale_null_skips_the_scale_test(
    reference: DriftReference,
) -> None:
    older = reference.model_copy(update={"scale": None})
    week = Evidence({}, model_inputs(build_features(bars(np.full(60, 0.001), "AAA"))), 0.8)
    assert ScaleTrigger().run(week, older, "AAA", LEVEL) == []
    assert [t.test for t in ScaleTrigger().run(week, reference, "AAA", LEVEL)] == ["scale:range_z"]
    assert trigger_count(reference) == trigger_count(older) + 1


def _built(prices: pd.DataFrame) -> DriftReference:
    reference = build_reference(build_features(prices))
    assert reference is not None
    return reference


def _daily_scale_flags(reference: DriftReference, prices: pd.DataFrame) -> list[bool]:
    inputs = model_inputs(build_features(prices))
    level = per_test_level(0.01, 1, trigger_count(reference))
    flags = []
    for day in sorted(inputs["date"].unique()):
        assert reference.scale is not None
        result = scale_test(reference.scale, inputs[inputs["date"] <= day], "AAA", level)
        flags.append(result is not None and result.fired)
    return flags


def test_scale_fires_within_a_week_of_the_ranges_tripling_and_not_before() -> None:
    reference = _built(bars(iid_returns(800, seed=11), "AAA"))
    returns = iid_returns(300, seed=12)
    tripled = np.where(np.arange(300) >= 200, 3.0, 1.0)
    prices = bars(returns * tripled, "AAA", seed=12, wick=0.004 * tripled)
    flags = _daily_scale_flags(reference, prices)
    first = 300 - len(flags)  # the first rows have no 21-day volatility yet
    assert not any(flags[: 200 - first])
    assert any(flags[200 - first : 200 - first + SCALE_WINDOW])


def test_clustered_volatility_widens_the_scale_null(reference: DriftReference) -> None:
    iid = _built(bars(iid_returns(800, seed=11), "AAA"))
    assert reference.scale is not None and iid.scale is not None
    garch, calm = reference.scale.symbols["AAA"], iid.scale.symbols["AAA"]
    assert garch.sd > calm.sd > 0


def test_scale_false_alarms_stay_under_five_percent_on_a_stationary_bootstrap(
    history: np.ndarray, reference: DriftReference
) -> None:
    flags = []
    for seed in (1, 2, 3):
        resampled = stationary_bootstrap(history, 300, seed)
        flags += _daily_scale_flags(reference, bars(resampled, "AAA", seed=seed))[60:]
    assert len(flags) > 600
    assert np.mean(flags) <= 0.05


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


def test_window_log_means_need_a_full_window_and_drop_non_positive_means() -> None:
    assert window_log_means(np.array([1.0]), 2).size == 0
    assert window_log_means(np.array([3.0, 5.0]), 2).tolist() == [pytest.approx(np.log(4.0))]
    # Means 2, 0, 1: a run of zero ranges has no log and is left out.
    logs = window_log_means(np.array([4.0, 0.0, 0.0, 2.0]), 2)
    assert logs.tolist() == [pytest.approx(np.log(2.0)), pytest.approx(0.0)]


def test_the_scale_null_is_the_mean_and_sample_spread_of_the_log_week_means() -> None:
    week = SCALE_WINDOW
    # One week mean each: 1 and e^2 (log 0 and 2); a missing day is skipped, a week
    # of zero ranges has no log.
    null = scale_null(
        [
            np.array([np.nan, *[1.0] * week]),
            np.full(week, np.exp(2.0)),
            np.zeros(week),
        ]
    )
    assert null.mean == pytest.approx(1.0)
    assert null.sd == pytest.approx(np.sqrt(2.0))  # sample s.d. of (0, 2)


def test_scale_tests_a_symbol_against_its_own_null_and_a_new_one_against_the_pooled() -> None:
    scale = _scale_reference(0.0, 0.2).model_copy(
        update={"symbols": {"AAA": ScaleNull(mean=float(np.log(4.0)), sd=0.2)}}
    )
    week = _ranges([2.0] * SCALE_WINDOW)
    own = scale_test(scale, week, "AAA", LEVEL)
    new = scale_test(scale, week, "NEW", LEVEL)
    assert own is not None and new is not None
    assert own.p_value == pytest.approx(stats.norm.sf((np.log(2.0) - np.log(4.0)) / 0.2))
    assert new.p_value == pytest.approx(stats.norm.sf(np.log(2.0) / 0.2))
    assert not own.fired and new.fired


def test_the_scale_trigger_counts_and_runs_one_test_only_with_a_scale_null(
    reference: DriftReference,
) -> None:
    trigger = ScaleTrigger()
    older = reference.model_copy(update={"scale": None})
    assert (trigger.count(None), trigger.count(older), trigger.count(reference)) == (0, 0, 1)
    week = Evidence({}, _ranges([1.0] * SCALE_WINDOW), 0.8)
    assert reference.scale is not None
    assert trigger.run(week, reference, "AAA", LEVEL) == [
        scale_test(reference.scale, _ranges([1.0] * SCALE_WINDOW), "AAA", LEVEL)
    ]
    assert trigger.run(Evidence({}, None, 0.8), reference, "AAA", LEVEL) == []
    assert trigger.run(week, None, "AAA", LEVEL) == []
    short = Evidence({}, _ranges([1.0] * (SCALE_WINDOW - 1)), 0.8)
    assert trigger.run(short, reference, "AAA", LEVEL) == []
