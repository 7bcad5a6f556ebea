"""The daily job's steps as public functions: ingest, predict, monitor, retrain, compact.

Each takes the resolved `Day` (market_predictor.day: settings, store, as-of date,
symbols, champion) plus the one earlier result it really needs, and returns a typed
result, so the daily job, replay, an Airflow task, a CLI command or a test can run any
step alone. Every step is idempotent for its as-of date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from market_predictor import calendar
from market_predictor.day import Day
from market_predictor.results import (
    CompactResult,
    IngestResult,
    MonitorResult,
    PredictionBatch,
    RetrainResult,
)


def ingest_step(day: Day, *, source: str | None = None, path: Path | None = None) -> IngestResult:
    """Incremental ingest up to the as-of date. Symbols already stored past it (a replay
    over a store holding the full history) only re-check the overlap window before it,
    which leaves their rows unchanged."""
    from market_predictor.ingest import ingest_prices

    settings, as_of, wanted = day.settings, day.as_of, day.wanted
    last = day.store.prices().last_dates(wanted)
    ahead = [s for s in wanted if s in last and last[s] >= as_of]
    behind = [s for s in wanted if s not in ahead]
    overlap_start = calendar.shift_trading_days(
        as_of, -settings.ingest_overlap_days, settings.calendar
    )
    results = [
        ingest_prices(settings, symbols=group, start=start, source=source, path=path, as_of=as_of)
        for group, start in ((behind, None), (ahead, overlap_start))
        if group
    ]
    merged = results[0]
    for other in results[1:]:
        merged = merged.merged_with(other)
    return merged.model_copy(update={"symbols": wanted})


def predict_step(day: Day) -> PredictionBatch:
    """The champion's forecasts for the trading day after the as-of date, stored."""
    from market_predictor.inference import predict

    return predict(day)


def monitor_step(day: Day) -> MonitorResult:
    """Realised errors known by the as-of date, rolling skill, the trigger tests and the
    retrain flag."""
    from market_predictor.monitoring import monitor

    return monitor(day)


def retrain_step(
    day: Day,
    monitored: MonitorResult,
    *,
    retrain: bool = True,
    max_epochs: int | None = None,
    fitted_dataset: int | None = None,
) -> RetrainResult:
    """Train a challenger on data up to the as-of date when a monitoring test fired
    (triggered) or the newest training is older than MPP_MAX_MODEL_AGE_DAYS trading days
    (scheduled); a triggered retrain waits out the cooldown after the last one. The
    champion gate decides promotion either way. `fitted_dataset`: the training dataset
    whose per-symbol rival fits are stored already (the DAG's mapped fit tasks made
    them on it, training/rival_fits.py): train on it, with them."""
    verdict = retrain_verdict(day, monitored, retrain=retrain)
    if verdict.status != "trained":
        return verdict
    from market_predictor.training import train

    fitted = fitted_dataset is not None  # that dataset is the symbols' rows up to as-of
    trained = train(
        day.settings,
        symbols=None if fitted else day.wanted,
        end=None if fitted else day.as_of,
        dataset_version=fitted_dataset,
        stored_rival_fits=fitted,
        max_epochs=max_epochs,
        model_name=day.serving.name,
        promote=True,
        tags={"retrain": str(verdict.trigger)},
    )
    return verdict.model_copy(update={"train": trained})


def retrain_verdict(day: Day, monitored: MonitorResult, *, retrain: bool = True) -> RetrainResult:
    """What the retrain step does, decided before it trains: "not needed", "disabled"
    or "cooldown" (its final result), or "trained" without a training yet (it trains)."""
    settings = day.settings
    last = last_retrain(day)
    age = _trading_days_since(day, last)
    trigger = retrain_due(day, monitored, age)
    if trigger is None:
        return RetrainResult(status="not needed", model_age_days=age)
    reasons = monitored.reasons
    if trigger == "scheduled":
        reasons = {
            "*": f"champion data is {age} trading days old (> {settings.max_model_age_days})"
        }
    outcome = {"trigger": trigger, "reasons": reasons, "model_age_days": age}
    if not retrain:
        return RetrainResult(status="disabled", **outcome)
    if trigger == "triggered" and age is not None and age <= settings.retrain_cooldown_days:
        return RetrainResult(
            status="cooldown",
            last_retrain=last,
            trading_days_since=age,
            cooldown_days=settings.retrain_cooldown_days,
            **outcome,
        )
    return RetrainResult(status="trained", last_retrain=last, **outcome)


def retrain_due(
    day: Day, monitored: MonitorResult, model_age_days: int | None
) -> Literal["triggered", "scheduled"] | None:
    """Why a retrain is due: a monitoring test fired (triggered), or the newest training's
    data is older than MPP_MAX_MODEL_AGE_DAYS trading days (scheduled); None if neither."""
    if monitored.retrain_recommended:
        return "triggered"
    if model_age_days is not None and model_age_days > day.settings.max_model_age_days:
        return "scheduled"
    return None


def model_age_days(day: Day) -> int | None:
    """Trading days between the newest training's data and the as-of date."""
    return _trading_days_since(day, last_retrain(day))


def _trading_days_since(day: Day, last: dt.date | None) -> int | None:
    return calendar.trading_days_between(last, day.as_of, day.settings.calendar) if last else None


def compact_step(day: Day) -> CompactResult:
    """Compact the tables the daily job has fragmented (same rows, a new version)."""
    return CompactResult(compacted=day.store.compact())


def last_retrain(day: Day) -> dt.date | None:
    """As-of date of the newest training: every retrain registers a version tagged with
    the end of its data (promoted or not), and so did the champion's own training."""
    from market_predictor.registry import last_retrain as newest_training

    champion = day.serving
    dates = [d for d in (champion.trained_until, newest_training(day.settings, champion.name)) if d]
    return max(dates) if dates else None
