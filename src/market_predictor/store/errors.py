"""The `monitoring/errors` table: the realised error of every served forecast, keyed by
(symbol, target_date, horizon, model_name, model_version); its row model, schema, the rows a
day's new closes make, reads and writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from market_predictor.records import OptionalFloatsModel, Result
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.filters import date_range, matching
from market_predictor.store.rows import arrow_schema

KEY = ("symbol", "target_date", "horizon", "model_name", "model_version")
ORDER = ("symbol", "horizon", "target_date", "model_version")
# Tables written before multi-horizon forecasts hold next-day errors only.
ADDED_COLUMNS = {"horizon": 1}


class Outcome(OptionalFloatsModel):
    """What a served forecast gains once its target day's close is stored."""

    actual_close: float | None = None
    abs_error: float | None = None
    inside_interval: bool | None = None


class ErrorValues(Outcome):
    predicted_close: float | None
    lower: float | None
    upper: float | None
    last_close: float | None
    pct_error: float | None = None
    persistence_abs_error: float | None = None
    direction_correct: bool | None = None


class ForecastOf(Result):
    target_date: dt.date
    as_of_date: dt.date
    horizon: int = 1
    model_version: str


class ErrorRow(ErrorValues, ForecastOf):
    """One realised error as the API serves it."""


class RealisedError(ErrorRow):
    symbol: str
    model_name: str
    created_at: dt.datetime | None = None


SCHEMA = arrow_schema(RealisedError)
_COMPARED = tuple(c for c in SCHEMA.names if c not in (*KEY, "created_at"))


def realised_errors(predictions: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Error rows for the predictions whose target date has a close in `prices`.
    `pct_error` is the absolute percentage error; `direction_correct` is null when the
    forecast called no move (persistence)."""
    actuals = prices.loc[:, ["symbol", "date", "close"]].rename(
        columns={"date": "target_date", "close": "actual_close"}
    )
    rows = predictions.merge(actuals, on=["symbol", "target_date"], how="inner")
    if "horizon" not in rows:
        rows["horizon"] = 1
    actual = rows["actual_close"].to_numpy(dtype="float64")
    predicted = rows["predicted_close"].to_numpy(dtype="float64")
    last = rows["last_close"].to_numpy(dtype="float64")
    abs_error = np.abs(predicted - actual)
    predicted_move = np.sign(predicted - last)
    actual_move = np.sign(actual - last)
    direction = pd.Series(predicted_move == actual_move, dtype="boolean")
    direction[predicted_move == 0] = pd.NA
    frame = pd.DataFrame(
        {
            "symbol": rows["symbol"],
            "target_date": rows["target_date"],
            "as_of_date": rows["as_of_date"],
            "horizon": rows["horizon"].to_numpy(dtype="int64"),
            "model_name": rows["model_name"],
            "model_version": rows["model_version"],
            "actual_close": actual,
            "predicted_close": predicted,
            "lower": rows["lower"].to_numpy(dtype="float64"),
            "upper": rows["upper"].to_numpy(dtype="float64"),
            "last_close": last,
            "abs_error": abs_error,
            "pct_error": abs_error / actual * 100.0,
            "persistence_abs_error": np.abs(last - actual),
            "inside_interval": (actual >= rows["lower"]) & (actual <= rows["upper"]),
            "direction_correct": direction.array,
            "created_at": pd.Timestamp.now(tz="UTC"),
        }
    )
    return frame[list(SCHEMA.names)]


def served(errors: pd.DataFrame) -> pd.DataFrame:
    """One row per (symbol, horizon, target_date): the newest model version's forecast
    when a retrain put two versions on the same day (errors or predictions alike)."""
    if errors.empty:
        return errors
    keys = [c for c in ("symbol", "horizon", "target_date") if c in errors]
    ranked = errors.assign(_version=pd.to_numeric(errors["model_version"], errors="coerce"))
    ranked = ranked.sort_values([*keys, "_version"])
    latest = ranked.drop_duplicates(keys, keep="last")
    return latest.drop(columns="_version").reset_index(drop=True)


class ErrorsTable(Table):
    def __init__(self, backend: StorageBackend) -> None:
        super().__init__(backend, "monitoring/errors", SCHEMA, added_columns=ADDED_COLUMNS)

    def write(self, frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> WriteResult:
        return self.upsert(frame, keys=KEY, compare=_COMPARED, metadata=metadata)

    def read_rows(
        self,
        symbols: Iterable[str] | None = None,
        model_name: str | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Realised errors of forecasts whose target date is in [start, end]."""
        conditions = [*matching(symbols, model_name), *date_range("target_date", start, end)]
        return self.select(conditions, columns, ORDER)
