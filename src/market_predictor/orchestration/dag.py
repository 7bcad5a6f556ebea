"""The `ml_pipeline` DAG: the daily job as Airflow tasks, each a thin call into one step.

    plan -> symbol_batches -> ingest (mapped over the batches) -> predict -> monitor
         -> decide_retrain -> rival_fit_batches -> fit_rivals (mapped) -> train_and_gate
                           | no_retrain
         -> compact

`plan` reads the run's data interval and the trading calendar: on a day without a
session it short-circuits and every later task is skipped (the run succeeds, nothing
is written). A batch whose symbols cannot be fetched fails alone; `predict` runs once
every batch is done and at least one succeeded, for the symbols that were ingested.
`compact` also waits on every batch, so a failed batch leaves it `upstream_failed` and
the run ends `failed` (visible and alertable) while the good symbols' predictions and
monitoring rows are stored.

A retrain of MPP_MAPPED_FITS_MIN_SYMBOLS symbols or more fits its per-symbol volatility
rivals as mapped `fit_rivals` tasks, MPP_FIT_BATCH_SYMBOLS symbols each; the fits go
to the store (training/rival_fits.py) and `train_and_gate` trains with them. Below the
threshold `rival_fit_batches` plans no batch, `fit_rivals` is skipped, and training
fits its rivals itself (on MPP_FIT_WORKERS processes): the same fits either way.

Each task passes its step's typed result on as XCom (`model_dump(mode="json")`).
Writers hold the home's daily lock, so mapped ingests never commit to a table at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Param, TriggerRule, Variable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.orchestration.run_config import (
    VARIABLES,
    RunConfig,
    as_of_for_run,
    default_params,
    run_moment,
)
from market_predictor.results import IngestResult, MonitorResult, PredictionBatch

if TYPE_CHECKING:
    from market_predictor.day import Day

log = logging.getLogger(__name__)
T = TypeVar("T")

DAG_ID = "ml_pipeline"
# Transient source failures (Yahoo rate limits, network) retry: 1, 2, 4 minutes.
INGEST_RETRIES = 3
INGEST_RETRY_DELAY = dt.timedelta(minutes=1)
INGEST_MAX_RETRY_DELAY = dt.timedelta(minutes=10)


def build_dag(settings: Settings | None = None) -> Any:
    """The DAG, its schedule and Params' defaults taken from the MPP_ settings."""
    settings = settings or Settings()
    defaults = default_params(settings)

    @dag(
        dag_id=DAG_ID,
        schedule=settings.schedule,
        start_date=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        tags=["market-predictor"],
        # Every step is idempotent, so a task that died with its worker (or could not
        # reach the API server) is safely run again; bad input fails at once instead.
        default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=1)},
        doc_md=__doc__,
        params={
            "symbols": Param(
                defaults["symbols"],
                type="array",
                description="Tickers (Variable ml_pipeline_symbols overrides).",
            ),
            "interval": Param(defaults["interval"], type="string", enum=["1d"]),
            "days_delay": Param(
                defaults["days_delay"],
                type="integer",
                minimum=0,
                description="Trading days re-fetched before the last stored date.",
            ),
            "feature_group_version": Param(
                defaults["feature_group_version"], type="integer", minimum=1
            ),
            "feature_view_version": Param(
                defaults["feature_view_version"],
                type="integer",
                minimum=1,
                description="Kept for the original's Variable; features come from the "
                "feature group.",
            ),
            "batch_size": Param(
                defaults["batch_size"],
                type="integer",
                minimum=1,
                description="Symbols per mapped ingest task.",
            ),
            "retrain": Param(defaults["retrain"], type="boolean"),
            "max_epochs": Param(defaults["max_epochs"], type=["null", "integer"], minimum=1),
        },
    )
    def ml_pipeline() -> None:
        planned = plan()
        ingested = ingest.partial(planned=planned).expand(batch=symbol_batches(planned))
        predicted = predict(planned, ingested)
        monitored = monitor(planned, predicted)
        branch = decide_retrain(planned, monitored)
        batches = rival_fit_batches(planned, predicted, monitored)
        fitted = fit_rivals.partial(planned=planned).expand(batch=batches)
        trained = train_and_gate(planned, predicted, monitored, batches)
        skipped = EmptyOperator(task_id="no_retrain")
        compacted = compact(planned)
        branch >> [batches, trained, skipped]
        fitted >> trained
        [trained, skipped, ingested] >> compacted

    return ml_pipeline()


@task.short_circuit
def plan() -> dict[str, Any] | None:
    """The run's as-of date and options, checked before anything is written; None
    (every later task skipped) when the exchange did not trade on the run's day."""
    context = get_current_context()
    dag_run = context["dag_run"]
    moment = run_moment(
        str(getattr(dag_run.run_type, "value", dag_run.run_type)),
        dag_run.logical_date,
        context.get("data_interval_end"),
        dag_run.run_after,
    )
    settings = Settings()
    as_of = as_of_for_run(moment, settings.calendar)
    if as_of is None:
        log.info("%s is not a %s trading day: nothing to do", moment, settings.calendar)
        return None
    variables = {name: Variable.get(name, default=None) for name in VARIABLES.values()}
    config = _bad_input_fails(
        lambda: RunConfig.resolve(context["params"], dag_run.conf or {}, variables)
    )
    settings = config.settings(settings)
    _bad_input_fails(lambda: _check_day(settings, as_of, config))  # before any write
    log.info(
        "as of %s: %s in %d batches (feature group v%d, feature view v%d)",
        as_of,
        ", ".join(config.symbols),
        len(config.batches()),
        config.feature_group_version,
        config.feature_view_version,
    )
    return {"as_of": as_of.isoformat(), "config": config.model_dump()}


@task
def symbol_batches(planned: dict[str, Any]) -> list[list[str]]:
    """The symbols in groups of the `batch_size` Param: one mapped ingest task each."""
    return RunConfig.model_validate(planned["config"]).batches()


@task(
    retries=INGEST_RETRIES,
    retry_delay=INGEST_RETRY_DELAY,
    retry_exponential_backoff=2.0,
    max_retry_delay=INGEST_MAX_RETRY_DELAY,
)
def ingest(planned: dict[str, Any], batch: list[str]) -> dict[str, Any]:
    """Fetch one batch of symbols up to the as-of date. A symbol the source does not know
    fails the batch at once (no retry can fix it); other failures retry with backoff."""
    from market_predictor.pipeline import daily_lock, ingest_step

    day = _day(planned)
    try:
        with daily_lock(day.settings):
            result = ingest_step(day.for_symbols(batch))
    except InputError as exc:
        log.error("cannot ingest %s: %s", ", ".join(batch), exc)
        raise AirflowFailException(f"cannot ingest {', '.join(batch)}: {exc}") from None
    return result.model_dump(mode="json")


@task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
def predict(planned: dict[str, Any], ingested: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Forecast the next trading day for the symbols whose batch was ingested (a failed
    batch has no result, so it is left out)."""
    from market_predictor.pipeline import daily_lock, predict_step

    day = _day(planned)
    fetched = {s for result in ingested for s in IngestResult.model_validate(result).symbols}
    symbols = [s for s in day.wanted if s in fetched]
    missing = [s for s in day.wanted if s not in fetched]
    if missing:
        log.warning("not ingested, so not predicted: %s", ", ".join(missing))
    with daily_lock(day.settings):
        batch = predict_step(day.for_symbols(symbols))
    return batch.model_dump(mode="json")


@task
def monitor(planned: dict[str, Any], predicted: dict[str, Any]) -> dict[str, Any]:
    """Realised errors, rolling skill and drift for the symbols predicted this run."""
    from market_predictor.pipeline import daily_lock, monitor_step

    day = _day(planned)
    with daily_lock(day.settings):
        result = monitor_step(day.for_symbols(_served(predicted)))
    return result.model_dump(mode="json")


@task.branch
def decide_retrain(planned: dict[str, Any], monitored: dict[str, Any]) -> str | list[str]:
    """The library's verdict decides: train and gate a challenger when a retrain is
    triggered (a monitoring test fired) or scheduled (the champion is too old); else skip."""
    from market_predictor.pipeline import model_age_days, retrain_due

    day = _day(planned)
    result = MonitorResult.model_validate(monitored)
    due = retrain_due(day, result, model_age_days(day))
    if due is None:
        return "no_retrain"
    log.info("retraining (%s): %s", due, "; ".join(f"{s}: {r}" for s, r in result.reasons.items()))
    return ["rival_fit_batches", "train_and_gate"]


@task
def rival_fit_batches(
    planned: dict[str, Any], predicted: dict[str, Any], monitored: dict[str, Any]
) -> list[dict[str, Any]]:
    """When the retrain will train MPP_MAPPED_FITS_MIN_SYMBOLS symbols or more: its
    training dataset (made here, read by training) and the symbols in batches, one
    mapped `fit_rivals` task each. Otherwise none, and training fits its rivals itself."""
    from market_predictor.pipeline import daily_lock, retrain_verdict
    from market_predictor.training.rival_fits import plan_batches

    day = _day(planned).for_symbols(_served(predicted))
    settings = day.settings
    if len(day.wanted) < settings.mapped_fits_min_symbols:
        return []
    config = RunConfig.model_validate(planned["config"])
    verdict = retrain_verdict(day, MonitorResult.model_validate(monitored), retrain=config.retrain)
    if verdict.status != "trained":
        return []
    with daily_lock(settings):
        batches = plan_batches(
            settings, symbols=day.wanted, end=day.as_of, batch_size=settings.fit_batch_symbols
        )
    log.info("fitting the per-symbol rivals in %d mapped tasks", len(batches))
    return [batch.model_dump(mode="json") for batch in batches]


@task
def fit_rivals(planned: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """Fit the per-symbol volatility rivals of one batch and store the fits (no daily
    lock: batches write their own rows of one table, which Delta commits one by one)."""
    from market_predictor.training.rival_fits import FitBatch, fit_batch

    settings = RunConfig.model_validate(planned["config"]).settings(Settings())
    work = FitBatch.model_validate(batch)
    return {"symbols": len(work.symbols), "fits": fit_batch(settings, work)}


# Runs after fit_rivals whether its map had batches or none (then it is skipped); the
# branch skips it directly when no retrain is due.
@task(trigger_rule=TriggerRule.NONE_FAILED)
def train_and_gate(
    planned: dict[str, Any],
    predicted: dict[str, Any],
    monitored: dict[str, Any],
    batches: list[dict[str, Any]],
) -> dict[str, Any]:
    """Train a challenger on data up to the as-of date (with the mapped tasks' rival fits
    when there were batches); the champion gate decides promotion (the step also
    honours the retrain cooldown and the `retrain` Param)."""
    from market_predictor.pipeline import daily_lock, retrain_step

    day = _day(planned)
    config = RunConfig.model_validate(planned["config"])
    with daily_lock(day.settings):
        result = retrain_step(
            day.for_symbols(_served(predicted)),
            MonitorResult.model_validate(monitored),
            retrain=config.retrain,
            max_epochs=config.max_epochs,
            fitted_dataset=batches[0]["dataset_version"] if batches else None,
        )
    log.info("retrain: %s", result.status)
    return result.model_dump(mode="json")


@task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
def compact(planned: dict[str, Any]) -> dict[str, Any]:
    """Compact the tables the run fragmented (same rows, a new table version)."""
    from market_predictor.pipeline import compact_step, daily_lock

    day = _day(planned)
    with daily_lock(day.settings):
        result = compact_step(day)
    return result.model_dump(mode="json")


def _day(planned: dict[str, Any]) -> Day:
    """The run's day, resolved as `plan` checked it (the champion is re-read: a task may
    run on another worker, after another task promoted one)."""
    from market_predictor.day import resolve_day

    config = RunConfig.model_validate(planned["config"])
    settings = config.settings(Settings())
    return resolve_day(
        settings, as_of=dt.date.fromisoformat(planned["as_of"]), symbols=config.symbols
    )


def _served(predicted: dict[str, Any]) -> list[str]:
    """Every symbol predict handled this run: forecast, or skipped with a reason."""
    batch = PredictionBatch.model_validate(predicted)
    return [f.symbol for f in batch.predictions] + list(batch.skipped)


def _check_day(settings: Settings, as_of: dt.date, config: RunConfig) -> None:
    """What `mpp daily` checks before its first write: the source and training options,
    then the day itself (a past day, a champion trained no later than it)."""
    from market_predictor.day import resolve_day
    from market_predictor.pipeline import check_options

    check_options(
        settings, source=None, path=None, retrain=config.retrain, max_epochs=config.max_epochs
    )
    resolve_day(settings, as_of=as_of, symbols=config.symbols)


def _bad_input_fails(work: Callable[[], T]) -> T:
    """Bad input cannot be fixed by a retry: fail the task at once with its one line."""
    try:
        return work()
    except InputError as exc:
        raise AirflowFailException(str(exc)) from None


ml_pipeline = build_dag()
