"""Interval recalibration: stretch each quantile's distance from the median so that, on
held-out rows, each tail is crossed as often as its level says, as far as those rows can
tell.

For a level q and a held-out row i with median m_i, predicted quantile q_i and outcome
y_i, the score s_i = (y_i - m_i) / (q_i - m_i) is how far along the quantile's own
direction the outcome went, in units of the predicted distance. The raw factor f is the
(1 - tail) quantile of the scores (tail = min(q, 1 - q)), so m + f (q_i - m) is crossed
by a fraction `tail` of the held-out outcomes. It is a split-conformal recalibration
with the model's own spread as the scale, fitted only on rows the model did not fit on,
and never on the rows it is judged on (the caller passes prices that end before the
scored window).

A 10% tail estimated from a few months is noisy, and the noise costs pinball loss on
every later forecast (bench/interval_rules.py measured the unshrunk per-symbol factor
3% worse than no recalibration at all, 7% at 21 days). So the served factor is the raw
one shrunk towards the model's own band (factor 1) by the evidence behind it:

    factor = f ** (n / (n + PRIOR_ROWS)),   n = held-out rows / h

n counts an h-day outcome as 1/h of a row: overlapping h-day outcomes share h-1 days,
so six months hold about 126 independent next-day outcomes but only six 21-day ones.
At PRIOR_ROWS effective rows the factor goes half-way (in log terms); six months of
next-day rows move it 56% of the way, of 21-day rows 6%. The pooled factor (for symbols
the calibration never saw) counts the distinct held-out days, since symbols move
together on the same days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    # One way only: a Forecaster knows its calibration through forecaster.Calibration.
    from market_predictor.models.forecaster import Forecaster

# Effective held-out rows at which a raw factor counts half (see the module docstring).
PRIOR_ROWS = 100
POOLED = "*"


@dataclass
class IntervalCalibration:
    quantiles: tuple[float, ...]
    # symbol (or POOLED) -> per horizon (in `horizons` order) one factor per level; the
    # median's factor is 1.
    factors: dict[str, list[list[float]]]
    horizons: tuple[int, ...] = (1,)
    rows: dict[str, int] = field(default_factory=dict)
    start: str | None = None
    end: str | None = None

    def factors_for(self, symbols: np.ndarray) -> np.ndarray:
        """(len(symbols) x horizons x levels): each symbol's own factors, else pooled."""
        pooled = self.factors[POOLED]
        return np.asarray([self.factors.get(str(s), pooled) for s in symbols], dtype="float64")

    def apply(self, symbols: np.ndarray, quantiles: np.ndarray, median_index: int) -> np.ndarray:
        """Recalibrated log-return quantiles (rows x horizons x levels), sorted."""
        median = quantiles[:, :, [median_index]]
        stretched = median + self.factors_for(symbols) * (quantiles - median)
        return np.sort(stretched, axis=2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantiles": list(self.quantiles),
            "horizons": list(self.horizons),
            "factors": self.factors,
            "rows": self.rows,
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntervalCalibration:
        """Also reads a calibration stored before horizons (one list of factors per
        symbol: the next-day forecast's)."""
        factors = {
            symbol: [[float(v) for v in per_level] for per_level in _by_horizon(values)]
            for symbol, values in data["factors"].items()
        }
        return cls(
            quantiles=tuple(data["quantiles"]),
            factors=factors,
            horizons=tuple(int(h) for h in data.get("horizons", [1])),
            rows={k: int(v) for k, v in data.get("rows", {}).items()},
            start=data.get("start"),
            end=data.get("end"),
        )


def _by_horizon(values: list[Any]) -> list[list[float]]:
    return values if values and isinstance(values[0], list) else [values]


def level_factors(
    outcomes: np.ndarray, quantiles: np.ndarray, levels: Sequence[float], median_index: int
) -> list[float]:
    """One stretch factor per level from rows of predicted quantiles and outcomes."""
    median = quantiles[:, median_index]
    factors = []
    for column, level in enumerate(levels):
        if column == median_index:
            factors.append(1.0)
            continue
        distance = quantiles[:, column] - median
        usable = np.abs(distance) > 0
        scores = (outcomes[usable] - median[usable]) / distance[usable]
        if scores.size == 0:
            factors.append(1.0)
            continue
        tail = min(level, 1.0 - level)
        # Weibull plotting position: the expected tail frequency out of sample is `tail`.
        factor = float(np.quantile(scores, 1.0 - tail, method="weibull"))
        factors.append(factor if factor > 0 else 1.0)
    return factors


def shrunk_factors(factors: Sequence[float], effective_rows: float) -> list[float]:
    """Raw factors pulled towards 1 in log terms by the rows behind them."""
    share = effective_rows / (effective_rows + PRIOR_ROWS) if effective_rows > 0 else 0.0
    return [float(factor**share) for factor in factors]


def fit_calibration(
    forecaster: Forecaster, prices: pd.DataFrame, start: dt.date
) -> IntervalCalibration | None:
    """Calibration of `forecaster` at each of its horizons on its forecasts made from
    `start` on whose outcome is in `prices` (pass only rows before the window it will be
    judged on: a forecast whose target lies past them has no outcome and is not used).
    None when no forecast in that range has an outcome."""
    from market_predictor.features import build_features

    features = build_features(prices, forecaster.horizons)
    position = features.groupby("symbol", sort=False).cumcount().to_numpy()
    dates = pd.to_datetime(features["date"])
    eligible = (position >= forecaster.min_history - 1) & (dates >= pd.Timestamp(start)).to_numpy()
    return calibration_on(forecaster, features, eligible, start)


def calibration_on(
    forecaster: Forecaster, features: pd.DataFrame, eligible: np.ndarray, start: dt.date
) -> IntervalCalibration | None:
    """`fit_calibration` on the `eligible` rows of `features` (build_features's output
    at the forecaster's horizons): rows from `start` on with the forecaster's full
    history behind them, which `features` need not hold beyond their windows."""
    from market_predictor.features import target_column

    horizons = forecaster.horizons
    dates = pd.to_datetime(features["date"])
    known = {h: np.isfinite(features[target_column(h)].to_numpy(dtype="float64")) for h in horizons}
    rows = np.flatnonzero(eligible & np.logical_or.reduce(list(known.values())))
    if not (eligible & known[horizons[0]]).any():
        return None
    raw = np.sort(forecaster.quantile_returns(features, rows), axis=2)
    symbols = features["symbol"].to_numpy()[rows]
    days = dates.to_numpy()[rows]
    outcomes = {h: features[target_column(h)].to_numpy(dtype="float64")[rows] for h in horizons}
    known_at = {h: known[h][rows] for h in horizons}
    # Each symbol's positions among `rows`, in order (one pass, not one per symbol).
    own_rows = pd.Series(np.arange(rows.size)).groupby(symbols, sort=False).indices
    mine_of = {POOLED: np.arange(rows.size), **{str(s): own_rows[s] for s in pd.unique(symbols)}}
    levels, median_index = forecaster.quantiles, forecaster.median_index
    factors: dict[str, list[list[float]]] = {}
    for symbol, mine in mine_of.items():
        per_horizon = []
        for k, horizon in enumerate(horizons):
            usable = mine[known_at[horizon][mine]]
            # The pooled factors' rows share their days across symbols: count the days.
            counted = np.unique(days[usable]).size if symbol == POOLED else usable.size
            per_horizon.append(
                shrunk_factors(
                    level_factors(outcomes[horizon][usable], raw[usable, k], levels, median_index),
                    counted / horizon,
                )
            )
        factors[symbol] = per_horizon
    first = known_at[horizons[0]]
    counts = {symbol: int(first[mine].sum()) for symbol, mine in mine_of.items()}
    last = dates.to_numpy()[rows[first]].max()
    return IntervalCalibration(
        quantiles=tuple(levels),
        factors=factors,
        horizons=tuple(horizons),
        rows=counts,
        start=start.isoformat(),
        end=pd.Timestamp(last).date().isoformat(),
    )


def calibrate(forecaster: Forecaster, prices: pd.DataFrame, start: dt.date | None) -> Forecaster:
    """Fit and attach the calibration (replacing any earlier one); unchanged when there
    is no held-out window or it has no rows."""
    forecaster.calibration = None
    if start is not None:
        forecaster.calibration = fit_calibration(forecaster, prices, start)
    return forecaster
