from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from market_predictor.evaluation import forecast_metrics
from market_predictor.models.baselines import DriftForecaster, PersistenceForecaster
from market_predictor.models.forecaster import FORECAST_COLUMNS
from market_predictor.training.evaluate import forecasts_with_outcomes
from tests.fixtures.ml import sample_prices


def test_persistence_predicts_the_last_close_with_a_volatility_interval() -> None:
    prices = sample_prices(("AAPL", "MSFT"), "2012-01-01", "2012-06-30")
    forecasts = PersistenceForecaster().predict(prices)
    assert list(forecasts.columns) == FORECAST_COLUMNS
    assert list(forecasts["symbol"]) == ["AAPL", "MSFT"]
    last = prices.groupby("symbol")["close"].last().to_numpy()
    np.testing.assert_allclose(forecasts["predicted_close"], last)
    assert (forecasts["lower"] < forecasts["predicted_close"]).all()
    assert (forecasts["upper"] > forecasts["predicted_close"]).all()


def test_a_symbol_with_too_little_history_gets_no_forecast() -> None:
    prices = sample_prices(("AAPL", "MSFT"), "2012-01-01", "2012-06-30")
    short = prices[(prices["symbol"] == "AAPL") | (prices["date"] >= "2012-06-10")]
    assert list(PersistenceForecaster().predict(short)["symbol"]) == ["AAPL"]


def test_fitted_persistence_interval_covers_about_eighty_percent() -> None:
    prices = sample_prices(("AAPL", "MSFT", "IBM"), "2008-01-01", "2012-12-31")
    fitting = prices[prices["date"] < "2011-01-01"]
    model = PersistenceForecaster().fit(fitting)
    rows = forecasts_with_outcomes(model, prices, pd.Timestamp("2011-01-01").date())
    metrics = forecast_metrics(rows)
    assert metrics["mase"] == pytest.approx(1.0)
    assert 0.74 < metrics["coverage"] < 0.86


def test_persistence_forecasts_ignore_later_rows() -> None:
    prices = sample_prices(("IBM",), "2012-01-01", "2012-12-31")
    cut = pd.Timestamp("2012-08-31")
    full = PersistenceForecaster().predict_range(prices, end=cut)
    truncated = PersistenceForecaster().predict_range(prices[prices["date"] <= cut])
    pd.testing.assert_frame_equal(full, truncated)


def test_drift_moves_the_median_by_the_mean_return_to_date() -> None:
    dates = pd.bdate_range("2020-01-01", periods=40)
    close = 100 * np.exp(0.01 * np.arange(40))
    prices = pd.DataFrame(
        {
            "symbol": "UP",
            "date": dates,
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1e6,
        }
    )
    forecast = DriftForecaster().predict(prices).iloc[0]
    # 39 returns of 0.01 and the first row's missing return counted as 0.
    assert forecast["predicted_return"] == pytest.approx(0.01 * 39 / 40)
