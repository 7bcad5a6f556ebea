"""Fitting: the pure steps (no IO) shared by `mpp train`, backtests and tuning.

`fit_forecaster` turns price rows and a `TrainConfig` into a fitted network forecaster;
`fit_baseline` fits a naive or GARCH rival the same way (fitted before a held-out
start, its interval recalibrated on the rows from it on), `fit_rivals` every rival
the gate compares the network with, and `fit_combined` the combined candidate from the
fitted network and rivals.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from market_predictor.errors import InputError
from market_predictor.features import FEATURE_COLUMNS, target_column
from market_predictor.training.config import TrainConfig
from market_predictor.training.gate import COMBINABLE, NETWORK, OPTIONAL, PERSISTENCE, RIVALS, Rival
from market_predictor.training.hardware import HARDWARE

if TYPE_CHECKING:
    import lightning

    from market_predictor.models.combined import CombinedForecaster
    from market_predictor.models.forecaster import Forecaster
    from market_predictor.models.network_forecaster import NetworkForecaster
    from market_predictor.models.volatility import SymbolFit
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
    trainer = build_trainer(config, logger=logger, callbacks=callbacks)
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


def build_trainer(
    config: TrainConfig, *, logger: Any = None, callbacks: Sequence[Any] | None = None
) -> lightning.Trainer:
    """Lightning's Trainer on the configured hardware; InputError (one line) when this
    machine cannot run it (no such accelerator, a precision it lacks). Under DDP it knows
    this process's rank from its construction on (set by Lightning's launcher, torchrun
    or SLURM), before any process group exists."""
    import lightning
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    _quiet_lightning()
    try:
        return lightning.Trainer(
            max_epochs=config.max_epochs,
            **config.model_dump(include=set(HARDWARE)),  # accelerator, devices, ...
            deterministic=_deterministic(config.accelerator),
            logger=logger if logger is not None else False,
            enable_checkpointing=False,
            enable_progress_bar=sys.stderr.isatty(),
            enable_model_summary=False,
            num_sanity_val_steps=0,
            callbacks=list(callbacks or []),
        )
    except (MisconfigurationException, ValueError, RuntimeError) as exc:
        hardware = ", ".join(f"{name} {getattr(config, name)}" for name in HARDWARE)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot train on {hardware}: {reason}") from None


def process_rank(config: TrainConfig) -> int:
    """This process's global rank in the configured training: 0 for the only process or
    the first of a DDP run, which alone fits rivals, logs, registers and reports."""
    return int(build_trainer(config).global_rank)


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
    symbol_fits: Mapping[str, SymbolFit | None] | None = None,
) -> Forecaster:
    """A naive or volatility forecaster given the network's treatment: fitted on the
    rows before `held_out_start`, its interval recalibrated on the rows from it on (the
    network's early-stopping months). Without a held-out start: fitted on every row,
    uncalibrated. A volatility model fits its symbols on `workers` processes, or takes
    `symbol_fits` made on those same rows elsewhere (training/rival_fits.py)."""
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
        forecaster = rival.fit(fitting, workers=workers, symbol_fits=symbol_fits)
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
    symbol_fits: Mapping[str, Mapping[str, SymbolFit | None]] | None = None,
) -> dict[str, Forecaster]:
    """Every rival fitted by `fit_baseline` (by name, in the list's order), a volatility
    rival from its `symbol_fits` when given; an optional rival that cannot be fitted (no
    symbol has enough returns) is left out."""
    fitted: dict[str, Forecaster] = {}
    for rival in rivals:
        given = (symbol_fits or {}).get(rival.name)
        try:
            fitted[rival.name] = fit_baseline(
                rival.name, prices, quantiles, held_out_start, horizons, workers, given
            )
        except ValueError:
            if not rival.optional:
                raise
    return fitted


def fit_combined(
    network: Forecaster,
    rivals: Mapping[str, Forecaster],
    rows: pd.DataFrame,
    start: dt.date | None,
    end: dt.date,
    quantiles: Sequence[float],
    horizons: Sequence[int] = (1,),
) -> CombinedForecaster:
    """The combined candidate (models/combined.py): the network and the rival (of the
    gate's COMBINABLE ones in `rivals`) with the lowest gate score on the forecasts made
    in [start, end) whose outcome is dated before `end` (the early-stopping months; no
    row from `end` on is read). Without a `start` there is nothing to choose on: the
    partner is persistence, the rival every gate has."""
    from market_predictor.models.combined import CombinedForecaster, best_partner
    from market_predictor.training.evaluate import (
        compare_by_horizon,
        rows_before,
        validation_forecasts,
    )
    from market_predictor.training.gate import scores

    candidates = {name: rivals[name] for name in COMBINABLE if name in rivals}
    score: dict[str, float] = {}
    window: list[str] = []
    if start is None:
        partner = PERSISTENCE
    else:
        results = validation_forecasts(
            {NETWORK: network, **candidates}, rows_before(rows, end), start, optional=OPTIONAL
        )
        score, _ = scores(compare_by_horizon(results, quantiles, horizons))
        partner = best_partner(score, NETWORK, list(candidates))
        window = [start.isoformat(), (end - dt.timedelta(days=1)).isoformat()]
    return CombinedForecaster(
        {NETWORK: network, partner: candidates[partner]}, selection=score, selected_on=window
    )


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
        _median_source(target[rows, k], medians[:, k], closes, horizon)
        for k, horizon in enumerate(forecaster.horizons)
    ]
    forecaster.calibration = calibration_on(
        forecaster, features, held_out.eligible, validation_start
    )


def _median_source(target: np.ndarray, median: np.ndarray, closes: np.ndarray, horizon: int) -> str:
    """One horizon's median source, chosen on the validation rows whose target is known."""
    from market_predictor.models.network_forecaster import choose_median_source

    known = np.isfinite(target)
    return choose_median_source(
        target[known].astype("float64"), median[known], closes[known], horizon=horizon
    )


def _deterministic(accelerator: str) -> bool | Literal["warn"]:
    # Strict on the CPU. Some CUDA and MPS kernels have no deterministic implementation,
    # and strict mode would raise on them: there torch warns instead.
    from lightning.fabric.accelerators import CUDAAccelerator, MPSAccelerator

    gpu = CUDAAccelerator.is_available() or MPSAccelerator.is_available()
    return True if accelerator == "cpu" or (accelerator == "auto" and not gpu) else "warn"


def _quiet_lightning() -> None:
    # Lightning announces hardware and seeds at INFO; on stdout that would corrupt --json.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Lightning 2.6 calls a pytree API that torch 2.13 deprecated; users cannot act on it.
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
