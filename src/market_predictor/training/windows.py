"""The network's training samples as a map-style torch Dataset: each window is cut from
the compact arrays of `training.samples` when a batch asks for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from market_predictor.training.samples import Samples


class WindowDataset(Dataset[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
    """Map-style: sample i is the window of `window` feature rows ending at `rows[i]`,
    that row's volatility and its targets. A DataLoader (with `collate_batch`) asks for a
    whole batch at once, which is cut from the arrays with one fancy index; any sampler,
    Lightning's DistributedSampler included, picks which samples."""

    def __init__(self, samples: Samples, rows: np.ndarray, window: int) -> None:
        self.values = torch.from_numpy(samples.values)
        self.volatility = torch.from_numpy(samples.volatility)
        self.target = torch.from_numpy(samples.target)
        self.rows = torch.from_numpy(np.asarray(rows, dtype="int64"))
        self.offsets = torch.arange(-(window - 1), 1)

    def __len__(self) -> int:
        return int(self.rows.numel())

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        window, volatility, target = self.__getitems__([index])
        return window[0], volatility[0], target[0]

    def __getitems__(
        self, indices: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = self.rows[torch.as_tensor(indices, dtype=torch.int64)]
        windows = self.values[rows[:, None] + self.offsets[None, :]]
        return windows, self.volatility[rows], self.target[rows]


def collate_batch(batch: Any) -> Any:
    """The DataLoader's collate_fn for `WindowDataset`: its batches come whole (the
    tuple `__getitems__` returns), so there is nothing to stack."""
    return batch


def window_loader(
    samples: Samples, rows: np.ndarray, *, window: int, batch_size: int, seed: int, shuffle: bool
) -> DataLoader[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Batches of the samples at `rows`, shuffled by a generator seeded with `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        WindowDataset(samples, rows, window),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=collate_batch,
    )
