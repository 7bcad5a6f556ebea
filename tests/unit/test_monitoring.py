from __future__ import annotations

import dataclasses
import datetime as dt

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
