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
"""

from __future__ import annotations

import pandas as pd

from market_predictor.day import Day
from market_predictor.online_calibration import OnlineRule, scale_interval, state_from_errors
from market_predictor.store import scales
from market_predictor.store.filters import date_range, matching, text_field
from market_predictor.store.scales import IntervalScale

_ERROR_COLUMNS = ["symbol", "horizon", "target_date", "actual_close", "lower", "upper"]


def served_forecasts(day: Day, forecasts: pd.DataFrame) -> pd.DataFrame:
    """The champion's forecasts with its online scale applied (unchanged when the scale
    is turned off or the version has no state yet)."""
    champion = day.serving
    if not day.settings.online_eta or forecasts.empty or not day.store.scales.exists():
        return forecasts
    states = day.store.scales.latest_before(
        day.as_of, champion.name, str(champion.version), sorted(set(forecasts["symbol"]))
    )
    return forecasts if states.empty else scale_interval(forecasts, states)


def update_scales(day: Day) -> list[IntervalScale]:
    """Store the champion version's state after the realised errors known by the day,
    one row per symbol and horizon it has forecast; returns them."""
    champion, store = day.champion, day.store
    if champion is None or not day.settings.online_eta:
        return []
    name, version = champion.name, str(champion.version)
    of_version = [*matching(day.symbols, name), text_field("model_version") == version]
    errors = store.errors.select(
        [*of_version, *date_range("target_date", None, day.as_of)], _ERROR_COLUMNS
    )
    forecast = store.predictions.select(
        [*of_version, *date_range("as_of_date", None, day.as_of)], ["symbol", "horizon"]
    ).drop_duplicates()
    if forecast.empty:
        return []
    rule = OnlineRule.for_quantiles(champion.forecaster.quantiles, day.settings.online_eta)
    states = forecast.astype({"horizon": "int64"}).merge(
        state_from_errors(errors, rule), on=["symbol", "horizon"], how="left"
    )
    # A symbol forecast but with no realised error yet holds the starting state, scale 1.
    states = states.fillna({"log_scale_lower": 0.0, "log_scale_upper": 0.0, "n_updates": 0})
    rows = scales.rows(states, day=day.as_of, model_name=name, model_version=version)
    store.scales.write(rows, metadata={"mpp_command": "monitor", "as_of": day.as_of.isoformat()})
    return [IntervalScale.model_validate(row) for row in rows.to_dict("records")]
