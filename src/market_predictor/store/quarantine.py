"""The `quarantine/prices` table: rows that failed the price-row contract, kept with
their reason and the ingest run that rejected them, keyed by (symbol, date, source,
reason) so re-running an ingest quarantines nothing twice."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from market_predictor.store import prices
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.rows import arrow_schema


class QuarantinedPrice(prices.Bar):
    symbol: str | None
    date: dt.date | None
    source: str | None
    reason: str
    run_id: str
    quarantined_at: dt.datetime


KEY = ("symbol", "date", "source", "reason")
SCHEMA = arrow_schema(QuarantinedPrice)


def rows(rejected: pd.DataFrame, source: str, run_id: str, now: pd.Timestamp) -> pd.DataFrame:
    """Rejected price rows (with their `reason`) as quarantine rows."""
    frame = rejected[["symbol", "date", *prices.VALUES, "reason"]].copy()
    frame["source"] = source
    frame["run_id"] = run_id
    frame["quarantined_at"] = now
    return frame[list(SCHEMA.names)]


class QuarantineTable(Table):
    def __init__(self, backend: StorageBackend) -> None:
        super().__init__(backend, "quarantine/prices", SCHEMA)

    def write(self, frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> WriteResult:
        return self.upsert(frame, keys=KEY, compare=prices.VALUES, metadata=metadata)
