"""Naive forecasts every model must beat, behind the same interface as the networks.

Persistence: the close h days ahead = today's close, with an interval from the last 21
days' return volatility scaled by sqrt(h). Drift: today's close moved h times by the
symbol's mean daily log return. Interval widths use the empirical quantiles of the
volatility-scaled h-day returns when fitted, so fat tails (and the dependence that makes
h-day returns other than sqrt(h) daily ones) are covered honestly; unfitted, they fall
back to the normal quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd
from scipy.stats import norm

from market_predictor.evaluation import DEFAULT_QUANTILES
from market_predictor.features import build_features, target_column
from market_predictor.models.forecaster import Forecaster, median_index

VOLATILITY_WINDOW = 21
# Scaled returns a horizon needs before its empirical quantiles replace the normal ones.
MIN_FIT_ROWS = 100


def horizon_scale(features: pd.DataFrame, rows: np.ndarray, horizon: int) -> np.ndarray:
    """The 21-day volatility at each row, scaled to an h-day return (sqrt(h))."""
    return features["volatility_21"].to_numpy(dtype="float64")[rows] * np.sqrt(horizon)


def scaled_returns(features: pd.DataFrame, horizon: int) -> pd.Series:
    """Each row's h-day return over sqrt(h) times its 21-day volatility (NaN where
    either is unknown or the volatility is zero)."""
    scale = features["volatility_21"] * np.sqrt(horizon)
    return (features[target_column(horizon)] / scale).replace([np.inf, -np.inf], np.nan)


class PersistenceForecaster(Forecaster):
    is_baseline = True

    def __init__(
        self,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        z_scores: Sequence[Sequence[float]] | Sequence[float] | None = None,
        horizons: Sequence[int] = (1,),
    ) -> None:
        self.quantiles = tuple(quantiles)
        self.horizons = tuple(int(h) for h in horizons)
        normal = np.tile(norm.ppf(self.quantiles), (len(self.horizons), 1))
        given = normal if z_scores is None else np.asarray(z_scores, dtype="float64")
        # A single row of z-scores (stored before horizons) is the next day's.
        self.z_scores = given.reshape(len(self.horizons), len(self.quantiles))

    @property
    def min_history(self) -> int:
        return VOLATILITY_WINDOW + 1

    def fit(self, prices: pd.DataFrame) -> Self:
        """Calibrate each horizon's interval on history: quantiles of the h-day return
        over sqrt(h) times the 21-day volatility, centred on their median."""
        features = build_features(prices, self.horizons)
        return self.fit_scaled([scaled_returns(features, h) for h in self.horizons])

    def fit_scaled(self, scaled: Sequence[pd.Series]) -> Self:
        """`fit` from each horizon's `scaled_returns` (NaN ones are left out), which a
        caller may gather one batch of symbols at a time."""
        middle = median_index(self.quantiles)
        for k, returns in enumerate(scaled):
            returns = returns.dropna()
            if len(returns) >= MIN_FIT_ROWS:
                self.z_scores[k] = np.quantile(returns - returns.median(), self.quantiles)
                self.z_scores[k, middle] = 0.0
        return self

    def center(self, features: pd.DataFrame, rows: np.ndarray, horizon: int) -> np.ndarray:
        return np.zeros(rows.size)

    def horizon_quantiles(
        self, features: pd.DataFrame, rows: np.ndarray, horizon: int
    ) -> np.ndarray:
        scale = horizon_scale(features, rows, horizon)
        z_scores = self.z_scores[self.horizons.index(horizon)]
        return self.center(features, rows, horizon)[:, None] + scale[:, None] * z_scores[None, :]

    def to_params(self) -> dict[str, list[float] | list[int] | list[list[float]]]:
        return {
            "quantiles": list(self.quantiles),
            "horizons": list(self.horizons),
            "z_scores": self.z_scores.tolist(),
        }


class DriftForecaster(PersistenceForecaster):
    """Persistence plus h times the symbol's average daily log return to date."""

    def center(self, features: pd.DataFrame, rows: np.ndarray, horizon: int) -> np.ndarray:
        returns = features["log_return"].fillna(0.0)
        mean_to_date = returns.groupby(features["symbol"], sort=False).transform(
            lambda r: r.expanding().mean()
        )
        return horizon * mean_to_date.to_numpy(dtype="float64")[rows]
