"""Training: fit a network on a training dataset, compare it with persistence and the
champion on the most recent held-out window, log everything to MLflow and let the
registry's gate decide the champion.

`fit_forecaster` is the pure fitting step (no IO), shared with backtests and tuning;
`train` is the pipeline stage behind `mpp train`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.evaluation import forecast_metrics
from market_predictor.features import FEATURE_COLUMNS, TARGET, build_features
from market_predictor.symbols import normalise_symbol

if TYPE_CHECKING:
    from market_predictor.models.forecaster import Forecaster
    from market_predictor.models.network_forecaster import NetworkForecaster
    from market_predictor.store import TrainingDataset

NETWORK_NAMES = ("lstm", "transformer", "mlp")
_DISPLAY_NAMES = {"lstm": "LSTM", "transformer": "Transformer", "mlp": "MLP"}
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class TrainConfig:
    model: str = "lstm"
    window: int = 30
    hidden_size: int = 32
    num_layers: int = 1
    dropout: float = 0.1
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    max_epochs: int = 15
    patience: int = 3
    seed: int = 42
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    validation_months: int = 6
    # One thread: on a shared 2-core machine two torch threads contend with everything
    # else and fitted 5-8x slower in our measurements (docs/benchmarks.md).
    num_threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["quantiles"] = list(self.quantiles)
        return data

    @property
    def min_history(self) -> int:
        from market_predictor.features import WARMUP_ROWS

        return WARMUP_ROWS + self.window - 1


_INTEGER_FIELDS = (
    "window",
    "hidden_size",
    "num_layers",
    "batch_size",
    "max_epochs",
    "patience",
    "seed",
    "validation_months",
    "num_threads",
)
_FLOAT_FIELDS = ("dropout", "learning_rate", "weight_decay")


def load_train_config(
    settings: Settings, overrides: Mapping[str, Any] | None = None
) -> TrainConfig:
    """The training config file with `overrides` applied (None values ignored);
    InputError on any bad value. The file is settings.training_config if set, else
    `{MPP_HOME}/train.yaml` if present (where `mpp tune` saves the best config), else
    the packaged train.yaml."""
    tuned = settings.resolved_home / "train.yaml"
    if settings.training_config is not None:
        path = Path(settings.training_config)
        if not path.is_file():
            raise InputError(f"training config {path} does not exist")
        text = path.read_text()
    elif tuned.is_file():
        text = tuned.read_text()
    else:
        text = resources.files("market_predictor").joinpath("configs/train.yaml").read_text()
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"training config is not valid YAML: {exc}") from None
    if not isinstance(values, dict):
        raise InputError("training config must be a mapping of names to values")
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _validated(values)


def _validated(values: Mapping[str, Any]) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown training setting(s) {', '.join(unknown)}")
    data = dict(values)
    model = str(data.get("model", "lstm")).lower()
    if model not in NETWORK_NAMES:
        raise InputError(f"unknown network {model!r}: choose one of {', '.join(NETWORK_NAMES)}")
    data["model"] = model
    for name in _INTEGER_FIELDS:
        if name in data:
            data[name] = _number(name, data[name], int)
    for name in _FLOAT_FIELDS:
        if name in data:
            data[name] = _number(name, data[name], float)
    if "quantiles" in data:
        try:
            data["quantiles"] = tuple(float(q) for q in data["quantiles"])
        except (TypeError, ValueError):
            raise InputError("quantiles must be a list of numbers") from None
    config = TrainConfig(**data)
    positive = ("window", "hidden_size", "num_layers", "batch_size", "max_epochs")
    for name in (*positive, "patience", "validation_months"):
        if getattr(config, name) < (0 if name == "patience" else 1):
            raise InputError(f"{name} must be at least {0 if name == 'patience' else 1}")
    if not 0.0 <= config.dropout < 1.0:
        raise InputError("dropout must be in [0, 1)")
    if config.learning_rate <= 0 or config.weight_decay < 0:
        raise InputError("learning_rate must be > 0 and weight_decay >= 0")
    q = config.quantiles
    if list(q) != sorted(set(q)) or 0.5 not in q or q[0] <= 0 or q[-1] >= 1 or len(q) < 3:
        raise InputError(
            f"quantiles {list(q)} must be increasing, inside (0, 1), include 0.5 and one level "
            "on each side"
        )
    return config


def _number(name: str, value: Any, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, not {value!r}") from None
    if kind is int and number != value and not isinstance(value, str):
        raise InputError(f"{name} must be a whole number, not {value!r}")
    return number


def save_train_config(config: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


# -- fitting -----------------------------------------------------------------------------


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
    """InputError unless there are training (and validation) samples for the window."""
    features = build_features(prices)
    train_mask, validation_mask = sample_masks(features, config.min_history, validation_start)
    before = f" before {validation_start}" if validation_start else ""
    if not train_mask.any():
        counts = features.groupby("symbol")["date"].size()
        if validation_start is not None:
            early = pd.to_datetime(features["date"]) < pd.Timestamp(validation_start)
            counts = features[early.to_numpy()].groupby("symbol")["date"].size()
        longest = int(counts.max()) if len(counts) else 0
        raise InputError(
            f"too little history for window {config.window}: a symbol needs more than "
            f"{config.min_history} price rows{before} (the longest has {longest}); "
            "train on a longer range or use a smaller window"
        )
    if validation_start is not None and not validation_mask.any():
        raise InputError(
            f"no validation rows on or after {validation_start}: the training range is too short"
        )


def fit_forecaster(
    prices: pd.DataFrame,
    config: TrainConfig,
    *,
    validation_start: dt.date | None = None,
    callbacks: Sequence[Any] | None = None,
    logger: Any = None,
) -> NetworkForecaster:
    """Fit the configured network on `prices` (any symbols, one global model).

    Scalers and the interval calibration see only rows dated before
    `validation_start`; when it is given, early stopping watches the pinball loss on
    the rows from it on and the best epoch's weights are kept. Deterministic for a seed.
    """
    import lightning
    import torch
    from sklearn.preprocessing import StandardScaler
    from torch.utils.data import DataLoader, TensorDataset

    from market_predictor.models.base import QuantileRegressor
    from market_predictor.models.baselines import PersistenceForecaster
    from market_predictor.models.network_forecaster import (
        NetworkForecaster,
        build_network,
        choose_median_source,
        feature_windows,
        scaled_feature_values,
        volatility_at,
    )

    check_history(prices, config, validation_start)
    torch.set_num_threads(max(1, min(config.num_threads, os.cpu_count() or 1)))
    _quiet_lightning()
    lightning.seed_everything(config.seed, workers=True, verbose=False)

    features = build_features(prices)
    train_mask, validation_mask = sample_masks(features, config.min_history, validation_start)
    fitting = prices
    if validation_start is not None:
        fitting = prices[pd.to_datetime(prices["date"]) < pd.Timestamp(validation_start)]
    # Start exactly at the persistence forecast calibrated on the same training rows.
    z_scores = PersistenceForecaster(config.quantiles).fit(fitting).z_scores
    first_complete = features[FEATURE_COLUMNS].notna().all(axis=1).to_numpy()
    scaler = StandardScaler().fit(
        features.loc[
            train_mask | (first_complete & _before(features, validation_start)), FEATURE_COLUMNS
        ]
        .replace([np.inf, -np.inf], np.nan)
        .dropna()
    )
    values = scaled_feature_values(features, scaler)
    target = features[TARGET].to_numpy(dtype="float32")

    def loader(mask: np.ndarray, shuffle: bool) -> DataLoader:
        rows = np.flatnonzero(mask)
        tensors = TensorDataset(
            torch.from_numpy(np.ascontiguousarray(feature_windows(values, rows, config.window))),
            torch.from_numpy(volatility_at(features, rows)),
            torch.from_numpy(target[rows]),
        )
        generator = torch.Generator().manual_seed(config.seed)
        return DataLoader(
            tensors, batch_size=config.batch_size, shuffle=shuffle, generator=generator
        )

    network = build_network(
        config.model,
        n_features=len(FEATURE_COLUMNS),
        n_quantiles=len(config.quantiles),
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        window=config.window,
    )
    module = QuantileRegressor(
        network,
        config.quantiles,
        z_scores,
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
    validation = loader(validation_mask, shuffle=False) if validation_mask.any() else None
    trainer.fit(module, loader(train_mask, shuffle=True), validation)
    forecaster = NetworkForecaster(
        module.network,
        model=config.model,
        window=config.window,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        quantiles=config.quantiles,
        z_scores=z_scores,
        scaler=scaler,
    )
    if validation_mask.any():
        rows = np.flatnonzero(validation_mask)
        forecaster.median_source = choose_median_source(
            target[rows].astype("float64"),
            forecaster.quantile_returns(features, rows)[:, forecaster.median_index],
            features["close"].to_numpy(dtype="float64")[rows],
        )
    forecaster.epochs_trained = trainer.current_epoch  # type: ignore[attr-defined]
    return forecaster


def _before(features: pd.DataFrame, validation_start: dt.date | None) -> np.ndarray:
    if validation_start is None:
        return np.ones(len(features), dtype=bool)
    return (pd.to_datetime(features["date"]) < pd.Timestamp(validation_start)).to_numpy()


def _quiet_lightning() -> None:
    # Lightning announces hardware and seeds at INFO; on stdout that would corrupt --json.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Lightning 2.6 calls a pytree API that torch 2.13 deprecated; users cannot act on it.
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*")


# -- evaluation ----------------------------------------------------------------------------


def forecasts_with_outcomes(
    forecaster: Forecaster, prices: pd.DataFrame, start: dt.date | None = None
) -> pd.DataFrame:
    """Forecasts made on each day from `start` on, joined with the next row's close
    (`actual_close`, `target_date`); days without a next row are dropped."""
    forecasts = forecaster.predict_range(prices, start=start)
    ordered = prices.loc[:, ["symbol", "date", "close"]].sort_values(["symbol", "date"])
    following = ordered.groupby("symbol", sort=False)
    outcomes = pd.DataFrame(
        {
            "symbol": ordered["symbol"].to_numpy(),
            "as_of_date": pd.to_datetime(ordered["date"]).to_numpy(),
            "target_date": pd.to_datetime(following["date"].shift(-1)).to_numpy(),
            "actual_close": following["close"].shift(-1).to_numpy(),
        }
    ).dropna(subset=["actual_close"])
    forecasts["as_of_date"] = pd.to_datetime(forecasts["as_of_date"]).astype("datetime64[ns]")
    outcomes["as_of_date"] = outcomes["as_of_date"].astype("datetime64[ns]")
    return forecasts.merge(outcomes, on=["symbol", "as_of_date"], how="inner")


def compare_on_common_rows(
    results: Mapping[str, pd.DataFrame], quantiles: Sequence[float]
) -> dict[str, dict[str, float]]:
    """forecast_metrics of each forecaster over the (symbol, day) rows all of them cover."""
    keys: pd.DataFrame | None = None
    for rows in results.values():
        current = rows[["symbol", "as_of_date"]]
        keys = current if keys is None else keys.merge(current, on=["symbol", "as_of_date"])
    assert keys is not None
    return {
        name: forecast_metrics(rows.merge(keys, on=["symbol", "as_of_date"]), quantiles)
        for name, rows in results.items()
    }


def validation_start_for(rows: pd.DataFrame, months: int) -> dt.date:
    """First day of the most recent `months` of the range (held out from fitting)."""
    last = pd.Timestamp(pd.to_datetime(rows["date"]).max())
    return (last - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()


# -- the pipeline stage --------------------------------------------------------------------


@dataclass
class TrainSummary:
    run_id: str
    model_name: str
    version: str
    is_baseline: bool
    became_champion: bool
    champion_version: str | None
    decision: str
    metrics: dict[str, dict[str, float] | None]
    lineage: dict[str, str]
    message: str
    network: str = "lstm"
    baseline_version: str | None = None
    validation_start: str | None = None
    epochs_trained: int | None = None
    median_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: undefined metrics (NaN) become None."""
        return _without_nan(dataclasses.asdict(self))


def _without_nan(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def check_model_name(name: str) -> str:
    if not _MODEL_NAME.match(name):
        raise InputError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' (max 100)"
        )
    return name


def train(
    settings: Settings,
    *,
    symbols: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    dataset_version: int | None = None,
    model: str | None = None,
    max_epochs: int | None = None,
    model_name: str | None = None,
    promote: bool = True,
    config_overrides: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> TrainSummary:
    """Train, evaluate against persistence and the champion, register, gate.

    Every input is checked before anything is written (dataset, run or version).
    `tags` are added to the run and the registered version (e.g. `retrain` reasons).
    """
    import mlflow

    from market_predictor import registry
    from market_predictor.features import feature_profile
    from market_predictor.models.baselines import DriftForecaster, PersistenceForecaster
    from market_predictor.plots import forecast_figure, residuals_figure
    from market_predictor.store import FeatureStore
    from market_predictor.tracking import (
        check_tracking_uri,
        configure_tracking,
        ensure_experiment,
        epoch_metrics_callback,
    )

    overrides = dict(config_overrides or {})
    if model is not None:
        overrides["model"] = model
    if max_epochs is not None:
        overrides["max_epochs"] = max_epochs
    config = load_train_config(settings, overrides)
    name = check_model_name(model_name or settings.model_name)
    if dataset_version is not None and (symbols or start or end):
        raise InputError("--dataset-version fixes symbols and dates: drop --symbols/--start/--end")
    if start is not None and end is not None and start > end:
        raise InputError(f"start {start} is after end {end}")
    # Reachability first (a clear error naming the URI); the database itself is only
    # created once every input has passed, so bad input leaves no trace.
    check_tracking_uri(settings.resolved_tracking_uri)

    store = FeatureStore.from_settings(settings)
    dataset: TrainingDataset
    if dataset_version is not None:
        dataset, rows = store.datasets.read(dataset_version)
        validation_start = validation_start_for(rows, config.validation_months)
        check_history(rows, config, validation_start)
    else:
        prices = store.prices()
        stored = prices.symbols() if prices.table_version() is not None else []
        if not stored:
            raise InputError("the feature store holds no prices yet: run `mpp ingest` first")
        wanted = [normalise_symbol(s) for s in symbols] if symbols else None
        missing = sorted(set(wanted or []) - set(stored))
        if missing:
            raise InputError(
                f"symbol(s) not in the feature store: {', '.join(missing)} "
                f"(it holds {', '.join(stored)})"
            )
        rows = prices.read(wanted, start, end)
        if rows.empty:
            raise InputError(f"no price rows between {start or 'the start'} and {end or 'the end'}")
        validation_start = validation_start_for(rows, config.validation_months)
        check_history(rows, config, validation_start)
        first = pd.Timestamp(rows["date"].min()).date()
        last = pd.Timestamp(rows["date"].max()).date()
        dataset = store.datasets.create(prices, start or first, end or last, wanted)
        dataset, rows = store.datasets.read(dataset.version)
        validation_start = validation_start_for(rows, config.validation_months)
        check_history(rows, config, validation_start)

    client = configure_tracking(settings)
    trained_until = pd.Timestamp(rows["date"].max()).date()
    before_validation = rows[pd.to_datetime(rows["date"]) < pd.Timestamp(validation_start)]
    persistence = PersistenceForecaster(config.quantiles).fit(before_validation)
    drift = DriftForecaster(config.quantiles).fit(before_validation)
    current = registry.champion_version(client, name)
    champion = registry.load_version(client, name, str(current.version)) if current else None

    experiment_id = ensure_experiment(client, settings)
    lineage = dataset.lineage()
    run_tags = {"model_name": name, "network": config.model, **(tags or {})}
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{config.model}-{name}") as run:
        run_id = run.info.run_id
        mlflow.set_tags({**run_tags, **{f"lineage.{k}": v for k, v in lineage.items()}})
        mlflow.log_params({**_flat(config.to_dict()), **lineage})
        mlflow.log_param("validation_start", validation_start.isoformat())
        network = fit_forecaster(
            rows,
            config,
            validation_start=validation_start,
            callbacks=[epoch_metrics_callback(client, run_id)],
        )
        results = {
            "model": forecasts_with_outcomes(network, rows, validation_start),
            "persistence": forecasts_with_outcomes(persistence, rows, validation_start),
            "drift": forecasts_with_outcomes(drift, rows, validation_start),
        }
        if champion is not None:
            results["champion"] = forecasts_with_outcomes(
                champion.forecaster, rows, validation_start
            )
        metrics = compare_on_common_rows(results, config.quantiles)
        for who, values in metrics.items():
            mlflow.log_metrics({f"val_{who}_{k}": float(v) for k, v in values.items()})
        _log_figures(results["model"], config.model, forecast_figure, residuals_figure)

        champion_pinball = metrics["champion"]["pinball"] if champion is not None else None
        decision = registry.gate(
            metrics["model"]["pinball"], metrics["persistence"]["pinball"], champion_pinball
        )
        gate_tags = {
            "gate_decision": decision.decision,
            "gate_reason": decision.reason,
            "val_pinball_model": f"{metrics['model']['pinball']:.6g}",
            "val_pinball_persistence": f"{metrics['persistence']['pinball']:.6g}",
            "val_pinball_champion": "" if champion_pinball is None else f"{champion_pinball:.6g}",
            "validation_start": validation_start.isoformat(),
            "compared_with_champion": "" if champion is None else champion.version,
            "dataset_version": lineage["dataset_version"],
            "median_source": getattr(network, "median_source", "network"),
            **(tags or {}),
        }
        mlflow.set_tags(gate_tags)
        version = registry.register_forecaster(
            client,
            name,
            network,
            trained_until=trained_until,
            drift_profile=feature_profile(build_features(rows)),
            tags={**gate_tags, "network": config.model},
        )
        client.set_registered_model_alias(name, registry.CHALLENGER, version)

    baseline_version = None
    if promote and decision.promote:
        registry.set_champion(client, name, version, promoted_by="gate")
    elif promote and champion is None:
        baseline_version = registry.register_baseline(
            settings,
            name,
            promote=True,
            trained_until=trained_until,
            prices=before_validation,
            tags={
                "gate_decision": "baseline_fallback",
                "source_run_id": run_id,
                "val_pinball_persistence": gate_tags["val_pinball_persistence"],
                "val_pinball_model": gate_tags["val_pinball_model"],
                "validation_start": validation_start.isoformat(),
                **(tags or {}),
            },
        )
    final = registry.champion_version(client, name)
    champion_now = None if final is None else str(final.version)
    summary = TrainSummary(
        run_id=run_id,
        model_name=name,
        version=version,
        is_baseline=baseline_version is not None and champion_now == baseline_version,
        became_champion=champion_now == version,
        champion_version=champion_now,
        decision=decision.decision if promote else f"not_promoted ({decision.decision})",
        metrics={
            "model": metrics["model"],
            "persistence": metrics["persistence"],
            "drift": metrics["drift"],
            "champion": metrics.get("champion"),
        },
        lineage=lineage,
        message="",
        network=config.model,
        baseline_version=baseline_version,
        validation_start=validation_start.isoformat(),
        epochs_trained=getattr(network, "epochs_trained", None),
        median_source=getattr(network, "median_source", None),
    )
    summary.message = outcome_message(summary, champion.version if champion else None, promote)
    return summary


def outcome_message(summary: TrainSummary, previous: str | None, promote: bool) -> str:
    """Plain sentences on what happened, what serves forecasts now and, when the
    network's median fell back to the last close, that its gain is the interval."""
    message = _gate_sentence(summary, previous, promote)
    if summary.median_source == "persistence":
        message += (
            " Its median forecast is the last close: the network's median did not beat"
            " no-change significantly on the validation window, so what it adds is a"
            " better-calibrated interval."
        )
    return message


def _gate_sentence(summary: TrainSummary, previous: str | None, promote: bool) -> str:
    network = _DISPLAY_NAMES.get(summary.network, summary.network)
    model = summary.metrics["model"]["pinball"]  # type: ignore[index]
    naive = summary.metrics["persistence"]["pinball"]  # type: ignore[index]
    champion = summary.metrics["champion"]["pinball"] if summary.metrics["champion"] else None
    versus = f"(pinball {model:.5f} vs {naive:.5f})"
    if summary.decision == "promoted":
        rival = f" and champion version {previous} ({champion:.5f})" if previous else ""
        return (
            f"The {network} beat persistence {versus}{rival} on the validation window; "
            f"it is version {summary.version} and now champion."
        )
    if summary.baseline_version is not None:
        return (
            f"The {network} did not beat persistence on the validation window {versus}; "
            f"the persistence baseline was registered as version {summary.baseline_version} "
            f"and is champion (the {network} is version {summary.version}, challenger)."
        )
    if summary.decision.endswith("rejected_vs_champion)") or summary.decision == (
        "rejected_vs_champion"
    ):
        lost = (
            f"The {network} beat persistence {versus} but not champion version {previous} "
            f"({champion:.5f})"
        )
    elif "rejected_vs_persistence" in summary.decision:
        lost = f"The {network} did not beat persistence on the validation window {versus}"
    else:
        lost = f"The {network} passed the gate {versus}"
    if not promote:
        left = f"at version {summary.champion_version}" if summary.champion_version else "unset"
        return (
            f"{lost}; it is version {summary.version} (challenger) and --no-promote left the "
            f"champion {left}."
        )
    return (
        f"{lost}; it is version {summary.version} (challenger) and champion stays version "
        f"{summary.champion_version}."
    )


def _log_figures(rows: pd.DataFrame, network: str, *figures: Any) -> None:
    import matplotlib.pyplot as plt
    import mlflow

    if rows.empty:
        return
    for make, filename in zip(figures, ("validation_forecasts.png", "residuals.png"), strict=True):
        figure = make(
            rows, title=f"{_DISPLAY_NAMES.get(network, network)} on the validation window"
        )
        mlflow.log_figure(figure, f"plots/{filename}")
        plt.close(figure)


def _flat(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        for key, value in values.items()
    }
