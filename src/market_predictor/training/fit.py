"""Fitting: the pure steps (no IO) shared by `mpp train`, backtests and tuning.

`fit_forecaster` turns price rows and a `TrainConfig` into a fitted network forecaster;
`fit_baseline` fits a naive or GARCH rival the same way (fitted before a held-out
start, its interval recalibrated on the rows from it on), and `fit_rivals` every rival
the gate compares the network with.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from market_predictor.features import FEATURE_COLUMNS, target_column
from market_predictor.training.config import TrainConfig
from market_predictor.training.gate import RIVALS, Rival

if TYPE_CHECKING:
    from market_predictor.models.forecaster import Forecaster
    from market_predictor.models.network_forecaster import NetworkForecaster
    from market_predictor.training.samples import HeldOut


def fit_forecaster(
    prices: pd.DataFrame | Iterable[pd.DataFrame],
    config: TrainConfig,
    *,
    horizons: Sequence[int] = (1,),
    validation_start: dt.date | None = None,
    callbacks: Sequence[Any] | None = None,
    logger: Any = None,
) -> NetworkForecaster:
    """Fit the configured network on `prices` (any symbols, one global model), with one
    quantile head per horizon (targets: the log return to the close h rows later).

    `prices` is one frame or its batches of whole symbols in symbol order (such as
    `DatasetRegistry.read_batches`): features are built batch by batch and the windows
    cut when the network asks for them (training/samples.py), with the same result.
    Scalers and the interval's z-scores see only rows dated before
    `validation_start`; when it is given, early stopping watches the pinball loss on
    the rows from it on, the best epoch's weights are kept, and the median source and
    the interval recalibration are chosen on those same rows. Deterministic for a seed.
    """
    import lightning
    import torch

    from market_predictor.models.base import QuantileRegressor
    from market_predictor.models.network_forecaster import NetworkForecaster, build_network
    from market_predictor.training.samples import collect_samples, frame_batches
    from market_predictor.training.windows import window_loader

    horizons = tuple(horizons)
    batches = frame_batches(prices) if isinstance(prices, pd.DataFrame) else prices
    samples = collect_samples(batches, config, horizons, validation_start)
    torch.set_num_threads(max(1, min(config.num_threads, os.cpu_count() or 1)))
    _quiet_lightning()
    lightning.seed_everything(config.seed, workers=True, verbose=False)

    def loader(rows: np.ndarray, shuffle: bool) -> Any:
        return window_loader(
            samples,
            rows,
            window=config.window,
            batch_size=config.batch_size,
            seed=config.seed,
            shuffle=shuffle,
        )

    network = build_network(
        config.model,
        n_features=len(FEATURE_COLUMNS),
        n_outputs=len(horizons) * len(config.quantiles),
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        window=config.window,
    )
    module = QuantileRegressor(
        network,
        config.quantiles,
        samples.z_scores,
        horizons=horizons,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        max_epochs=config.max_epochs,
        patience=config.patience,
    )
    trainer = lightning.Trainer(
        max_epochs=config.max_epochs,
        accelerator="cpu",
        devices=1,
        deterministic=True,
        logger=logger if logger is not None else False,
        enable_checkpointing=False,
        enable_progress_bar=sys.stderr.isatty(),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=list(callbacks or []),
    )
    validation = None
    if samples.validation_rows.size:
        validation = loader(samples.validation_rows, shuffle=False)
    trainer.fit(module, loader(samples.train_rows, shuffle=True), validation)
    forecaster = NetworkForecaster(
        module.network,
        model=config.model,
        window=config.window,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        quantiles=config.quantiles,
        z_scores=samples.z_scores,
        scaler=samples.scaler,
        horizons=horizons,
    )
    if samples.held_out is not None and validation_start is not None:
        _choose_on_held_out(forecaster, samples.held_out, validation_start)
    forecaster.epochs_trained = trainer.current_epoch  # type: ignore[attr-defined]
    return forecaster


# The forecasters `fit_baseline` can fit, by the name the gate's rival list uses: the
# naive ones, then the per-symbol volatility models (models/rivals.py).
NAIVE = ("persistence", "drift")
VOLATILITY = ("garch", "gjr_garch", "egarch", "har")
BASELINES = (*NAIVE, *VOLATILITY)


def fit_baseline(
    kind: str,
    prices: pd.DataFrame,
    quantiles: Sequence[float],
    held_out_start: dt.date | None = None,
    horizons: Sequence[int] = (1,),
    workers: int = 1,
) -> Forecaster:
    """A naive or volatility forecaster given the network's treatment: fitted on the
    rows before `held_out_start`, its interval recalibrated on the rows from it on (the
    network's early-stopping months). Without a held-out start: fitted on every row,
    uncalibrated. A volatility model fits its symbols on `workers` processes."""
    from market_predictor.models.baselines import DriftForecaster, PersistenceForecaster
    from market_predictor.models.calibration import calibrate
    from market_predictor.models.rivals import VOLATILITY_FORECASTERS

    fitting = prices
    if held_out_start is not None:
        fitting = prices[pd.to_datetime(prices["date"]) < pd.Timestamp(held_out_start)]
    forecaster: Forecaster
    if kind in NAIVE:
        naive = PersistenceForecaster if kind == "persistence" else DriftForecaster
        forecaster = naive(quantiles, horizons=horizons).fit(fitting)
    elif kind in VOLATILITY_FORECASTERS:
        rival = VOLATILITY_FORECASTERS[kind](quantiles, horizons=horizons)
        forecaster = rival.fit(fitting, workers=workers)
    else:
        raise ValueError(f"unknown baseline {kind!r}: choose one of {', '.join(BASELINES)}")
    del fitting  # a copy of most rows: not held while the calibration builds its features
    calibrate(forecaster, prices, held_out_start)
    return forecaster


def fit_rivals(
    prices: pd.DataFrame,
    quantiles: Sequence[float],
    held_out_start: dt.date,
    rivals: Sequence[Rival] = RIVALS,
    horizons: Sequence[int] = (1,),
    workers: int = 1,
) -> dict[str, Forecaster]:
    """Every rival fitted by `fit_baseline` (by name, in the list's order); an optional
    rival that cannot be fitted (no symbol has enough returns) is left out."""
    fitted: dict[str, Forecaster] = {}
    for rival in rivals:
        try:
            fitted[rival.name] = fit_baseline(
                rival.name, prices, quantiles, held_out_start, horizons, workers
            )
        except ValueError:
            if not rival.optional:
                raise
    return fitted


def _choose_on_held_out(
    forecaster: NetworkForecaster, held_out: HeldOut, validation_start: dt.date
) -> None:
    """Each horizon's median source, chosen on the validation samples, and the interval
    recalibration, fitted on every held-out row with a full history."""
    from market_predictor.models.calibration import calibration_on

    features = held_out.features
    rows = np.flatnonzero(held_out.validation)
    medians = forecaster.quantile_returns(features, rows)[:, :, forecaster.median_index]
    target = features[[target_column(h) for h in forecaster.horizons]].to_numpy(dtype="float32")
    closes = features["close"].to_numpy(dtype="float64")[rows]
    forecaster.median_sources = [
        _median_source(target[rows, k], medians[:, k], closes)
        for k in range(len(forecaster.horizons))
    ]
    forecaster.calibration = calibration_on(
        forecaster, features, held_out.eligible, validation_start
    )


def _median_source(target: np.ndarray, median: np.ndarray, closes: np.ndarray) -> str:
    """One horizon's median source, chosen on the validation rows whose target is known."""
    from market_predictor.models.network_forecaster import choose_median_source

    known = np.isfinite(target)
    return choose_median_source(target[known].astype("float64"), median[known], closes[known])


def _quiet_lightning() -> None:
    # Lightning announces hardware and seeds at INFO; on stdout that would corrupt --json.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Lightning 2.6 calls a pytree API that torch 2.13 deprecated; users cannot act on it.
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
