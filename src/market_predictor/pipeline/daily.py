"""The daily job: ingest -> predict -> monitor -> retrain when skill decays -> compact.

Every option is checked before the first write (bad input: InputError, nothing
written). Once writing has begun, a failing step stops the later ones and the report
names it, so a caller can tell "bad input" from "failed half way". Runs of one home
are serialised by a lock file; every step is idempotent, so re-running a finished day
(or two runs of the same day at once) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from market_predictor.checks import first_line
from market_predictor.config import Settings
from market_predictor.day import Day, resolve_day
from market_predictor.pipeline.steps import (
    compact_step,
    ingest_step,
    monitor_step,
    predict_step,
    retrain_step,
)
from market_predictor.results import DailyReport, DailyStep

if TYPE_CHECKING:
    from market_predictor.registry import ChampionModel


def run_daily(
    settings: Settings,
    *,
    as_of: dt.date | None = None,
    source: str | None = None,
    path: Path | None = None,
    symbols: str | Sequence[str] | None = None,
    retrain: bool = True,
    max_epochs: int | None = None,
    champion: ChampionModel | None = None,
) -> DailyReport:
    """One day of production as of the close of `as_of` (default: the latest trading day)."""
    check_options(settings, source=source, path=path, retrain=retrain, max_epochs=max_epochs)
    day = resolve_day(settings, as_of=as_of, symbols=symbols, champion=champion)
    return run_day(day, source=source, path=path, retrain=retrain, max_epochs=max_epochs)


def run_day(
    day: Day,
    *,
    source: str | None = None,
    path: Path | None = None,
    retrain: bool = True,
    max_epochs: int | None = None,
) -> DailyReport:
    """The daily job on a resolved day: ingest, predict, monitor, retrain, compact."""
    report = DailyReport(as_of=day.as_of)
    if not day.is_trading_day():
        report.message = f"{day.as_of} is not a {day.settings.calendar} trading day: nothing to do"
        return report
    with daily_lock(day.settings):
        steps = report.steps
        plan: list[tuple[DailyStep, Callable[[], Any]]] = [
            ("ingest", lambda: ingest_step(day, source=source, path=path)),
            ("predict", lambda: predict_step(day)),
            ("monitor", lambda: monitor_step(day)),
            (
                "retrain",
                lambda: retrain_step(
                    day,
                    steps.monitor,  # type: ignore[arg-type]
                    retrain=retrain,
                    max_epochs=max_epochs,
                ),
            ),
            ("compact", lambda: compact_step(day)),
        ]
        for name, run in plan:
            started = time.perf_counter()
            try:
                setattr(steps, name, run())
            except Exception as exc:
                report.failed_step = name
                report.error = first_line(exc)
                report.message = f"the {name} step failed; later steps did not run"
                return report
            finally:
                report.seconds[name] = round(time.perf_counter() - started, 3)
    report.message = daily_message(report)
    return report


def check_options(
    settings: Settings,
    *,
    source: str | None,
    path: Path | None,
    retrain: bool,
    max_epochs: int | None,
) -> None:
    """Every option of a daily run or replay, checked before anything is written: the
    source (and its file), and the retrain's training settings when a retrain may run."""
    from market_predictor.sources import get_source

    get_source(source or settings.source, path or settings.source_path)
    if retrain:
        from market_predictor.training.config import load_train_config

        load_train_config(settings, {"max_epochs": max_epochs})


@functools.cache
def _lock(path: str) -> FileLock:
    # One object per path makes the lock re-entrant: replay holds it across its days.
    return FileLock(path, timeout=3600)


def daily_lock(settings: Settings) -> FileLock:
    """Serialises daily jobs and replays of one home across processes."""
    locks = settings.resolved_home / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return _lock(str(locks / "daily.lock"))


def daily_message(report: DailyReport) -> str:
    steps = report.steps
    assert steps.predict is not None and steps.monitor is not None and steps.retrain is not None
    return (
        f"{report.as_of}: {steps.predict.predicted} forecasts for {steps.predict.target_date}, "
        f"{steps.monitor.new_errors} new realised errors, retrain: {steps.retrain.status}"
        + (f" ({steps.retrain.trigger})" if steps.retrain.trigger else "")
    )
