"""The original system's model, rebuilt for the accuracy benchmark only.

The original trained one model per symbol: a Transformer encoder reading a 3-day window
of close prices standardised with a scikit-learn StandardScaler (fit on the training
split), predicting the next close *level* with a mean-squared-error loss. It gave a
point forecast only; to score it on pinball loss and coverage we give it an interval
from its own training residuals (empirical 10%/90% quantiles of log(actual/predicted)
on the rows it was fitted on), which is the most generous honest interval it can have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from torch import nn

from market_predictor.evaluation import DEFAULT_QUANTILES
from market_predictor.models.forecaster import Forecaster


class _PriceTransformer(nn.Module):
    """(batch, window, 1) standardised closes -> (batch,) next standardised close."""

    def __init__(self, window: int, d_model: int, heads: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Linear(1, d_model)
        self.position = nn.Parameter(torch.zeros(1, window, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=0.1, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(self.embed(x) + self.position)
        return self.head(hidden[:, -1]).squeeze(-1)


@dataclass
class _SymbolModel:
    scaler: StandardScaler
    network: _PriceTransformer
    residual_quantiles: np.ndarray  # log(actual / predicted) at each forecaster quantile


class ReferenceForecaster(Forecaster):
    """One price-level Transformer per symbol, as the original system trained them."""

    def __init__(
        self,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        window: int = 3,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        max_epochs: int = 20,
        patience: int = 3,
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        seed: int = 42,
    ) -> None:
        self.quantiles = tuple(quantiles)
        self.window = window
        self.d_model, self.heads, self.layers = d_model, heads, layers
        self.max_epochs, self.patience = max_epochs, patience
        self.learning_rate, self.batch_size, self.seed = learning_rate, batch_size, seed
        self.models: dict[str, _SymbolModel] = {}

    @property
    def min_history(self) -> int:
        return self.window

    def fit(self, prices: pd.DataFrame) -> ReferenceForecaster:
        for symbol, rows in prices.sort_values(["symbol", "date"]).groupby("symbol"):
            closes = rows["close"].to_numpy(dtype="float64")
            if closes.size > 10 * self.window:
                self.models[str(symbol)] = self._fit_symbol(closes)
        return self

    def horizon_quantiles(
        self, features: pd.DataFrame, rows: np.ndarray, horizon: int
    ) -> np.ndarray:
        # The original forecast the next day only.
        close = features["close"].to_numpy(dtype="float64")
        symbols = features["symbol"].to_numpy()
        result = np.full((rows.size, len(self.quantiles)), np.nan)
        offsets = np.arange(-self.window + 1, 1)
        for symbol in np.unique(symbols[rows]):
            model = self.models.get(str(symbol))
            if model is None:
                continue  # the original had no model for a symbol it was not trained on
            mine = np.flatnonzero(symbols[rows] == symbol)
            windows = close[rows[mine][:, None] + offsets[None, :]]
            predicted = self._predict(model, windows)
            median = np.log(np.maximum(predicted, 1e-9) / close[rows[mine]])
            result[mine] = median[:, None] + model.residual_quantiles[None, :]
        return result

    def _fit_symbol(self, closes: np.ndarray) -> _SymbolModel:
        torch.manual_seed(self.seed)
        scaler = StandardScaler().fit(closes.reshape(-1, 1))
        scaled = scaler.transform(closes.reshape(-1, 1)).ravel()
        index = np.arange(self.window)[None, :] + np.arange(scaled.size - self.window)[:, None]
        inputs = torch.tensor(scaled[index], dtype=torch.float32).unsqueeze(-1)
        targets = torch.tensor(scaled[self.window :], dtype=torch.float32)
        # Chronological 90/10 split: the last tenth decides when to stop.
        split = int(len(inputs) * 0.9)
        network = _PriceTransformer(self.window, self.d_model, self.heads, self.layers)
        optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        generator = torch.Generator().manual_seed(self.seed)
        best, best_state, stale = float("inf"), None, 0
        for _ in range(self.max_epochs):
            network.train()
            for batch in torch.randperm(split, generator=generator).split(self.batch_size):
                optimiser.zero_grad()
                loss = nn.functional.mse_loss(network(inputs[batch]), targets[batch])
                loss.backward()
                optimiser.step()
            network.eval()
            with torch.no_grad():
                validation = nn.functional.mse_loss(network(inputs[split:]), targets[split:])
            if validation.item() < best:
                best, stale = validation.item(), 0
                best_state = {k: v.clone() for k, v in network.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            network.load_state_dict(best_state)
        network.eval()
        model = _SymbolModel(scaler, network, np.zeros(len(self.quantiles)))
        fitted = self._predict(model, closes[index])
        residuals = np.log(closes[self.window :] / fitted)
        levels = np.asarray(self.quantiles)
        model.residual_quantiles = np.quantile(residuals, levels)
        # The point forecast is the median column, as the original served it.
        model.residual_quantiles[np.argmin(np.abs(levels - 0.5))] = 0.0
        return model

    def _predict(self, model: _SymbolModel, windows: np.ndarray) -> np.ndarray:
        shape = windows.shape
        scaled = model.scaler.transform(windows.reshape(-1, 1)).reshape(shape)
        with torch.no_grad():
            output = model.network(torch.tensor(scaled, dtype=torch.float32).unsqueeze(-1))
        return model.scaler.inverse_transform(output.numpy().reshape(-1, 1)).ravel()
