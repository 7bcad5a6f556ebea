"""log-HAR on a range-based daily variance: the risk desk's cheap realised-volatility model.

Daily variance proxy RV_t = Garman-Klass on the day's bar + the squared overnight gap
(models/volatility.variance_proxy). Corsi's heterogeneous autoregression, in logs:
    ln RV_{t+1} = b0 + b1 ln RV_t + b5 ln mean(RV_{t-4..t}) + b22 ln mean(RV_{t-21..t}) + e,
fitted per symbol by ordinary least squares (a symbol not seen at fitting uses the
median coefficients). The forecast is exp(fit + s2 / 2), s2 the residual variance (the
lognormal mean). For h days ahead a direct regression of ln mean(RV_{t+1..t+h}) on the
same regressors gives the mean daily variance, times h the cumulative one.

RV is a proxy: a range estimator is biased against the close-to-close return variance
(discrete sampling, no overnight drift model). The quantiles come from filtered
historical simulation, the empirical quantiles of r_{t+1} / sqrt(forecast_t) on the
training rows, so that bias is absorbed by the standardisation, not by the forecast.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from market_predictor.models.volatility import (
    QuantileMethod,
    SymbolSeries,
    VolatilityForecaster,
    VolatilityModel,
    check_horizon,
)

LAGS = (1, 5, 22)
COEFFICIENTS = ("b0", "b1", "b5", "b22")
RESIDUAL_VARIANCE = "residual_variance"
# Regression rows a fit needs beyond the 22-day warm-up (4 coefficients).
MIN_REGRESSION_ROWS = 30


def parameter_name(name: str, horizon: int) -> str:
    """Horizon 1 keeps the plain names; horizon h's regression is suffixed `@h`."""
    return name if horizon == 1 else f"{name}@{horizon}"


def har_design(variance_proxy: np.ndarray) -> np.ndarray:
    """The regressors at each row t: 1, ln RV_t, ln mean RV over the last 5 and 22 rows
    (t included). Rows before the 22nd are NaN."""
    n = variance_proxy.size
    design = np.full((n, len(COEFFICIENTS)), np.nan)
    longest = max(LAGS)
    if n < longest:
        return design
    design[longest - 1 :, 0] = 1.0
    for column, lag in enumerate(LAGS, start=1):
        means = np.lib.stride_tricks.sliding_window_view(variance_proxy, lag).mean(axis=1)
        design[longest - 1 :, column] = np.log(means[longest - lag :])
    return design


def har_target(variance_proxy: np.ndarray, horizon: int) -> np.ndarray:
    """ln mean(RV_{t+1..t+h}) at each row t; NaN for the last h rows."""
    target = np.full(variance_proxy.size, np.nan)
    if variance_proxy.size > horizon:
        windows = np.lib.stride_tricks.sliding_window_view(variance_proxy[1:], horizon)
        target[: windows.shape[0]] = np.log(windows.mean(axis=1))
    return target


class HarModel(VolatilityModel):
    kind: ClassVar[str] = "har"
    label: ClassVar[str] = "HAR"
    default_quantile_method: ClassVar[QuantileMethod] = "fhs"
    # The first row has no proxy (no previous close), then 22 rows of it.
    history_rows: ClassVar[int] = max(LAGS) + 1
    uses_variance_proxy: ClassVar[bool] = True

    def fit(self, series: SymbolSeries) -> dict[str, float] | None:
        design = har_design(series.variance_proxy)
        params: dict[str, float] = {}
        for horizon in self.horizons:
            target = har_target(series.variance_proxy, horizon)
            rows = np.isfinite(target) & np.isfinite(design).all(axis=1)
            if rows.sum() < MIN_REGRESSION_ROWS:
                return None
            coefficients, *_ = np.linalg.lstsq(design[rows], target[rows], rcond=None)
            residuals = target[rows] - design[rows] @ coefficients
            residual_variance = float(residuals @ residuals / (rows.sum() - len(COEFFICIENTS)))
            values = [*coefficients.tolist(), residual_variance]
            if not np.all(np.isfinite(values)):
                return None
            names = [*COEFFICIENTS, RESIDUAL_VARIANCE]
            params.update(
                {parameter_name(n, horizon): v for n, v in zip(names, values, strict=True)}
            )
        return params

    def one_step_variance(self, series: SymbolSeries, params: dict[str, float]) -> np.ndarray:
        return self.cumulative_variance(series, params, 1)

    def cumulative_variance(
        self, series: SymbolSeries, params: dict[str, float], horizon: int
    ) -> np.ndarray:
        check_horizon(horizon)
        names = [parameter_name(n, horizon) for n in COEFFICIENTS]
        if names[0] not in params:
            raise ValueError(f"HAR parameters hold no {horizon}-day regression; fit it")
        coefficients = np.array([params[n] for n in names])
        log_mean = har_design(series.variance_proxy) @ coefficients
        residual_variance = params[parameter_name(RESIDUAL_VARIANCE, horizon)]
        return horizon * np.exp(log_mean + 0.5 * residual_variance)


class HarForecaster(VolatilityForecaster):
    model_type: ClassVar[type[VolatilityModel]] = HarModel
