"""The snapshot's fan: every horizon's forecast from the newest as-of date, and only
from that date."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from market_predictor.api.snapshot import Snapshot, build_snapshot
from market_predictor.store.errors import realised_errors
from tests.fixtures.horizons import LAST_AS_OF, forecast_rows, monitoring_rows, price_rows

MODEL = "m"


def _snapshot_without(drop: Callable[[pd.DataFrame], pd.Series]) -> Snapshot:
    """The fixture's rows, less the forecasts `drop` marks (and so their errors)."""
    prices = price_rows()
    predictions = forecast_rows(MODEL)
    predictions = predictions[~drop(predictions)].reset_index(drop=True)
    errors = realised_errors(predictions, prices)
    return build_snapshot({}, prices, predictions, errors, monitoring_rows(MODEL), MODEL)


def test_a_horizon_not_forecast_on_the_newest_day_is_left_out_of_the_fan() -> None:
    snapshot = _snapshot_without(
        lambda p: (p["symbol"] == "AAA") & (p["horizon"] == 21) & (p["as_of_date"] == LAST_AS_OF)
    )
    fan = snapshot.symbols["AAA"].fan
    assert [(point.horizon, point.as_of_date) for point in fan] == [
        (1, LAST_AS_OF),
        (5, LAST_AS_OF),
    ]
    # The 21-day series itself still serves its older forecasts.
    older = snapshot.symbols["AAA"].at(21).latest
    assert older is not None and older.forecast.as_of_date < LAST_AS_OF


def test_the_fan_and_symbol_list_follow_the_newest_as_of_of_any_horizon() -> None:
    snapshot = _snapshot_without(
        lambda p: (p["symbol"] == "AAA") & (p["horizon"] == 1) & (p["as_of_date"] == LAST_AS_OF)
    )
    fan = snapshot.symbols["AAA"].fan
    assert [point.horizon for point in fan] == [5, 21]
    (aaa,) = [s for s in snapshot.symbol_list.symbols if s.symbol == "AAA"]
    assert aaa.latest_as_of == LAST_AS_OF and aaa.horizons == [1, 5, 21]
