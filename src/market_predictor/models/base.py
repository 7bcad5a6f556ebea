"""The one Lightning module every network trains under.

It owns what the networks share: the output parametrisation, the pinball loss over
the quantiles, AdamW with a cosine schedule, per-epoch logging, early stopping and
keeping the best weights in memory (no checkpoint files).

Returns are close to unpredictable, so the module predicts each quantile of the h-day
return as `volatility_21 * sqrt(h) * (z_hq + network(window)_hq)`: with the network's
head initialised at zero it starts as the persistence forecast with its empirically
calibrated interval at every horizon, and training can only move away from that where
the data pays for it. Each horizon's loss is divided by sqrt(h), so a horizon does not
weigh more for its wider spread; a target not yet known (the last h rows of a symbol)
is left out of the loss.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import lightning
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch import nn


def pinball(
    target: torch.Tensor, predicted: torch.Tensor, levels: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Mean pinball loss over the known targets: `target` is (rows x horizons), NaN where
    unknown; `predicted` (rows x horizons x levels); `weights` one per horizon."""
    known = torch.isfinite(target)
    diff = torch.nan_to_num(target).unsqueeze(2) - predicted
    loss = torch.maximum(levels * diff, (levels - 1) * diff) * weights[None, :, None]
    loss = torch.where(known.unsqueeze(2), loss, torch.zeros_like(loss))
    return loss.sum() / (known.sum() * levels.numel()).clamp(min=1)


class QuantileRegressor(lightning.LightningModule):
    def __init__(
        self,
        network: nn.Module,
        quantiles: Sequence[float],
        z_scores: Sequence[Sequence[float]] | np.ndarray,
        horizons: Sequence[int] = (1,),
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 10,
        patience: int = 3,
    ) -> None:
        super().__init__()
        self.network = network
        head = getattr(network, "head", None)
        if isinstance(head, nn.Linear):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        self.register_buffer("levels", torch.tensor(list(quantiles), dtype=torch.float32))
        shape = (len(horizons), len(quantiles))
        z = torch.tensor(np.asarray(z_scores, dtype="float32").reshape(shape))
        self.register_buffer("z_scores", z)
        root = torch.sqrt(torch.tensor(list(horizons), dtype=torch.float32))
        self.register_buffer("horizon_scale", root)
        self.register_buffer("loss_weights", 1.0 / root)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience

    def forward(self, window: torch.Tensor, volatility: torch.Tensor) -> torch.Tensor:
        """Log-return quantiles (rows x horizons x levels)."""
        z_scores = self.get_buffer("z_scores")
        adjustment = self.network(window).reshape(-1, *z_scores.shape)
        scale = volatility[:, None, None] * self.get_buffer("horizon_scale")[None, :, None]
        return scale * (z_scores + adjustment)

    def _loss(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        window, volatility, target = batch
        levels, weights = self.get_buffer("levels"), self.get_buffer("loss_weights")
        return pinball(target, self(window, volatility), levels, weights)

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log(
            "train_loss",
            loss,
            on_step=False,
            on_epoch=True,
            batch_size=len(batch[0]),
            sync_dist=True,
        )
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        loss = self._loss(batch)
        # Averaged over every DDP process (sync_dist), so early stopping and the best
        # epoch are decided alike in all of them.
        self.log(
            "val_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch[0]), sync_dist=True
        )

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(self.max_epochs, 1)
        )
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def configure_callbacks(self) -> list[Callback]:
        # Only meaningful with validation data; Lightning skips monitors without it
        # when the trainer runs no validation loop, so they are added unconditionally.
        return [
            EarlyStopping(
                monitor="val_loss", patience=self.patience, check_on_train_epoch_end=False
            ),
            BestWeights(),
        ]


class BestWeights(Callback):
    """Keeps the weights of the epoch with the lowest validation loss and restores them
    when fitting ends, so early stopping returns the best model, not the last."""

    def __init__(self) -> None:
        self.best_loss = float("inf")
        self.best_epoch: int | None = None
        self._state: dict[str, torch.Tensor] | None = None

    def on_validation_epoch_end(
        self, trainer: lightning.Trainer, pl_module: lightning.LightningModule
    ) -> None:
        if trainer.sanity_checking:
            return
        loss = trainer.callback_metrics.get("val_loss")
        if loss is not None and float(loss) < self.best_loss:
            self.best_loss = float(loss)
            self.best_epoch = trainer.current_epoch
            self._state = copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: lightning.Trainer, pl_module: lightning.LightningModule) -> None:
        if self._state is not None:
            pl_module.load_state_dict(self._state)
