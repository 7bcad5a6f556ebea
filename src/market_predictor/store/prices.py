"""The `prices` feature group's table: one Delta table per group version, keyed by
(symbol, date); its row model, key, schema and reads.

The table is written in date order (row groups a few weeks wide at thousands of
symbols), so reads bounded by date skip the older row groups. Writes go through
`PriceFeatureGroup.upsert`, which keeps the statistics table current beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
from pydantic import Field

from market_predictor.records import OptionalFloatsModel, Result
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table
from market_predictor.store.filters import all_of, date_range, matching
from market_predictor.store.kept import DateSpan
from market_predictor.store.rows import SymbolField, arrow_schema, column_names

FEATURE_GROUP = "prices"
# Rows per Parquet row group: a date-bounded read skips whole groups, so smaller groups
# skip more; 64 Ki rows is about 13 trading days at 5,000 symbols and a year at 250.
ROW_GROUP_ROWS = 65_536


class Bar(OptionalFloatsModel):
    """One trading day's adjusted prices and volume."""

    open: float | None = Field(description="Opening price, split- and dividend-adjusted.")
    high: float | None = Field(description="Session high, adjusted like open.")
    low: float | None = Field(description="Session low, adjusted like open.")
    close: float | None = Field(description="Closing price, split- and dividend-adjusted.")
    volume: float | None = Field(description="Shares traded.")


class _Day(Result):
    date: dt.date = Field(description="Trading day, exchange-local.")


class PriceRow(Bar, _Day):
    """A day's bar as the API serves it."""


class PriceKey(_Day, SymbolField):
    pass


class StoredPrice(Bar, PriceKey):
    source: str | None = Field(
        None, description="Where the row came from (yfinance, sample, csv, parquet)."
    )
    ingested_at: dt.datetime | None = Field(
        None, description="When this row version was written (UTC)."
    )


KEY = column_names(PriceKey)
VALUES = column_names(Bar)
SCHEMA = arrow_schema(StoredPrice, not_null=KEY)
DESCRIPTIONS = {name: str(f.description) for name, f in StoredPrice.model_fields.items()}
# What a model reads of a price row: the key and the bar.
BAR_COLUMNS = (*KEY, *VALUES)


class PricesTable(Table):
    def __init__(self, backend: StorageBackend, version: int) -> None:
        super().__init__(
            backend,
            f"feature_groups/{FEATURE_GROUP}/v{version}",
            SCHEMA,
            cluster_by=("date", "symbol"),
            row_group_rows=ROW_GROUP_ROWS,
            kept_across_days=True,
        )

    def read_rows(
        self,
        symbols: Iterable[str] | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        table_version: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Rows in [start, end] (inclusive) sorted by symbol and date. `end` is the as-of
        cut: nothing after it is read, which is what keeps replays and backtests honest."""
        condition = all_of([*matching(symbols), *date_range("date", start, end)])
        span = DateSpan("date", start, end)
        frame = self.read(filter=condition, columns=columns, version=table_version, span=span)
        sort = [c for c in ("symbol", "date") if c in frame.columns]
        return frame.sort_values(sort, ignore_index=True) if sort else frame
