"""monitor() honours the settings it reads: the model name (whose predictions it
scores), the exchange calendar (whose trading days its lookback counts) and the
family-wise trigger level (tests/unit/test_monitoring.py)."""

from __future__ import annotations

import datetime as dt

from market_predictor.calendar import shift_trading_days
from market_predictor.config import Settings
from market_predictor.monitoring import LOOKBACK_WINDOWS
from market_predictor.pipeline import replay
from market_predictor.triggers import PERFORMANCE_WINDOW
from tests.fixtures.ops import monitor_as_of


def test_monitor_reads_only_the_predictions_of_the_configured_model(ops_home: Settings) -> None:
    replay(ops_home, start=dt.date(2012, 12, 3), end=dt.date(2012, 12, 4), retrain=False)
    other = ops_home.model_copy(update={"model_name": "another-model"})
    result = monitor_as_of(other, as_of=dt.date(2012, 12, 4))
    assert result.model_name == "another-model"
    assert result.symbols == {}
    assert result.message == "no predictions of another-model on or before 2012-12-04"
    served = monitor_as_of(ops_home, as_of=dt.date(2012, 12, 4))
    assert served.model_name == ops_home.model_name and len(served.symbols) == 2


def test_monitor_looks_back_over_trading_days_of_the_configured_calendar(
    ops_home: Settings,
) -> None:
    replay(ops_home, start=dt.date(2012, 12, 7), end=dt.date(2012, 12, 7), retrain=False)
    made = dt.date(2012, 12, 7)  # the forecast's as-of day, a session in New York and London
    london = ops_home.model_copy(update={"calendar": "XLON"})
    lookback = LOOKBACK_WINDOWS * PERFORMANCE_WINDOW
    last_in = shift_trading_days(made, lookback, london.calendar)
    # The exchanges' holidays differ: the same count of sessions ends on different days.
    assert shift_trading_days(made, lookback, ops_home.calendar) < last_in
    assert set(monitor_as_of(london, as_of=last_in).symbols) == {"AAPL", "MSFT"}
    assert monitor_as_of(ops_home, as_of=last_in).symbols == {}
    next_day = shift_trading_days(last_in, 1, london.calendar)
    assert monitor_as_of(london, as_of=next_day).symbols == {}
