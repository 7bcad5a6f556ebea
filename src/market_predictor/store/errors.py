"""The `monitoring/errors` table: the realised error of every served forecast, keyed by
(symbol, target_date, horizon, model_name, model_version); its row model, schema, the rows a
day's new closes make, reads and writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from market_predictor.records import OptionalFloatsModel, Result
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult, frame_of
from market_predictor.store.filters import all_of, date_range, matching
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
    # Parsed once per distinct version, not per row (a lookback holds hundreds of
    # thousands of rows and a handful of versions).
    codes, versions = pd.factorize(errors["model_version"], use_na_sentinel=False)
    numbers = pd.to_numeric(pd.Series(versions), errors="coerce").to_numpy()
    ranked = errors.assign(_version=numbers[codes])
    ranked = ranked.sort_values([*keys, "_version"])
    latest = ranked.drop_duplicates(keys, keep="last")
    return latest.drop(columns="_version").reset_index(drop=True)


class ErrorsTable(Table):
    def __init__(self, backend: StorageBackend) -> None:
        super().__init__(
            backend,
            "monitoring/errors",
            SCHEMA,
            added_columns=ADDED_COLUMNS,
            kept_across_days=True,
        )

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

    def recent_served(
        self,
        symbols: Iterable[str] | None,
        model_name: str,
        start: dt.date | None,
        end: dt.date,
        window: int,
    ) -> pd.DataFrame:
        """`served(read_rows(symbols, model_name, start, end))` with only the last
        `window` rows of each (symbol, horizon): the same rows in the same order.

        A monitoring lookback holds a quarter of a million rows at 500 symbols and three
        horizons, of which a day's skill and tests read the last 60 per symbol and
        horizon; choosing those in numpy before pandas sees them cut the day's
        monitoring by a third."""
        conditions = [*matching(symbols, model_name), *date_range("target_date", start, end)]
        data = self.read_arrow(all_of(conditions))
        if data.num_rows == 0:
            return self.select(conditions, order=ORDER)
        symbol = _ranks(data["symbol"])
        horizon = data["horizon"].to_numpy().astype("int64")
        target = data["target_date"].cast(pa.int32()).to_numpy().astype("int64")
        # served(): per target the newest version, by the number its text holds.
        version = _ranks(data["model_version"], by=_version_number)
        order = np.lexsort((version, target, horizon, symbol))
        symbol, horizon, target = symbol[order], horizon[order], target[order]
        group_ends = _ends(symbol, horizon)
        newest = group_ends | np.append(target[1:] != target[:-1], True)
        order, symbol, horizon = order[newest], symbol[newest], horizon[newest]
        ends = np.flatnonzero(_ends(symbol, horizon))
        from_end = np.repeat(ends, np.diff(np.append(-1, ends))) - np.arange(len(order))
        return frame_of(data.take(pa.array(order[from_end < window])))


def _ranks(
    column: pa.ChunkedArray, by: Callable[[list[object]], np.ndarray] | None = None
) -> np.ndarray:
    """Each value's rank among the column's distinct values, in their sort order (by
    `by` of them when given; nulls and NaN last, as pandas sorts)."""
    values = pc.unique(column)
    keys = by(values.to_pylist()) if by else values
    ranks = np.empty(len(values), dtype="int64")
    if by:
        ranks[np.argsort(keys, kind="stable")] = np.arange(len(values))
    else:
        sorted_at = pc.array_sort_indices(values, null_placement="at_end").to_numpy()
        ranks[sorted_at] = np.arange(len(values))
    return ranks[
        pc.index_in(column, value_set=values, skip_nulls=False).to_numpy(zero_copy_only=False)
    ]


def _version_number(versions: list[object]) -> np.ndarray:
    return pd.to_numeric(pd.Series(versions, dtype="object"), errors="coerce").to_numpy(
        dtype="float64"
    )


def _ends(symbol: np.ndarray, horizon: np.ndarray) -> np.ndarray:
    """Whether each row of rows sorted by (symbol, horizon) is its group's last."""
    changes = (symbol[1:] != symbol[:-1]) | (horizon[1:] != horizon[:-1])
    return np.append(changes, True)
