"""A trained network behind the Forecaster interface: scalers + network + window.

It carries everything prediction needs (feature list, window length, scaler
statistics fit on the training split, calibrated z-scores, weights), so the same
object serves backtests, the registry's pyfunc and the daily job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.preprocessing import StandardScaler
from torch import nn

from market_predictor.features import FEATURE_COLUMNS, WARMUP_ROWS
from market_predictor.models.forecaster import Forecaster
from market_predictor.models.lstm import LSTMNetwork
from market_predictor.models.mlp import MLPNetwork
from market_predictor.models.transformer import TransformerNetwork
from market_predictor.training.config import NETWORK_NAMES

_PREDICT_BATCH = 4096


def build_network(
    model: str,
    *,
    n_features: int,
    n_outputs: int,
    hidden_size: int,
    num_layers: int,
    dropout: float,
    window: int,
) -> nn.Module:
    if model == "lstm":
        return LSTMNetwork(n_features, n_outputs, hidden_size, num_layers, dropout)
    if model == "transformer":
        return TransformerNetwork(n_features, n_outputs, hidden_size, num_layers, dropout, window)
    if model == "mlp":
        return MLPNetwork(n_features, n_outputs, hidden_size, num_layers, dropout, window)
    raise ValueError(f"unknown network {model!r}: choose one of {', '.join(NETWORK_NAMES)}")


def raw_feature_values(features: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
    """FEATURE_COLUMNS (at `rows`, default all) as a float64 (rows x features) array,
    gathered column by column so that only the rows asked for are copied."""
    columns = [features[name].to_numpy(dtype="float64") for name in FEATURE_COLUMNS]
    if rows is not None:
        columns = [column[rows] for column in columns]
    return np.column_stack(columns) if columns[0].size else np.empty((0, len(FEATURE_COLUMNS)))


def scale_features(raw: np.ndarray, scaler: StandardScaler) -> np.ndarray:
    """Scaled raw feature values as float32; missing values become 0 (the training mean)."""
    raw = np.where(np.isfinite(raw), raw, np.nan)
    scaled = (raw - scaler.mean_) / scaler.scale_
    return np.nan_to_num(scaled, nan=0.0).astype("float32")


def scaled_feature_values(features: pd.DataFrame, scaler: StandardScaler) -> np.ndarray:
    """Scaled FEATURE_COLUMNS of every row as float32 (see scale_features)."""
    return scale_features(raw_feature_values(features), scaler)


def feature_windows(values: np.ndarray, rows: np.ndarray, window: int) -> np.ndarray:
    """(len(rows), window, n_features): the `window` rows ending at each of `rows`.

    A view for slicing, copied once by the fancy index; rows must be >= window - 1.
    """
    views = sliding_window_view(values, (window, values.shape[1]))[:, 0]
    return views[np.asarray(rows) - (window - 1)]


def window_rows(rows: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted rows the windows ending at `rows` cover, and each of `rows`' position
    among them: a window's rows are consecutive, so they stay consecutive there."""
    needed = np.unique((np.asarray(rows)[:, None] - np.arange(window - 1, -1, -1)).ravel())
    return needed, np.searchsorted(needed, rows)


def volatility_at(features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    volatility = features["volatility_21"].to_numpy(dtype="float64")[rows]
    return np.nan_to_num(volatility, nan=0.0, posinf=0.0).astype("float32")


MEDIAN_SOURCES = ("network", "persistence")


def choose_median_source(
    target_returns: np.ndarray,
    network_median: np.ndarray,
    last_close: np.ndarray,
    min_t_statistic: float = 2.0,
    horizon: int = 1,
) -> str:
    """Keep the network's median only if its price error beats "no change" on held-out
    rows, significantly (a Diebold-Mariano t-test on the absolute-error gap, with the
    Newey-West variance of lag h-1 at horizon h: overlapping h-day outcomes make
    consecutive gaps correlated, and the plain t-test would take six months of 21-day
    errors for a hundred independent ones).

    Day-ahead medians rarely carry signal; a learned median that adds noise would make
    the model's MAE worse than persistence's even while its calibrated interval helps, and
    a gap that is not significant on validation did not survive out of sample in our
    walk-forward benchmark. So the validation window decides, per fit, which median is served.
    """
    from market_predictor.evaluation import long_run_variance

    actual = last_close * np.exp(target_returns)
    gap = np.abs(last_close * np.exp(network_median) - actual) - np.abs(last_close - actual)
    if gap.size < 2 or not np.isfinite(gap).all():
        return "persistence"
    variance = long_run_variance(gap, horizon) * gap.size / (gap.size - 1)
    if variance <= 0:
        return "network" if gap.mean() < 0 else "persistence"
    t_statistic = gap.mean() / np.sqrt(variance / gap.size)
    return "network" if t_statistic < -min_t_statistic else "persistence"


class NetworkForecaster(Forecaster):
    is_baseline = False

    def __init__(
        self,
        network: nn.Module,
        *,
        model: str,
        window: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        quantiles: Sequence[float],
        z_scores: Sequence[Sequence[float]] | Sequence[float] | np.ndarray,
        scaler: StandardScaler,
        horizons: Sequence[int] = (1,),
        median_sources: Sequence[str] | None = None,
    ) -> None:
        self.horizons = tuple(int(h) for h in horizons)
        sources = list(median_sources or ["network"] * len(self.horizons))
        if len(sources) != len(self.horizons) or not set(sources) <= set(MEDIAN_SOURCES):
            raise ValueError(f"median_sources: one of {MEDIAN_SOURCES} per horizon")
        self.network = network.eval()
        # Per horizon: the network's median, or "no change" where it did not earn it.
        self.median_sources = sources
        self.model = model
        self.window = window
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.quantiles = tuple(float(q) for q in quantiles)
        shape = (len(self.horizons), len(self.quantiles))
        self.z_scores = np.asarray(z_scores, dtype="float64").reshape(shape)
        self.scaler = scaler

    @property
    def median_source(self) -> str:
        """The next-day forecast's median source (what `mpp train` reports)."""
        return self.median_sources[0]

    @property
    def min_history(self) -> int:
        # The first complete feature row is at position WARMUP_ROWS - 1; a window of
        # complete rows ends `window - 1` rows later.
        return WARMUP_ROWS + self.window - 1

    def quantile_returns(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype="int64")
        # Only the rows the windows cover are scaled: a forecast of a few days of a long
        # history (a validation window, a daily run) then costs what those days cost.
        needed, rows_in_needed = window_rows(rows, self.window)
        values = scale_features(raw_feature_values(features, needed), self.scaler)
        volatility = volatility_at(features, rows).astype("float64")
        adjustments = np.empty((rows.size, *self.z_scores.shape), dtype="float64")
        self.network.eval()
        with torch.no_grad():
            for start in range(0, rows.size, _PREDICT_BATCH):
                batch = rows_in_needed[start : start + _PREDICT_BATCH]
                windows = torch.from_numpy(
                    np.ascontiguousarray(feature_windows(values, batch, self.window))
                )
                output = self.network(windows).numpy()
                adjustments[start : start + batch.size] = output.reshape(-1, *self.z_scores.shape)
        scale = volatility[:, None, None] * np.sqrt(np.asarray(self.horizons))[None, :, None]
        quantiles = scale * (self.z_scores[None] + adjustments)
        for k, source in enumerate(self.median_sources):
            if source == "persistence":
                quantiles[:, k, self.median_index] = 0.0
        return quantiles

    def horizon_quantiles(
        self, features: pd.DataFrame, rows: np.ndarray, horizon: int
    ) -> np.ndarray:
        return self.quantile_returns(features, rows)[:, self.horizons.index(horizon)]

    def to_params(self) -> dict[str, Any]:
        """Everything but the weights, JSON-ready (the weights go in a state dict)."""
        return {
            "model": self.model,
            "window": self.window,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "quantiles": list(self.quantiles),
            "horizons": list(self.horizons),
            "z_scores": self.z_scores.tolist(),
            "feature_columns": list(FEATURE_COLUMNS),
            "scaler_mean": self.scaler.mean_.tolist(),
            "scaler_scale": self.scaler.scale_.tolist(),
            "median_sources": self.median_sources,
        }

    @classmethod
    def from_params(
        cls, params: dict[str, Any], state_dict: dict[str, torch.Tensor]
    ) -> NetworkForecaster:
        """Also loads a model stored before horizons (next-day only, one median source)."""
        if list(params["feature_columns"]) != list(FEATURE_COLUMNS):
            raise ValueError(
                "the model was trained on other features than this code computes: "
                f"{params['feature_columns']}"
            )
        horizons = params.get("horizons", [1])
        network = build_network(
            params["model"],
            n_features=len(FEATURE_COLUMNS),
            n_outputs=len(horizons) * len(params["quantiles"]),
            hidden_size=params["hidden_size"],
            num_layers=params["num_layers"],
            dropout=params["dropout"],
            window=params["window"],
        )
        network.load_state_dict(state_dict)
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(params["scaler_mean"], dtype="float64")
        scaler.scale_ = np.asarray(params["scaler_scale"], dtype="float64")
        scaler.var_ = scaler.scale_**2
        scaler.n_features_in_ = len(FEATURE_COLUMNS)
        return cls(
            network,
            model=params["model"],
            window=params["window"],
            hidden_size=params["hidden_size"],
            num_layers=params["num_layers"],
            dropout=params["dropout"],
            quantiles=params["quantiles"],
            z_scores=params["z_scores"],
            scaler=scaler,
            horizons=horizons,
            median_sources=params.get("median_sources", [params.get("median_source", "network")]),
        )
