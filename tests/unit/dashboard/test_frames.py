from __future__ import annotations

import datetime as dt
import re

import pytest

from market_predictor.cli.demo import render_demo
from market_predictor.dashboard.frames import (
    default_range,
    month_range,
    overview_table,
    retrain_triggers,
    symbol_rows,
)
from market_predictor.interval_tests import interval_backtest


@pytest.mark.parametrize(
    ("year", "month", "last"),
    [(2012, 2, 29), (2013, 2, 28), (2012, 12, 31), (2012, 11, 30), (2013, 1, 31)],
)
def test_month_range_is_the_whole_calendar_month(year: int, month: int, last: int) -> None:
    assert month_range(year, month) == (dt.date(year, month, 1), dt.date(year, month, last))


def test_default_range_is_six_months_back_to_the_same_day() -> None:
    assert default_range(dt.date(2013, 3, 1)) == (dt.date(2012, 9, 1), dt.date(2013, 3, 1))
    # a day the earlier month lacks clamps to that month's end
    assert default_range(dt.date(2013, 8, 31)) == (dt.date(2013, 2, 28), dt.date(2013, 8, 31))


def _overview_row(symbol: str, stale: bool) -> dict[str, object]:
    return {
        "symbol": symbol, "last_price_date": "2013-03-01", "last_close": 10.0,
        "as_of_date": "2013-02-28" if stale else "2013-03-01", "target_date": "2013-03-04",
        "predicted_close": 10.1, "change_pct": 1.0, "lower": 9.5, "upper": 10.6,
        "model_version": "3", "mase": 0.98, "coverage": 0.8, "retrain_recommended": stale,
        "reason": "coverage 0.55 < 0.65" if stale else "", "stale": stale,
    }  # fmt: skip


def test_overview_marks_stale_symbols_and_keeps_the_api_order() -> None:
    table = overview_table({"symbols": [_overview_row("IBM", True), _overview_row("AAPL", False)]})
    assert list(table["Symbol"]) == ["IBM", "AAPL"]
    assert list(table["Status"]) == ["stale", "fresh"]
    assert table.loc[0, "Reason"] == "coverage 0.55 < 0.65"


def test_symbol_rows_put_each_forecast_on_its_target_day_beside_the_close() -> None:
    prices = {
        "prices": [{"date": "2012-12-03", "close": 10.0}, {"date": "2012-12-04", "close": 11.0}]
    }
    predictions = {
        "predictions": [
            {"target_date": "2012-12-04", "as_of_date": "2012-12-03", "model_version": "1",
             "predicted_close": 10.0, "lower": 9.0, "upper": 11.5},
            {"target_date": "2012-12-05", "as_of_date": "2012-12-04", "model_version": "1",
             "predicted_close": 11.0, "lower": 10.0, "upper": 12.0},
        ]
    }  # fmt: skip
    metrics = {
        "errors": [
            {"target_date": "2012-12-04", "abs_error": 1.0, "persistence_abs_error": 1.0,
             "inside_interval": True, "direction_correct": None},
        ]
    }  # fmt: skip
    rows = symbol_rows(prices, predictions, metrics)
    assert [d.isoformat() for d in rows["date"].dt.date] == [
        "2012-12-03", "2012-12-04", "2012-12-05"
    ]  # fmt: skip
    assert rows["actual_close"].tolist()[:2] == [10.0, 11.0]
    assert rows.loc[1, "predicted_close"] == 10.0 and rows.loc[1, "abs_error"] == 1.0
    # the next day's forecast has no close yet
    assert rows.loc[2, "predicted_close"] == 11.0 and rows["actual_close"].isna().tolist()[2]


def test_symbol_rows_of_a_range_without_forecasts_keep_the_closes() -> None:
    rows = symbol_rows({"prices": [{"date": "2012-11-30", "close": 9.0}]}, {}, {})
    assert rows["actual_close"].tolist() == [9.0]
    assert rows["predicted_close"].isna().all()


def test_retrain_triggers_list_only_flagged_days_newest_first() -> None:
    daily = [
        {"date": "2012-12-03", "model_version": "1", "retrain_recommended": False,
         "mase": 1.0, "coverage": 0.8, "test": "coverage", "statistic": 0.8,
         "threshold": "outside 0.6-0.9", "test_window": 60, "reason": ""},
        {"date": "2012-12-04", "model_version": "1", "retrain_recommended": True,
         "mase": 1.2, "coverage": 0.8, "test": "skill", "statistic": 4.1, "threshold": "> 3.5",
         "test_window": 60, "reason": "skill: 4.1 > 3.5 (n=60, p=1e-04)"},
    ]  # fmt: skip
    week = [
        {**daily[1], "test": "coverage:h5", "reason": "coverage:h5: 0.2 outside 0.5-1 (n=36)"},
        {**daily[0], "date": "2012-12-05"},
    ]
    table = retrain_triggers(
        [
            {"symbol": "AAPL", "horizon": 1, "daily": daily},
            {"symbol": "MSFT", "horizon": 1, "daily": []},
            {"symbol": "AAPL", "horizon": 5, "daily": week},
        ]
    )
    assert table[["symbol", "horizon", "test", "reason"]].values.tolist() == [
        ["AAPL", 1, "skill", "skill: 4.1 > 3.5 (n=60, p=1e-04)"],
        ["AAPL", 5, "coverage:h5", "coverage:h5: 0.2 outside 0.5-1 (n=36)"],
    ]
    assert table.loc[0, "date"] == dt.date(2012, 12, 4)


def test_the_demo_ends_by_suggesting_make_up(capsys: pytest.CaptureFixture[str]) -> None:
    latest = {
        "horizon": 1,
        "target_date": "2013-03-04",
        "predicted_close": 10.0,
        "lower": 9.0,
        "upper": 11.0,
    }
    month = {**latest, "horizon": 21, "target_date": "2013-04-01", "lower": 7.5, "upper": 13.25}
    # 10 days: one close under the lower bound, none over the upper one.
    tests = interval_backtest([8.5] + [10.0] * 9, [9.0] * 10, [11.0] * 10).model_dump(mode="json")
    summary = {
        "champion": {"name": "m", "version": "1", "is_baseline": True,
                     "trained_until": "2012-12-03", "how": "trained"},
        "symbols": {"AAPL": {"n": 59, "mae": 1.0, "persistence_mae": 1.0, "mase": 1.0,
                             "coverage": 0.8, "latest": latest, "horizons": [latest, month],
                             "interval_scale": {"lower": 1.25, "upper": 0.9},
                             "interval_tests": tests}},
        "replay_start": "2012-12-04", "replay_end": "2013-03-01",
        "table_rows": {"predictions": 1, "errors": 1, "summary": 1},
        "retrain_recommended_days": 0, "seconds": 1.0, "mlflow_ui": "mlflow ui ...",
    }  # fmt: skip
    render_demo(summary)
    out = capsys.readouterr().out
    after_mlflow = " ".join(out[out.index("mlflow ui ...") :].split())
    assert "dashboard: make up (or `mpp up`" in after_mlflow
    assert "21-day" in out and "7.50-13.25" in out
    assert "AAPL x1.25/x0.90" in " ".join(out.split())
    # The interval's backtests: each tail's hits of its days, Kupiec's p-value.
    kupiec = f"{tests['interval']['pof']['p_value']:.2f}"
    assert re.search(rf"AAPL\W+1/10\W+0/10\W+{kupiec}", out)
