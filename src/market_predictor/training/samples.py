"""What the network trains on, gathered one batch of symbols at a time.

Features are per symbol and causal, so a batch of whole symbols yields exactly the rows
that one frame of every symbol would. Of each batch only compact arrays are kept (the
float32 features, volatility and targets of every row, the sample masks, the scaled
returns persistence's z-scores come from) and the features of the held-out rows. The
windows are cut when a training batch asks for them (`WindowDataset`), so memory grows
with rows x features, not rows x window x features, and the batches themselves can
come straight from the Delta table (`DatasetRegistry.read_batches`).

Everything is computed with the operations a single frame would use, in the same row
order, so the fitted network is the same for any batch size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from market_predictor.errors import InputError
from market_predictor.features import (
    BATCH_ROWS,
    FEATURE_COLUMNS,
    TARGET,
    build_features,
    symbol_batches,
    target_column,
)
from market_predictor.training.config import TrainConfig

if TYPE_CHECKING:
    from sklearn.preprocessing import StandardScaler


def frame_batches(prices: pd.DataFrame, batch_rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """`prices` in batches of whole symbols (`symbol_batches`), in symbol order, each
    sorted by symbol and date. Only one batch is copied at a time."""
    rows_of = prices.groupby("symbol", sort=False).indices
    symbols = sorted(rows_of)
    for batch in symbol_batches([len(rows_of[s]) for s in symbols], batch_rows):
        yield _sorted_rows(prices, [rows_of[symbols[i]] for i in batch])


def _sorted_rows(prices: pd.DataFrame, positions: list[np.ndarray]) -> pd.DataFrame:
    batch = prices.take(np.concatenate(positions))
    return batch.sort_values(["symbol", "date"], ignore_index=True)


def sample_masks(
    features: pd.DataFrame, min_history: int, validation_start: dt.date | None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows usable as training samples and as validation samples.

    A sample needs a full window of complete features and a known target; training
    samples are dated before `validation_start`, validation samples on or after it.
    """
    position = features.groupby("symbol", sort=False).cumcount().to_numpy()
    target = features[TARGET].to_numpy(dtype="float64")
    volatility = features["volatility_21"].to_numpy(dtype="float64")
    usable = (position >= min_history - 1) & np.isfinite(target) & (volatility > 0)
    if validation_start is None:
        return usable, np.zeros_like(usable)
    before = (pd.to_datetime(features["date"]) < pd.Timestamp(validation_start)).to_numpy()
    return usable & before, usable & ~before


def check_history(
    prices: pd.DataFrame, config: TrainConfig, validation_start: dt.date | None
) -> None:
    """InputError unless there are training (and validation) samples for the window;
    the features are built one batch of symbols at a time."""
    has_train = has_validation = False
    longest = 0
    for batch in frame_batches(prices):
        features = build_features(batch)
        train, validation = sample_masks(features, config.min_history, validation_start)
        has_train |= bool(train.any())
        has_validation |= bool(validation.any())
        longest = max(longest, _longest(features, validation_start))
    check_samples(
        config,
        validation_start,
        has_train=has_train,
        has_validation=has_validation,
        longest=longest,
    )


def check_samples(
    config: TrainConfig,
    validation_start: dt.date | None,
    *,
    has_train: bool,
    has_validation: bool,
    longest: int,
) -> None:
    """InputError naming what is missing: training samples (`longest`: the most rows
    one symbol has before `validation_start`) or validation samples."""
    before = f" before {validation_start}" if validation_start else ""
    if not has_train:
        raise InputError(
            f"too little history for window {config.window}: a symbol needs more than "
            f"{config.min_history} price rows{before} (the longest has {longest}); "
            "train on a longer range or use a smaller window"
        )
    if validation_start is not None and not has_validation:
        raise InputError(
            f"no validation rows on or after {validation_start}: the training range is too short"
        )


def _longest(features: pd.DataFrame, validation_start: dt.date | None) -> int:
    if features.empty:
        return 0
    return int(_rows_before(features, validation_start).max())


def _rows_before(features: pd.DataFrame, validation_start: dt.date | None) -> np.ndarray:
    """Per row, how many rows its symbol has before `validation_start` (None: in all)."""
    before = np.ones(len(features), dtype=bool)
    if validation_start is not None:
        before = (pd.to_datetime(features["date"]) < pd.Timestamp(validation_start)).to_numpy()
    grouped = pd.Series(before).groupby(features["symbol"].to_numpy(), sort=False)
    return grouped.transform("sum").to_numpy()


@dataclass
class HeldOut:
    """The rows from the validation start on, with the `window - 1` rows before each
    symbol's first (so every window is there), as build_features's columns."""

    features: pd.DataFrame
    eligible: np.ndarray  # rows with a full history behind them (what calibration uses)
    validation: np.ndarray  # the network's validation samples, in `validation_rows` order


@dataclass
class Samples:
    values: np.ndarray  # (rows x features) float32, scaled
    volatility: np.ndarray  # (rows,) float32: the 21-day volatility, 0 where unknown
    target: np.ndarray  # (rows x horizons) float32, NaN where unknown
    train_rows: np.ndarray  # int64 positions of the training samples
    validation_rows: np.ndarray
    scaler: StandardScaler
    z_scores: np.ndarray  # persistence's, calibrated on the rows before validation_start
    held_out: HeldOut | None


@dataclass
class _Batch:
    raw: np.ndarray  # float64 features of every row, until the scaler is known
    scaler_rows: np.ndarray  # rows the scaler is fitted on
    volatility: np.ndarray
    target: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    scaled_returns: list[np.ndarray]  # per horizon, of the rows before validation_start
    held_out: HeldOut | None
    longest: int  # the most rows (before validation_start) of one symbol


def collect_samples(
    batches: Iterable[pd.DataFrame],
    config: TrainConfig,
    horizons: Sequence[int],
    validation_start: dt.date | None,
) -> Samples:
    """The samples of every batch of price rows (whole symbols, in symbol order), the
    scaler fitted on the complete feature rows before `validation_start` and the
    persistence z-scores of those rows. InputError (before any fitting) when there are no
    training or no validation samples."""
    from sklearn.preprocessing import StandardScaler

    from market_predictor.models.baselines import PersistenceForecaster
    from market_predictor.models.network_forecaster import scale_features

    parts = [
        _batch(batch, config, tuple(horizons), validation_start)
        for batch in batches
        if not batch.empty
    ]
    check_samples(
        config,
        validation_start,
        has_train=any(p.train.any() for p in parts),
        has_validation=any(p.validation.any() for p in parts),
        longest=max((p.longest for p in parts), default=0),
    )
    # The scaler sees the same matrix, in the same (column-major) layout, as it would
    # from one frame: its sums, and so every scaled value, are then the same bits.
    n_fitted = sum(p.scaler_rows.size for p in parts)
    scaler_rows = np.empty((n_fitted, len(FEATURE_COLUMNS)), order="F")
    offset = 0
    for part in parts:
        scaler_rows[offset : offset + part.scaler_rows.size] = part.raw[part.scaler_rows]
        offset += part.scaler_rows.size
    scaler = StandardScaler().fit(scaler_rows)
    del scaler_rows
    values = np.empty((sum(len(p.raw) for p in parts), len(FEATURE_COLUMNS)), dtype="float32")
    offset = 0
    for part in parts:
        values[offset : offset + len(part.raw)] = scale_features(part.raw, scaler)
        offset += len(part.raw)
        part.raw = np.empty((0, len(FEATURE_COLUMNS)))  # freed batch by batch
    z_scores = (
        PersistenceForecaster(config.quantiles, horizons=horizons)
        .fit_scaled(
            [
                pd.Series(np.concatenate([p.scaled_returns[k] for p in parts]))
                for k in range(len(horizons))
            ]
        )
        .z_scores
    )
    held_out = [p.held_out for p in parts if p.held_out is not None]
    return Samples(
        values=values,
        volatility=np.concatenate([p.volatility for p in parts]),
        target=np.concatenate([p.target for p in parts]),
        train_rows=np.flatnonzero(np.concatenate([p.train for p in parts])),
        validation_rows=np.flatnonzero(np.concatenate([p.validation for p in parts])),
        scaler=scaler,
        z_scores=z_scores,
        held_out=_joined(held_out) if held_out else None,
    )


def _batch(
    prices: pd.DataFrame,
    config: TrainConfig,
    horizons: tuple[int, ...],
    validation_start: dt.date | None,
) -> _Batch:
    from market_predictor.models.baselines import scaled_returns
    from market_predictor.models.network_forecaster import raw_feature_values

    features = build_features(prices, horizons)
    train, validation = sample_masks(features, config.min_history, validation_start)
    position = features.groupby("symbol", sort=False).cumcount().to_numpy()
    rows_before = _rows_before(features, validation_start)
    before = position < rows_before
    raw = raw_feature_values(features)
    complete = features[FEATURE_COLUMNS].notna().to_numpy().all(axis=1)
    fitted = np.flatnonzero(train | (complete & before))
    finite = np.isfinite(raw[fitted]).all(axis=1)
    volatility = features["volatility_21"].to_numpy(dtype="float64")
    target = features[[target_column(h) for h in horizons]].to_numpy(dtype="float32")
    return _Batch(
        raw=raw,
        scaler_rows=fitted[finite],
        volatility=np.nan_to_num(volatility, nan=0.0, posinf=0.0).astype("float32"),
        target=target,
        train=train,
        validation=validation,
        # What persistence fitted on the rows before validation_start alone would see:
        # an h-day return only where its close h rows later is also before it.
        scaled_returns=[
            scaled_returns(features, h)[position + h < rows_before].dropna().to_numpy()
            for h in horizons
        ],
        held_out=None
        if validation_start is None
        else _held_out(features, position, rows_before, validation, config),
        longest=int(rows_before.max()) if len(rows_before) else 0,
    )


def _held_out(
    features: pd.DataFrame,
    position: np.ndarray,
    rows_before: np.ndarray,
    validation: np.ndarray,
    config: TrainConfig,
) -> HeldOut:
    kept = position >= rows_before - (config.window - 1)
    eligible = (position >= config.min_history - 1) & (position >= rows_before)
    return HeldOut(
        features=features[kept].reset_index(drop=True),
        eligible=eligible[kept],
        validation=validation[kept],
    )


def _joined(parts: list[HeldOut]) -> HeldOut:
    return HeldOut(
        features=pd.concat([p.features for p in parts], ignore_index=True),
        eligible=np.concatenate([p.eligible for p in parts]),
        validation=np.concatenate([p.validation for p in parts]),
    )
