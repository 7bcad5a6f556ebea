"""The `predictions` table: one row per forecast the daily job served, keyed by
(symbol, as_of_date, target_date, horizon, model_name, model_version); its row model,
schema, reads and writes. `ForecastValues` are the numbers a forecast carries: `mpp predict
--json`, the API and the forecasters' output frames all use them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from pydantic import Field

from market_predictor.records import OptionalFloatsModel, Result
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.filters import after, all_of, date_range, matching
from market_predictor.store.rows import SymbolField, arrow_schema, column_names

# Values are rounded before they are stored so that re-running a day compares equal
# even if a different batch composition changes the last bits of a float.
PRICE_DECIMALS = 6
RETURN_DECIMALS = 9


class ForecastValues(OptionalFloatsModel):
    last_close: float | None = Field(description="The close known at the as-of date.")
    predicted_close: float | None = Field(description="The median forecast of the target close.")
    lower: float | None = Field(description="The interval's lower quantile (10% by default).")
    upper: float | None = Field(description="The interval's upper quantile (90% by default).")
    predicted_return: float | None = Field(description="The median log return to the target.")


class ServedBy(Result):
    as_of_date: dt.date
    target_date: dt.date = Field(description="The h-th trading day after the as-of date.")
    horizon: int = Field(1, description="Trading days from the as-of close to the target.")
    model_name: str
    model_version: str


class PredictionKey(ServedBy, SymbolField):
    pass


class Prediction(ForecastValues, PredictionKey):
    run_id: str | None = None
    created_at: dt.datetime | None = None


KEY = column_names(PredictionKey)
VALUES = column_names(ForecastValues)
SCHEMA = arrow_schema(Prediction)
# A re-run of a day changes a row only when a value or the producing run does.
_COMPARED = (*VALUES, "run_id")
_PRICES = ("last_close", "predicted_close", "lower", "upper")
ORDER = ("symbol", "horizon", "as_of_date", "target_date", "model_version")
# Tables written before multi-horizon forecasts hold next-day forecasts only.
ADDED_COLUMNS = {"horizon": 1}


def rows(
    forecasts: pd.DataFrame,
    *,
    as_of: dt.date,
    target_dates: Mapping[int, dt.date],
    model_name: str,
    model_version: str,
    run_id: str,
) -> pd.DataFrame:
    """Forecasts (a forecaster's frame: symbol, horizon and the ForecastValues) as table
    rows; `target_dates` maps each horizon to its trading day."""
    horizon = forecasts["horizon"].astype("int64") if "horizon" in forecasts else 1
    frame = pd.DataFrame(
        {
            "symbol": forecasts["symbol"].astype(str),
            "as_of_date": as_of,
            "horizon": horizon,
            "model_name": model_name,
            "model_version": model_version,
            **{c: forecasts[c].astype("float64").round(PRICE_DECIMALS) for c in _PRICES},
            "predicted_return": forecasts["predicted_return"]
            .astype("float64")
            .round(RETURN_DECIMALS),
            "run_id": run_id,
            "created_at": pd.Timestamp.now(tz="UTC"),
        }
    )
    frame["target_date"] = frame["horizon"].map(dict(target_dates))
    return frame.sort_values(["symbol", "horizon"], ignore_index=True)


def finite(forecasts: pd.DataFrame) -> np.ndarray:
    """Which forecasts hold a finite number in every value column."""
    return np.isfinite(forecasts[list(VALUES)].to_numpy(dtype="float64")).all(axis=1)


class PredictionsTable(Table):
    def __init__(self, backend: StorageBackend) -> None:
        super().__init__(
            backend, "predictions", SCHEMA, added_columns=ADDED_COLUMNS, kept_across_days=True
        )

    def write(self, frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> WriteResult:
        """Upsert: re-running a day (same as-of date and model version) changes nothing."""
        return self.upsert(frame, keys=KEY, compare=_COMPARED, metadata=metadata)

    def read_rows(
        self,
        symbols: Iterable[str] | None = None,
        model_name: str | None = None,
        *,
        as_of_start: dt.date | None = None,
        as_of_end: dt.date | None = None,
        target_start: dt.date | None = None,
        target_end: dt.date | None = None,
        target_after: dt.date | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Forecasts made as of [as_of_start, as_of_end] for targets in [target_start,
        target_end] (and strictly after `target_after`), sorted by symbol and date."""
        conditions = [
            *matching(symbols, model_name),
            *date_range("as_of_date", as_of_start, as_of_end),
            *date_range("target_date", target_start, target_end),
        ]
        if target_after is not None:
            conditions.append(after("target_date", target_after))
        return self.select(conditions, columns, ORDER)

    def symbols_forecast(
        self,
        symbols: Iterable[str] | None,
        model_name: str,
        as_of_start: dt.date | None,
        as_of_end: dt.date,
    ) -> list[str]:
        """The symbols with a forecast of `model_name` made as of [as_of_start, as_of_end],
        sorted (found in Arrow: a text column turned to pandas costs more than the rest)."""
        conditions = [
            *matching(symbols, model_name),
            *date_range("as_of_date", as_of_start, as_of_end),
        ]
        made = self.read_arrow(all_of(conditions), ["symbol"])["symbol"]
        return sorted(pc.unique(made).to_pylist())
