"""The volatility forecasters (GARCH, GJR-GARCH, EGARCH, HAR): quantiles from arch's own
variance and the model's standardised training returns, pooled fallbacks, no look-ahead,
and saved models that load back."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from market_predictor.features import build_features
from market_predictor.models.egarch import EgarchForecaster
from market_predictor.models.garch import GarchForecaster, GarchModel, GjrGarchForecaster
from market_predictor.models.har import HarForecaster
from market_predictor.models.pyfunc import history_rows, load_forecaster, save_forecaster
from market_predictor.models.rivals import VOLATILITY_FORECASTERS
from market_predictor.models.volatility import (
    BACKCAST_ROWS,
    MIN_FHS_ROWS,
    MIN_FIT_RETURNS,
    POOLED,
    SymbolSeries,
    VolatilityForecaster,
    fhs_quantiles,
    standardised_returns,
)
from tests.fixtures.ml import garch_prices

LEVELS = (0.1, 0.5, 0.9)
KINDS = sorted(VOLATILITY_FORECASTERS)
GARCH_FAMILY = ["egarch", "garch", "gjr_garch"]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    """GARCH-clustered closes with a real-looking bar around each (HAR needs a range)."""
    frame = garch_prices(days=700)
    wiggle = np.random.default_rng(5).uniform(0.001, 0.02, len(frame))
    frame["open"] = frame.groupby("symbol")["close"].shift(1).fillna(frame["close"])
    frame["high"] = np.maximum(frame["open"], frame["close"]) * (1 + wiggle)
    frame["low"] = np.minimum(frame["open"], frame["close"]) * (1 - wiggle)
    return frame


@pytest.fixture(scope="module")
def fitted(prices) -> dict[str, VolatilityForecaster]:
    return {kind: VOLATILITY_FORECASTERS[kind](LEVELS).fit(prices) for kind in KINDS}


def _returns(prices: pd.DataFrame, symbol: str) -> np.ndarray:
    one = prices[prices["symbol"] == symbol]
    return build_features(one)["log_return"].dropna().to_numpy() * 100


@pytest.mark.parametrize(
    ("forecaster", "spec"),
    [
        (GjrGarchForecaster, {"vol": "GARCH", "p": 1, "o": 1, "q": 1}),
        (EgarchForecaster, {"vol": "EGARCH", "p": 1, "o": 1, "q": 1}),
    ],
    ids=["gjr_garch", "egarch"],
)
def test_the_interval_is_archs_volatility_times_the_empirical_quantiles_of_its_scaled_returns(
    prices, forecaster, spec
) -> None:
    """FHS: the empirical 10%/90% of r_{t+1} / sigma_{t+1|t} on the fitting series, with
    sigma from arch's own one-step forecasts; the median stays the last close."""
    model = forecaster(LEVELS).fit(prices)
    for symbol in ("GGG", "HHH"):
        returns = _returns(prices, symbol)
        result = arch_model(returns, mean="Zero", dist="t", rescale=False, **spec).fit(disp="off")
        variance = result.forecast(horizon=1, start=0, reindex=False).variance.to_numpy()[:, 0]
        scaled = returns[1:] / np.sqrt(variance[:-1])
        expected = np.quantile(scaled, LEVELS)
        np.testing.assert_allclose(
            model.standardised[1][symbol][[0, 2]], expected[[0, 2]], rtol=1e-6
        )
        assert model.standardised[1][symbol][1] == 0.0
        forecast = model.predict(prices[prices["symbol"] == symbol]).iloc[0]
        last = forecast["last_close"]
        assert forecast["predicted_close"] == last
        sigma = np.sqrt(variance[-1]) / 100
        np.testing.assert_allclose(
            np.log([forecast["lower"] / last, forecast["upper"] / last]),
            sigma * expected[[0, 2]],
            rtol=1e-6,
        )


def test_har_quantiles_standardise_returns_by_its_own_forecast(prices, fitted) -> None:
    har = fitted["har"]
    features = build_features(prices[prices["symbol"] == "GGG"])
    series = har._series_by_symbol(features)["GGG"]
    variance = har.model.one_step_variance(series, har.params["GGG"])
    scaled = series.returns[1:] / np.sqrt(variance[:-1])
    scaled = scaled[np.isfinite(scaled)]
    assert scaled.size == len(series) - 22
    expected = np.quantile(scaled, LEVELS)
    np.testing.assert_allclose(har.standardised[1]["GGG"][[0, 2]], expected[[0, 2]], rtol=1e-12)


def test_pooled_quantiles_are_those_of_every_fitted_symbols_scaled_returns(prices, fitted) -> None:
    for kind in ("gjr_garch", "egarch", "har"):
        forecaster = fitted[kind]
        features = build_features(prices)
        series = forecaster._series_by_symbol(features)
        scaled = [
            standardised_returns(forecaster.model, series[s], forecaster.params[s])
            for s in ("GGG", "HHH")
        ]
        expected = np.quantile(np.concatenate(scaled), LEVELS)
        expected[1] = 0.0
        np.testing.assert_allclose(forecaster.standardised[1][POOLED], expected, rtol=1e-12)


def test_fhs_for_h_days_uses_the_h_day_sums_over_archs_h_step_variance(prices) -> None:
    returns = _returns(prices, "GGG")
    result = arch_model(returns, mean="Zero", vol="GARCH", dist="t", rescale=False).fit(disp="off")
    params = {name: float(value) for name, value in result.params.items()}
    cumulative = result.forecast(horizon=5, start=0, reindex=False).variance.to_numpy().sum(axis=1)
    sums = pd.Series(returns).rolling(5).sum().shift(-5).to_numpy()
    scaled = (sums / np.sqrt(cumulative))[: returns.size - 5]
    expected = np.quantile(scaled, LEVELS)
    expected[1] = 0.0
    series = SymbolSeries(returns, np.empty(0))
    np.testing.assert_allclose(
        fhs_quantiles(GarchModel(), series, params, LEVELS, horizon=5), expected, rtol=1e-8
    )


def test_symbols_below_the_row_minimums_use_the_pooled_parameters_and_quantiles(prices) -> None:
    """Returns per symbol: AAA 699 (own fit, own quantiles); BBB MIN_FIT_RETURNS + 1 (own
    fit, exactly MIN_FHS_ROWS scaled returns: own quantiles); CCC MIN_FIT_RETURNS (own
    fit, one scaled return short: pooled quantiles); DDD one return short of a fit."""
    lengths = {"AAA": 700, "BBB": MIN_FIT_RETURNS + 2, "CCC": MIN_FIT_RETURNS + 1}
    lengths["DDD"] = MIN_FIT_RETURNS
    source = prices[prices["symbol"] == "GGG"]
    frames = [source.head(n).assign(symbol=s) for s, n in lengths.items()]
    universe = pd.concat(frames, ignore_index=True)
    assert MIN_FHS_ROWS == MIN_FIT_RETURNS  # the layout above relies on it
    forecaster = GjrGarchForecaster(LEVELS).fit(universe)
    assert sorted(forecaster.params) == [POOLED, "AAA", "BBB", "CCC"]
    assert sorted(forecaster.standardised[1]) == [POOLED, "AAA", "BBB"]
    pooled = {
        name: float(np.median([forecaster.params[s][name] for s in ("AAA", "BBB", "CCC")]))
        for name in forecaster.params["AAA"]
    }
    assert forecaster.params[POOLED] == pooled
    assert forecaster.parameters_for("DDD") == pooled
    assert forecaster.standardised_quantiles("CCC") is forecaster.standardised[1][POOLED]


@pytest.mark.parametrize("kind", KINDS)
def test_a_symbol_it_never_saw_is_forecast_with_the_pooled_entries(prices, kind) -> None:
    forecaster = VOLATILITY_FORECASTERS[kind](LEVELS).fit(prices[prices["symbol"] == "GGG"])
    other = prices[prices["symbol"] == "HHH"].assign(symbol="NEW")
    forecast = forecaster.predict(other)
    assert len(forecast) == 1
    assert forecaster.parameters_for("NEW") == forecaster.params[POOLED]
    assert forecast["upper"].iloc[0] > forecast["last_close"].iloc[0] > forecast["lower"].iloc[0]
    renamed = forecaster.predict(other.assign(symbol="GGG"))
    # GGG's own entries are the pooled ones when GGG is the only fitted symbol.
    np.testing.assert_allclose(forecast[["lower", "upper"]], renamed[["lower", "upper"]])


@pytest.mark.parametrize("kind", KINDS)
def test_each_as_of_date_uses_only_rows_up_to_it(prices, fitted, kind) -> None:
    forecaster = fitted[kind]
    cut = prices["date"].sort_values().unique()[500]
    early = forecaster.predict_range(prices[prices["date"] <= cut], start=cut)
    changed = prices.copy()
    later = changed["date"] > cut
    changed.loc[later, ["open", "high", "low", "close"]] *= np.linspace(0.5, 2.0, later.sum())[
        :, None
    ]
    late = forecaster.predict_range(changed, start=cut, end=cut)
    assert len(early) == 2
    np.testing.assert_allclose(early[["lower", "upper"]], late[["lower", "upper"]], rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_every_rival_saves_and_loads_through_the_pyfunc_files(tmp_path, prices, fitted, kind):
    forecaster = fitted[kind]
    save_forecaster(
        forecaster, tmp_path / kind, trained_until=dt.date(2017, 1, 1), drift_profile={}
    )
    loaded, spec = load_forecaster(tmp_path / kind)
    assert spec["kind"] == kind
    assert type(loaded) is type(forecaster)
    assert loaded.quantile_method == forecaster.quantile_method
    pd.testing.assert_frame_equal(loaded.predict_range(prices), forecaster.predict_range(prices))


def test_a_garch_model_saved_before_the_family_still_loads(tmp_path, prices, fitted) -> None:
    garch = fitted["garch"]
    directory = tmp_path / "old"
    directory.mkdir()
    old_params = {"quantiles": list(LEVELS), "garch": garch.params}
    spec = {"kind": "garch", "params": old_params, "is_baseline": False, "min_history": 126}
    (directory / "forecaster.json").write_text(
        json.dumps({**spec, "trained_until": "2017-01-01", "drift_profile": {}})
    )
    loaded, loaded_spec = load_forecaster(directory)
    assert isinstance(loaded, GarchForecaster)
    assert loaded.quantile_method == "student_t"
    # Saved before read_rows: the daily job keeps reading (and needing) its 126 rows.
    assert history_rows(loaded_spec) == (126, 126)
    pd.testing.assert_frame_equal(loaded.predict(prices), garch.predict(prices))


def test_garch_keeps_student_t_quantiles_and_har_has_none() -> None:
    assert GarchForecaster().quantile_method == "student_t"
    assert GjrGarchForecaster().quantile_method == "fhs"
    assert GarchForecaster(quantile_method="fhs").quantile_method == "fhs"
    with pytest.raises(ValueError, match="no Student-t"):
        HarForecaster(quantile_method="student_t")
    with pytest.raises(ValueError, match="unknown quantile method"):
        EgarchForecaster(quantile_method="normal")  # type: ignore[arg-type]


def test_garch_with_fhs_quantiles_fits_and_forecasts(prices) -> None:
    forecaster = GarchForecaster(LEVELS, quantile_method="fhs").fit(prices)
    assert sorted(forecaster.standardised[1]) == [POOLED, "GGG", "HHH"]
    loaded = GarchForecaster.from_params(forecaster.to_params())
    pd.testing.assert_frame_equal(loaded.predict(prices), forecaster.predict(prices))


@pytest.mark.parametrize("kind", KINDS)
def test_too_few_returns_is_a_clear_error(prices, kind) -> None:
    forecaster = VOLATILITY_FORECASTERS[kind]()
    with pytest.raises(ValueError, match=f"{forecaster.model.label} did not fit"):
        forecaster.fit(prices.groupby("symbol").head(40))


def test_importing_the_rivals_loads_neither_torch_nor_arch() -> None:
    code = (
        "import sys, market_predictor.models.rivals, market_predictor.models.per_symbol\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'lightning', 'arch'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("kind", KINDS)
def test_each_horizon_scales_its_own_quantiles_by_the_cumulative_variance(prices, kind) -> None:
    forecaster = VOLATILITY_FORECASTERS[kind](LEVELS, horizons=(1, 5)).fit(prices)
    features = build_features(prices)
    rows = np.flatnonzero(features["symbol"].eq("GGG").to_numpy())[-3:]
    one_day = forecaster.horizon_quantiles(features, rows, 1)
    five_day = forecaster.horizon_quantiles(features, rows, 5)
    series = forecaster._series_by_symbol(features[features["symbol"] == "GGG"])["GGG"]
    params = forecaster.parameters_for("GGG")
    cumulative = forecaster.model.cumulative_variance(series, params, 5)[-3:]
    expected = np.sqrt(cumulative)[:, None] / 100 * forecaster.standardised_quantiles("GGG", 5)
    np.testing.assert_allclose(five_day, expected, rtol=1e-10)
    # Five days of risk make a wider interval than one.
    assert np.all(five_day[:, 2] - five_day[:, 0] > one_day[:, 2] - one_day[:, 0])
    forecasts = forecaster.predict(prices)
    assert sorted(set(forecasts["horizon"])) == [1, 5]


@pytest.mark.parametrize("kind", KINDS)
def test_a_multi_horizon_rival_round_trips_through_its_params(prices, kind) -> None:
    forecaster = VOLATILITY_FORECASTERS[kind](LEVELS, horizons=(1, 5)).fit(prices)
    loaded = type(forecaster).from_params(json.loads(json.dumps(forecaster.to_params())))
    assert loaded.horizons == (1, 5)
    pd.testing.assert_frame_equal(loaded.predict(prices), forecaster.predict(prices))


def test_a_horizon_it_was_not_fitted_for_is_refused(prices) -> None:
    forecaster = GarchForecaster(LEVELS).fit(prices)
    features = build_features(prices)
    with pytest.raises(ValueError, match="fitted for horizons"):
        forecaster.horizon_quantiles(features, np.array([len(features) - 1]), 5)


@pytest.mark.parametrize("kind", GARCH_FAMILY)
def test_the_garch_family_forecasts_a_symbol_from_22_rows_on(
    tmp_path, prices, fitted, kind
) -> None:
    forecaster = fitted[kind]
    ggg = prices[prices["symbol"] == "GGG"]
    assert forecaster.predict(ggg.head(21)).empty
    forecast = forecaster.predict(ggg.head(22)).iloc[0]
    assert forecast["as_of_date"] == ggg["date"].iloc[21]
    assert forecast["lower"] < forecast["last_close"] < forecast["upper"]
    first = forecaster.predict_range(prices).groupby("symbol")["as_of_date"].min()
    assert first.tolist() == [prices["date"].iloc[21]] * 2
    # A mature symbol's daily window still spans the rows after which the start is moot.
    save_forecaster(forecaster, tmp_path, trained_until=dt.date(2017, 1, 1), drift_profile={})
    assert history_rows(load_forecaster(tmp_path)[1]) == (22, 126)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("row", [21, 40, BACKCAST_ROWS - 2, BACKCAST_ROWS - 1, 124, 125])
def test_a_forecast_in_a_symbols_first_months_is_the_one_its_rows_so_far_give(
    prices, fitted, kind, row
) -> None:
    """No look-ahead at row t: the forecast predict_range makes there is the one
    `predict` makes on rows 0..t (the daily job's), whatever the rows after t are."""
    forecaster = fitted[kind]
    ggg = prices[prices["symbol"] == "GGG"].reset_index(drop=True)
    as_of = ggg["date"].iloc[row]
    so_far = forecaster.predict(ggg.head(row + 1))
    changed = ggg.copy()
    later = changed.index > row
    changed.loc[later, ["open", "high", "low", "close"]] *= np.linspace(0.5, 2.0, later.sum())[
        :, None
    ]
    for history in (ggg, changed):
        backtest = forecaster.predict_range(history, start=as_of, end=as_of)
        pd.testing.assert_frame_equal(backtest, so_far, check_exact=True)


@pytest.mark.parametrize("kind", GARCH_FAMILY)
def test_forecasts_with_126_rows_behind_them_are_the_full_series_recursions(
    prices, fitted, kind
) -> None:
    """From 126 rows on, the variance is the one arch's recursion gives over the whole
    series from its backcast, to the bit; before the backcast's 75 rows it is not."""
    forecaster = fitted[kind]
    features = build_features(prices[prices["symbol"] == "HHH"])
    series = forecaster._series_by_symbol(features)["HHH"]
    params = forecaster.parameters_for("HHH")
    full = forecaster.model.cumulative_variance(series, params, 1)
    scaled = forecaster.standardised_quantiles("HHH", 1)
    rows = np.arange(125, len(features))  # row p's last return is the series' p - 1
    expected = np.sqrt(full[rows - 1])[:, None] / 100 * scaled[None, :]
    np.testing.assert_array_equal(forecaster.horizon_quantiles(features, rows, 1), expected)
    early = np.array([30])
    assert not np.allclose(
        forecaster.horizon_quantiles(features, early, 1),
        np.sqrt(full[early - 1])[:, None] / 100 * scaled[None, :],
        rtol=1e-6,
    )
