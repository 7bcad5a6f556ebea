from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from market_predictor.features import FEATURE_COLUMNS, build_features, complete_rows
from market_predictor.models.forecaster import FORECAST_COLUMNS
from market_predictor.models.network_forecaster import NetworkForecaster, choose_median_source
from market_predictor.models.pyfunc import load_forecaster, save_forecaster
from market_predictor.training.config import TrainConfig
from market_predictor.training.fit import fit_forecaster
from tests.fixtures.ml import synthetic_prices

CONFIG = TrainConfig(hidden_size=8, window=10, max_epochs=2, batch_size=128)
VALIDATION_START = dt.date(2016, 1, 4)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return synthetic_prices(days=320)


@pytest.fixture(scope="module")
def fitted(prices: pd.DataFrame) -> NetworkForecaster:
    return fit_forecaster(prices, CONFIG, validation_start=VALIDATION_START)


def test_fitting_twice_with_the_same_seed_gives_the_same_forecasts(
    prices: pd.DataFrame, fitted: NetworkForecaster
) -> None:
    again = fit_forecaster(prices, CONFIG, validation_start=VALIDATION_START)
    pd.testing.assert_frame_equal(fitted.predict_range(prices), again.predict_range(prices))


def test_scaler_is_fit_on_rows_before_the_validation_window_only(
    prices: pd.DataFrame, fitted: NetworkForecaster
) -> None:
    features = build_features(prices)
    training = features[complete_rows(features) & (features["date"] < "2016-01-04")]
    np.testing.assert_allclose(fitted.scaler.mean_, training[FEATURE_COLUMNS].mean(), rtol=1e-9)


def test_forecaster_needs_warm_up_plus_window_rows(
    prices: pd.DataFrame, fitted: NetworkForecaster
) -> None:
    assert fitted.min_history == 22 + CONFIG.window - 1
    first = prices.groupby("symbol").head(fitted.min_history)
    assert len(fitted.predict(first)) == 2
    assert fitted.predict(prices.groupby("symbol").head(fitted.min_history - 1)).empty


def test_a_symbol_never_seen_in_training_gets_a_forecast(fitted: NetworkForecaster) -> None:
    unseen = synthetic_prices(("NEW",), days=60, seed=99)
    forecast = fitted.predict(unseen)
    assert list(forecast.columns) == FORECAST_COLUMNS
    assert list(forecast["symbol"]) == ["NEW"]
    assert forecast["lower"].iloc[0] < forecast["upper"].iloc[0]


def test_network_forecasts_ignore_later_rows(
    prices: pd.DataFrame, fitted: NetworkForecaster
) -> None:
    cut = pd.Timestamp("2015-11-30")
    full = fitted.predict_range(prices, end=cut)
    truncated = fitted.predict_range(prices[prices["date"] <= cut])
    pd.testing.assert_frame_equal(full, truncated)


def test_saved_forecaster_loads_with_identical_forecasts(
    tmp_path, prices: pd.DataFrame, fitted: NetworkForecaster
) -> None:
    save_forecaster(fitted, tmp_path / "f", trained_until=dt.date(2016, 3, 1), drift_profile={})
    loaded, spec = load_forecaster(tmp_path / "f")
    assert spec["trained_until"] == "2016-03-01"
    assert spec["min_history"] == fitted.min_history
    pd.testing.assert_frame_equal(fitted.predict(prices), loaded.predict(prices))


@pytest.mark.parametrize("model", ["transformer", "mlp"])
def test_every_network_trains_and_gives_ordered_finite_forecasts(
    prices: pd.DataFrame, model: str
) -> None:
    config = TrainConfig(model=model, hidden_size=8, window=10, max_epochs=1, batch_size=256)
    forecasts = fit_forecaster(prices, config, validation_start=VALIDATION_START).predict(prices)
    values = forecasts[["lower", "predicted_close", "upper"]].to_numpy()
    assert np.isfinite(values).all()
    assert (values[:, 0] <= values[:, 1]).all() and (values[:, 1] <= values[:, 2]).all()


def test_median_falls_back_to_no_change_when_the_network_median_is_worse() -> None:
    target = np.array([0.01, -0.02, 0.015, -0.005])
    close = np.full(4, 100.0)
    noisy = np.array([-0.02, 0.02, -0.02, 0.02])
    assert choose_median_source(target, noisy, close) == "persistence"
    assert choose_median_source(target, target * 0.9, close) == "network"


def test_median_falls_back_when_the_network_is_better_only_by_chance() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(0, 0.02, 500)
    close = np.full(500, 100.0)
    # Slightly better on average, but noise of the same size: not significant.
    lucky = target * 0.05 + rng.normal(0, 0.01, 500)
    assert choose_median_source(target, lucky, close) == "persistence"


def test_an_h_day_median_must_win_on_independent_evidence_not_on_overlapping_rows() -> None:
    # Five 21-day stretches, each repeated on 21 overlapping rows: the network's median
    # wins four of them. Counted as 105 independent rows that is significant; counted
    # as the five stretches they are, it is not.
    rng = np.random.default_rng(3)
    stretch = rng.normal(0, 0.05, 5)
    better = np.where(np.arange(5) == 2, 4.0, 0.5) * stretch
    target, median = np.repeat(stretch, 21), np.repeat(better, 21)
    close = np.full(105, 100.0)
    assert choose_median_source(target, median, close, horizon=1) == "network"
    assert choose_median_source(target, median, close, horizon=21) == "persistence"


def test_a_persistence_median_forecasts_no_change_but_keeps_the_interval(
    fitted: NetworkForecaster, prices: pd.DataFrame
) -> None:
    with_network = fitted.predict(prices)
    fitted_medians = fitted.median_sources
    try:
        fitted.median_sources = ["persistence"] * len(fitted.horizons)
        with_persistence = fitted.predict(prices)
    finally:
        fitted.median_sources = fitted_medians
    assert (with_persistence["predicted_return"] == 0).all()
    assert (with_persistence["predicted_close"] == with_persistence["last_close"]).all()
    pd.testing.assert_series_equal(with_persistence["lower"], with_network["lower"])
    pd.testing.assert_series_equal(with_persistence["upper"], with_network["upper"])


def test_a_forecast_of_a_few_rows_equals_those_rows_of_a_forecast_of_every_row(
    prices: pd.DataFrame, fitted: NetworkForecaster
) -> None:
    features = build_features(prices)
    position = features.groupby("symbol", sort=False).cumcount().to_numpy()
    every = np.flatnonzero(position >= fitted.min_history - 1)
    picked = [0, 1, 57, len(every) // 2, len(every) - 1]  # neighbours, and both symbols
    assert len(set(features["symbol"].to_numpy()[every[picked]])) == 2
    np.testing.assert_array_equal(
        fitted.quantile_returns(features, every[picked]),
        fitted.quantile_returns(features, every)[picked],
    )
