"""log-HAR: the range-based variance, the regression and its forecasts, checked against
formulas written out independently here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from market_predictor.features import build_features
from market_predictor.models.har import HarModel, har_design
from market_predictor.models.volatility import (
    VARIANCE_PROXY_FLOOR,
    SymbolSeries,
    variance_proxy,
)
from tests.fixtures.ml import sample_prices


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return sample_prices(symbols=("AAPL",))


def _proxy_from_bars(bars: pd.DataFrame) -> np.ndarray:
    """Garman-Klass + squared overnight gap in percent^2, from the raw bars."""
    gap = np.log(bars["open"] / bars["close"].shift(1))
    garman_klass = (
        0.5 * np.log(bars["high"] / bars["low"]) ** 2
        - (2 * np.log(2) - 1) * np.log(bars["close"] / bars["open"]) ** 2
    )
    return np.maximum((garman_klass + gap**2).to_numpy() * 1e4, VARIANCE_PROXY_FLOOR)


def _series(bars: pd.DataFrame) -> SymbolSeries:
    features = build_features(bars)
    returns = features["log_return"].to_numpy() * 100
    return SymbolSeries(returns[1:], variance_proxy(features)[1:])


def _design_with_pandas(proxy: np.ndarray) -> pd.DataFrame:
    rv = pd.Series(proxy)
    return pd.DataFrame(
        {
            "b0": 1.0,
            "b1": np.log(rv),
            "b5": np.log(rv.rolling(5).mean()),
            "b22": np.log(rv.rolling(22).mean()),
        }
    )


def test_the_variance_proxy_is_garman_klass_plus_the_squared_gap(bars) -> None:
    features = build_features(bars)
    expected = _proxy_from_bars(bars)
    np.testing.assert_allclose(variance_proxy(features)[1:], expected[1:], rtol=1e-10)


def test_a_day_without_range_or_gap_is_floored_not_zero() -> None:
    flat = pd.DataFrame(
        {
            "symbol": "FLAT",
            "date": pd.bdate_range("2020-01-01", periods=3),
            "open": 10.0,
            "high": 10.0,
            "low": 10.0,
            "close": 10.0,
            "volume": 1.0,
        }
    )
    assert variance_proxy(build_features(flat))[1:].tolist() == [VARIANCE_PROXY_FLOOR] * 2


def test_har_coefficients_are_least_squares_on_the_daily_weekly_monthly_design(bars) -> None:
    series = _series(bars)
    design = _design_with_pandas(series.variance_proxy)
    target = np.log(pd.Series(series.variance_proxy).shift(-1))
    rows = design.notna().all(axis=1) & target.notna()
    X, y = design[rows].to_numpy(), target[rows].to_numpy()
    expected, *_ = np.linalg.lstsq(X, y, rcond=None)
    params = HarModel().fit(series)
    assert params is not None
    np.testing.assert_allclose([params[n] for n in ("b0", "b1", "b5", "b22")], expected, rtol=1e-9)
    residuals = y - X @ expected
    assert params["residual_variance"] == pytest.approx(
        residuals @ residuals / (len(y) - 4), rel=1e-9
    )
    assert len(y) == len(series) - 22  # the first 21 rows lack a month, the last a target


def test_the_forecast_is_the_lognormal_mean_of_the_fitted_log_variance(bars) -> None:
    series = _series(bars)
    params = HarModel().fit(series)
    assert params is not None
    design = _design_with_pandas(series.variance_proxy).to_numpy()
    coefficients = np.array([params[n] for n in ("b0", "b1", "b5", "b22")])
    expected = np.exp(design @ coefficients + params["residual_variance"] / 2)
    forecast = HarModel().one_step_variance(series, params)
    np.testing.assert_allclose(forecast, expected, rtol=1e-10)
    assert np.isnan(forecast[:21]).all() and np.isfinite(forecast[21:]).all()


def test_an_h_day_forecast_is_h_times_a_direct_regression_of_the_mean_variance(bars) -> None:
    series = _series(bars)
    params = HarModel(horizons=(1, 5)).fit(series)
    assert params is not None
    design = _design_with_pandas(series.variance_proxy)
    target = np.log(pd.Series(series.variance_proxy).rolling(5).mean().shift(-5))
    rows = design.notna().all(axis=1) & target.notna()
    expected, *_ = np.linalg.lstsq(design[rows].to_numpy(), target[rows].to_numpy(), rcond=None)
    np.testing.assert_allclose(
        [params[f"{n}@5"] for n in ("b0", "b1", "b5", "b22")], expected, rtol=1e-9
    )
    five = HarModel().cumulative_variance(series, params, 5)
    mean_daily = np.exp(design.to_numpy() @ expected + params["residual_variance@5"] / 2)
    np.testing.assert_allclose(five, 5 * mean_daily, rtol=1e-9)
    with pytest.raises(ValueError, match="no 10-day regression"):
        HarModel().cumulative_variance(series, params, 10)


def test_a_forecast_uses_only_the_bars_up_to_its_row(bars) -> None:
    series = _series(bars)
    params = HarModel().fit(series)
    assert params is not None
    changed = series.variance_proxy.copy()
    changed[300:] *= 4.0
    before = HarModel().one_step_variance(series, params)
    after = HarModel().one_step_variance(SymbolSeries(series.returns, changed), params)
    np.testing.assert_array_equal(before[:300], after[:300])
    assert not np.allclose(before[300:], after[300:])


def test_too_short_a_series_has_no_fit() -> None:
    proxy = np.linspace(1.0, 2.0, 22 + 29)  # 29 regression rows, one short
    assert HarModel().fit(SymbolSeries(np.zeros(proxy.size), proxy)) is None
    proxy = np.exp(np.sin(np.arange(22 + 30)))
    assert HarModel().fit(SymbolSeries(np.zeros(proxy.size), proxy)) is not None
    assert np.isnan(har_design(proxy[:21])).all()
