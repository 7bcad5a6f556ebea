"""The store's one read API: every consumer (monitoring, the demo, the API, the dashboard's
data) reads prices, predictions, realised errors and the monitoring summary through
these functions, by symbols, model and inclusive date ranges.

Filter expressions are built here and nowhere else: text columns need `text_field`
(files written by merges hold string_view), and date bounds need date32 scalars so
that pyarrow prunes files by their statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from market_predictor.store.delta import Table, text_field

if TYPE_CHECKING:
    from market_predictor.store import FeatureStore

# The tables the read API serves, by the names used in versions() and the API's ETags.
READ_TABLES = ("prices", "predictions", "errors", "summary")
PREDICTION_ORDER = ("symbol", "as_of_date", "target_date", "model_version")


def date_range(
    column: str, start: dt.date | None = None, end: dt.date | None = None
) -> list[ds.Expression]:
    """Inclusive bounds on a date column."""
    bounds = []
    if start is not None:
        bounds.append(ds.field(column) >= _date(start))
    if end is not None:
        bounds.append(ds.field(column) <= _date(end))
    return bounds


def after(column: str, day: dt.date) -> ds.Expression:
    return ds.field(column) > _date(day)


def matching(
    symbols: Iterable[str] | None = None, model_name: str | None = None
) -> list[ds.Expression]:
    conditions = []
    if symbols is not None:
        conditions.append(text_field("symbol").isin(list(symbols)))
    if model_name is not None:
        conditions.append(text_field("model_name") == model_name)
    return conditions


def all_of(conditions: Sequence[ds.Expression]) -> ds.Expression | None:
    if not conditions:
        return None
    expression = conditions[0]
    for condition in conditions[1:]:
        expression = expression & condition
    return expression


def read_prices(
    store: FeatureStore,
    symbols: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored prices in [start, end], sorted by symbol and date."""
    return store.prices().read(symbols=symbols, start=start, end=end, columns=columns)


def read_predictions(
    store: FeatureStore,
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
    return _read(store.predictions, conditions, columns, PREDICTION_ORDER)


def read_errors(
    store: FeatureStore,
    symbols: Iterable[str] | None = None,
    model_name: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Realised errors of forecasts whose target date is in [start, end]."""
    conditions = [*matching(symbols, model_name), *date_range("target_date", start, end)]
    return _read(store.errors, conditions, columns, ("symbol", "target_date", "model_version"))


def read_summary(
    store: FeatureStore,
    symbols: Iterable[str] | None = None,
    model_name: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Daily monitoring summary rows dated in [start, end]."""
    conditions = [*matching(symbols, model_name), *date_range("date", start, end)]
    return _read(store.summary, conditions, columns, ("symbol", "date"))


def versions(store: FeatureStore) -> dict[str, int | None]:
    """Each readable table's current Delta version (None: not created yet), read from
    the transaction log alone: the probe a cache uses to know when to reload."""
    return {
        "prices": store.prices().table.probe_version(),
        "predictions": store.predictions.probe_version(),
        "errors": store.errors.probe_version(),
        "summary": store.summary.probe_version(),
    }


def _read(
    table: Table,
    conditions: Sequence[ds.Expression],
    columns: Sequence[str] | None,
    order: Sequence[str],
) -> pd.DataFrame:
    frame = table.read(filter=all_of(conditions), columns=columns)
    keys = [c for c in order if c in frame.columns]
    return frame.sort_values(keys, ignore_index=True) if keys else frame


def _date(day: dt.date | pd.Timestamp) -> pa.Scalar:
    return pa.scalar(pd.Timestamp(day).date(), pa.date32())
