"""Training, the pipeline stage behind `mpp train`: fit a network on a training dataset,
score it beside its rivals and the champion on the most recent held-out window, log
everything to MLflow and let the gate decide what serves.

The stage reads top-down in `train`; each step is a module of its own: `history` (the
config with the command's options, and the stored rows), `fit` (the network and the
rivals, no IO), `evaluate` (forecasts with outcomes, scored on common rows), `gate`
(the rival list and the promotion decision), `run` (the MLflow run and registration)
and `report` (the result and its sentences). Submodules are imported where used, so
that importing the package (the CLI does, for its defaults) loads no data stack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from market_predictor.config import Settings
    from market_predictor.results import TrainResult


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
) -> TrainResult:
    """Train, score against the rivals and the champion, register, gate.

    Every input is checked before anything is written (dataset, run or version).
    `tags` are added to the run and the registered version (e.g. `retrain` reasons).
    """
    from market_predictor.tracking import check_tracking, configure_tracking
    from market_predictor.training import evaluate, fit, gate, history, report, run

    config = history.merged_config(
        settings, model=model, max_epochs=max_epochs, overrides=config_overrides
    )
    name = run.check_model_name(model_name or settings.model_name)
    history.check_dataset_request(dataset_version, symbols, start, end)
    # Reachability first (a clear error naming the URI); the database itself is only
    # created once every input has passed, so bad input leaves no trace.
    check_tracking(settings)
    dataset, rows = history.training_dataset(settings, config, symbols, start, end, dataset_version)
    windows = evaluate.held_out_windows(rows, config)

    client = configure_tracking(settings)
    # Every rival gets the network's treatment: fitted before the early-stopping months,
    # interval recalibrated on them, scored on the gate's window that none of them saw.
    horizons = settings.horizons
    chosen = tuple(rival for rival in gate.RIVALS if rival.name in settings.rivals)
    rivals = fit.fit_rivals(
        evaluate.rows_before(rows, windows.validation_start),
        config.quantiles,
        windows.stopping_start,
        rivals=chosen,
        horizons=horizons,
        workers=settings.fit_workers,
    )
    champion = run.current_champion(client, name)
    contestants = {**rivals, **({gate.CHAMPION: champion.forecaster} if champion else {})}
    with run.training_run(
        settings, client, name, config, dataset, windows, champion, tags or {}
    ) as training:
        # The network never sees the gate's window: it fits before `stopping_start` and
        # early-stops (and picks its median) on [stopping_start, validation_start). Its
        # rows stream from the dataset's table in batches of symbols.
        network = fit.fit_forecaster(
            history.dataset_batches(settings, dataset, before=windows.validation_start),
            config,
            validation_start=windows.stopping_start,
            logger=training.epoch_logger(),
            horizons=horizons,
        )
        results = evaluate.validation_forecasts(
            {gate.NETWORK: network, **contestants},
            rows,
            windows.validation_start,
            optional=gate.OPTIONAL,
        )
        by_horizon = evaluate.compare_by_horizon(results, config.quantiles, horizons)
        metrics = by_horizon[1]
        run.log_validation(by_horizon, results[gate.NETWORK], config.model)
        outcome = gate.decide_by_horizon(by_horizon, promote=promote, rivals=chosen)
        version = training.register(network, outcome, rows)
    registered = training.carry_out(outcome, version, rivals, rows)
    return report.train_result(
        run_id=training.run_id,
        model_name=name,
        network=config.model,
        outcome=outcome,
        registered=registered,
        metrics=metrics,
        horizon_metrics=by_horizon,
        lineage=dataset.lineage(),
        validation_start=windows.validation_start,
        previous=None if champion is None else champion.version,
        epochs_trained=getattr(network, "epochs_trained", None),
        median_source=getattr(network, "median_source", None),
    )
