"""The daily job's side of the online interval scale (market_predictor.online_calibration).

Monitor, once a day's realised errors are stored, recomputes each (symbol, horizon)'s
state of the champion's version from every realised error of that version with a
target date on or before the day, in target-date order, and stores it dated that day.
Recomputing from the errors (rather than adding the day's errors to yesterday's state)
makes the state a function of the stored errors alone: a replay, the day-by-day path
and a re-run of either write the same rows. A new version has no errors, so a retrain
starts at scale 1.

Predict serves with the newest state of the champion's version dated before its as-of
day: the state the previous day's monitoring wrote, which holds every error realised by
then. Not the as-of day's own, so re-running predict after that day's monitor changes no
forecast.

All three reads cover the version's whole life, which grows by a row per symbol and
horizon a day. Within a replay (reuse.across_days) each keeps its answer for the next
day and reads only the files its table gained since (Table.read_added), which made a
replayed year linear instead of quadratic. The answer is the full read's, bit for bit:
the newest state and a group's first forecast are reductions that no arrival order
changes, and the state's fold starts again from every error whenever one arrives dated
on or before an error it already holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from market_predictor.day import Day
from market_predictor.online_calibration import (
    OnlineRule,
    continue_states,
    scale_interval,
    state_from_errors,
)
from market_predictor.reuse import kept
from market_predictor.store import scales
from market_predictor.store.delta import Added, Table
from market_predictor.store.filters import all_of, matching, text_field
from market_predictor.store.scales import IntervalScale

_ERROR_COLUMNS = ["symbol", "horizon", "target_date", "actual_close", "lower", "upper"]
_GROUP = ["symbol", "horizon"]


def served_forecasts(day: Day, forecasts: pd.DataFrame) -> pd.DataFrame:
    """The champion's forecasts with its online scale applied (unchanged when the scale
    is turned off or the version has no state yet)."""
    if not day.settings.online_eta or forecasts.empty or not day.store.scales.exists():
        return forecasts
    states = _latest_states(day)
    return forecasts if states.empty else scale_interval(forecasts, states)


def update_scales(day: Day) -> list[IntervalScale]:
    """Store the champion version's state after the realised errors known by the day,
    one row per symbol and horizon it has forecast; returns them."""
    champion, store = day.champion, day.store
    if champion is None or not day.settings.online_eta:
        return []
    forecast = _forecast_groups(day)
    if forecast.empty:
        return []
    rule = OnlineRule.for_quantiles(champion.forecaster.quantiles, day.settings.online_eta)
    states = forecast.merge(_states(day, rule), on=_GROUP, how="left")
    # A symbol forecast but with no realised error yet holds the starting state, scale 1.
    states = states.fillna({"log_scale_lower": 0.0, "log_scale_upper": 0.0, "n_updates": 0})
    name, version = champion.name, str(champion.version)
    rows = scales.rows(states, day=day.as_of, model_name=name, model_version=version)
    store.scales.write(rows, metadata={"mpp_command": "monitor", "as_of": day.as_of.isoformat()})
    return [IntervalScale.model_validate(row) for row in rows.to_dict("records")]


@dataclass(frozen=True)
class _Kept:
    """A reduction over the rows of a table of one version, carried to the next day."""

    files: frozenset[str]  # the table's files it has read
    cut: dt.date  # the rows dated up to here are reduced in `done`
    done: pd.DataFrame
    waiting: pd.DataFrame  # rows dated after the cut, for a later day


def _latest_states(day: Day) -> pd.DataFrame:
    """Each (symbol, horizon)'s newest stored state of the champion's version dated
    before the as-of day (all columns of the scales table)."""
    cut = day.as_of - dt.timedelta(days=1)
    held, added = _read(day, day.store.scales, "newest interval scales", None, cut)
    rows = added.rows if held is None else _stacked(held.done, held.waiting, added.rows)
    before = rows["date"] <= pd.Timestamp(cut)
    newest = rows[before].sort_values([*_GROUP, "date"]).drop_duplicates(_GROUP, keep="last")
    done = newest.reset_index(drop=True)
    _keep(day, "newest interval scales", added, cut, done, rows[~before])
    return done


def _forecast_groups(day: Day) -> pd.DataFrame:
    """The (symbol, horizon) pairs the champion's version has forecast as of the day."""
    columns = [*_GROUP, "as_of_date"]
    held, added = _read(day, day.store.predictions, "first forecasts", columns, day.as_of)
    rows = added.rows if held is None else _stacked(held.done, added.rows)
    first = rows.groupby(_GROUP, as_index=False, sort=False)["as_of_date"].min()
    _keep(day, "first forecasts", added, day.as_of, first, first.iloc[:0])
    made = first[first["as_of_date"] <= pd.Timestamp(day.as_of)]
    return made[_GROUP].astype({"horizon": "int64"}).reset_index(drop=True)


def _states(day: Day, rule: OnlineRule) -> pd.DataFrame:
    """state_from_errors of the champion version's errors with a target date on or
    before the day."""
    kind = f"interval scale states {rule}"
    held, added = _read(day, day.store.errors, kind, _ERROR_COLUMNS, day.as_of)
    rows = added.rows[added.rows["actual_close"].notna()]
    if held is not None and (rows["target_date"] <= pd.Timestamp(held.cut)).any():
        # Dated among the errors already folded in: the order changed, fold them all again.
        held, added = None, _read(day, day.store.errors, kind, _ERROR_COLUMNS, None)[1]
        rows = added.rows[added.rows["actual_close"].notna()]
    if held is not None:
        rows = _stacked(held.waiting, rows)
    due = rows["target_date"] <= pd.Timestamp(day.as_of)
    states = (
        continue_states(held.done, rows[due], rule)
        if held is not None
        else state_from_errors(rows[due], rule)
    )
    _keep(day, kind, added, day.as_of, states, rows[~due])
    return states


def _read(
    day: Day, table: Table, kind: str, columns: list[str] | None, cut: dt.date | None
) -> tuple[_Kept | None, Added]:
    """The rows of the champion's version the table gained since the day before kept
    them (within a replay), with what was kept; every row, and None, otherwise or when
    the table lost a file it had read (a compaction) or `cut` is before the kept one."""
    champion = day.serving
    held = None
    carried = kept(kind)
    if carried is not None and cut is not None:
        held = carried.get(_key(day))
        held = held if held is not None and held.cut <= cut else None
    conditions = [
        *matching(day.symbols, champion.name),
        text_field("model_version") == str(champion.version),
    ]
    added = table.read_added(held.files if held else None, all_of(conditions), columns)
    return (None if added.complete else held), added


def _keep(
    day: Day, kind: str, added: Added, cut: dt.date, done: pd.DataFrame, waiting: pd.DataFrame
) -> None:
    carried = kept(kind)
    if carried is not None:
        carried[_key(day)] = _Kept(added.files, cut, done, waiting)


def _key(day: Day) -> tuple[object, ...]:
    """What a kept reduction is of (each kind keeps its own): one version's rows."""
    champion = day.serving
    return (day.store.uri, champion.name, str(champion.version), day.symbols)


def _stacked(*frames: pd.DataFrame) -> pd.DataFrame:
    present = [frame for frame in frames if not frame.empty]
    if not present:
        return frames[-1]
    return present[0] if len(present) == 1 else pd.concat(present, ignore_index=True)
