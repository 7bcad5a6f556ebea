"""Scoring forecasters on held-out rows (no IO), shared by `mpp train`, backtests and
tuning: each forecast joined with its outcome, every forecaster compared on the rows
all of them cover, and the held-out windows a training range is split into.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from market_predictor.evaluation import forecast_metrics
from market_predictor.interval_tests import IntervalBacktest, forecasts_backtest
from market_predictor.training.config import TrainConfig
from market_predictor.training.samples import check_history

if TYPE_CHECKING:
    from market_predictor.models.forecaster import Forecaster


def attach_outcomes(forecasts: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Join each forecast (made at the close of as_of_date, `horizon` trading rows ahead;
    1 when the frame has no horizon) with its symbol's stored close that many rows later
    (`target_date`, `actual_close`); forecasts whose target close is not stored are
    dropped."""
    if forecasts.empty:
        return forecasts.assign(target_date=pd.NaT, actual_close=np.nan)
    frame = forecasts if "horizon" in forecasts else forecasts.assign(horizon=1)
    # One resolution on both sides: stores and sources differ in their datetime units.
    frame = frame.assign(
        as_of_date=pd.to_datetime(frame["as_of_date"]).astype("datetime64[ns]"),
        horizon=frame["horizon"].astype("int64"),
    )
    # Outcomes of rows dated before the first forecast are never asked for; the rows
    # from it on hold every outcome (the close h rows later) that is.
    first = frame["as_of_date"].min()
    later = prices.loc[pd.to_datetime(prices["date"]).to_numpy() >= first.to_datetime64()]
    outcomes = _outcomes(later, sorted(frame["horizon"].unique()))
    frame["symbol"] = frame["symbol"].astype(outcomes["symbol"].dtype)
    keys = ["symbol", "as_of_date", "horizon"]
    if "target_date" in frame:
        frame = frame.drop(columns=["target_date"])
    joined = frame.merge(outcomes, on=keys, how="inner", validate="many_to_one")
    return joined if "horizon" in forecasts else joined.drop(columns=["horizon"])


def _outcomes(prices: pd.DataFrame, horizons: Sequence[int]) -> pd.DataFrame:
    """For each stored row and horizon h, the symbol's date and close h rows later."""
    ordered = prices.loc[:, ["symbol", "date", "close"]].sort_values(["symbol", "date"])
    by_symbol = ordered.groupby("symbol", sort=False)
    as_of = pd.to_datetime(ordered["date"]).astype("datetime64[ns]").to_numpy()
    frames = [
        pd.DataFrame(
            {
                "symbol": ordered["symbol"].to_numpy(),
                "as_of_date": as_of,
                "horizon": np.full(len(ordered), int(horizon), dtype="int64"),
                "target_date": pd.to_datetime(by_symbol["date"].shift(-int(horizon))).to_numpy(),
                "actual_close": by_symbol["close"].shift(-int(horizon)).to_numpy(),
            }
        )
        for horizon in horizons
    ]
    return pd.concat(frames, ignore_index=True).dropna(subset=["actual_close"])


def forecasts_with_outcomes(
    forecaster: Forecaster, prices: pd.DataFrame, start: dt.date | None = None
) -> pd.DataFrame:
    """The forecasts made on each day from `start` on, with their outcomes."""
    return attach_outcomes(forecaster.predict_range(prices, start=start), prices)


# An optional contestant that shares fewer of the first's (the network's) forecasts than
# this is left out: the comparison on common rows would rest on a minority of them.
MIN_SHARED_SHARE = 0.5


def validation_forecasts(
    forecasters: Mapping[str, Forecaster],
    rows: pd.DataFrame,
    start: dt.date,
    *,
    optional: Collection[str] = (),
) -> dict[str, pd.DataFrame]:
    """Each forecaster's forecasts with outcomes from `start` on. One named in `optional`
    that forecasts fewer than MIN_SHARED_SHARE of the first's (the network's) is left
    out; one that misses fewer (a symbol too young for its history) or forecasts more
    stays, and the comparison is made on the rows every contestant covers. Leaving a
    rival out for any difference in rows would drop every volatility model from the gate
    of a universe holding one recent listing."""
    results: dict[str, pd.DataFrame] = {}
    for name, forecaster in forecasters.items():
        scored = forecasts_with_outcomes(forecaster, rows, start)
        first = next(iter(results.values()), None)
        if (
            name in optional
            and first is not None
            and shared_share(scored, first) < MIN_SHARED_SHARE
        ):
            continue
        results[name] = scored
    return results


def shared_share(forecasts: pd.DataFrame, reference: pd.DataFrame) -> float:
    """The share of `reference`'s (symbol, as-of date, horizon) forecasts that
    `forecasts` also makes (1 when `reference` is empty)."""
    if reference.empty:
        return 1.0
    keys = [key for key in ("symbol", "as_of_date", "horizon") if key in reference]
    if forecasts.empty or any(key not in forecasts for key in keys):
        return 0.0
    mine = forecasts[keys].drop_duplicates()
    mine["symbol"] = mine["symbol"].astype(str)
    theirs = reference[keys].assign(symbol=reference["symbol"].astype(str))
    return len(theirs.merge(mine, on=keys, how="inner")) / len(reference)


def common_rows(results: Mapping[str, pd.DataFrame], horizon: int = 1) -> dict[str, pd.DataFrame]:
    """Each forecaster's forecasts at one horizon on the (symbol, day) rows all of them
    cover there (a frame without a horizon column is next-day)."""
    at_horizon = {name: _at_horizon(rows, horizon) for name, rows in results.items()}
    keys: pd.DataFrame | None = None
    for rows in at_horizon.values():
        current = rows[["symbol", "as_of_date"]]
        keys = current if keys is None else keys.merge(current, on=["symbol", "as_of_date"])
    assert keys is not None
    return {
        name: rows.merge(keys, on=["symbol", "as_of_date"]) for name, rows in at_horizon.items()
    }


def compare_on_common_rows(
    results: Mapping[str, pd.DataFrame], quantiles: Sequence[float], horizon: int = 1
) -> dict[str, dict[str, float]]:
    """forecast_metrics of each forecaster at one horizon over the rows all of them cover."""
    return {
        name: forecast_metrics(rows, quantiles)
        for name, rows in common_rows(results, horizon).items()
    }


def interval_tests_on_common_rows(
    results: Mapping[str, pd.DataFrame], quantiles: Sequence[float]
) -> dict[str, IntervalBacktest]:
    """The VaR-style backtests (Kupiec, Christoffersen, interval score) of each
    forecaster's next-day interval over the rows all of them cover, every symbol's rows
    in time order (longer horizons overlap, so their hits are dependent by design)."""
    return {
        name: forecasts_backtest(rows, quantiles) for name, rows in common_rows(results, 1).items()
    }


def compare_by_horizon(
    results: Mapping[str, pd.DataFrame], quantiles: Sequence[float], horizons: Sequence[int]
) -> dict[int, dict[str, dict[str, float]]]:
    """compare_on_common_rows at each horizon, among the forecasters that forecast it (a
    champion trained for the next day only is compared at horizon 1 alone)."""
    by_horizon: dict[int, dict[str, dict[str, float]]] = {}
    for horizon in horizons:
        covering = {
            name: rows for name, rows in results.items() if not _at_horizon(rows, horizon).empty
        }
        if covering:
            by_horizon[int(horizon)] = compare_on_common_rows(covering, quantiles, horizon)
    return by_horizon


def _at_horizon(rows: pd.DataFrame, horizon: int) -> pd.DataFrame:
    if "horizon" not in rows:
        return rows if horizon == 1 else rows.iloc[:0]
    return rows[rows["horizon"].to_numpy() == horizon]


def validation_start_for(rows: pd.DataFrame, months: int) -> dt.date:
    """First day of the most recent `months` of the range (held out from fitting)."""
    last = pd.Timestamp(pd.to_datetime(rows["date"]).max())
    return (last - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()


def rows_before(rows: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    return rows[pd.to_datetime(rows["date"]) < pd.Timestamp(day)]


class HeldOutWindows(NamedTuple):
    validation_start: dt.date  # the gate's window: the last `validation_months`
    stopping_start: dt.date  # early stopping and recalibration, just before it


def held_out_windows(rows: pd.DataFrame, config: TrainConfig) -> HeldOutWindows:
    """The gate's window (the last `validation_months`) and, before it, the early-stopping
    window (half as long), each checked to hold samples; InputError otherwise."""
    validation_start = validation_start_for(rows, config.validation_months)
    check_history(rows, config, validation_start)
    before_validation = rows_before(rows, validation_start)
    stopping_start = validation_start_for(before_validation, max(1, config.validation_months // 2))
    check_history(before_validation, config, stopping_start)
    return HeldOutWindows(validation_start, stopping_start)
