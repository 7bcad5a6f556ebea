"""Interval recalibration: stretch each quantile's distance from the median so that, on
held-out rows, each tail is crossed as often as its level says.

For a level q and a held-out row i with median m_i, predicted quantile q_i and outcome
y_i, the score s_i = (y_i - m_i) / (q_i - m_i) is how far along the quantile's own
direction the outcome went, in units of the predicted distance. The factor f is the
(1 - tail) quantile of the scores (tail = min(q, 1 - q)), so m + f (q_i - m) is crossed
by a fraction `tail` of the held-out outcomes. It is a split-conformal recalibration
with the model's own spread as the scale: one number per level and symbol, fitted
only on rows the model did not fit on, and never on the rows it is judged on (the
caller passes prices that end before the scored window).

A symbol with fewer than `MIN_CALIBRATION_ROWS` held-out rows uses the factors pooled
over every symbol's rows: a 10% tail estimated from a few dozen rows is mostly noise.
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

MIN_CALIBRATION_ROWS = 100
POOLED = "*"


@dataclass
class IntervalCalibration:
    quantiles: tuple[float, ...]
    # symbol (or POOLED) -> one factor per level; the median's factor is 1.
    factors: dict[str, list[float]]
    rows: dict[str, int] = field(default_factory=dict)
    start: str | None = None
    end: str | None = None

    def factors_for(self, symbols: np.ndarray) -> np.ndarray:
        pooled = self.factors[POOLED]
        return np.asarray([self.factors.get(str(s), pooled) for s in symbols], dtype="float64")

    def apply(self, symbols: np.ndarray, quantiles: np.ndarray, median_index: int) -> np.ndarray:
        """Recalibrated log-return quantiles (same shape), sorted per row."""
        median = quantiles[:, [median_index]]
        stretched = median + self.factors_for(symbols) * (quantiles - median)
        return np.sort(stretched, axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantiles": list(self.quantiles),
            "factors": self.factors,
            "rows": self.rows,
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntervalCalibration:
        return cls(
            quantiles=tuple(data["quantiles"]),
            factors={k: [float(v) for v in values] for k, values in data["factors"].items()},
            rows={k: int(v) for k, v in data.get("rows", {}).items()},
            start=data.get("start"),
            end=data.get("end"),
        )


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


def fit_calibration(
    forecaster: Forecaster,
    prices: pd.DataFrame,
    start: dt.date,
    min_rows: int = MIN_CALIBRATION_ROWS,
) -> IntervalCalibration | None:
    """Calibration of `forecaster` on its forecasts made from `start` on whose outcome is
    in `prices` (pass only rows before the window it will be judged on). None when no
    forecast in that range has an outcome."""
    from market_predictor.features import TARGET, build_features

    features = build_features(prices)
    position = features.groupby("symbol", sort=False).cumcount().to_numpy()
    target = features[TARGET].to_numpy(dtype="float64")
    dates = pd.to_datetime(features["date"])
    rows = np.flatnonzero(
        (position >= forecaster.min_history - 1)
        & np.isfinite(target)
        & (dates >= pd.Timestamp(start)).to_numpy()
    )
    if rows.size == 0:
        return None
    raw = np.sort(forecaster.quantile_returns(features, rows), axis=1)
    median_index = forecaster.median_index
    outcomes = target[rows]
    symbols = features["symbol"].to_numpy()[rows]
    levels = forecaster.quantiles
    factors = {POOLED: level_factors(outcomes, raw, levels, median_index)}
    counts = {POOLED: int(rows.size)}
    for symbol in pd.unique(symbols):
        mine = symbols == symbol
        counts[str(symbol)] = int(mine.sum())
        if mine.sum() >= min_rows:
            factors[str(symbol)] = level_factors(outcomes[mine], raw[mine], levels, median_index)
    last = dates.to_numpy()[rows].max()
    return IntervalCalibration(
        quantiles=tuple(levels),
        factors=factors,
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
