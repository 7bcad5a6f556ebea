"""Each pipeline step runs alone (as an Airflow task or a test would call it), on a home
holding sample prices up to Friday 30 November 2012 and a persistence champion."""

from __future__ import annotations

import datetime as dt

from market_predictor.config import Settings
from market_predictor.day import Day, resolve_day
from market_predictor.pipeline import (
    compact_step,
    ingest_step,
    monitor_step,
    predict_step,
    retrain_step,
)
from market_predictor.results import MonitorResult, SymbolSkill
from market_predictor.store import FeatureStore

MONDAY = dt.date(2012, 12, 3)
TUESDAY = dt.date(2012, 12, 4)


def _day(settings: Settings, as_of: dt.date, symbols: list[str] | None = None) -> Day:
    return resolve_day(settings, as_of=as_of, symbols=symbols)


def test_ingest_step_alone_adds_only_the_days_close(ops_home: Settings) -> None:
    result = ingest_step(_day(ops_home, MONDAY))
    assert result.inserted == 2
    assert result.symbols == ["AAPL", "MSFT"]
    stored = FeatureStore.from_settings(ops_home).prices().read(start=MONDAY)
    assert sorted(stored["symbol"]) == ["AAPL", "MSFT"]
    assert set(stored["date"].dt.date) == {MONDAY}


def test_predict_step_alone_forecasts_the_next_trading_day(ops_home: Settings) -> None:
    batch = predict_step(_day(ops_home, dt.date(2012, 11, 30), ["AAPL"]))
    assert batch.target_date == MONDAY
    assert [f.symbol for f in batch.predictions] == ["AAPL"]
    stored = FeatureStore.from_settings(ops_home).predictions.read_rows()
    assert list(stored["symbol"]) == ["AAPL"]


def test_monitor_step_alone_scores_forecasts_whose_day_has_come(ops_home: Settings) -> None:
    ingest_step(_day(ops_home, MONDAY))
    predict_step(_day(ops_home, MONDAY))
    ingest_step(_day(ops_home, TUESDAY))
    predict_step(_day(ops_home, TUESDAY))
    result = monitor_step(_day(ops_home, TUESDAY))
    assert result.new_errors == 2
    assert result.pending == 2  # Tuesday's forecasts wait for Wednesday's close
    errors = FeatureStore.from_settings(ops_home).errors.read_rows()
    assert set(errors["target_date"].dt.date) == {TUESDAY}


def _monitored(flagged: bool) -> MonitorResult:
    return MonitorResult(
        as_of=TUESDAY,
        model_name="market-price-predictor",
        symbols={
            "AAPL": SymbolSkill(n=20, retrain_recommended=flagged, reason="x" if flagged else "")
        },
    )


def test_retrain_step_alone_reads_only_the_monitor_result(ops_home: Settings) -> None:
    assert retrain_step(_day(ops_home, TUESDAY), _monitored(False)).status == "not needed"
    disabled = retrain_step(_day(ops_home, TUESDAY), _monitored(True), retrain=False)
    assert disabled.status == "disabled"
    assert disabled.reasons == {"AAPL": "x"}


def test_retrain_step_respects_the_cooldown_after_the_champions_training(
    ops_home: Settings,
) -> None:
    # The champion was trained until 30 November: two trading days before Tuesday.
    settings = ops_home.model_copy(update={"retrain_cooldown_days": 2})
    held = retrain_step(_day(settings, TUESDAY), _monitored(True))
    assert held.status == "cooldown"
    assert held.trading_days_since == 2
    assert held.last_retrain == dt.date(2012, 11, 30)


def test_compact_step_alone_leaves_unfragmented_tables_alone(ops_home: Settings) -> None:
    assert compact_step(_day(ops_home, TUESDAY)).compacted == []
