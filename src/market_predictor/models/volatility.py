"""The volatility-model family: per-symbol rivals behind one forecaster.

A model type (GARCH, GJR-GARCH, EGARCH, HAR) supplies three things about one symbol's
series: `fit` (its parameters, or None when the fit fails), `one_step_variance` (the
variance of the return after each row, using only that row and earlier ones) and
`cumulative_variance` (the expected variance of the sum of the next h returns). The
`VolatilityForecaster` does everything else once for every type: per-symbol fits
(through `map_per_symbol`, so any number of worker processes), the pooled median
parameters for symbols it never saw, and the quantiles.

The forecast is zero-mean: the median is the last close. The quantiles are the model's
volatility times standardised quantiles, by one of two methods:
- "student_t": the model's unit-variance Student t (nu fitted by arch);
- "fhs" (filtered historical simulation): the empirical quantiles of the model's own
  standardised training returns, per symbol with MIN_FHS_ROWS of them, else pooled
  over every fitted symbol. They are raw quantiles with only the median set to 0 (not
  re-centred), so on the training rows each tail is crossed as often as its level says.

Returns are in percent (x100, arch's scale) everywhere inside; quantile_returns gives
log returns.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from market_predictor.evaluation import DEFAULT_QUANTILES
from market_predictor.features import build_features
from market_predictor.models.forecaster import Forecaster, median_index
from market_predictor.models.per_symbol import map_per_symbol

SCALE = 100.0  # arch fits returns in percent
POOLED = "*"
# Returns a symbol needs for its own fit; fewer and it uses the pooled parameters.
MIN_FIT_RETURNS = 250
# When no symbol has MIN_FIT_RETURNS, the longest series is fitted if it has this many
# (a short-history store still gets the rival; the gate judges whether it is any good).
MIN_ANY_FIT_RETURNS = 60
# Standardised returns a symbol needs for its own FHS quantiles: a 10% tail is then
# estimated from 25 or more exceedances; fewer and it uses the pooled quantiles.
MIN_FHS_ROWS = 250
# A day with (almost) no range and no gap: the range-based variance floor, in percent^2
# (a 1 basis point daily move), so its log stays finite without dominating a regression.
VARIANCE_PROXY_FLOOR = 1e-4

QuantileMethod = Literal["student_t", "fhs"]
QUANTILE_METHODS: tuple[QuantileMethod, ...] = ("student_t", "fhs")


@dataclass(frozen=True)
class SymbolSeries:
    """One symbol's usable rows, oldest first."""

    returns: np.ndarray  # log return x100
    # Range-based daily variance in percent^2 (models that use it; else empty).
    variance_proxy: np.ndarray

    def __len__(self) -> int:
        return int(self.returns.size)


class VolatilityModel(ABC):
    """One model type's maths on one symbol's series (percent returns)."""

    kind: ClassVar[str]
    label: ClassVar[str]
    default_quantile_method: ClassVar[QuantileMethod]
    # Price rows a symbol needs before it is forecast.
    history_rows: ClassVar[int]
    # Leading rows of a series whose variance the model's start (arch's backcast, its
    # bounds) takes partly from later rows. A forecast at one of them recomputes the
    # variance from its own and earlier rows only; a forecast after them no longer
    # depends on where the series starts, so a window of this many rows gives the
    # forecast the full history gives.
    settle_rows: ClassVar[int] = 0
    uses_variance_proxy: ClassVar[bool] = False
    # Student-t quantiles need a fitted nu.
    has_student_t: ClassVar[bool] = False

    def __init__(self, horizons: Sequence[int] = (1,)) -> None:
        # The horizons a fit must cover (only models with per-horizon parameters use it).
        for horizon in horizons:
            check_horizon(horizon)
        self.horizons = tuple(sorted(set(horizons)))

    @abstractmethod
    def fit(self, series: SymbolSeries) -> dict[str, float] | None:
        """Parameters for one series, or None if the fit did not converge."""

    @abstractmethod
    def one_step_variance(self, series: SymbolSeries, params: dict[str, float]) -> np.ndarray:
        """Variance (percent^2) of the return after each row, from that row and earlier
        ones only; NaN where the model has too little history."""

    @abstractmethod
    def cumulative_variance(
        self, series: SymbolSeries, params: dict[str, float], horizon: int
    ) -> np.ndarray:
        """Expected variance of the sum of the `horizon` returns after each row: the sum
        of the expected conditional variances of days t+1..t+h (percent^2)."""


BACKCAST_ROWS = 75  # arch's backcast window and decay (VolatilityProcess.backcast)
BACKCAST_DECAY = 0.94


def backcast(returns: np.ndarray) -> float:
    """arch's starting variance: exponentially weighted mean of the first squared returns."""
    tau = min(BACKCAST_ROWS, returns.size)
    weights = BACKCAST_DECAY ** np.arange(tau)
    return float(np.sum(returns[:tau] ** 2 * weights / weights.sum()))


def fit_with_arch(
    returns: np.ndarray, names: Sequence[str], **spec: Any
) -> dict[str, float] | None:
    """Zero-mean, Student-t arch fit of `spec` (vol, p, o, q) on percent returns: the
    named parameters, or None if the optimiser did not converge."""
    from arch import arch_model  # the fit's dependency only: forecasting needs no arch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes are judged by the flag below
        result = arch_model(returns, mean="Zero", dist="t", rescale=False, **spec).fit(
            disp="off", show_warning=False
        )
    params = {name: float(result.params[name]) for name in names}
    if result.convergence_flag != 0 or not all(np.isfinite(v) for v in params.values()):
        return None
    return params


def check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")


def standardised_returns(
    model: VolatilityModel, series: SymbolSeries, params: dict[str, float], horizon: int = 1
) -> np.ndarray:
    """The h-day cumulative returns after each training row over the model's volatility
    for them: (r_{t+1} + ... + r_{t+h}) / sqrt(cumulative variance at t), for every row t
    with h later returns and a defined variance."""
    check_horizon(horizon)
    return _standardised(series, model.cumulative_variance(series, params, horizon), horizon)


def _standardised(series: SymbolSeries, variance: np.ndarray, horizon: int) -> np.ndarray:
    n = len(series)
    if n <= horizon:
        return np.empty(0)
    later = np.lib.stride_tricks.sliding_window_view(series.returns[1:], horizon).sum(axis=1)
    scaled = later / np.sqrt(variance[: n - horizon])
    return scaled[np.isfinite(scaled)]


def degenerate(variance: np.ndarray) -> bool:
    """Whether a fit's variance on its own series leaves the positive doubles (overflows,
    vanishes or turns NaN) after its warm-up: arch can report convergence at parameters
    where it does (an absurd alpha, beta = 1)."""
    defined = np.flatnonzero(~np.isnan(variance))
    if defined.size == 0:
        return True
    rest = variance[defined[0] :]
    return not bool(np.all(np.isfinite(rest) & (rest > 0)))


def empirical_quantiles(scaled: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Quantiles of standardised returns at `levels`, the median's set to 0 (the
    forecast's median is the last close)."""
    out = np.quantile(scaled, levels)
    out[median_index(levels)] = 0.0
    return np.asarray(out, dtype="float64")


def fhs_quantiles(
    model: VolatilityModel,
    series: SymbolSeries,
    params: dict[str, float],
    levels: Sequence[float],
    horizon: int = 1,
) -> np.ndarray:
    """Filtered historical simulation for horizon h: the empirical quantiles of the
    standardised h-day cumulative training returns. Times sqrt(cumulative_variance) at
    an as-of row they are that row's h-day log-return quantiles (in percent)."""
    return empirical_quantiles(standardised_returns(model, series, params, horizon), levels)


def student_t_quantiles(levels: Sequence[float], nu: float) -> np.ndarray:
    """Quantiles of arch's unit-variance Student t with `nu` degrees of freedom."""
    return np.asarray(student_t.ppf(levels, nu) * np.sqrt((nu - 2.0) / nu))


@dataclass(frozen=True)
class SymbolFit:
    params: dict[str, float]
    # Standardised h-day training returns by horizon (FHS only; else empty).
    standardised: dict[int, np.ndarray]


def fit_symbol(
    model: VolatilityModel, standardise: bool, horizons: tuple[int, ...], series: SymbolSeries
) -> SymbolFit | None:
    """The per-symbol task: module-level so a worker process can run it. A fit whose
    variance on its own series is degenerate at some horizon counts as failed, so the
    symbol is forecast with the pooled parameters."""
    params = model.fit(series)
    if params is None:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        variances = {h: model.cumulative_variance(series, params, h) for h in horizons}
    if any(degenerate(variance) for variance in variances.values()):
        return None
    scaled = {h: _standardised(series, variances[h], h) for h in horizons} if standardise else {}
    return SymbolFit(params, scaled)


def variance_proxy(features: pd.DataFrame) -> np.ndarray:
    """Range-based daily variance in percent^2: Garman-Klass on the day's bar plus the
    squared overnight gap (GK ignores the move between the previous close and the open),
    floored at VARIANCE_PROXY_FLOOR."""
    high_low = features["high_low_range"].to_numpy(dtype="float64")
    gap = features["overnight_gap"].to_numpy(dtype="float64")
    open_close = features["log_return"].to_numpy(dtype="float64") - gap  # ln(C/O)
    garman_klass = 0.5 * high_low**2 - (2.0 * np.log(2.0) - 1.0) * open_close**2
    return np.maximum((garman_klass + gap**2) * SCALE**2, VARIANCE_PROXY_FLOOR)


class VolatilityForecaster(Forecaster):
    """A zero-mean forecaster whose interval is a volatility model's (see module doc)."""

    is_baseline = False
    model_type: ClassVar[type[VolatilityModel]]

    def __init__(
        self,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        params: dict[str, dict[str, float]] | None = None,
        *,
        horizons: Sequence[int] = (1,),
        quantile_method: QuantileMethod | None = None,
        standardised_quantiles: dict[int, dict[str, list[float]]] | None = None,
    ) -> None:
        self.quantiles = tuple(float(q) for q in quantiles)
        self.horizons = tuple(sorted({int(h) for h in horizons}))
        for horizon in self.horizons:
            check_horizon(horizon)
        self.model = self.model_type(self.horizons)
        self.params: dict[str, dict[str, float]] = dict(params or {})
        method = quantile_method or self.model.default_quantile_method
        if method not in QUANTILE_METHODS:
            raise ValueError(f"unknown quantile method {method!r}")
        if method == "student_t" and not self.model.has_student_t:
            raise ValueError(f"{self.model.label} has no Student-t quantiles; use 'fhs'")
        self.quantile_method: QuantileMethod = method
        # horizon -> symbol (or POOLED) -> standardised quantiles at self.quantiles (FHS).
        self.standardised: dict[int, dict[str, np.ndarray]] = {
            int(horizon): {
                symbol: np.asarray(values, dtype="float64") for symbol, values in by_symbol.items()
            }
            for horizon, by_symbol in (standardised_quantiles or {}).items()
        }

    @property
    def kind(self) -> str:
        return self.model_type.kind

    @property
    def min_history(self) -> int:
        return self.model.history_rows

    @property
    def read_rows(self) -> int:
        return max(self.model.history_rows, self.model.settle_rows)

    def symbol_fits(self, prices: pd.DataFrame, workers: int = 1) -> dict[str, SymbolFit | None]:
        """The per-symbol part of `fit`: each symbol with enough returns fitted alone (on
        `workers` processes), None where its fit failed. Symbols are independent, so
        the fits of a universe's batches, joined, are the universe's."""
        series = self._series_by_symbol(build_features(prices))
        enough = {s: x for s, x in series.items() if len(x) >= MIN_FIT_RETURNS}
        return map_per_symbol(self._fit_task(), enough, workers)

    def fit(
        self,
        prices: pd.DataFrame,
        workers: int = 1,
        symbol_fits: Mapping[str, SymbolFit | None] | None = None,
    ) -> Self:
        """Fit each symbol with enough returns (on `workers` processes, or take them from
        `symbol_fits`, made by `symbol_fits` on the same rows); the pooled entry is the
        median of the fitted symbols' parameters."""
        series = self._series_by_symbol(build_features(prices))
        enough = sorted(s for s, x in series.items() if len(x) >= MIN_FIT_RETURNS)
        if symbol_fits is None:
            symbol_fits = map_per_symbol(self._fit_task(), {s: series[s] for s in enough}, workers)
        elif sorted(symbol_fits) != enough:
            # Not a ValueError: that means "too little data" and leaves an optional rival
            # out, where fits made elsewhere on other rows are a fault to report.
            raise LookupError(f"{self.model.label}: the given fits are not of these symbols")
        fits = {s: f for s in enough if (f := symbol_fits[s]) is not None}
        if self.quantile_method == "fhs" and any(
            set(f.standardised) != set(self.horizons) for f in fits.values()
        ):
            raise LookupError(f"{self.model.label}: the given fits are not of these horizons")
        task = self._fit_task()
        longest = max(series, key=lambda s: len(series[s]), default=None)
        if not fits and longest is not None and len(series[longest]) >= MIN_ANY_FIT_RETURNS:
            only = task(series[longest])
            if only is not None:
                fits[longest] = only
        if not fits:
            raise ValueError(
                f"{self.model.label} did not fit: it needs {MIN_ANY_FIT_RETURNS} returns "
                "of one symbol"
            )
        names = next(iter(fits.values())).params
        pooled = {name: float(np.median([f.params[name] for f in fits.values()])) for name in names}
        self.params = {**{s: f.params for s, f in fits.items()}, POOLED: pooled}
        self.standardised = {}
        if self.quantile_method == "fhs":
            for h in self.horizons:
                # A symbol's own h-day quantiles need as many h-day returns as the
                # one-day ones do days: they overlap, so they are no more informative.
                own = {
                    s: empirical_quantiles(f.standardised[h], self.quantiles)
                    for s, f in fits.items()
                    if f.standardised[h].size >= MIN_FHS_ROWS
                }
                everyone = np.concatenate([f.standardised[h] for f in fits.values()])
                if everyone.size == 0:
                    raise ValueError(
                        f"{self.model.label} has no {h}-day training returns to standardise"
                    )
                own[POOLED] = empirical_quantiles(everyone, self.quantiles)
                self.standardised[h] = own
        return self

    def _fit_task(self) -> Callable[[SymbolSeries], SymbolFit | None]:
        return partial(fit_symbol, self.model, self.quantile_method == "fhs", self.horizons)

    def parameters_for(self, symbol: str) -> dict[str, float]:
        return self.params.get(symbol, self.params[POOLED])

    def standardised_quantiles(self, symbol: str, horizon: int = 1) -> np.ndarray:
        """Quantiles of the standardised h-day return for `symbol`, one per level. The
        Student t is the one-day error law at every horizon: a sum of t shocks is closer
        to normal, and the held-out recalibration per horizon absorbs the difference."""
        if self.quantile_method == "student_t":
            return student_t_quantiles(self.quantiles, self.parameters_for(symbol)["nu"])
        by_symbol = self.standardised[horizon]
        return by_symbol.get(symbol, by_symbol[POOLED])

    def horizon_quantiles(
        self, features: pd.DataFrame, rows: np.ndarray, horizon: int
    ) -> np.ndarray:
        if horizon not in self.horizons:
            raise ValueError(f"{self.model.label} was fitted for horizons {self.horizons}")
        rows = np.asarray(rows, dtype="int64")
        out = np.zeros((rows.size, len(self.quantiles)))
        if rows.size == 0:
            return out
        positions_of, series_at = self._series_at(features)
        wanted_of = pd.Series(rows).groupby(features["symbol"].to_numpy()[rows]).indices
        for symbol, wanted in wanted_of.items():
            positions = positions_of[str(symbol)]
            usable, series = series_at(positions)
            variance = np.full(positions.size, np.nan)
            variance[usable] = self.model.cumulative_variance(
                series, self.parameters_for(symbol), horizon
            )
            # A row without a usable return carries the last variance forward; warm-up
            # rows (before min_history, never forecast) take the first one.
            variance = pd.Series(variance).ffill().bfill().to_numpy()
            local = np.searchsorted(positions, rows[wanted])
            chosen = variance[local]
            self._settle(chosen, np.cumsum(usable)[local] - 1, series, symbol, horizon)
            sigma = np.sqrt(chosen) / SCALE
            scaled = self.standardised_quantiles(str(symbol), horizon)
            out[wanted] = sigma[:, None] * scaled[None, :]
        out[:, self.median_index] = 0.0
        return out

    def _settle(
        self,
        variance: np.ndarray,
        last_return: np.ndarray,
        series: SymbolSeries,
        symbol: str,
        horizon: int,
    ) -> None:
        """Overwrite the variance of each forecast made before the model's settle_rows
        (on fewer than settle_rows - 1 returns: a series' first row has none) with the
        one its own returns give (`last_return`: the index in `series` of its last
        usable return): the series' start would otherwise use later returns. At most
        O(settle_rows^2) per symbol, and only for rows that are forecast."""
        params = self.parameters_for(symbol)
        returns = last_return + 1
        for at in np.flatnonzero((returns > 0) & (returns < self.model.settle_rows - 1)):
            end = int(returns[at])
            prefix = SymbolSeries(
                series.returns[:end],
                series.variance_proxy[:end] if series.variance_proxy.size else np.empty(0),
            )
            variance[at] = self.model.cumulative_variance(prefix, params, horizon)[-1]

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "quantiles": list(self.quantiles),
            "horizons": list(self.horizons),
            self.kind: self.params,
            "quantile_method": self.quantile_method,
        }
        if self.standardised:
            params["standardised_quantiles"] = {
                str(h): {s: q.tolist() for s, q in by_symbol.items()}
                for h, by_symbol in self.standardised.items()
            }
        return params

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Self:
        """The forecaster `to_params` described (also the next-day GARCH format, which
        has only `quantiles` and `garch`)."""
        standardised = params.get("standardised_quantiles") or {}
        return cls(
            params["quantiles"],
            params=params[cls.model_type.kind],
            horizons=params.get("horizons", (1,)),
            quantile_method=params.get("quantile_method"),
            standardised_quantiles={int(h): q for h, q in standardised.items()},
        )

    def _series_at(
        self, features: pd.DataFrame
    ) -> tuple[dict[str, np.ndarray], Callable[[np.ndarray], tuple[np.ndarray, SymbolSeries]]]:
        """Each symbol's row positions (sorted by symbol), and a function from a symbol's
        positions to its usable rows (a mask over them) and their series."""
        returns = features["log_return"].to_numpy(dtype="float64") * SCALE
        proxy = variance_proxy(features) if self.model.uses_variance_proxy else None

        def series_at(positions: np.ndarray) -> tuple[np.ndarray, SymbolSeries]:
            own = returns[positions]
            if proxy is None:
                usable = np.isfinite(own)
                return usable, SymbolSeries(own[usable], np.empty(0))
            usable = np.isfinite(own) & np.isfinite(proxy[positions])
            return usable, SymbolSeries(own[usable], proxy[positions][usable])

        groups = features.groupby("symbol", sort=False).indices
        return {str(s): groups[s] for s in sorted(groups)}, series_at

    def _series_by_symbol(self, features: pd.DataFrame) -> dict[str, SymbolSeries]:
        positions_of, series_at = self._series_at(features)
        return {symbol: series_at(p)[1] for symbol, p in positions_of.items()}
