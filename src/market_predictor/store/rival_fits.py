"""The `training/rival_fits` table: per-symbol volatility-rival fits made outside the
training process (the DAG's mapped fit tasks), for training to use instead of fitting
again; its row model, schema, reads and writes.

A row is one symbol's fit of one rival kind, on a training dataset version's rows dated
before `fitted_before` (the held-out months' start): its parameters, and its
standardised training returns per horizon (what filtered historical simulation pools).
It is scratch space for one retrain, not history: each retrain's plan drops every
other retrain's rows and vacuums their files, so the table holds one retrain's fits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
from pydantic import Field

from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.filters import date_range, number
from market_predictor.store.rows import SymbolField, arrow_schema

TABLE_NAME = "training/rival_fits"


class RivalFitRow(SymbolField):
    dataset_version: int = Field(description="The training dataset the fit was made on.")
    fitted_before: dt.date = Field(description="The fit used the dataset's rows before it.")
    kind: str = Field(description="The rival: garch, gjr_garch, egarch or har.")
    params: str | None = Field(description="Fitted parameters as JSON; null: no convergence.")
    horizons: list[int] = Field(description="The horizons of `standardised`, in its order.")
    standardised: list[list[float]] = Field(
        description="Standardised h-day training returns per horizon (empty: not used)."
    )
    created_at: dt.datetime | None = None


KEY = ("dataset_version", "fitted_before", "kind", "symbol")
SCHEMA = arrow_schema(
    RivalFitRow,
    stored_as={
        "horizons": pa.list_(pa.int64()),
        "standardised": pa.list_(pa.list_(pa.float64())),
    },
)


def _fits_of(dataset_version: int, fitted_before: dt.date) -> str:
    return f"dataset_version = {int(dataset_version)} AND fitted_before = '{fitted_before}'"


class RivalFitsTable(Table):
    def __init__(self, backend: StorageBackend) -> None:
        super().__init__(backend, TABLE_NAME, SCHEMA)

    def write(
        self,
        frame: pd.DataFrame,
        *,
        dataset_version: int,
        fitted_before: dt.date,
        kind: str,
        symbols: Sequence[str],
    ) -> WriteResult:
        """Replace one kind's fits of `symbols` (a batch): a re-run batch writes the same
        rows again, and a symbol whose fit it no longer makes leaves none behind."""
        quoted = ", ".join(f"'{s}'" for s in symbols)
        predicate = f"{_fits_of(dataset_version, fitted_before)} AND kind = '{kind}'"
        rows = frame.assign(created_at=pd.Timestamp.now(tz="UTC"))
        return self.replace_where(rows, f"{predicate} AND symbol IN ({quoted})")

    def fits(self, dataset_version: int, fitted_before: dt.date) -> pd.DataFrame:
        """Every kind's fits on a dataset version before `fitted_before`."""
        conditions = [
            number("dataset_version", dataset_version),
            *date_range("fitted_before", fitted_before, fitted_before),
        ]
        return self.select(conditions, order=("kind", "symbol"))

    def keep_only(self, dataset_version: int, fitted_before: dt.date) -> None:
        """Drop every other retrain's fits and delete their files (nothing reads them:
        a DAG runs one retrain at a time, and each plans before its fits are made)."""
        if not self.exists():
            return
        stale = f"NOT ({_fits_of(dataset_version, fitted_before)})"
        self.replace_where(self.schema.empty_table().to_pandas(), stale)
        self.open().vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
