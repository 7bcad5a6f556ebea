"""Hyperparameter search with Optuna, scored the way the model is judged: walk-forward.

Each trial fits the network on an expanding window and forecasts a short, recent
walk-forward window (a few folds, so trials stay cheap); its objective is the mean
pinball loss over those forecasts. The persistence baseline is scored once on the
same forecasts so every trial's number has its naive reference beside it. Each trial
is a nested MLflow run under one parent run; the best configuration is written as
the training config that `mpp train` then loads.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from market_predictor.backtest import (
    Fold,
    baseline_factories,
    fold_schedule,
    forecast_folds,
    network_factory,
    parse_retrain_every,
)
from market_predictor.config import Settings
from market_predictor.errors import InputError, MPPError
from market_predictor.evaluation import forecast_metrics
from market_predictor.results import TuneResult
from market_predictor.training.config import (
    DEFAULT_RETRAIN_EVERY,
    DEFAULT_TUNING_FOLDS,
    NETWORK_NAMES,
    TrainConfig,
    save_train_config,
    training_config_path,
)
from market_predictor.training.history import WalkForward, load_history, merged_config

# The search space (issue #3): window length, hidden size, layers, dropout, learning
# rate and network type. Widths are powers of two so every transformer width has
# a whole number of attention heads.
WINDOW_CHOICES = (10, 20, 30, 60)
HIDDEN_CHOICES = (16, 32, 64, 128)
LAYER_RANGE = (1, 3)
DROPOUT_RANGE = (0.0, 0.3)
LEARNING_RATE_RANGE = (1e-4, 1e-2)

Progress = Callable[[Iterable[int]], Iterable[int]]


def suggest_config(trial: Any, base: TrainConfig) -> TrainConfig:
    """The base TrainConfig with the trial's choice of every searched hyperparameter."""
    return TrainConfig.model_validate(
        {
            **base.model_dump(),
            "model": trial.suggest_categorical("model", list(NETWORK_NAMES)),
            "window": trial.suggest_categorical("window", list(WINDOW_CHOICES)),
            "hidden_size": trial.suggest_categorical("hidden_size", list(HIDDEN_CHOICES)),
            "num_layers": trial.suggest_int("num_layers", *LAYER_RANGE),
            "dropout": trial.suggest_float("dropout", *DROPOUT_RANGE),
            "learning_rate": trial.suggest_float("learning_rate", *LEARNING_RATE_RANGE, log=True),
        }
    )


def tune(
    settings: Settings,
    *,
    trials: int,
    symbols: Sequence[str] | None = None,
    end: dt.date | None = None,
    folds: int = DEFAULT_TUNING_FOLDS,
    retrain_every: str = DEFAULT_RETRAIN_EVERY,
    max_epochs: int | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> TuneResult:
    """Run `trials` Optuna trials and save the best config; see the module docstring.

    The objective window is the last `folds` periods before `end` (default: the last
    stored date). Every input is checked before MLflow or the config file is touched.
    """
    if trials < 1:
        raise InputError(f"trials must be at least 1, got {trials}", param="trials")
    if folds < 1:
        raise InputError(f"folds must be at least 1, got {folds}", param="folds")
    every = parse_retrain_every(retrain_every)
    path = training_config_path(settings)
    # Tuning may be what creates the configured file: until then, start from the default.
    source = settings if path.exists() else settings.model_copy(update={"training_config": None})
    base = merged_config(source, max_epochs=max_epochs)
    # --max-epochs only makes trials cheaper; the saved config keeps the file's own value.
    untouched = merged_config(source)
    # The longest window searched sets how much history a trial may need.
    history = load_history(
        settings,
        symbols,
        None,
        end,
        walk_forward=WalkForward(every.span(folds), max(WINDOW_CHOICES)),
    )
    prices, start, end = history.prices, history.start, history.end
    schedule = fold_schedule(start, end, every)
    persistence = baseline_factories(base.quantiles, base.validation_months, ["persistence"])
    persistence_pinball = _pinball(forecast_folds(prices, schedule, persistence), base.quantiles)

    import mlflow
    import optuna

    from market_predictor.tracking import configure_tracking, ensure_experiment

    client = configure_tracking(settings)
    experiment_id = ensure_experiment(client, settings)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=base.seed),
        # Prune a trial whose first folds are already worse than the median trial's.
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, base)
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=f"trial-{trial.number}", nested=True
        ):
            mlflow.log_params(config.model_dump(mode="json"))
            mlflow.set_tag("optuna_trial", str(trial.number))
            try:
                pinball = _score_trial(trial, config, prices, schedule)
            except optuna.TrialPruned:
                mlflow.set_tag("state", "pruned")
                raise
            except (RuntimeError, ValueError) as exc:
                # A configuration the network cannot train (e.g. diverged to NaN) fails
                # its trial, not the search.
                mlflow.set_tag("state", "failed")
                mlflow.set_tag("error", str(exc)[:500])
                raise
            mlflow.log_metrics(
                {"val_pinball": pinball, "val_pinball_persistence": persistence_pinball}
            )
            mlflow.set_tag("state", "complete")
            return pinball

    with mlflow.start_run(experiment_id=experiment_id, run_name="tune") as parent:
        mlflow.set_tags({"kind": "tuning", "objective": "walk-forward validation pinball"})
        mlflow.log_params(
            {
                "trials": trials,
                "folds": len(schedule),
                "retrain_every": str(every),
                "objective_start": start.isoformat(),
                "objective_end": end.isoformat(),
                "symbols": ",".join(sorted(prices["symbol"].unique())),
            }
        )
        callbacks = []
        if progress is not None:
            ticks = iter(progress(range(trials)))

            def advance(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
                next(ticks, None)

            callbacks.append(advance)
        study.optimize(
            objective,
            n_trials=trials,
            timeout=timeout,
            catch=(RuntimeError, ValueError),
            callbacks=callbacks,
            gc_after_trial=True,
        )
        states = [t.state for t in study.trials]
        completed = states.count(optuna.trial.TrialState.COMPLETE)
        if completed == 0:
            raise MPPError(f"none of the {len(states)} tuning trials completed")
        best = study.best_trial
        best_pinball = float(study.best_value)
        best_config = suggest_config(optuna.trial.FixedTrial(best.params), untouched)
        _save_atomically(best_config, path, save_train_config)
        mlflow.log_params({f"best_{k}": v for k, v in best.params.items()})
        mlflow.log_metrics(
            {"best_val_pinball": best_pinball, "val_pinball_persistence": persistence_pinball}
        )
        mlflow.log_artifact(str(path))
        mlflow.set_tag("config_path", str(path))
        parent_run_id = parent.info.run_id

    return TuneResult(
        trials=len(states),
        completed=completed,
        pruned=states.count(optuna.trial.TrialState.PRUNED),
        failed=states.count(optuna.trial.TrialState.FAIL),
        best_trial=best.number,
        best_pinball=best_pinball,
        persistence_pinball=persistence_pinball,
        best_params=dict(best.params),
        config=best_config.model_dump(mode="json"),
        config_path=str(path),
        parent_run_id=parent_run_id,
        start=start,
        end=end,
        folds=len(schedule),
        retrain_every=str(every),
        symbols=sorted(prices["symbol"].unique()),
    )


def _score_trial(trial: Any, config: Any, prices: pd.DataFrame, schedule: list[Fold]) -> float:
    import optuna

    network = {config.model: network_factory(config)}
    parts: list[pd.DataFrame] = []
    for step, fold in enumerate(schedule):
        parts.append(forecast_folds(prices, [fold], network))
        running = _pinball(pd.concat(parts, ignore_index=True), config.quantiles)
        if not np.isfinite(running):
            raise ValueError(f"trial {trial.number} produced non-finite forecasts")
        trial.report(running, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return running


def _pinball(forecasts: pd.DataFrame, quantiles: Sequence[float]) -> float:
    return float(forecast_metrics(forecasts, quantiles)["pinball"])


def _save_atomically(config: Any, path: Path, save: Callable[[Any, Path], None]) -> None:
    """Write beside the target and rename, so a reader never sees half a config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save(config, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
