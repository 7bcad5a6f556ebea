"""Validation forecasts: every contestant on the same rows; an optional rival that shares
under half of the network's rows is left out rather than shrinking the comparison to them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.models.garch import GarchForecaster
from market_predictor.training.evaluate import (
    attach_outcomes,
    compare_by_horizon,
    compare_on_common_rows,
    forecasts_with_outcomes,
    shared_share,
    validation_forecasts,
)
from tests.fixtures.ml import garch_prices

START = dt.date(2017, 6, 1)


def _prices() -> pd.DataFrame:
    # HHH starts late: on the window GARCH (126 rows of history) forecasts fewer of its
    # days than persistence (22 rows) does.
    prices = garch_prices(days=700)
    late = (prices["symbol"] == "HHH") & (prices["date"] < pd.Timestamp("2017-02-01"))
    return prices[~late].reset_index(drop=True)


def test_an_optional_forecaster_missing_a_young_symbols_rows_is_compared_on_common_rows() -> None:
    prices = _prices()
    fitting = prices[pd.to_datetime(prices["date"]) < pd.Timestamp(START)]
    persistence = PersistenceForecaster().fit(fitting)
    garch = GarchForecaster().fit(fitting)
    forecasters = {"model": persistence, "garch": garch}
    assert len(forecasts_with_outcomes(garch, prices, START)) < len(
        forecasts_with_outcomes(persistence, prices, START)
    )
    kept = validation_forecasts(forecasters, prices, START, optional=["garch"])
    assert list(kept) == ["model", "garch"]
    metrics = compare_on_common_rows(kept, persistence.quantiles)
    assert metrics["model"]["n"] == metrics["garch"]["n"] == len(kept["garch"])


def test_an_optional_forecaster_covering_every_row_is_kept() -> None:
    prices = garch_prices(days=700)
    fitting = prices[pd.to_datetime(prices["date"]) < pd.Timestamp(START)]
    forecasters = {
        "model": PersistenceForecaster().fit(fitting),
        "garch": GarchForecaster().fit(fitting),
    }
    kept = validation_forecasts(forecasters, prices, START, optional=["garch"])
    assert list(kept) == ["model", "garch"]
    assert len(kept["model"]) == len(kept["garch"]) > 0


class _Fixed:
    """A forecaster that makes the given forecasts whatever the prices."""

    def __init__(self, forecasts: pd.DataFrame) -> None:
        self.forecasts = forecasts

    def predict_range(self, prices: pd.DataFrame, start: dt.date | None = None) -> pd.DataFrame:
        return self.forecasts


def _made_on(days: list[str], horizon: int = 1) -> _Fixed:
    return _Fixed(pd.DataFrame([_forecast("AAA", day, horizon, 12) for day in days]))


DAYS = [f"2024-01-{d:02d}" for d in (1, 2, 3, 4)]


@pytest.mark.parametrize(
    ("rival_days", "kept"),
    [
        (DAYS[:2], True),  # half of the network's forecasts: enough to be compared on
        (DAYS[:1], False),  # a quarter: the comparison would lose most of the network's
        ([], False),
        ([*DAYS, "2024-01-05", "2024-01-08"], True),  # more than the network (a shorter history)
    ],
)
def test_an_optional_forecaster_is_left_out_only_when_it_shares_under_half_the_first_ones_rows(
    rival_days: list[str], kept: bool
) -> None:
    prices = _closes("AAA", [10.0 + i for i in range(12)])
    forecasters = {"model": _made_on(DAYS), "har": _made_on(rival_days)}
    results = validation_forecasts(
        forecasters,  # type: ignore[arg-type]
        prices,
        dt.date(2024, 1, 1),
        optional=["har"],
    )
    assert ("har" in results) is kept
    # A required contestant is never left out.
    assert "har" in validation_forecasts(forecasters, prices, dt.date(2024, 1, 1))  # type: ignore[arg-type]


def test_the_shared_share_counts_a_forecast_only_at_its_own_horizon() -> None:
    network = pd.DataFrame([_forecast("AAA", day, 1, 12) for day in DAYS[:2]])
    at_five = pd.DataFrame([_forecast("AAA", day, 5, 12) for day in DAYS[:2]])
    other_symbol = network.assign(symbol="BBB")
    assert shared_share(network, network) == 1.0
    assert shared_share(at_five, network) == 0.0
    assert shared_share(other_symbol, network) == 0.0
    assert shared_share(network.iloc[:1], network) == 0.5
    assert shared_share(network, network.iloc[:0]) == 1.0


def _closes(symbol: str, closes: list[float]) -> pd.DataFrame:
    dates = pd.bdate_range("2024-01-01", periods=len(closes))
    return pd.DataFrame({"symbol": symbol, "date": dates, "close": closes})


def _forecast(symbol: str, as_of: str, horizon: int, predicted: float) -> dict[str, object]:
    return {
        "symbol": symbol,
        "as_of_date": pd.Timestamp(as_of),
        "horizon": horizon,
        "last_close": 1.0,
        "predicted_close": predicted,
        "lower": predicted - 1,
        "upper": predicted + 1,
    }


def test_each_horizon_is_joined_with_the_close_that_many_stored_rows_later() -> None:
    prices = pd.concat([_closes("AAA", [10, 11, 12, 13, 14, 15]), _closes("BBB", [50, 51])])
    forecasts = pd.DataFrame(
        [
            _forecast("AAA", "2024-01-01", 1, 11),
            _forecast("AAA", "2024-01-01", 5, 15),
            _forecast("AAA", "2024-01-02", 5, 16),  # its target is not stored yet
            _forecast("BBB", "2024-01-01", 1, 51),
        ]
    )
    joined = attach_outcomes(forecasts, prices).sort_values(["symbol", "horizon"])
    assert joined[["symbol", "horizon", "actual_close"]].values.tolist() == [
        ["AAA", 1, 11.0],
        ["AAA", 5, 15.0],
        ["BBB", 1, 51.0],
    ]
    # Five rows after Monday 1 January is Monday 8 January.
    assert joined["target_date"].tolist()[1] == pd.Timestamp("2024-01-08")


def test_forecasts_without_a_horizon_are_next_day_ones() -> None:
    prices = _closes("AAA", [10, 11, 12])
    forecasts = pd.DataFrame([_forecast("AAA", "2024-01-02", 1, 12)]).drop(columns="horizon")
    joined = attach_outcomes(forecasts, prices)
    assert "horizon" not in joined
    assert joined["actual_close"].tolist() == [12.0]


def test_each_horizon_is_compared_among_those_that_forecast_it() -> None:
    prices = _closes("AAA", [10.0 + i for i in range(30)])
    network = pd.DataFrame(
        [_forecast("AAA", d, h, 12) for d in ("2024-01-01", "2024-01-02") for h in (1, 5)]
    )
    champion = pd.DataFrame([_forecast("AAA", "2024-01-01", 1, 12)])
    results = {
        "model": attach_outcomes(network, prices),
        "champion": attach_outcomes(champion, prices),
    }
    by_horizon = compare_by_horizon(results, (0.1, 0.5, 0.9), (1, 5, 21))
    assert sorted(by_horizon) == [1, 5]
    assert sorted(by_horizon[1]) == ["champion", "model"]
    assert sorted(by_horizon[5]) == ["model"]
    # Horizon 1 is compared on the one row both forecast; horizon 5 on the network's two.
    assert by_horizon[1]["model"]["n"] == 1
    assert by_horizon[5]["model"]["n"] == 2
