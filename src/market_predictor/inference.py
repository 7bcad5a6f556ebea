"""Batch inference: the champion's next-trading-day forecast for every symbol at once.

The champion is loaded once, each symbol's recent window is read from the feature
store with the as-of date as the cut (nothing after it is read), and all forecasts of
one as-of date are written in a single upsert: atomic, and idempotent for the same
as-of date and model version.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from market_predictor import calendar
from market_predictor.checks import check_not_future
from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.results import Forecast, PredictionBatch
from market_predictor.store import FeatureStore, schemas
from market_predictor.symbols import checked_symbols

if TYPE_CHECKING:
    from market_predictor.registry import ChampionModel

# Forecast values are rounded before they are stored so that re-running a day compares
# equal even if a different batch composition changes the last bits of a float.
PRICE_DECIMALS = 6
RETURN_DECIMALS = 9
VALUE_COLUMNS = ("last_close", "predicted_close", "lower", "upper", "predicted_return", "run_id")
# Extra trading days read beyond the model's window, so a symbol missing a few days
# still has its full window.
WINDOW_MARGIN = 10


def resolve_as_of(
    store: FeatureStore, symbols: list[str], as_of: dt.date | None
) -> tuple[dt.date, dict[str, dt.date]]:
    """The as-of date to use (default: the newest stored price among `symbols`) and each
    symbol's last stored date. Bad dates are InputErrors raised before anything runs."""
    check_not_future(as_of)
    last = store.prices().last_dates(symbols)
    if not last:
        raise InputError(f"no prices stored for {', '.join(symbols)}: run `mpp ingest` first")
    return as_of or max(last.values()), last


def check_no_look_ahead(champion: ChampionModel, as_of: dt.date) -> None:
    """A model trained on rows after `as_of` cannot honestly forecast from `as_of`."""
    if champion.trained_until is not None and champion.trained_until > as_of:
        raise InputError(
            f"the champion (v{champion.version}) was trained on data up to "
            f"{champion.trained_until}, after the as-of date {as_of}: forecasting that day "
            "would use the future; train a model on data ending earlier first"
        )


def predict(
    settings: Settings,
    *,
    as_of: dt.date | None = None,
    symbols: list[str] | None = None,
    model_name: str | None = None,
    champion: ChampionModel | None = None,
    store: FeatureStore | None = None,
) -> PredictionBatch:
    """Forecast the close of the trading day after `as_of` for `symbols` (default:
    settings.symbols) with the champion of `model_name` and store the forecasts."""
    store = store or FeatureStore.from_settings(settings)
    symbols = checked_symbols(symbols or settings.symbols)
    as_of, _ = resolve_as_of(store, symbols, as_of)
    if champion is None:
        from market_predictor.registry import load_champion

        champion = load_champion(settings, model_name or settings.model_name)
    target = calendar.next_trading_day(as_of, settings.calendar)

    window = read_window(store, settings, symbols, as_of, champion.min_history)
    skipped = unusable_symbols(store, settings, symbols, as_of, window, champion.min_history)
    if len(skipped) == len(symbols) and all(r.startswith("no prices") for r in skipped.values()):
        raise InputError(f"as-of date {as_of} is before any stored prices of {', '.join(symbols)}")
    check_no_look_ahead(champion, as_of)
    usable = window[~window["symbol"].isin(list(skipped))]

    summary = PredictionBatch(
        as_of=as_of,
        target_date=target,
        model_name=champion.name,
        model_version=str(champion.version),
        run_id=champion.run_id,
        is_baseline=champion.is_baseline,
        skipped=skipped,
    )
    if usable.empty:
        return summary
    forecasts = champion.predict(usable)
    rows = prediction_rows(forecasts, summary)
    for symbol in sorted(set(usable["symbol"]) - set(rows["symbol"])):
        summary.skipped[symbol] = "the model could not forecast it (too little complete history)"
    if rows.empty:
        return summary

    store.ensure_writable()
    result = store.predictions.upsert(
        rows,
        keys=schemas.PREDICTION_KEY,
        compare=VALUE_COLUMNS,
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
        Forecast.model_validate(row)
        for row in rows[["symbol", *VALUE_COLUMNS[:-1]]].to_dict("records")
    ]
    return summary


def read_window(
    store: FeatureStore, settings: Settings, symbols: list[str], as_of: dt.date, min_history: int
) -> pd.DataFrame:
    """Each symbol's most recent rows up to and including `as_of`, enough for the model."""
    lookback = min_history + settings.stale_after_days + WINDOW_MARGIN
    try:
        start = calendar.shift_trading_days(as_of, -lookback, settings.calendar)
    except InputError:
        start = None  # the window reaches back before the calendar: read everything
    return store.prices().read(
        symbols=symbols,
        start=start,
        end=as_of,
        columns=["symbol", "date", "open", "high", "low", "close", "volume"],
    )


def unusable_symbols(
    store: FeatureStore,
    settings: Settings,
    symbols: list[str],
    as_of: dt.date,
    window: pd.DataFrame,
    min_history: int,
) -> dict[str, str]:
    """Why each symbol that cannot be forecast as of `as_of` is skipped."""
    last_in_window = window.groupby("symbol")["date"].max()
    rows_in_window = window.groupby("symbol").size()
    absent = [s for s in symbols if s not in last_in_window.index]
    earlier = store.prices().last_dates(absent) if absent else {}
    reasons: dict[str, str] = {}
    for symbol in symbols:
        if symbol in last_in_window.index:
            last = last_in_window[symbol].date()
        else:
            stored = earlier.get(symbol)
            if stored is None:
                reasons[symbol] = "no prices stored"
                continue
            # Its newest row is after as_of or before the window: look for rows up to as_of.
            older = store.prices().read(symbols=[symbol], end=as_of, columns=["date"])
            if older.empty:
                reasons[symbol] = f"no prices on or before {as_of}"
                continue
            last = older["date"].max().date()
        age = calendar.trading_days_between(last, as_of, settings.calendar)
        if age > settings.stale_after_days:
            reasons[symbol] = (
                f"stale: last price {last} is {age} trading days before {as_of} "
                f"(limit {settings.stale_after_days})"
            )
        elif rows_in_window.get(symbol, 0) < min_history:
            reasons[symbol] = (
                f"too little history: {rows_in_window.get(symbol, 0)} rows, "
                f"the model needs {min_history}"
            )
    return reasons


def prediction_rows(forecasts: pd.DataFrame, summary: PredictionBatch) -> pd.DataFrame:
    """The champion's forecasts as rows of the predictions table (finite ones only)."""
    values = ["last_close", "predicted_close", "lower", "upper", "predicted_return"]
    finite = np.isfinite(forecasts[values].to_numpy(dtype="float64")).all(axis=1)
    for symbol in forecasts.loc[~finite, "symbol"]:
        summary.skipped[str(symbol)] = "the model returned a non-finite forecast"
    rows = forecasts.loc[finite].reset_index(drop=True)
    prices = ["last_close", "predicted_close", "lower", "upper"]
    return pd.DataFrame(
        {
            "symbol": rows["symbol"].astype(str),
            "as_of_date": summary.as_of,
            "target_date": summary.target_date,
            "model_name": summary.model_name,
            "model_version": summary.model_version,
            **{c: rows[c].astype("float64").round(PRICE_DECIMALS) for c in prices},
            "predicted_return": rows["predicted_return"].astype("float64").round(RETURN_DECIMALS),
            "run_id": summary.run_id,
            "created_at": pd.Timestamp.now(tz="UTC"),
        }
    ).sort_values("symbol", ignore_index=True)
