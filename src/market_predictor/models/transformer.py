"""Transformer encoder network: a window of feature rows -> one adjustment per quantile
of each horizon."""

from __future__ import annotations

import torch
from torch import nn


def attention_heads(hidden_size: int) -> int:
    """The most heads (up to 4) that divide the model width."""
    return next(h for h in (4, 2, 1) if hidden_size % h == 0)


class TransformerNetwork(nn.Module):
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
        self.embed = nn.Linear(n_features, hidden_size)
        self.position = nn.Parameter(torch.zeros(1, window, hidden_size))
        layer = nn.TransformerEncoderLayer(
            d_model=hidden_size,
            nhead=attention_heads(hidden_size),
            dim_feedforward=2 * hidden_size,
            dropout=dropout,
            batch_first=True,
        )
        # enable_nested_tensor only speeds up padded batches; ours are dense.
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=max(num_layers, 1), enable_nested_tensor=False
        )
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        encoded = self.encoder(self.embed(window) + self.position[:, -window.shape[1] :])
        return self.head(encoded[:, -1])
