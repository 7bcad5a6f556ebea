"""GARCH, GJR-GARCH and EGARCH: the same parameters and variance forecasts as arch itself."""

from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model
from arch.univariate import EGARCH, StudentsT, ZeroMean

from market_predictor.features import build_features
from market_predictor.models.egarch import EgarchModel, mean_absolute_t, variance_bounds
from market_predictor.models.garch import GarchModel, GjrGarchModel
from market_predictor.models.volatility import (
    SymbolSeries,
    VolatilityModel,
    degenerate,
    fit_symbol,
)
from tests.fixtures.ml import garch_prices

ARCH_SPECS = {
    "garch": {"vol": "GARCH", "p": 1, "o": 0, "q": 1},
    "gjr_garch": {"vol": "GARCH", "p": 1, "o": 1, "q": 1},
    "egarch": {"vol": "EGARCH", "p": 1, "o": 1, "q": 1},
}
MODELS: list[VolatilityModel] = [GarchModel(), GjrGarchModel(), EgarchModel()]


@pytest.fixture(scope="module")
def returns() -> np.ndarray:
    prices = garch_prices(symbols=("GGG",), days=700)
    return build_features(prices)["log_return"].dropna().to_numpy() * 100


def _arch(returns: np.ndarray, kind: str):
    model = arch_model(returns, mean="Zero", dist="t", rescale=False, **ARCH_SPECS[kind])
    return model.fit(disp="off")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.kind)
def test_parameters_and_every_one_step_variance_on_the_fitting_series_match_arch(
    model: VolatilityModel, returns: np.ndarray
) -> None:
    series = SymbolSeries(returns, np.empty(0))
    result = _arch(returns, model.kind)
    params = model.fit(series)
    assert params is not None
    assert set(params) == set(result.params.index)
    for name, value in params.items():
        assert value == pytest.approx(result.params[name], rel=1e-6)
    # arch's one-step forecast made at every row of the series, the last one included.
    expected = result.forecast(horizon=1, start=0, reindex=False).variance.to_numpy()[:, 0]
    np.testing.assert_allclose(model.one_step_variance(series, params), expected, rtol=1e-8)


@pytest.mark.parametrize("model", [GarchModel(), GjrGarchModel()], ids=lambda m: m.kind)
def test_garch_and_gjr_cumulative_variance_is_archs_analytic_forecast_summed(
    model: VolatilityModel, returns: np.ndarray
) -> None:
    series = SymbolSeries(returns, np.empty(0))
    result = _arch(returns, model.kind)
    params = {name: float(value) for name, value in result.params.items()}
    for horizon in (1, 2, 10, 22):
        paths = result.forecast(horizon=horizon, start=0, reindex=False).variance.to_numpy()
        np.testing.assert_allclose(
            model.cumulative_variance(series, params, horizon), paths.sum(axis=1), rtol=1e-8
        )


def test_the_cumulative_variance_grows_with_each_added_day() -> None:
    series = SymbolSeries(np.array([1.0, -2.0, 0.5, 3.0]), np.empty(0))
    params = {"omega": 0.1, "alpha[1]": 0.1, "gamma[1]": 0.1, "beta[1]": 0.8, "nu": 6.0}
    one, two = (GjrGarchModel().cumulative_variance(series, params, h) for h in (1, 2))
    # Day two's expected variance: omega + (alpha + gamma/2 + beta) x day one's.
    np.testing.assert_allclose(two - one, 0.1 + 0.95 * one)
    with pytest.raises(ValueError, match="horizon"):
        GjrGarchModel().cumulative_variance(series, params, 0)


def test_a_negative_return_raises_gjr_variance_by_gamma_and_a_positive_one_does_not() -> None:
    params = {"omega": 0.1, "alpha[1]": 0.05, "gamma[1]": 0.2, "beta[1]": 0.7, "nu": 6.0}
    up, down = (
        GjrGarchModel().one_step_variance(SymbolSeries(np.array([1.0, r]), np.empty(0)), params)
        for r in (2.0, -2.0)
    )
    assert up[0] == down[0]
    assert down[1] - up[1] == pytest.approx(0.2 * 4.0)


def test_egarch_mean_absolute_shock_is_the_unit_variance_t_moment() -> None:
    draws = np.random.default_rng(0).standard_t(7.0, 2_000_000) * np.sqrt(5.0 / 7.0)
    assert mean_absolute_t(7.0) == pytest.approx(np.abs(draws).mean(), rel=2e-3)
    # Many degrees of freedom: the normal's sqrt(2/pi).
    assert mean_absolute_t(1e6) == pytest.approx(np.sqrt(2 / np.pi), rel=1e-5)


def test_egarch_multi_step_approximation_is_within_two_percent_of_archs_simulation() -> None:
    """Realistic daily EGARCH-t parameters (alpha 0.12, gamma -0.08, beta 0.97, nu 7).
    Two seeds of arch's 50,000-path simulation differ by up to 0.5% at these horizons;
    the lognormal approximation stays within 2% of it up to a month."""
    simulator = ZeroMean(
        volatility=EGARCH(1, 1, 1), distribution=StudentsT(seed=np.random.default_rng(3))
    )
    data = simulator.simulate([0.0, 0.12, -0.08, 0.97, 7.0], 1500)["data"].to_numpy()
    result = _arch(data, "egarch")
    params = {name: float(value) for name, value in result.params.items()}
    series = SymbolSeries(data, np.empty(0))
    start = data.size - 5
    for horizon in (2, 5, 10, 22):
        simulated = result.forecast(
            horizon=horizon,
            method="simulation",
            simulations=50_000,
            start=start,
            reindex=False,
            random_state=np.random.RandomState(0),
        ).variance.to_numpy()
        approximation = EgarchModel().cumulative_variance(series, params, horizon)[start:]
        np.testing.assert_allclose(approximation, simulated.sum(axis=1), rtol=0.02)
    one_step = EgarchModel().cumulative_variance(series, params, 1)
    np.testing.assert_allclose(one_step, EgarchModel().one_step_variance(series, params))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.kind)
def test_a_variance_depends_only_on_returns_up_to_its_row(
    model: VolatilityModel, returns: np.ndarray
) -> None:
    params = model.fit(SymbolSeries(returns, np.empty(0)))
    assert params is not None
    full = model.cumulative_variance(SymbolSeries(returns, np.empty(0)), params, 5)
    changed = returns.copy()
    changed[400:] *= 3.0
    early = model.cumulative_variance(SymbolSeries(changed, np.empty(0)), params, 5)
    np.testing.assert_array_equal(full[:400], early[:400])
    assert not np.allclose(full[400:], early[400:])


def test_a_series_arch_cannot_fit_returns_no_parameters() -> None:
    constant = SymbolSeries(np.zeros(300), np.empty(0))
    assert GarchModel().fit(constant) is None


def test_an_egarch_whose_shocks_lower_its_variance_stays_bounded_as_archs_and_is_refused() -> None:
    # alpha < 0: a large move lowers the log variance, which makes the next standardised
    # move larger still, until the variance underflows. arch clips each variance to its
    # bounds; so does the recursion here (it divided by zero before), row for row.
    prices = garch_prices(symbols=("GGG",), days=700, seed=4)
    returns = build_features(prices)["log_return"].dropna().to_numpy() * 100
    params = {"omega": 0.11, "alpha[1]": -0.3, "gamma[1]": -0.11, "beta[1]": 0.86, "nu": 4.3}
    model = EgarchModel()
    variance = model.one_step_variance(SymbolSeries(returns, np.empty(0)), params)
    fixed = arch_model(returns, mean="Zero", dist="t", rescale=False, **ARCH_SPECS["egarch"])
    result = fixed.fix(list(params.values()))
    expected = result.forecast(horizon=1, start=0, reindex=False).variance.to_numpy()[:, 0]
    lower, _ = variance_bounds(returns)
    assert np.isclose(variance[:-1], lower[1:-1], rtol=1e-12).any()  # the floor binds
    np.testing.assert_allclose(variance[:-1], expected[:-1], rtol=1e-8)
    # arch leaves the forecast past the end unbounded below; here it keeps the floor.
    assert variance[-1] >= lower[-1] > 0
    # A fit that needs the bounds on its own series is no volatility model.
    assert model._recursion(returns, params)[1]
    fitted = {"omega": 0.02, "alpha[1]": 0.1, "gamma[1]": -0.05, "beta[1]": 0.97, "nu": 6.0}
    assert not model._recursion(returns, fitted)[1]


def test_an_egarch_fit_that_needs_the_bounds_on_its_own_series_counts_as_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from market_predictor.models import egarch

    prices = garch_prices(symbols=("GGG",), days=700, seed=4)
    series = SymbolSeries(
        build_features(prices)["log_return"].dropna().to_numpy() * 100, np.empty(0)
    )
    runaway = {"omega": 0.11, "alpha[1]": -0.3, "gamma[1]": -0.11, "beta[1]": 0.86, "nu": 4.3}
    monkeypatch.setattr(egarch, "fit_with_arch", lambda *args, **kwargs: dict(runaway))
    assert EgarchModel().fit(series) is None
    sound = {"omega": 0.02, "alpha[1]": 0.1, "gamma[1]": -0.05, "beta[1]": 0.97, "nu": 6.0}
    monkeypatch.setattr(egarch, "fit_with_arch", lambda *args, **kwargs: dict(sound))
    assert EgarchModel().fit(series) == sound


# Parameters arch reported as converged on two bootstrapped 10-year series
# (bench/synthetic, 500 symbols, seed 0): a huge alpha, which makes the variance explode
# (arch caps it at the largest double), and a huge negative alpha with beta at its bound,
# which makes it vanish.
EXPLODING_EGARCH = {
    "omega": 4.45,
    "alpha[1]": 70273.1,
    "gamma[1]": -25205.6,
    "beta[1]": 0.00504,
    "nu": 2.079,
}
DEGENERATE_EGARCH = {
    "omega": 0.978,
    "alpha[1]": -365.9,
    "gamma[1]": -7.81,
    "beta[1]": 1.0,
    "nu": 2.05,
}


@pytest.mark.parametrize("params", [EXPLODING_EGARCH, DEGENERATE_EGARCH])
def test_an_egarch_whose_variance_would_leave_the_doubles_stays_in_bounds_and_is_refused(
    returns: np.ndarray, params: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    from market_predictor.models import egarch

    variance, bounded = EgarchModel._recursion(returns, params)
    assert variance.shape == returns.shape and bounded
    assert np.isfinite(variance).all() and (variance > 0).all()
    monkeypatch.setattr(egarch, "fit_with_arch", lambda *args, **kwargs: dict(params))
    assert EgarchModel().fit(SymbolSeries(returns, np.empty(0))) is None


def test_a_fit_whose_variance_degenerates_on_its_own_series_counts_as_failed(
    returns: np.ndarray,
) -> None:
    class Absurd(EgarchModel):
        # What a model without EGARCH's bounds would give: a variance that overflows.
        def fit(self, series: SymbolSeries) -> dict[str, float] | None:
            return DEGENERATE_EGARCH

        def cumulative_variance(
            self, series: SymbolSeries, params: dict[str, float], horizon: int
        ) -> np.ndarray:
            variance = np.ones(len(series))
            variance[len(series) // 2 :] = np.inf
            return variance

    series = SymbolSeries(returns, np.empty(0))
    assert fit_symbol(Absurd(), True, (1,), series) is None
    fitted = fit_symbol(EgarchModel(), True, (1, 5), series)
    assert fitted is not None and set(fitted.standardised) == {1, 5}


@pytest.mark.parametrize(
    ("variance", "expected"),
    [
        ([np.nan, np.nan, 1.0, 2.0], False),  # a warm-up before the first variance
        ([1.0, 2.0, np.nan], True),
        ([1.0, np.inf], True),
        ([1.0, 0.0], True),
        ([1.0, -1.0], True),
        ([np.nan, np.nan], True),
    ],
)
def test_a_variance_is_degenerate_once_it_leaves_the_positive_doubles(
    variance: list[float], expected: bool
) -> None:
    assert degenerate(np.array(variance)) is expected
