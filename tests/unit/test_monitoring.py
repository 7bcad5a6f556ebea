from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.features import build_features, feature_profile
from market_predictor.monitoring import (
    RetrainPolicy,
    drift_trigger,
    feature_drift,
    monitor,
    realised_errors,
    rolling_skill,
    served_errors,
)
from market_predictor.pipeline import replay
from market_predictor.store import FeatureStore


def _predictions(rows: list[tuple[str, str, float, float, float, float]]) -> pd.DataFrame:
    """(symbol, target_date, last_close, predicted_close, lower, upper)"""
    frame = pd.DataFrame(
        rows, columns=["symbol", "target_date", "last_close", "predicted_close", "lower", "upper"]
    )
    frame["target_date"] = pd.to_datetime(frame["target_date"])
    frame["as_of_date"] = frame["target_date"] - pd.Timedelta(days=1)
    frame["model_name"] = "m"
    frame["model_version"] = "1"
    frame["predicted_return"] = np.log(frame["predicted_close"] / frame["last_close"])
    return frame


def _prices(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["symbol", "date", "close"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _errors(abs_errors: list[float], persistence: list[float], inside: list[bool]) -> pd.DataFrame:
    days = pd.bdate_range("2013-01-01", periods=len(abs_errors))
    return pd.DataFrame(
        {
            "symbol": "AAA",
            "target_date": days,
            "model_version": "1",
            "abs_error": abs_errors,
            "persistence_abs_error": persistence,
            "inside_interval": inside,
            "direction_correct": [True] * len(abs_errors),
        }
    )


def test_realised_error_row_measures_model_and_persistence_against_the_actual() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 102.0, 98.0, 104.0)])
    errors = realised_errors(predictions, _prices([("AAA", "2013-01-03", 101.0)]))
    row = errors.iloc[0]
    assert row["actual_close"] == 101.0
    assert row["abs_error"] == pytest.approx(1.0)
    assert row["pct_error"] == pytest.approx(100 / 101)
    assert row["persistence_abs_error"] == pytest.approx(1.0)
    assert bool(row["inside_interval"])
    assert bool(row["direction_correct"])


def test_actual_outside_the_interval_and_wrong_direction_are_flagged() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 101.0, 99.0, 103.0)])
    row = realised_errors(predictions, _prices([("AAA", "2013-01-03", 95.0)])).iloc[0]
    assert not bool(row["inside_interval"])
    assert not bool(row["direction_correct"])


def test_no_change_forecast_calls_no_direction() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 100.0, 98.0, 102.0)])
    row = realised_errors(predictions, _prices([("AAA", "2013-01-03", 101.0)])).iloc[0]
    assert pd.isna(row["direction_correct"])


def test_predictions_without_an_actual_yet_produce_no_error_row() -> None:
    predictions = _predictions(
        [
            ("AAA", "2013-01-03", 100.0, 101.0, 99.0, 103.0),
            ("AAA", "2013-01-04", 101.0, 101.0, 99.0, 103.0),
        ]
    )
    errors = realised_errors(predictions, _prices([("AAA", "2013-01-03", 100.5)]))
    assert list(errors["target_date"]) == [pd.Timestamp("2013-01-03")]


def test_served_errors_keep_the_newest_model_version_per_day() -> None:
    errors = pd.concat(
        [_errors([1.0], [1.0], [True]), _errors([5.0], [1.0], [True]).assign(model_version="10")]
    )
    errors = pd.concat([errors, _errors([3.0], [1.0], [True]).assign(model_version="9")])
    served = served_errors(errors)
    assert len(served) == 1
    assert served.iloc[0]["model_version"] == "10"  # numeric, not string, order


def test_rolling_skill_uses_only_the_last_window_of_errors() -> None:
    # 10 old terrible days, then 20 days with half the persistence error.
    errors = _errors([9.0] * 10 + [1.0] * 20, [1.0] * 10 + [2.0] * 20, [False] * 10 + [True] * 20)
    skill = rolling_skill(errors, window=20)
    assert skill["n"] == 20
    assert skill["mae"] == pytest.approx(1.0)
    assert skill["persistence_mae"] == pytest.approx(2.0)
    assert skill["mase"] == pytest.approx(0.5)
    assert skill["coverage"] == pytest.approx(1.0)
    assert skill["directional_accuracy"] == pytest.approx(1.0)


def test_rolling_skill_of_nothing_is_nan_not_an_error() -> None:
    skill = rolling_skill(_errors([], [], []))
    assert skill["n"] == 0
    assert np.isnan(skill["mase"])


def _policy() -> RetrainPolicy:
    return RetrainPolicy.from_settings(Settings())


def _skill(n: int, mase: float, coverage: float) -> dict[str, float]:
    return {"n": n, "mase": mase, "coverage": coverage}


def test_mase_above_threshold_recommends_retraining() -> None:
    reason = _policy().reason(_skill(20, 1.2, 0.8), float("nan"), None)
    assert "MASE 1.200 > 1.05" in reason


def test_coverage_outside_band_recommends_retraining() -> None:
    policy = _policy()
    assert "coverage 0.50" in policy.reason(_skill(20, 1.0, 0.5), float("nan"), None)
    assert "coverage 1.00" in policy.reason(_skill(20, 1.0, 1.0), float("nan"), None)
    assert policy.reason(_skill(20, 1.0, 0.8), float("nan"), None) == ""


def test_skill_cannot_trigger_before_the_minimum_number_of_errors() -> None:
    assert (
        dataclasses.replace(_policy(), min_errors=10).reason(
            _skill(9, 3.0, 0.0), float("nan"), None
        )
        == ""
    )


def test_drift_above_threshold_recommends_retraining_at_any_count() -> None:
    reason = _policy().reason(_skill(0, float("nan"), float("nan")), 0.4, "volatility_21")
    assert reason == "input drift: PSI of volatility_21 0.400 > 0.25"


def test_thresholds_come_from_settings(settings: Settings) -> None:
    settings.retrain_mase_threshold = 2.0
    settings.retrain_psi_threshold = 1.0
    policy = RetrainPolicy.from_settings(settings)
    assert policy.reason(_skill(20, 1.5, 0.8), 0.5, "log_return") == ""


def _random_walk(symbol: str, days: int, volatility: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, volatility, days)))
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": pd.bdate_range("2010-01-01", periods=days),
            "open": close,
            "high": close * (1 + volatility),
            "low": close * (1 - volatility),
            "close": close,
            "volume": rng.integers(1_000, 2_000, days).astype("float64"),
        }
    )


def test_drift_is_small_in_the_training_regime_and_large_after_a_volatility_shift() -> None:
    calm = _random_walk("AAA", 800, 0.01, seed=1)
    profile = feature_profile(build_features(calm))
    since = dt.date(2010, 1, 1) + dt.timedelta(days=100)
    same = feature_drift(profile, _random_walk("SAME", 300, 0.01, seed=2), since)
    wild = feature_drift(profile, _random_walk("WILD", 300, 0.05, seed=3), since)
    assert same["log_return"] < 0.1
    assert wild["log_return"] > 0.25
    assert drift_trigger(wild, ())[0] > 0.25


def test_regime_features_are_measured_but_cannot_trigger() -> None:
    psi = {"volatility_21": 3.0, "volatility_5": 2.0, "high_low_range": 1.0, "log_return": 0.05}
    ignored = Settings().drift_ignored_features
    assert drift_trigger(psi, ignored) == (0.05, "log_return")
    assert np.isnan(drift_trigger({"volatility_21": 3.0}, ignored)[0])


def test_no_profile_means_no_drift_measurement() -> None:
    assert feature_drift({}, _random_walk("AAA", 50, 0.01, seed=1), dt.date(2010, 1, 1)) == {}


def test_monitor_before_any_prediction_writes_nothing(ops_prices: Settings) -> None:
    summary = monitor(ops_prices)
    assert summary.message.startswith("nothing to monitor yet")
    assert not FeatureStore.from_settings(ops_prices).summary.exists()


def test_rolling_mase_triggers_only_once_ten_errors_are_realised(ops_home: Settings) -> None:
    # The persistence champion has MASE exactly 1, so a 0.5 threshold must trip, but
    # only when the rolling window holds MIN_REALISED_ERRORS errors.
    settings = ops_home.model_copy(
        update={"retrain_mase_threshold": 0.5, "retrain_psi_threshold": 100.0}
    )
    days = replay(settings, start=dt.date(2012, 12, 3), end=dt.date(2012, 12, 17), retrain=False)
    flags = [day.retrain_recommended for day in days.days]
    assert flags == [False] * 10 + [True]
    latest = monitor(settings, as_of=dt.date(2012, 12, 17))
    assert latest.symbols["AAPL"].n == 10
    assert latest.symbols["AAPL"].mase == pytest.approx(1.0)
    assert "rolling MASE 1.000 > 0.5" in latest.reasons["AAPL"]
    rows = FeatureStore.from_settings(settings).errors.read()
    assert len(rows) == 20
    assert (rows["abs_error"] == rows["persistence_abs_error"]).all()


def test_which_features_may_trigger_on_drift_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from market_predictor.config import Settings

    monkeypatch.setenv("MPP_DRIFT_IGNORED_FEATURES", "log_return")
    ignored = Settings().drift_ignored_features
    assert ignored == ["log_return"]
    assert drift_trigger({"log_return": 0.9, "volatility_21": 0.4}, ignored) == (
        0.4,
        "volatility_21",
    )


BAND = RetrainPolicy(
    mase_threshold=1.1, coverage_low=0.6, coverage_high=0.9, psi_threshold=0.3, min_errors=5
)
NO_DRIFT = (float("nan"), None)


@pytest.mark.parametrize("edge", [BAND.coverage_low, BAND.coverage_high])
def test_coverage_exactly_on_either_edge_of_the_band_is_within_limits(edge: float) -> None:
    assert BAND.reason(_skill(20, 1.0, edge), *NO_DRIFT) == ""


@pytest.mark.parametrize(
    "coverage",
    [math.nextafter(BAND.coverage_low, 0.0), math.nextafter(BAND.coverage_high, 1.0)],
    ids=["just below the band", "just above the band"],
)
def test_coverage_just_outside_the_band_recommends_retraining(coverage: float) -> None:
    assert "interval coverage" in BAND.reason(_skill(20, 1.0, coverage), *NO_DRIFT)


def test_realised_coverage_of_thirteen_in_twenty_sits_on_a_065_edge() -> None:
    # 13 of the last 20 actuals inside the interval is exactly 0.65, end to end.
    errors = _errors([1.0] * 20, [1.0] * 20, [True] * 13 + [False] * 7)
    skill = rolling_skill(errors, window=20)
    assert skill["coverage"] == 0.65
    policy = RetrainPolicy(
        mase_threshold=1.05, coverage_low=0.65, coverage_high=0.95, psi_threshold=0.25
    )
    assert policy.reason(skill, *NO_DRIFT) == ""
    narrower = RetrainPolicy(
        mase_threshold=1.05, coverage_low=0.66, coverage_high=0.95, psi_threshold=0.25
    )
    assert "coverage" in narrower.reason(skill, *NO_DRIFT)


def test_mase_exactly_at_the_threshold_does_not_trigger_and_just_above_does() -> None:
    assert BAND.reason(_skill(20, BAND.mase_threshold, 0.8), *NO_DRIFT) == ""
    above = math.nextafter(BAND.mase_threshold, 2.0)
    assert "rolling MASE" in BAND.reason(_skill(20, above, 0.8), *NO_DRIFT)


def test_psi_exactly_at_the_threshold_does_not_trigger_and_just_above_does() -> None:
    skill = _skill(0, float("nan"), float("nan"))
    assert BAND.reason(skill, BAND.psi_threshold, "log_return") == ""
    above = math.nextafter(BAND.psi_threshold, 1.0)
    assert "PSI of log_return" in BAND.reason(skill, above, "log_return")


def test_skill_triggers_from_exactly_the_minimum_number_of_errors() -> None:
    bad = {"mase": 3.0, "coverage": 0.0}
    assert BAND.reason({"n": BAND.min_errors - 1, **bad}, *NO_DRIFT) == ""
    reason = BAND.reason({"n": BAND.min_errors, **bad}, *NO_DRIFT)
    assert "rolling MASE" in reason and "interval coverage" in reason


def test_every_reason_is_reported_together() -> None:
    reason = BAND.reason(_skill(20, 2.0, 0.1), 0.9, "log_return")
    assert reason.count("; ") == 2


def test_undefined_skill_never_triggers() -> None:
    assert BAND.reason(_skill(20, float("nan"), float("nan")), *NO_DRIFT) == ""


def test_policy_from_settings_reads_each_threshold(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={
            "retrain_mase_threshold": 1.3,
            "retrain_coverage_low": 0.5,
            "retrain_coverage_high": 0.7,
            "retrain_psi_threshold": 0.8,
        }
    )
    policy = RetrainPolicy.from_settings(tuned)
    assert policy.reason(_skill(20, 1.3, 0.5), 0.8, "log_return") == ""
    assert policy.reason(_skill(20, 1.3, 0.7), 0.8, "log_return") == ""
    assert "MASE" in policy.reason(_skill(20, 1.31, 0.6), *NO_DRIFT)
    assert "coverage" in policy.reason(_skill(20, 1.0, 0.49), *NO_DRIFT)
    assert "coverage" in policy.reason(_skill(20, 1.0, 0.71), *NO_DRIFT)
    assert "PSI" in policy.reason(_skill(0, 1.0, 0.6), 0.81, "log_return")
