"""EGARCH(1,1)-t: Nelson's exponential GARCH, in arch's parametrisation.

ln sigma2_t = omega + alpha (|e_{t-1}| - sqrt(2/pi)) + gamma e_{t-1} + beta ln sigma2_{t-1},
e = r / sigma. arch centres |e| with sqrt(2/pi), the normal E|e|, whatever the error
distribution (with Student-t errors E|e| is smaller; the intercept absorbs the gap in the
fit, and the multi-step forecast below uses the true t moment). Fitted per symbol with
arch (p=1, o=1, q=1, Student-t errors, percent returns); the recursion is re-run from
arch's backcast (the log of GARCH's), so on the fitting series it equals arch's
`forecast(horizon=1)`. Its quantiles come from filtered historical simulation.

Multi-step: arch has no analytic EGARCH forecast beyond one step (it simulates). Here
ln sigma2_{t+k} = omega + beta ln sigma2_{t+k-1} + g(e_{t+k-1}) with iid shocks, so given
the one-step forecast the log variance k steps on has mean m_k and variance v_k from
    m_k = omega + E g + beta m_{k-1},  v_k = Var g + beta^2 v_{k-1},  m_1 = ln sigma2_{t+1},
    E g = alpha (E|e| - sqrt(2/pi)),  Var g = alpha^2 (1 - (E|e|)^2) + gamma^2
(unit-variance, symmetric t: E e = 0, E e^2 = 1, Cov(|e|, e) = 0), and the expected
variance is taken as lognormal: exp(m_k + v_k / 2). The lognormal step is the
approximation (g is not normal; with t errors E exp(s|e|) is not even finite, so no
exact expectation exists, and arch's simulation mean is a finite-sample stand-in); a
test holds it to arch's simulation forecast within a stated tolerance.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy.special import gammaln

from market_predictor.models.volatility import (
    QuantileMethod,
    SymbolSeries,
    VolatilityForecaster,
    VolatilityModel,
    backcast,
    check_horizon,
    fit_with_arch,
)

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
# The log variances a sane fit stays within: arch caps just below the largest double's
# log (recursions.LNSIGMA_MAX); below the smallest normal double's log, exp vanishes.
LOG_VARIANCE_MAX = math.log(np.finfo(np.float64).max) - 0.1
LOG_VARIANCE_MIN = math.log(np.finfo(np.float64).tiny)
HISTORY_ROWS = 126  # as GARCH: the backcast's weight is negligible after it


def mean_absolute_t(nu: float) -> float:
    """E|e| for arch's unit-variance Student t with `nu` > 2 degrees of freedom."""
    log_ratio = gammaln((nu + 1.0) / 2.0) - gammaln(nu / 2.0)
    return float(
        2.0 * math.sqrt(nu - 2.0) * math.exp(log_ratio) / (math.sqrt(math.pi) * (nu - 1.0))
    )


class EgarchModel(VolatilityModel):
    kind: ClassVar[str] = "egarch"
    label: ClassVar[str] = "EGARCH"
    default_quantile_method: ClassVar[QuantileMethod] = "fhs"
    history_rows: ClassVar[int] = HISTORY_ROWS
    has_student_t: ClassVar[bool] = True
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "alpha[1]", "gamma[1]", "beta[1]", "nu")

    def fit(self, series: SymbolSeries) -> dict[str, float] | None:
        return fit_with_arch(series.returns, self.parameter_names, vol="EGARCH", p=1, o=1, q=1)

    def one_step_variance(self, series: SymbolSeries, params: dict[str, float]) -> np.ndarray:
        returns = series.returns
        if returns.size == 0:
            return np.empty(0)
        omega, alpha = params["omega"], params["alpha[1]"]
        gamma, beta = params["gamma[1]"], params["beta[1]"]
        # arch's ln sigma2[0]: no shock yet, the lagged log variance backcast.
        log_variance = omega + beta * math.log(backcast(returns))
        out = np.empty(returns.size)
        # The shock depends on the variance it divides by, so this cannot be a linear
        # filter; plain floats keep the loop at about a microsecond a row.
        for i, value in enumerate(returns.tolist()):
            shock = value / math.sqrt(math.exp(log_variance))
            log_variance = (
                omega + alpha * (abs(shock) - SQRT_2_OVER_PI) + gamma * shock + beta * log_variance
            )
            if not LOG_VARIANCE_MIN <= log_variance <= LOG_VARIANCE_MAX:
                # Degenerate parameters (arch can report convergence at an absurd alpha,
                # or at beta = 1): the variance left the doubles, where arch would cap it;
                # there is none from here on, and fit_symbol rejects such a fit.
                out[i:] = np.nan
                break
            out[i] = log_variance
        return np.exp(out)

    def cumulative_variance(
        self, series: SymbolSeries, params: dict[str, float], horizon: int
    ) -> np.ndarray:
        """Sum over k = 1..h of the lognormal expected variance (module docstring)."""
        check_horizon(horizon)
        one_step = self.one_step_variance(series, params)
        alpha, gamma, beta = params["alpha[1]"], params["gamma[1]"], params["beta[1]"]
        absolute = mean_absolute_t(params["nu"])
        shock_mean = alpha * (absolute - SQRT_2_OVER_PI)
        shock_variance = alpha**2 * (1.0 - absolute**2) + gamma**2
        mean, spread = np.log(one_step), 0.0
        total = one_step.copy()
        for _ in range(horizon - 1):
            mean = params["omega"] + shock_mean + beta * mean
            spread = shock_variance + beta**2 * spread
            total += np.exp(mean + 0.5 * spread)
        return total


class EgarchForecaster(VolatilityForecaster):
    model_type: ClassVar[type[VolatilityModel]] = EgarchModel
