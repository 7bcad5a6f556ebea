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

from market_predictor import calendar
from market_predictor.checks import check_not_future, first_line
from market_predictor.config import Settings
from market_predictor.inference import check_no_look_ahead
from market_predictor.pipeline.steps import (
    compact_step,
    ingest_step,
    load_champion,
    monitor_step,
    predict_step,
    retrain_step,
)
from market_predictor.results import DailyReport, DailyStep
from market_predictor.symbols import checked_symbols

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
    wanted = checked_symbols(symbols if symbols is not None else settings.symbols)
    as_of = resolve_as_of(settings, as_of)
    check_options(settings, source=source, path=path, retrain=retrain, max_epochs=max_epochs)
    report = DailyReport(as_of=as_of)
    if not calendar.is_trading_day(as_of, settings.calendar):
        report.message = f"{as_of} is not a {settings.calendar} trading day: nothing to do"
        return report
    champion = champion or load_champion(settings)
    check_no_look_ahead(champion, as_of)

    with daily_lock(settings):
        steps = report.steps
        plan: list[tuple[DailyStep, Callable[[], Any]]] = [
            (
                "ingest",
                lambda: ingest_step(settings, as_of, symbols=wanted, source=source, path=path),
            ),
            ("predict", lambda: predict_step(settings, as_of, symbols=wanted, champion=champion)),
            ("monitor", lambda: monitor_step(settings, as_of, symbols=wanted, champion=champion)),
            (
                "retrain",
                lambda: retrain_step(
                    settings,
                    as_of,
                    steps.monitor,  # type: ignore[arg-type]
                    symbols=wanted,
                    retrain=retrain,
                    max_epochs=max_epochs,
                    champion=champion,
                ),
            ),
            ("compact", lambda: compact_step(settings)),
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


def resolve_as_of(settings: Settings, as_of: dt.date | None) -> dt.date:
    """The day to run: `as_of`, checked not to be in the future, else the latest trading day."""
    if as_of is None:
        return calendar.latest_trading_day(dt.date.today(), settings.calendar)
    check_not_future(as_of)
    return as_of


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
