"""The one predict interface every forecaster implements, networks and baselines alike.

A forecaster turns price rows into quantiles of the log return from the as-of close to
the close h trading days later, for each of its `horizons`, and then into prices with
the last close. `predict_range` gives a forecast for every as-of date in a range in one
pass (backtests); `predict` gives each symbol's forecasts from its last row (the daily
job). Both return one row per as-of date and horizon.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from market_predictor.evaluation import DEFAULT_QUANTILES
from market_predictor.features import build_features
from market_predictor.store.predictions import VALUES

# A forecast frame: who, when and how far ahead, then the values the predictions
# table stores (store.predictions.ForecastValues).
FORECAST_COLUMNS = ["symbol", "as_of_date", "horizon", *VALUES]


class Calibration(Protocol):
    """What a forecaster needs of its interval recalibration (models/calibration.py
    fits one): the forecaster depends on this much only, the fitting on the forecaster."""

    def apply(self, symbols: np.ndarray, quantiles: np.ndarray, median_index: int) -> np.ndarray:
        """Recalibrated log-return quantiles (rows x horizons x levels, the same shape),
        sorted along the levels."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


class Forecaster(ABC):
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    # Trading days ahead of each forecast's as-of close.
    horizons: tuple[int, ...] = (1,)
    is_baseline: bool = False
    # Held-out recalibration of the interval, applied on top of quantile_returns.
    calibration: Calibration | None = None

    @property
    def median_index(self) -> int:
        return median_index(self.quantiles)

    @property
    @abstractmethod
    def min_history(self) -> int:
        """Price rows a symbol needs before it can be forecast."""

    @property
    def read_rows(self) -> int:
        """Price rows the daily job reads of a symbol so that its forecast is the one
        its full history gives (`predict_range`'s); at least min_history."""
        return self.min_history

    def quantile_returns(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """Log-return quantiles (len(rows) x len(horizons) x len(quantiles)) for the
        feature rows at the positional indices `rows` of `features` (build_features's
        output): at horizon h, of the log return to the close h rows after each row."""
        return np.stack(
            [self.horizon_quantiles(features, rows, horizon) for horizon in self.horizons],
            axis=1,
        )

    @abstractmethod
    def horizon_quantiles(
        self, features: pd.DataFrame, rows: np.ndarray, horizon: int
    ) -> np.ndarray:
        """Log-return quantiles (len(rows) x len(quantiles)) at one horizon."""

    def predict_range(
        self,
        prices: pd.DataFrame,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pd.DataFrame:
        """A forecast made at the close of every trading day in [start, end] that has
        enough history, at every horizon. Each uses only rows up to its own as-of date."""
        features = build_features(prices)
        position = features.groupby("symbol", sort=False).cumcount().to_numpy()
        eligible = position >= self.min_history - 1
        dates = pd.to_datetime(features["date"])
        if start is not None:
            eligible &= (dates >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            eligible &= (dates <= pd.Timestamp(end)).to_numpy()
        return self._forecast(features, np.flatnonzero(eligible))

    def predict(self, prices: pd.DataFrame) -> pd.DataFrame:
        """Each symbol's forecasts (one per horizon) from its last row."""
        features = build_features(prices)
        counts = features.groupby("symbol", sort=False)["symbol"].transform("size").to_numpy()
        last = ~features["symbol"].eq(features["symbol"].shift(-1)).to_numpy()
        rows = np.flatnonzero(last & (counts >= self.min_history))
        return self._forecast(features, rows)

    def served_quantiles(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """The log-return quantiles the forecasts are made of: quantile_returns sorted
        along the levels, with the calibration applied (same shape)."""
        quantiles = np.sort(self.quantile_returns(features, rows), axis=2)
        if self.calibration is not None:
            symbols = features["symbol"].to_numpy()[rows]
            quantiles = self.calibration.apply(symbols, quantiles, self.median_index)
        return quantiles

    def _forecast(self, features: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
        if rows.size == 0:
            return pd.DataFrame(columns=FORECAST_COLUMNS)
        quantiles = self.served_quantiles(features, rows)
        horizons = len(self.horizons)
        # One row per (row, horizon), the horizons of a row together.
        flat = quantiles.reshape(rows.size * horizons, -1)
        median = flat[:, self.median_index]
        last_close = np.repeat(features["close"].to_numpy(dtype="float64")[rows], horizons)
        return pd.DataFrame(
            {
                "symbol": np.repeat(features["symbol"].to_numpy()[rows], horizons),
                "as_of_date": pd.to_datetime(
                    np.repeat(features["date"].to_numpy()[rows], horizons)
                ),
                "horizon": np.tile(np.asarray(self.horizons, dtype="int64"), rows.size),
                "last_close": last_close,
                "predicted_close": last_close * np.exp(median),
                "lower": last_close * np.exp(flat[:, 0]),
                "upper": last_close * np.exp(flat[:, -1]),
                "predicted_return": median,
            }
        )


def median_index(quantiles: Sequence[float]) -> int:
    """Column of the median among quantile levels (the one nearest 0.5)."""
    return int(np.argmin(np.abs(np.asarray(quantiles) - 0.5)))
