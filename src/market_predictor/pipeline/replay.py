"""Replay: the daily job for every trading day of a period, in order.

Each day reads only data up to itself, so a replay is a faithful rehearsal of
production (and is how the demo builds a real monitoring history). A price file is
read once per replay rather than once per day; the answers are the day-by-day ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from market_predictor import calendar
from market_predictor.checks import check_not_future, check_range
from market_predictor.config import Settings
from market_predictor.day import resolve_day
from market_predictor.errors import InputError
from market_predictor.pipeline.daily import check_options, daily_lock, run_day
from market_predictor.results import DailyReport, ReplayDay, ReplayReport
from market_predictor.reuse import across_days

Progress = Callable[[Iterable[dt.date]], Iterable[dt.date]]


def replay(
    settings: Settings,
    *,
    start: dt.date,
    end: dt.date,
    source: str | None = None,
    path: Path | None = None,
    symbols: str | Sequence[str] | None = None,
    retrain: bool = True,
    max_epochs: int | None = None,
    progress: Progress | None = None,
) -> ReplayReport:
    """The daily job for every trading day in [start, end], each day using only data up
    to itself. Stops at the first day whose job fails."""
    check_range(start, end)
    check_not_future(end, "end date")
    check_options(settings, source=source, path=path, retrain=retrain, max_epochs=max_epochs)
    days = calendar.trading_days(start, end, settings.calendar)
    if not days:
        raise InputError(f"no {settings.calendar} trading days between {start} and {end}")
    summary = ReplayReport(start=start, end=end, trading_days=len(days))
    # The first day resolves the symbols and the champion; later days follow it.
    first = resolve_day(settings, as_of=days[0], symbols=symbols)
    champion = first.serving
    # A file source is read once for the whole replay (each day filters that copy);
    # everything read from the store is read per day, as the daily job would.
    with daily_lock(settings), across_days():
        for day in (progress or _no_progress)(days):
            report = run_day(
                resolve_day(settings, as_of=day, symbols=first.symbols, champion=champion),
                source=source,
                path=path,
                retrain=retrain,
                max_epochs=max_epochs,
            )
            retrained = report.steps.retrain
            # The network, GARCH or the baseline may have won the gate: follow the alias.
            trained = retrained.train if retrained is not None else None
            if trained is not None and trained.champion_version != champion.version:
                champion = resolve_day(
                    settings, as_of=day, symbols=first.symbols, model_name=champion.name
                ).serving
            summary.days.append(replay_day(report, champion.version))
            if report.failed_step:
                summary.failed_step = report.failed_step
                summary.failed_day = day
                summary.error = report.error
                break
    return summary


def replay_day(report: DailyReport, champion_version: str | int | None) -> ReplayDay:
    steps = report.steps
    return ReplayDay(
        as_of=report.as_of,
        predictions_inserted=steps.predict.inserted if steps.predict else 0,
        errors_inserted=steps.monitor.new_errors if steps.monitor else 0,
        retrain_recommended=steps.monitor.retrain_recommended if steps.monitor else False,
        retrain=steps.retrain.status if steps.retrain else None,
        retrain_trigger=steps.retrain.trigger if steps.retrain else None,
        reasons=steps.retrain.reasons if steps.retrain else {},
        champion_version=None if champion_version is None else str(champion_version),
        failed_step=report.failed_step,
        seconds=report.seconds,
    )


def _no_progress(items: Iterable[dt.date]) -> Iterator[dt.date]:
    yield from items
