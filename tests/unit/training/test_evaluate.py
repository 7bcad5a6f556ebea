"""Validation forecasts: every contestant on the same rows; an optional rival that shares
under half of the network's rows is left out rather than shrinking the comparison to them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.models.forecaster import FORECAST_COLUMNS
from market_predictor.models.garch import GarchForecaster
from market_predictor.models.har import HarForecaster
from market_predictor.training.evaluate import (
    attach_outcomes,
    common_rows,
    compare_by_horizon,
    compare_on_common_rows,
    forecasts_with_outcomes,
    rows_before,
    shared_share,
    validation_forecasts,
)
from tests.fixtures.ml import garch_prices

START = dt.date(2017, 6, 1)


def _prices() -> pd.DataFrame:
    # HHH is listed a week before the window: on it log-HAR (23 rows of history)
    # forecasts one fewer of HHH's days than persistence (22 rows) does.
    prices = garch_prices(days=700)
    late = (prices["symbol"] == "HHH") & (prices["date"] < pd.Timestamp("2017-05-25"))
    return prices[~late].reset_index(drop=True)


def test_an_optional_forecaster_missing_a_young_symbols_rows_is_compared_on_common_rows() -> None:
    prices = _prices()
    fitting = prices[pd.to_datetime(prices["date"]) < pd.Timestamp(START)]
    persistence = PersistenceForecaster().fit(fitting)
    har = HarForecaster().fit(fitting)
    forecasters = {"model": persistence, "har": har}
    assert len(forecasts_with_outcomes(har, prices, START)) == (
        len(forecasts_with_outcomes(persistence, prices, START)) - 1
    )
    kept = validation_forecasts(forecasters, prices, START, optional=["har"])
    assert list(kept) == ["model", "har"]
    metrics = compare_on_common_rows(kept, persistence.quantiles)
    assert metrics["model"]["n"] == metrics["har"]["n"] == len(kept["har"])


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


QUANTILES = (0.1, 0.5, 0.9)


def test_an_optional_rival_left_out_does_not_stop_later_contestants_from_being_scored() -> None:
    prices = _closes("AAA", [10.0 + i for i in range(12)])
    forecasters = {
        "model": _made_on(DAYS),
        "har": _made_on(DAYS[:1]),  # a quarter of the network's rows: left out
        "garch": _made_on(DAYS),
        "persistence": _made_on(DAYS),
    }
    results = validation_forecasts(
        forecasters,  # type: ignore[arg-type]
        prices,
        dt.date(2024, 1, 1),
        optional=["har", "garch"],
    )
    assert list(results) == ["model", "garch", "persistence"]


def test_a_frame_that_cannot_be_matched_on_the_references_keys_shares_none_of_it() -> None:
    network = pd.DataFrame([_forecast("AAA", day, 1, 12) for day in DAYS[:2]])
    assert shared_share(network.drop(columns="horizon"), network) == 0.0
    assert shared_share(network.iloc[:0], network) == 0.0
    # Without a horizon in the reference, the (symbol, as-of date) pairs are matched.
    assert shared_share(network, network.drop(columns="horizon")) == 1.0


def test_a_row_dated_exactly_on_the_day_is_not_before_it() -> None:
    prices = _closes("AAA", [10, 11, 12])  # 1, 2 and 3 January 2024
    assert rows_before(prices, dt.date(2024, 1, 2))["close"].tolist() == [10]
    assert rows_before(prices, dt.date(2024, 1, 1)).empty
    assert len(rows_before(prices, dt.date(2024, 1, 4))) == 3


def _scored(symbol: str, days: list[str], horizon: int = 1, predicted: float = 12) -> pd.DataFrame:
    rows = pd.DataFrame([_forecast(symbol, day, horizon, predicted) for day in days])
    return rows.assign(actual_close=11.0)


def test_common_rows_are_the_symbol_and_day_pairs_every_contestant_covers() -> None:
    # Both symbols forecast on 1 and 2 January, but each contestant on one symbol a day:
    # no (symbol, day) pair is common, though every day is.
    first = pd.concat([_scored("AAA", DAYS[:1]), _scored("BBB", DAYS[1:2])])
    second = pd.concat([_scored("BBB", DAYS[:1]), _scored("AAA", DAYS[1:2])])
    assert all(rows.empty for rows in common_rows({"model": first, "garch": second}).values())
    # A day only the later contestant forecasts is not compared either.
    later = common_rows({"model": _scored("AAA", DAYS[:2]), "garch": _scored("AAA", DAYS[:3])})
    for rows in later.values():
        assert rows["as_of_date"].tolist() == [pd.Timestamp(day) for day in DAYS[:2]]
    # Nor one a middle contestant misses.
    three = common_rows(
        {
            "model": _scored("AAA", DAYS[:3]),
            "har": _scored("AAA", DAYS[1:3]),
            "garch": _scored("AAA", DAYS[:3]),
        }
    )
    assert {name: len(rows) for name, rows in three.items()} == {"model": 2, "har": 2, "garch": 2}


def test_common_rows_are_next_day_ones_unless_a_horizon_is_given() -> None:
    results = {
        "model": pd.concat([_scored("AAA", DAYS[:2], 1), _scored("AAA", DAYS[:3], 2)]),
        "champion": _scored("AAA", DAYS, 1).drop(columns="horizon"),
    }
    next_day = common_rows(results)
    assert {name: len(rows) for name, rows in next_day.items()} == {"model": 2, "champion": 2}
    assert next_day["model"]["horizon"].tolist() == [1, 1]


def test_a_frame_without_a_horizon_column_forecasts_the_next_day_only() -> None:
    next_day_only = _scored("AAA", DAYS[:2]).drop(columns="horizon")
    assert len(common_rows({"champion": next_day_only}, 1)["champion"]) == 2
    assert common_rows({"champion": next_day_only}, 2)["champion"].empty
    network = pd.concat([_scored("AAA", DAYS[:2], h) for h in (1, 2)])
    by_horizon = compare_by_horizon(
        {"model": network, "champion": next_day_only}, QUANTILES, (1, 2)
    )
    assert sorted(by_horizon[1]) == ["champion", "model"]
    assert sorted(by_horizon[2]) == ["model"]


def test_each_horizons_metrics_are_of_that_horizons_forecasts() -> None:
    # The next-day forecasts miss by 1, the two-day ones by 3 (on three days, not two).
    network = pd.concat([_scored("AAA", DAYS[:2], 1, 12), _scored("AAA", DAYS[:3], 2, 14)])
    by_horizon = compare_by_horizon({"model": network}, QUANTILES, (1, 2))
    assert (by_horizon[1]["model"]["n"], by_horizon[1]["model"]["mae"]) == (2, 1.0)
    assert (by_horizon[2]["model"]["n"], by_horizon[2]["model"]["mae"]) == (3, 3.0)


def test_an_empty_forecast_frame_has_a_joined_frames_columns_typed_as_dates_and_prices() -> None:
    prices = _closes("AAA", [10, 11, 12])
    forecasts = pd.DataFrame([_forecast("AAA", "2024-01-01", 1, 11)])
    empty = attach_outcomes(forecasts.iloc[:0], prices)
    assert empty.empty
    assert list(empty.columns) == list(attach_outcomes(forecasts, prices).columns)
    # As a forecaster with no rows hands it (every column untyped).
    untyped = attach_outcomes(pd.DataFrame(columns=FORECAST_COLUMNS), prices)
    assert list(untyped.columns) == [*FORECAST_COLUMNS, "target_date", "actual_close"]
    assert pd.api.types.is_datetime64_any_dtype(untyped["target_date"])
    assert pd.api.types.is_float_dtype(untyped["actual_close"])
    assert pd.api.types.is_datetime64_any_dtype(empty["target_date"])
    assert pd.api.types.is_float_dtype(empty["actual_close"])


def test_the_join_adds_the_target_date_and_actual_close_and_keeps_64_bit_horizons() -> None:
    prices = _closes("AAA", [10, 11, 12])
    forecasts = pd.DataFrame([_forecast("AAA", "2024-01-01", h, 11) for h in (1, 2)])
    joined = attach_outcomes(forecasts.astype({"horizon": "int32"}), prices)
    assert list(joined.columns) == [*forecasts.columns, "target_date", "actual_close"]
    assert joined["horizon"].dtype == "int64"
    assert joined["actual_close"].tolist() == [11.0, 12.0]


def test_as_of_dates_given_as_plain_dates_are_joined() -> None:
    prices = _closes("AAA", [10, 11, 12])
    forecasts = pd.DataFrame([_forecast("AAA", "2024-01-02", 1, 12)])
    forecasts["as_of_date"] = [dt.date(2024, 1, 2)]
    joined = attach_outcomes(forecasts, prices)
    assert joined["actual_close"].tolist() == [12.0]
    assert joined["as_of_date"].tolist() == [pd.Timestamp("2024-01-02")]


def test_a_forecasts_own_target_date_gives_way_to_the_stored_closes_date() -> None:
    # 3 January is missing from the store (a holiday the calendar did not know of): the
    # next-day outcome of 2 January is the close of 4 January.
    prices = _closes("AAA", [10, 11, 12, 13])
    prices = prices[prices["date"] != pd.Timestamp("2024-01-03")]
    forecasts = pd.DataFrame([_forecast("AAA", "2024-01-02", 1, 12)])
    forecasts["target_date"] = pd.Timestamp("2024-01-03")
    joined = attach_outcomes(forecasts, prices)
    assert joined["target_date"].tolist() == [pd.Timestamp("2024-01-04")]
    assert joined["actual_close"].tolist() == [13.0]


def test_two_stored_closes_for_one_day_are_refused_rather_than_doubling_a_forecast() -> None:
    prices = _closes("AAA", [10, 11, 12])
    doubled = pd.concat([prices, prices.iloc[[1]].assign(close=11.5)])
    forecasts = pd.DataFrame([_forecast("AAA", "2024-01-02", 1, 12)])
    with pytest.raises(pd.errors.MergeError):
        attach_outcomes(forecasts, doubled)
