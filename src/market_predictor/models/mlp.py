"""MLP network: the flattened window of feature rows -> one adjustment per quantile
of each horizon."""

from __future__ import annotations

import torch
from torch import nn


class MLPNetwork(nn.Module):
    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        window: int,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = n_features * window
        for _ in range(max(num_layers, 1)):
            layers += [nn.Linear(width, hidden_size), nn.GELU(), nn.Dropout(dropout)]
            width = hidden_size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(window))
