"""Batch inference: the champion's next-trading-day forecast for every symbol at once.

Each symbol's recent window is read from the feature store with the as-of date as the
cut (nothing after it is read), and all forecasts of one as-of date are written in a
single upsert: atomic, and idempotent for the same as-of date and model version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from market_predictor import calendar
from market_predictor.day import Day
from market_predictor.errors import InputError
from market_predictor.interval_scales import served_forecasts
from market_predictor.results import Forecast, PredictionBatch
from market_predictor.store import predictions
from market_predictor.store.prices import BAR_COLUMNS

# Extra trading days read beyond the model's window, so a symbol missing a few days
# still has its full window.
WINDOW_MARGIN = 10


def predict(day: Day) -> PredictionBatch:
    """Forecast the close of the trading day after the day's as-of date for its
    symbols with its champion, and store the forecasts."""
    champion = day.serving
    symbols = day.wanted
    as_of = day.as_of
    window = read_window(day, champion.read_rows)
    skipped = unusable_symbols(day, window, champion.min_history)
    if len(skipped) == len(symbols) and all(r.startswith("no prices") for r in skipped.values()):
        raise InputError(f"as-of date {as_of} is before any stored prices of {', '.join(symbols)}")
    usable = window[~window["symbol"].isin(list(skipped))]

    summary = PredictionBatch(
        as_of=as_of,
        target_date=calendar.next_trading_day(as_of, day.settings.calendar),
        model_name=champion.name,
        model_version=str(champion.version),
        run_id=champion.run_id,
        is_baseline=champion.is_baseline,
        skipped=skipped,
    )
    if usable.empty:
        return summary
    forecasts = served_forecasts(day, champion.predict(usable))
    finite = predictions.finite(forecasts)
    for symbol in forecasts.loc[~finite, "symbol"]:
        summary.skipped[str(symbol)] = "the model returned a non-finite forecast"
    rows = predictions.rows(
        forecasts.loc[finite].reset_index(drop=True),
        as_of=as_of,
        target_dates=target_dates(day, champion.forecaster.horizons),
        model_name=summary.model_name,
        model_version=summary.model_version,
        run_id=summary.run_id,
    )
    unforecast = set(usable["symbol"].unique()) - set(rows["symbol"].unique())
    for symbol in sorted(unforecast - set(summary.skipped)):
        summary.skipped[symbol] = "the model could not forecast it (too little complete history)"
    if rows.empty:
        return summary

    day.store.ensure_writable()
    result = day.store.predictions.write(
        rows,
        metadata={
            "mpp_command": "predict",
            "as_of": as_of.isoformat(),
            "model": f"{champion.name}/{champion.version}",
        },
    )
    summary.inserted, summary.updated, summary.table_version = (
        result.inserted,
        result.updated,
        result.version,
    )
    summary.predictions = [
        Forecast.model_validate(row) for row in rows[list(Forecast.model_fields)].to_dict("records")
    ]
    return summary


def target_dates(day: Day, horizons: Sequence[int]) -> dict[int, dt.date]:
    """Each horizon's target: the h-th trading day after the as-of date."""
    calendar_name = day.settings.calendar
    return {h: calendar.shift_trading_days(day.as_of, h, calendar_name) for h in horizons}


def read_window(day: Day, rows: int) -> pd.DataFrame:
    """Each symbol's most recent rows up to and including the as-of date: `rows` of
    them (the champion's read_rows), or all it has. A symbol whose recent trading days
    hold fewer (a halt, a gap in its data, a recent listing) is read back to its
    first row, so its forecast is still the one its full history gives."""
    lookback = rows + day.settings.stale_after_days + WINDOW_MARGIN
    try:
        start = calendar.shift_trading_days(day.as_of, -lookback, day.settings.calendar)
    except InputError:
        return _read(day, day.wanted, None)  # the window reaches back before the calendar
    window = _read(day, day.wanted, start)
    counts = window.groupby("symbol").size()
    short = sorted(str(s) for s in counts.index[counts < rows])
    if not short:
        return window
    rest = window[~window["symbol"].isin(short)]
    return pd.concat([rest, _read(day, short, None)], ignore_index=True).sort_values(
        ["symbol", "date"], ignore_index=True
    )


def _read(day: Day, symbols: Sequence[str], start: dt.date | None) -> pd.DataFrame:
    return day.store.prices().read(
        symbols=list(symbols), start=start, end=day.as_of, columns=list(BAR_COLUMNS)
    )


def unusable_symbols(day: Day, window: pd.DataFrame, min_history: int) -> dict[str, str]:
    """Why each symbol that cannot be forecast as of the day is skipped."""
    as_of, prices = day.as_of, day.store.prices()
    stale_after = day.settings.stale_after_days
    last_in_window = window.groupby("symbol")["date"].max()
    rows_in_window = window.groupby("symbol").size()
    absent = [s for s in day.wanted if s not in last_in_window.index]
    earlier = prices.last_dates(absent) if absent else {}
    reasons: dict[str, str] = {}
    for symbol in day.wanted:
        if symbol in last_in_window.index:
            last = last_in_window[symbol].date()
        else:
            stored = earlier.get(symbol)
            if stored is None:
                reasons[symbol] = "no prices stored"
                continue
            # Its newest row is after as_of or before the window: look for rows up to as_of.
            older = prices.read(symbols=[symbol], end=as_of, columns=["date"])
            if older.empty:
                reasons[symbol] = f"no prices on or before {as_of}"
                continue
            last = older["date"].max().date()
        age = calendar.trading_days_between(last, as_of, day.settings.calendar)
        if age > stale_after:
            reasons[symbol] = (
                f"stale: last price {last} is {age} trading days before {as_of} "
                f"(limit {stale_after})"
            )
        elif rows_in_window.get(symbol, 0) < min_history:
            reasons[symbol] = (
                f"too little history: {rows_in_window.get(symbol, 0)} rows, "
                f"the model needs {min_history}"
            )
    return reasons
