"""The daily job and replay, composed from the stages: ingest -> predict -> monitor ->
retrain when skill decays.

Replay runs the daily job itself for every trading day of a period, each day reading
only data up to that day, so a replay is a faithful rehearsal of production (and is
how the demo builds a real monitoring history). Daily runs of one home are
serialised by a lock file, and every step is idempotent, so re-running a finished day
(or two runs of the same day at once) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from market_predictor import calendar
from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.inference import check_no_look_ahead
from market_predictor.store import FeatureStore
from market_predictor.symbols import parse_symbols

if TYPE_CHECKING:
    from market_predictor.registry import ChampionModel

STEPS = ("ingest", "predict", "monitor", "retrain", "compact")

Progress = Callable[[Iterable[dt.date]], Iterable[dt.date]]


@dataclass
class DailyReport:
    as_of: dt.date
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_step: str | None = None
    error: str | None = None
    message: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    champion: ChampionModel | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "failed_step": self.failed_step,
            "error": self.error,
            "message": self.message,
            "seconds": self.seconds,
            "steps": self.steps,
        }


@dataclass
class ReplaySummary:
    start: dt.date
    end: dt.date
    trading_days: int
    days: list[dict[str, Any]] = field(default_factory=list)
    failed_step: str | None = None
    failed_day: dt.date | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        retrains = [d for d in self.days if d["retrain"] == "trained"]
        return {
            "start": self.start,
            "end": self.end,
            "trading_days": self.trading_days,
            "completed_days": len(self.days) - (1 if self.failed_step else 0),
            "predictions_inserted": sum(d["predictions_inserted"] for d in self.days),
            "errors_inserted": sum(d["errors_inserted"] for d in self.days),
            "retrains": retrains,
            "failed_step": self.failed_step,
            "failed_day": self.failed_day,
            "error": self.error,
            "days": self.days,
        }


def run_daily(
    settings: Settings,
    *,
    as_of: dt.date | None = None,
    source: str | None = None,
    path: Path | None = None,
    symbols: list[str] | str | None = None,
    retrain: bool = True,
    max_epochs: int | None = None,
    champion: ChampionModel | None = None,
) -> DailyReport:
    """One day of production as of the close of `as_of` (default: the latest trading day).

    Bad input (a future date, an unknown source, no champion) raises InputError before
    anything is written. A step that fails stops the later ones; the report names it.
    """
    wanted = parse_symbols(symbols if symbols is not None else settings.symbols) or []
    as_of = _check_as_of(as_of)
    _check_source(settings, source, path)
    report = DailyReport(as_of=as_of)
    if not calendar.is_trading_day(as_of, settings.calendar):
        report.message = f"{as_of} is not a {settings.calendar} trading day: nothing to do"
        return report
    report.champion = champion or _load_champion(settings)
    check_no_look_ahead(report.champion, as_of)

    with daily_lock(settings):
        for step in STEPS:
            started = time.perf_counter()
            try:
                report.steps[step] = _run_step(
                    step, settings, report, wanted, source, path, retrain, max_epochs
                )
            except InputError as exc:
                raise InputError(f"{step}: {exc}") from None
            except Exception as exc:
                report.failed_step = step
                report.error = f"{type(exc).__name__}: {exc}"
                report.message = f"the {step} step failed; later steps did not run"
                return report
            finally:
                report.seconds[step] = round(time.perf_counter() - started, 3)
    report.message = _daily_message(report)
    return report


def replay(
    settings: Settings,
    *,
    start: dt.date,
    end: dt.date,
    source: str | None = None,
    path: Path | None = None,
    symbols: list[str] | str | None = None,
    retrain: bool = True,
    max_epochs: int | None = None,
    progress: Progress | None = None,
) -> ReplaySummary:
    """The daily job for every trading day in [start, end], in order, each day using only
    data up to itself. Stops at the first day whose job fails."""
    if start > end:
        raise InputError(f"start {start} is after end {end}")
    _check_as_of(end)
    _check_source(settings, source, path)
    days = calendar.trading_days(start, end, settings.calendar)
    if not days:
        raise InputError(f"no {settings.calendar} trading days between {start} and {end}")
    summary = ReplaySummary(start=start, end=end, trading_days=len(days))
    champion = _load_champion(settings)
    with daily_lock(settings):
        for day in (progress or _no_progress)(days):
            report = run_daily(
                settings,
                as_of=day,
                source=source,
                path=path,
                symbols=symbols,
                retrain=retrain,
                max_epochs=max_epochs,
                champion=champion,
            )
            champion = report.champion or champion
            summary.days.append(_day_line(report))
            if report.failed_step:
                summary.failed_step = report.failed_step
                summary.failed_day = day
                summary.error = report.error
                break
    return summary


@functools.cache
def _lock(path: str) -> FileLock:
    # One object per path makes the lock re-entrant: replay holds it across its days.
    return FileLock(path, timeout=3600)


def daily_lock(settings: Settings) -> FileLock:
    """Serialises daily jobs and replays of one home across processes."""
    locks = settings.resolved_home / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return _lock(str(locks / "daily.lock"))


# -- the steps ---------------------------------------------------------------------------


def _run_step(
    step: str,
    settings: Settings,
    report: DailyReport,
    symbols: list[str],
    source: str | None,
    path: Path | None,
    retrain: bool,
    max_epochs: int | None,
) -> dict[str, Any]:
    from market_predictor.inference import predict
    from market_predictor.monitoring import monitor

    if step == "ingest":
        return ingest_step(settings, report.as_of, symbols, source, path)
    if step == "predict":
        return predict(
            settings, as_of=report.as_of, symbols=symbols, champion=report.champion
        ).to_dict()
    if step == "monitor":
        return monitor(
            settings, as_of=report.as_of, symbols=symbols, champion=report.champion
        ).to_dict()
    if step == "retrain":
        return retrain_step(settings, report, symbols, retrain, max_epochs)
    return {"compacted": FeatureStore.from_settings(settings).compact()}


def ingest_step(
    settings: Settings,
    as_of: dt.date,
    symbols: list[str],
    source: str | None,
    path: Path | None,
) -> dict[str, Any]:
    """Incremental ingest up to `as_of`. Symbols already stored past `as_of` (a replay
    over a store holding the full history) only re-check the overlap window before it,
    which leaves their rows unchanged."""
    from market_predictor.ingest import ingest_prices

    last = FeatureStore.from_settings(settings).prices().last_dates(symbols)
    ahead = [s for s in symbols if s in last and last[s] >= as_of]
    behind = [s for s in symbols if s not in ahead]
    overlap_start = calendar.shift_trading_days(
        as_of, -settings.ingest_overlap_days, settings.calendar
    )
    parts: list[dict[str, Any]] = []
    for group, start in ((behind, None), (ahead, overlap_start)):
        if group:
            parts.append(
                ingest_prices(
                    settings, symbols=group, start=start, source=source, path=path, as_of=as_of
                ).to_dict()
            )
    if len(parts) == 1:
        return parts[0]
    merged = dict(parts[0])
    for key in ("fetched", "inserted", "updated", "unchanged", "quarantined"):
        merged[key] = sum(int(p[key]) for p in parts)
    merged["symbols"] = symbols
    merged["table_version"] = parts[-1]["table_version"]
    return merged


def retrain_step(
    settings: Settings,
    report: DailyReport,
    symbols: list[str],
    retrain: bool,
    max_epochs: int | None,
) -> dict[str, Any]:
    """Train a challenger on data up to the as-of date when monitoring asks for it and
    the last retrain is older than the cooldown; the champion gate decides promotion."""
    monitoring = report.steps["monitor"]
    if not monitoring.get("retrain_recommended"):
        return {"status": "not needed"}
    if not retrain:
        return {"status": "disabled", "reasons": monitoring["reasons"]}
    champion = report.champion
    assert champion is not None
    last = last_retrain(settings, champion)
    age = calendar.trading_days_between(last, report.as_of, settings.calendar) if last else None
    if age is not None and age <= settings.retrain_cooldown_days:
        return {
            "status": "cooldown",
            "last_retrain": last,
            "trading_days_since": age,
            "cooldown_days": settings.retrain_cooldown_days,
            "reasons": monitoring["reasons"],
        }
    from market_predictor.training import train

    trained = train(
        settings,
        symbols=symbols,
        end=report.as_of,
        max_epochs=max_epochs,
        model_name=champion.name,
        promote=True,
    ).to_dict()
    if trained.get("became_champion"):
        report.champion = _load_champion(settings, champion.name)
    return {"status": "trained", "reasons": monitoring["reasons"], "train": trained}


def last_retrain(settings: Settings, champion: ChampionModel) -> dt.date | None:
    """As-of date of the newest training: every retrain registers a version tagged with
    the end of its data (promoted or not), and so did the champion's own training."""
    from market_predictor.registry import last_retrain as newest_training

    dates = [d for d in (champion.trained_until, newest_training(settings, champion.name)) if d]
    return max(dates) if dates else None


# -- helpers -----------------------------------------------------------------------------


def _check_as_of(as_of: dt.date | None) -> dt.date:
    today = dt.date.today()
    if as_of is None:
        return calendar.latest_trading_day(today)
    if as_of > today:
        raise InputError(f"as-of date {as_of} is in the future")
    return as_of


def _check_source(settings: Settings, source: str | None, path: Path | None) -> None:
    from market_predictor.sources import get_source

    get_source(source or settings.source, path or settings.source_path)


def _load_champion(settings: Settings, name: str | None = None) -> ChampionModel:
    from market_predictor.registry import load_champion

    return load_champion(settings, name or settings.model_name)


def _daily_message(report: DailyReport) -> str:
    predicted = report.steps["predict"]
    monitored = report.steps["monitor"]
    retrained = report.steps["retrain"]["status"]
    return (
        f"{report.as_of}: {predicted['predicted']} forecasts for {predicted['target_date']}, "
        f"{monitored['new_errors']} new realised errors, retrain: {retrained}"
    )


def _day_line(report: DailyReport) -> dict[str, Any]:
    steps = report.steps
    return {
        "as_of": report.as_of,
        "predictions_inserted": steps.get("predict", {}).get("inserted", 0),
        "errors_inserted": steps.get("monitor", {}).get("new_errors", 0),
        "retrain_recommended": steps.get("monitor", {}).get("retrain_recommended", False),
        "retrain": steps.get("retrain", {}).get("status"),
        "champion_version": report.champion.version if report.champion else None,
        "failed_step": report.failed_step,
    }


def _no_progress(items: Iterable[dt.date]) -> Iterator[dt.date]:
    yield from items
