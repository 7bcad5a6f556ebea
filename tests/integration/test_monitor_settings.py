"""`monitor()` acts on every setting it reads: the skill thresholds, the coverage band,
the drift threshold, the features allowed to trigger on drift, and the model name.

The forecasts are written straight into the predictions table, so each test knows the
exact rolling MASE (1: the forecast is the last close) and coverage (13 of 20 inside).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.monitoring import monitor
from market_predictor.store import FeatureStore, schemas
from tests.fixtures.ops import OPS_SYMBOLS, TRAINED_UNTIL

FORECASTS = 20
INSIDE = 13  # of FORECASTS: coverage 0.65 exactly
COVERAGE = INSIDE / FORECASTS
QUIET = {  # limits nothing here can reach
    "retrain_mase_threshold": 100.0,
    "retrain_coverage_low": 0.0,
    "retrain_coverage_high": 1.0,
    "retrain_psi_threshold": 1e9,
}


def _write_forecasts(settings: Settings, model_name: str, version: str = "1") -> None:
    """FORECASTS no-change forecasts per symbol for the days up to TRAINED_UNTIL; the
    first INSIDE intervals hold the actual close, the others miss it."""
    store = FeatureStore.from_settings(settings)
    prices = store.prices().read(list(OPS_SYMBOLS), end=TRAINED_UNTIL)
    frames = []
    for symbol, rows in prices.groupby("symbol"):
        recent = rows.tail(FORECASTS + 1).reset_index(drop=True)
        last, actual = recent["close"].iloc[:-1].to_numpy(), recent["close"].iloc[1:].to_numpy()
        inside = np.arange(FORECASTS) < INSIDE
        width = np.abs(actual - last) + 1.0
        lower = np.where(inside, np.minimum(last, actual) - width, actual + width)
        upper = np.where(inside, np.maximum(last, actual) + width, actual + 2 * width)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "as_of_date": recent["date"].iloc[:-1].to_numpy(),
                    "target_date": recent["date"].iloc[1:].to_numpy(),
                    "model_name": model_name,
                    "model_version": version,
                    "last_close": last,
                    "predicted_close": last,
                    "lower": lower,
                    "upper": upper,
                    "predicted_return": 0.0,
                    "run_id": "written-by-the-test",
                    "created_at": pd.Timestamp.now(tz="UTC"),
                }
            )
        )
    store.predictions.upsert(pd.concat(frames), keys=schemas.PREDICTION_KEY)


def _monitor(settings: Settings, **changes: Any):  # type: ignore[no-untyped-def]
    return monitor(settings.model_copy(update=changes), as_of=TRAINED_UNTIL)


@pytest.fixture
def skill_home(ops_prices: Settings) -> Settings:
    """Prices and the forecasts above, but no champion: skill is measured, drift is not."""
    _write_forecasts(ops_prices, ops_prices.model_name)
    return ops_prices


def test_the_written_forecasts_have_mase_one_and_coverage_on_the_edge(
    skill_home: Settings,
) -> None:
    result = _monitor(skill_home, **QUIET)
    for symbol in OPS_SYMBOLS:
        row = result.symbols[symbol]
        assert (row.n, row.mase, row.coverage) == (FORECASTS, 1.0, COVERAGE)
    assert not result.retrain_recommended
    assert result.new_errors == FORECASTS * len(OPS_SYMBOLS)


def test_monitor_uses_the_mase_threshold_from_settings(skill_home: Settings) -> None:
    assert not _monitor(skill_home, **{**QUIET, "retrain_mase_threshold": 1.0}).retrain_recommended
    flagged = _monitor(skill_home, **{**QUIET, "retrain_mase_threshold": 0.99})
    assert set(flagged.reasons) == set(OPS_SYMBOLS)
    assert all("rolling MASE 1.000 > 0.99" in r for r in flagged.reasons.values())


def test_monitor_uses_the_lower_coverage_edge_from_settings(skill_home: Settings) -> None:
    on_edge = _monitor(skill_home, **{**QUIET, "retrain_coverage_low": COVERAGE})
    assert not on_edge.retrain_recommended
    above = _monitor(skill_home, **{**QUIET, "retrain_coverage_low": 0.66})
    assert all("interval coverage 0.65 outside 0.66-1" in r for r in above.reasons.values())
    assert set(above.reasons) == set(OPS_SYMBOLS)


def test_monitor_uses_the_upper_coverage_edge_from_settings(skill_home: Settings) -> None:
    on_edge = _monitor(skill_home, **{**QUIET, "retrain_coverage_high": COVERAGE})
    assert not on_edge.retrain_recommended
    below = _monitor(skill_home, **{**QUIET, "retrain_coverage_high": 0.64})
    assert all("interval coverage 0.65 outside 0-0.64" in r for r in below.reasons.values())


def test_monitor_watches_only_the_model_name_it_is_given(skill_home: Settings) -> None:
    other = _monitor(skill_home, **QUIET, model_name="another-model")
    assert other.symbols == {}
    assert other.new_errors == 0
    assert "no predictions of another-model" in other.message
    assert _monitor(skill_home, **QUIET).new_errors == FORECASTS * len(OPS_SYMBOLS)


@pytest.fixture
def drift_home(ops_home: Settings) -> Settings:
    """The forecasts above beside a champion whose training profile is measured for drift."""
    _write_forecasts(ops_home, ops_home.model_name)
    return ops_home


def _drift_trigger(result) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    rows = {(row.psi_max, row.psi_feature) for row in result.symbols.values()}
    assert len(rows) == 1  # pooled over the symbols
    return rows.pop()


def test_monitor_lets_only_the_non_ignored_features_trigger_on_drift(drift_home: Settings) -> None:
    everything = _monitor(drift_home, **{**QUIET, "drift_ignored_features": []})
    measured = everything.drift
    assert len(measured) >= 3
    psi, feature = _drift_trigger(everything)
    assert feature == max(measured, key=lambda name: measured[name])
    assert psi == pytest.approx(measured[feature])

    without_top = _monitor(drift_home, **{**QUIET, "drift_ignored_features": [feature]})
    _, runner_up = _drift_trigger(without_top)
    assert runner_up != feature
    assert runner_up == max((n for n in measured if n != feature), key=lambda name: measured[name])
    assert without_top.drift == measured  # ignored features are still measured

    ignore_all = _monitor(drift_home, **{**QUIET, "drift_ignored_features": list(measured)})
    assert {row.psi_feature for row in ignore_all.symbols.values()} == {None}


def test_monitor_uses_the_psi_threshold_and_ignored_features_together(
    drift_home: Settings,
) -> None:
    base = {**QUIET, "drift_ignored_features": []}
    psi, feature = _drift_trigger(_monitor(drift_home, **base))
    at_threshold = _monitor(drift_home, **{**base, "retrain_psi_threshold": psi})
    assert not at_threshold.retrain_recommended
    below = _monitor(drift_home, **{**base, "retrain_psi_threshold": psi - 1e-6})
    assert set(below.reasons) == set(OPS_SYMBOLS)
    assert all(f"PSI of {feature}" in reason for reason in below.reasons.values())

    ignored = _monitor(
        drift_home,
        **{**base, "retrain_psi_threshold": psi - 1e-6, "drift_ignored_features": [feature]},
    )
    assert all(feature not in reason for reason in ignored.reasons.values())


def test_monitor_reads_the_drift_window_on_the_configured_calendar(drift_home: Settings) -> None:
    # Same prices, another exchange's holidays: the 60-day window starts elsewhere.
    nyse = _monitor(drift_home, **QUIET).drift
    london = _monitor(drift_home, **QUIET, calendar="XLON").drift
    assert set(nyse) == set(london)
    assert nyse != london


def test_the_as_of_day_bounds_what_monitor_reads(skill_home: Settings) -> None:
    earlier = TRAINED_UNTIL - dt.timedelta(days=7)
    result = monitor(skill_home.model_copy(update=QUIET), as_of=earlier)
    assert all(row.n < FORECASTS for row in result.symbols.values())
