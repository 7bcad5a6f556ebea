"""Validation forecasts: every contestant on the same rows, and an optional rival that
would cost the comparison rows is left out rather than shrinking it."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.models.garch import GarchForecaster
from market_predictor.training.evaluate import (
    compare_on_common_rows,
    forecasts_with_outcomes,
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


def test_an_optional_forecaster_covering_fewer_rows_is_left_out_and_a_required_one_kept() -> None:
    prices = _prices()
    fitting = prices[pd.to_datetime(prices["date"]) < pd.Timestamp(START)]
    persistence = PersistenceForecaster().fit(fitting)
    garch = GarchForecaster().fit(fitting)
    forecasters = {"model": persistence, "garch": garch}
    assert len(forecasts_with_outcomes(garch, prices, START)) < len(
        forecasts_with_outcomes(persistence, prices, START)
    )
    assert list(validation_forecasts(forecasters, prices, START, optional=["garch"])) == ["model"]
    kept = validation_forecasts(forecasters, prices, START)
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
