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

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
# arch caps the log variance just below the largest double's log (recursions.LNSIGMA_MAX).
LOG_VARIANCE_MAX = math.log(np.finfo(np.float64).max) - 0.1
SETTLE_ROWS = 126  # as GARCH: the backcast's weight is negligible after it


def variance_bounds(returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """arch's loose bounds on each row's conditional variance (ARCHModel.variance_bounds),
    and one more for the variance after the last row:
    an EWMA (0.94) of the squared returns divided and multiplied by 1e6, the lower one
    at least the sample variance / 1e8, the upper one between 1 + and 1e7 x (1 + the
    largest squared return). arch's recursion clips the variance it divides by to them
    (the upper one softly)."""
    from scipy.signal import lfilter

    squared = returns**2
    ewma = np.empty(returns.size + 1)  # one more: the bound of the forecast past the end
    ewma[0] = backcast(returns)
    ewma[1:] = lfilter([0.06], [1.0, -0.94], squared, zi=[0.94 * ewma[0]])[0]
    largest = 1.0 + float(squared.max())
    # Never 0, even for a series without a move: the recursion divides by it.
    lower = np.maximum(ewma / 1e6, max(float(np.var(returns)) / 1e8, np.finfo(float).tiny))
    upper = np.clip(ewma * 1e6, largest, 1e7 * largest)
    return lower, upper


def _bounded(log_variance: float, lower: float, upper: float) -> tuple[float, float, bool]:
    """(variance, its log, whether a bound bit) as arch's recursion clips it: capped in
    logs at LOG_VARIANCE_MAX, floored at `lower`, and above `upper` only logarithmically."""
    log_variance = min(log_variance, LOG_VARIANCE_MAX)
    variance = math.exp(log_variance)
    if variance < lower:
        return lower, math.log(lower), True
    if variance > upper:
        variance = upper + log_variance - math.log(upper)
        return variance, math.log(variance), True
    return variance, log_variance, False


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
    history_rows: ClassVar[int] = WARMUP_ROWS
    settle_rows: ClassVar[int] = SETTLE_ROWS
    has_student_t: ClassVar[bool] = True
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "alpha[1]", "gamma[1]", "beta[1]", "nu")

    def fit(self, series: SymbolSeries) -> dict[str, float] | None:
        params = fit_with_arch(series.returns, self.parameter_names, vol="EGARCH", p=1, o=1, q=1)
        if params is None or self._recursion(series.returns, params)[1]:
            # A log variance that runs into arch's bounds on its own fitting series (a
            # large shock lowering it, which lowers it further) is no volatility model.
            return None
        return params

    def one_step_variance(self, series: SymbolSeries, params: dict[str, float]) -> np.ndarray:
        return self._recursion(series.returns, params)[0]

    @staticmethod
    def _recursion(returns: np.ndarray, params: dict[str, float]) -> tuple[np.ndarray, bool]:
        """arch's EGARCH recursion: the variance after each row, clipped to arch's
        bounds as arch clips every in-sample one (arch leaves its final forecast
        unbounded below; here it is bounded too, by the bounds' next step), and whether
        the bounds bound anything."""
        if returns.size == 0:
            return np.empty(0), False
        omega, alpha = params["omega"], params["alpha[1]"]
        gamma, beta = params["gamma[1]"], params["beta[1]"]
        lower, upper = variance_bounds(returns)
        # arch's ln sigma2[0]: no shock yet, the lagged log variance backcast.
        variance, log_variance, bounded = _bounded(
            omega + beta * math.log(backcast(returns)), lower[0], upper[0]
        )
        out = np.empty(returns.size)
        # The shock depends on the variance it divides by, so this cannot be a linear
        # filter; plain floats keep the loop at about a microsecond a row.
        for i, value in enumerate(returns.tolist()):
            shock = value / math.sqrt(variance)
            variance, log_variance, hit = _bounded(
                omega + alpha * (abs(shock) - SQRT_2_OVER_PI) + gamma * shock + beta * log_variance,
                lower[i + 1],
                upper[i + 1],
            )
            bounded |= hit
            out[i] = variance
        return out, bounded

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
