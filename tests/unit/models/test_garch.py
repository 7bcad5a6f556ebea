"""GARCH(1,1)-t: the same parameters and one-step forecast as arch itself."""

from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model
from scipy.stats import t as student_t

from market_predictor.features import build_features
from market_predictor.models.garch import GarchForecaster
from tests.fixtures.ml import garch_prices


@pytest.fixture(scope="module")
def prices():
    return garch_prices(days=700)


def _arch_result(prices, symbol: str):
    returns = build_features(prices[prices["symbol"] == symbol])["log_return"].dropna() * 100
    model = arch_model(returns.to_numpy(), mean="Zero", vol="GARCH", p=1, q=1, dist="t")
    return model.fit(disp="off")


def test_parameters_and_one_step_forecast_match_arch(prices) -> None:
    forecaster = GarchForecaster().fit(prices)
    for symbol in ("GGG", "HHH"):
        result = _arch_result(prices, symbol)
        params = forecaster.parameters_for(symbol)
        for name in ("omega", "alpha[1]", "beta[1]", "nu"):
            assert params[name] == pytest.approx(result.params[name], rel=1e-6)
        sigma = np.sqrt(result.forecast(horizon=1).variance.iloc[-1, 0]) / 100
        nu = result.params["nu"]
        expected = sigma * student_t.ppf([0.1, 0.9], nu) * np.sqrt((nu - 2) / nu)
        forecast = forecaster.predict(prices[prices["symbol"] == symbol]).iloc[0]
        last = forecast["last_close"]
        assert forecast["predicted_close"] == last
        np.testing.assert_allclose(
            np.log([forecast["lower"] / last, forecast["upper"] / last]), expected, rtol=1e-6
        )


def test_each_as_of_date_uses_only_returns_up_to_it(prices) -> None:
    forecaster = GarchForecaster().fit(prices)
    cut = prices["date"].sort_values().unique()[500]
    early = forecaster.predict_range(prices[prices["date"] <= cut], start=cut)
    late = forecaster.predict_range(prices, start=cut, end=cut)
    np.testing.assert_allclose(early[["lower", "upper"]], late[["lower", "upper"]])


def test_a_symbol_it_never_saw_uses_the_pooled_parameters(prices) -> None:
    forecaster = GarchForecaster().fit(prices[prices["symbol"] == "GGG"])
    other = prices[prices["symbol"] == "HHH"].assign(symbol="NEW")
    forecast = forecaster.predict(other)
    assert len(forecast) == 1
    assert forecaster.parameters_for("NEW") == forecaster.params["*"]
    assert forecast["upper"].iloc[0] > forecast["last_close"].iloc[0] > forecast["lower"].iloc[0]


def test_too_few_returns_is_a_clear_error(prices) -> None:
    with pytest.raises(ValueError, match="GARCH did not fit"):
        GarchForecaster().fit(prices.groupby("symbol").head(40))
