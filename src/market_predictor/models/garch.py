"""GARCH(1,1) with Student-t errors: the classical volatility forecast to beat.

The median is the last close (a zero-mean model: day-ahead returns carry no usable
mean). The interval comes from the one-step conditional volatility. Parameters are
fitted per symbol with `arch` on log returns x100 (arch's recommended scale, where
its optimiser is well conditioned); a symbol not seen at fitting uses the median of
the fitted symbols' parameters.

Forecasting re-runs arch's variance recursion with the fitted parameters over the
returns it is given, started from arch's own backcast, so on the fitting series the
one-step forecast equals `arch`'s `forecast(horizon=1)` (a test proves it), and any
as-of date in a backtest uses only returns up to that date.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from market_predictor.evaluation import DEFAULT_QUANTILES
from market_predictor.features import build_features
from market_predictor.models.forecaster import Forecaster

SCALE = 100.0  # arch fits returns in percent
PARAMETERS = ("omega", "alpha[1]", "beta[1]", "nu")
# Returns a symbol needs for its own fit; fewer and it uses the pooled parameters.
MIN_FIT_RETURNS = 250
# When no symbol has MIN_FIT_RETURNS, the longest series is fitted if it has this many
# (a short-history store still gets a GARCH rival; the gate judges whether it is any good).
MIN_ANY_FIT_RETURNS = 60
# Rows the recursion runs over before a forecast: 0.9^126 < 2e-6, so the backcast's
# weight on the forecast is negligible by then.
HISTORY_ROWS = 126
BACKCAST_ROWS = 75  # arch's backcast window and decay (VolatilityProcess.backcast)
BACKCAST_DECAY = 0.94


def backcast(scaled_returns: np.ndarray) -> float:
    """arch's starting variance: exponentially weighted mean of the first squared returns."""
    tau = min(BACKCAST_ROWS, scaled_returns.size)
    weights = BACKCAST_DECAY ** np.arange(tau)
    return float(np.sum(scaled_returns[:tau] ** 2 * weights / weights.sum()))


def one_step_variance(scaled_returns: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """Variance (in percent^2) of the return following each of `scaled_returns`."""
    omega, alpha, beta = params["omega"], params["alpha[1]"], params["beta[1]"]
    start = backcast(scaled_returns)
    variance = np.empty(scaled_returns.size)
    current = omega + (alpha + beta) * start  # arch's sigma2[0]: both lags backcast
    for i, value in enumerate(scaled_returns):
        variance[i] = omega + alpha * value * value + beta * current
        current = variance[i]
    return variance


def fit_garch(scaled_returns: np.ndarray) -> dict[str, float] | None:
    """GARCH(1,1)-t parameters for one series, or None if arch does not converge."""
    from arch import arch_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes are judged by the flag below
        result = arch_model(
            scaled_returns, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False
        ).fit(disp="off", show_warning=False)
    params = {name: float(result.params[name]) for name in PARAMETERS}
    if result.convergence_flag != 0 or not all(np.isfinite(v) for v in params.values()):
        return None
    return params


def _returns_by_symbol(features: pd.DataFrame) -> dict[str, np.ndarray]:
    returns = features["log_return"].to_numpy(dtype="float64") * SCALE
    symbols = features["symbol"].to_numpy()
    out: dict[str, np.ndarray] = {}
    for symbol in pd.unique(symbols):
        series = returns[symbols == symbol]
        out[str(symbol)] = series[np.isfinite(series)]
    return out


class GarchForecaster(Forecaster):
    is_baseline = False

    def __init__(
        self,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        params: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self.quantiles = tuple(float(q) for q in quantiles)
        self.params: dict[str, dict[str, float]] = dict(params or {})

    @property
    def min_history(self) -> int:
        return HISTORY_ROWS

    def fit(self, prices: pd.DataFrame) -> GarchForecaster:
        """Fit each symbol with enough returns; the pooled entry is their median."""
        series_by_symbol = _returns_by_symbol(build_features(prices))
        fitted = {}
        for symbol, series in series_by_symbol.items():
            if series.size >= MIN_FIT_RETURNS:
                params = fit_garch(series)
                if params is not None:
                    fitted[symbol] = params
        longest = max(series_by_symbol, key=lambda s: series_by_symbol[s].size, default=None)
        if not fitted and longest and series_by_symbol[longest].size >= MIN_ANY_FIT_RETURNS:
            params = fit_garch(series_by_symbol[longest])
            if params is not None:
                fitted[longest] = params
        if not fitted:
            raise ValueError(
                f"GARCH did not fit: it needs {MIN_ANY_FIT_RETURNS} returns of one symbol"
            )
        pooled = {name: float(np.median([p[name] for p in fitted.values()])) for name in PARAMETERS}
        self.params = {**fitted, "*": pooled}
        return self

    def parameters_for(self, symbol: str) -> dict[str, float]:
        return self.params.get(symbol, self.params["*"])

    def standardised_quantiles(self, nu: float) -> np.ndarray:
        """Quantiles of arch's unit-variance Student t with `nu` degrees of freedom."""
        return np.asarray(student_t.ppf(self.quantiles, nu) * np.sqrt((nu - 2.0) / nu))

    def horizon_quantiles(
        self, features: pd.DataFrame, rows: np.ndarray, horizon: int
    ) -> np.ndarray:
        if horizon != 1:
            raise ValueError("this GARCH forecasts the next day only")
        rows = np.asarray(rows)
        returns = features["log_return"].to_numpy(dtype="float64") * SCALE
        symbols = features["symbol"].to_numpy()
        out = np.zeros((rows.size, len(self.quantiles)))
        for symbol in pd.unique(symbols[rows]):
            params = self.parameters_for(str(symbol))
            positions = np.flatnonzero(symbols == symbol)
            series = returns[positions]
            valid = np.isfinite(series)
            variance = np.full(series.size, np.nan)
            variance[valid] = one_step_variance(series[valid], params)
            # A warm-up row (no return yet) carries the first variance forward.
            variance = pd.Series(variance).bfill().ffill().to_numpy()
            wanted = symbols[rows] == symbol
            local = np.searchsorted(positions, rows[wanted])
            sigma = np.sqrt(variance[local]) / SCALE
            out[wanted] = sigma[:, None] * self.standardised_quantiles(params["nu"])[None, :]
        out[:, self.median_index] = 0.0
        return out

    def to_params(self) -> dict[str, Any]:
        return {"quantiles": list(self.quantiles), "garch": self.params}
