"""Training, the pipeline stage behind `mpp train`: fit a network on a training dataset,
score it beside its rivals and the champion on the most recent held-out window, log
everything to MLflow and let the gate decide what serves.

The stage reads top-down in `train`; each step is a module of its own: `history` (the
config with the command's options, and the stored rows), `fit` (the network and the
rivals, no IO; the Trainer on the configured `hardware`), `rival_fits` (per-symbol
fits made beforehand, in the DAG's mapped tasks), `evaluate` (forecasts with outcomes,
scored on common rows), `gate` (the rival list and the promotion decision), `run` (the
MLflow run and registration) and `report` (the result and its sentences). Submodules
are imported where used, so that importing the package (the CLI does, for its
defaults) loads no data stack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from market_predictor.config import Settings
    from market_predictor.models.network_forecaster import NetworkForecaster
    from market_predictor.results import TrainResult
    from market_predictor.store.datasets import TrainingDataset
    from market_predictor.training.config import TrainConfig


@overload
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
    stored_rival_fits: bool = False,
    distributed: Literal[False] = False,
) -> TrainResult: ...


@overload
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
    stored_rival_fits: bool = False,
    distributed: bool,
) -> TrainResult | None: ...


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
    stored_rival_fits: bool = False,
    distributed: bool = False,
) -> TrainResult | None:
    """Train, score against the rivals and the champion, register, gate.

    Every input is checked before anything is written (dataset, run or version).
    `tags` are added to the run and the registered version (e.g. `retrain` reasons).
    `stored_rival_fits`: the per-symbol rivals' fits on this dataset were made and
    stored beforehand (the DAG's mapped tasks, training/rival_fits.py); use them.

    `distributed` (only `mpp train`'s process may ask) fits on the configured devices
    and nodes; otherwise on one device, here. In a DDP run every process calls this and
    fits its share of each batch; the first (rank 0) alone fits the rivals, writes to
    MLflow and reports, and the others return None once the fit is done.
    """
    from market_predictor.tracking import check_tracking, configure_tracking
    from market_predictor.training import evaluate, fit, gate, history, report, rival_fits, run

    config = history.merged_config(
        settings,
        model=model,
        max_epochs=max_epochs,
        overrides=config_overrides,
        distributed=distributed,
    )
    name = run.check_model_name(model_name or settings.model_name)
    history.check_dataset_request(dataset_version, symbols, start, end)
    rank = fit.process_rank(config)  # also checks that this machine has the hardware
    # Reachability first (a clear error naming the URI); the database itself is only
    # created once every input has passed, so bad input leaves no trace.
    if rank == 0:
        check_tracking(settings)
    # Every process finds the same dataset: the first to get the catalog's lock makes
    # it (under Lightning's launcher, rank 0 before it starts the others) and the rest
    # reuse it, so all of them fit on exactly its rows.
    dataset, rows = history.training_dataset(settings, config, symbols, start, end, dataset_version)
    windows = evaluate.held_out_windows(rows, config)
    # The network never sees the gate's window: it fits before `stopping_start` and
    # early-stops (and picks its median) on [stopping_start, validation_start). Its
    # rows stream from the dataset's table in batches of symbols.
    fit_network = partial(
        _fit_network, settings, config, dataset, windows.stopping_start, windows.validation_start
    )
    if rank != 0:
        fit_network()  # its share of every batch; rank 0 does all the rest
        return None

    client = configure_tracking(settings)
    # Every rival gets the network's treatment: fitted before the early-stopping months,
    # interval recalibrated on them, scored on the gate's window that none of them saw.
    horizons = settings.horizons
    chosen = tuple(rival for rival in gate.RIVALS if rival.name in settings.rivals)
    made_elsewhere = None
    if stored_rival_fits:
        made_elsewhere = rival_fits.stored_fits(settings, dataset.version, windows.stopping_start)
        tags = {**(tags or {}), "rival_fits": "stored"}
    rivals = fit.fit_rivals(
        evaluate.rows_before(rows, windows.validation_start),
        config.quantiles,
        windows.stopping_start,
        rivals=[rival for rival in chosen if rival.name != gate.COMBINED],
        horizons=horizons,
        workers=settings.fit_workers,
        symbol_fits=made_elsewhere,
    )
    champion = run.current_champion(client, name)
    with run.training_run(
        settings, client, name, config, dataset, windows, champion, tags or {}
    ) as training:
        network = fit_network(logger=training.epoch_logger())
        if gate.COMBINED in settings.rivals:
            # Chosen on the early-stopping months: the gate's window stays unseen by it too.
            rivals[gate.COMBINED] = fit.fit_combined(
                network,
                rivals,
                rows,
                windows.stopping_start,
                windows.validation_start,
                config.quantiles,
                horizons,
            )
        contestants = {**rivals, **({gate.CHAMPION: champion.forecaster} if champion else {})}
        results = evaluate.validation_forecasts(
            {gate.NETWORK: network, **contestants},
            rows,
            windows.validation_start,
            optional=gate.OPTIONAL,
        )
        by_horizon = evaluate.compare_by_horizon(results, config.quantiles, horizons)
        metrics = by_horizon[1]
        run.log_validation(by_horizon, results[gate.NETWORK], config.model)
        interval_tests = evaluate.interval_tests_on_common_rows(results, config.quantiles)
        run.log_interval_tests(interval_tests)
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
        interval_tests=interval_tests,
        combined=rivals.get(gate.COMBINED),
        lineage=dataset.lineage(),
        validation_start=windows.validation_start,
        previous=None if champion is None else champion.version,
        epochs_trained=getattr(network, "epochs_trained", None),
        median_source=getattr(network, "median_source", None),
        left_out=report.left_out(chosen, rivals, results, config.model),
    )


def _fit_network(
    settings: Settings,
    config: TrainConfig,
    dataset: TrainingDataset,
    stopping_start: dt.date,
    validation_start: dt.date,
    logger: Any = None,
) -> NetworkForecaster:
    """The network fitted on the dataset's rows before `validation_start`, read in
    batches of symbols; called afresh by each DDP process, so each reads its own."""
    from market_predictor.training import fit, history

    return fit.fit_forecaster(
        history.dataset_batches(settings, dataset, before=validation_start),
        config,
        validation_start=stopping_start,
        horizons=settings.horizons,
        logger=logger,
    )
