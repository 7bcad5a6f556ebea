"""LSTM network: a window of feature rows -> one adjustment per quantile of each horizon."""

from __future__ import annotations

import torch
from torch import nn


class LSTMNetwork(nn.Module):
    def __init__(
        self, n_features: int, n_outputs: int, hidden_size: int, num_layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_features,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(window)
        return self.head(self.dropout(output[:, -1]))
