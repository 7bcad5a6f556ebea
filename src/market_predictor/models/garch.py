"""GARCH(1,1)-t, the classical volatility forecast to beat, and its asymmetric GJR form.

GJR-GARCH(1,1): sigma2_t = omega + (alpha + gamma [r_{t-1} < 0]) r_{t-1}^2 + beta sigma2_{t-1};
GARCH(1,1) is the same with gamma = 0. Both are fitted per symbol with `arch` on log
returns x100 (arch's recommended scale, where its optimiser is well conditioned), Student-t
errors; a symbol not seen at fitting uses the median of the fitted symbols' parameters.

Forecasting re-runs arch's variance recursion with the fitted parameters over the returns
it is given, started from arch's own backcast, so on the fitting series the one-step
forecast equals `arch`'s `forecast(horizon=1)` (a test proves it), and any as-of date in
a backtest uses only returns up to that date: in a symbol's first SETTLE_ROWS rows,
whose backcast would reach past them, the forecast re-runs the recursion from the
backcast of its own returns (models/volatility.py `settle_rows`). The recursion is
linear in sigma2, so it runs as one first-order filter (the loop's exact operations,
in C).

GARCH keeps its Student-t quantiles (the model's own error distribution); GJR-GARCH uses
filtered historical simulation (see models/volatility.py).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.signal import lfilter

from market_predictor.features import WARMUP_ROWS
from market_predictor.models.volatility import (
    QuantileMethod,
    SymbolSeries,
    VolatilityForecaster,
    VolatilityModel,
    backcast,
    check_horizon,
    fit_with_arch,
)

# Rows after which the start no longer matters: 0.9^126 < 2e-6, so the backcast's
# weight on a forecast is negligible by then. A forecast before it (a symbol listed
# from WARMUP_ROWS on) starts from the backcast of its own returns only.
SETTLE_ROWS = 126


class GjrGarchModel(VolatilityModel):
    kind: ClassVar[str] = "gjr_garch"
    label: ClassVar[str] = "GJR-GARCH"
    default_quantile_method: ClassVar[QuantileMethod] = "fhs"
    history_rows: ClassVar[int] = WARMUP_ROWS
    settle_rows: ClassVar[int] = SETTLE_ROWS
    has_student_t: ClassVar[bool] = True
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "alpha[1]", "gamma[1]", "beta[1]", "nu")
    asymmetric_order: ClassVar[int] = 1  # arch's `o`

    def fit(self, series: SymbolSeries) -> dict[str, float] | None:
        return fit_with_arch(
            series.returns, self.parameter_names, vol="GARCH", p=1, o=self.asymmetric_order, q=1
        )

    def one_step_variance(self, series: SymbolSeries, params: dict[str, float]) -> np.ndarray:
        returns = series.returns
        if returns.size == 0:
            return np.empty(0)
        omega, alpha, beta = params["omega"], params["alpha[1]"], params["beta[1]"]
        gamma = params.get("gamma[1]", 0.0)
        # arch's sigma2[0]: every lag backcast, the asymmetric one at half weight.
        start = omega + (alpha + 0.5 * gamma + beta) * backcast(returns)
        news = omega + (alpha + gamma * (returns < 0)) * returns * returns
        variance, _ = lfilter([1.0], [1.0, -beta], news, zi=[beta * start])
        return np.asarray(variance)

    def cumulative_variance(
        self, series: SymbolSeries, params: dict[str, float], horizon: int
    ) -> np.ndarray:
        """Analytic: E sigma2_{t+k} = omega + (alpha + gamma/2 + beta) E sigma2_{t+k-1}
        (a negative shock has probability 1/2, as arch assumes), summed over k = 1..h."""
        check_horizon(horizon)
        expected = self.one_step_variance(series, params)
        persistence = params["alpha[1]"] + 0.5 * params.get("gamma[1]", 0.0) + params["beta[1]"]
        total = expected.copy()
        for _ in range(horizon - 1):
            expected = params["omega"] + persistence * expected
            total += expected
        return total


class GarchModel(GjrGarchModel):
    kind: ClassVar[str] = "garch"
    label: ClassVar[str] = "GARCH"
    default_quantile_method: ClassVar[QuantileMethod] = "student_t"
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "alpha[1]", "beta[1]", "nu")
    asymmetric_order: ClassVar[int] = 0


class GarchForecaster(VolatilityForecaster):
    model_type: ClassVar[type[VolatilityModel]] = GarchModel


class GjrGarchForecaster(VolatilityForecaster):
    model_type: ClassVar[type[VolatilityModel]] = GjrGarchModel
