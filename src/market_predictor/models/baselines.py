"""Naive forecasts every model must beat, behind the same interface as the networks.

Persistence: tomorrow's close = today's close, with an interval from the last 21 days'
return volatility. Drift: today's close moved by the symbol's mean daily log return.
Interval width uses the empirical quantiles of volatility-scaled returns when fitted,
so fat tails are covered honestly; unfitted, it falls back to the normal quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from market_predictor.evaluation import DEFAULT_QUANTILES
from market_predictor.features import TARGET, build_features
from market_predictor.models.forecaster import Forecaster

VOLATILITY_WINDOW = 21


class PersistenceForecaster(Forecaster):
    is_baseline = True

    def __init__(
        self,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        z_scores: Sequence[float] | None = None,
    ) -> None:
        self.quantiles = tuple(quantiles)
        self.z_scores = np.asarray(
            z_scores if z_scores is not None else norm.ppf(self.quantiles), dtype="float64"
        )

    @property
    def min_history(self) -> int:
        return VOLATILITY_WINDOW + 1

    def fit(self, prices: pd.DataFrame) -> PersistenceForecaster:
        """Calibrate the interval on history: quantiles of next-day return / volatility."""
        features = build_features(prices)
        scaled = (features[TARGET] / features["volatility_21"]).replace([np.inf, -np.inf], np.nan)
        scaled = scaled.dropna()
        if len(scaled) >= 100:
            self.z_scores = np.quantile(scaled - scaled.median(), self.quantiles)
            self.z_scores[_median(self.quantiles)] = 0.0
        return self

    def center(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        return np.zeros(rows.size)

    def quantile_returns(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        volatility = features["volatility_21"].to_numpy(dtype="float64")[rows]
        center = self.center(features, rows)
        return center[:, None] + volatility[:, None] * self.z_scores[None, :]

    def to_params(self) -> dict[str, list[float]]:
        return {"quantiles": list(self.quantiles), "z_scores": self.z_scores.tolist()}


class DriftForecaster(PersistenceForecaster):
    """Persistence plus the symbol's average daily log return to date."""

    def center(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        returns = features["log_return"].fillna(0.0)
        mean_to_date = returns.groupby(features["symbol"], sort=False).transform(
            lambda r: r.expanding().mean()
        )
        return mean_to_date.to_numpy(dtype="float64")[rows]


def _median(quantiles: Sequence[float]) -> int:
    return int(np.argmin(np.abs(np.asarray(quantiles) - 0.5)))
