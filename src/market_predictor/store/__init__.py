"""The feature store: every table the system reads or writes, on Delta Lake.

Entry points reach storage only through `FeatureStore`; the URI (a local folder or
s3://bucket/prefix) picks the backend, so scaling out is configuration alone. Each
table is one module of this package holding its row model, key, schema, reads and
writes: `prices` (with `statistics`, as the `feature_group`), `quarantine`,
`datasets`, `predictions`, `errors`, `summary` and `scales`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property

import pandas as pd
import pyarrow as pa

from market_predictor.config import Settings
from market_predictor.store import errors
from market_predictor.store.backends import StorageBackend, backend_for
from market_predictor.store.datasets import DatasetRegistry, TrainingDataset
from market_predictor.store.delta import Table, WriteResult, frame_of
from market_predictor.store.errors import ErrorsTable
from market_predictor.store.feature_group import PriceFeatureGroup
from market_predictor.store.filters import all_of, date_range, matching
from market_predictor.store.keys import keys_in
from market_predictor.store.predictions import PredictionsTable
from market_predictor.store.quarantine import QuarantineTable
from market_predictor.store.scales import ScalesTable
from market_predictor.store.summary import SummaryTable

# Files a table may hold before the daily job compacts it: few enough that a day's
# reads stay fast, many enough that compaction runs about monthly, not daily.
COMPACT_MIN_FILES = 32
# The tables the API serves, by the names its ETags and `versions()` use.
READ_TABLES = ("prices", "predictions", "errors", "summary")

__all__ = [
    "READ_TABLES",
    "DatasetRegistry",
    "FeatureStore",
    "PriceFeatureGroup",
    "Table",
    "TrainingDataset",
    "WriteResult",
]


class FeatureStore:
    def __init__(self, uri: str, feature_group_version: int = 1) -> None:
        self.backend: StorageBackend = backend_for(uri)
        self.uri = self.backend.root
        self.feature_group_version = feature_group_version

    @classmethod
    def from_settings(
        cls, settings: Settings, feature_group_version: int | None = None
    ) -> FeatureStore:
        return cls(
            settings.resolved_store_uri, feature_group_version or settings.feature_group_version
        )

    def ensure_writable(self) -> None:
        self.backend.ensure_writable()

    def prices(self, version: int | None = None) -> PriceFeatureGroup:
        return PriceFeatureGroup(self.backend, version or self.feature_group_version)

    @cached_property
    def datasets(self) -> DatasetRegistry:
        return DatasetRegistry(self.backend)

    @cached_property
    def quarantine(self) -> QuarantineTable:
        return QuarantineTable(self.backend)

    @cached_property
    def predictions(self) -> PredictionsTable:
        return PredictionsTable(self.backend)

    @cached_property
    def errors(self) -> ErrorsTable:
        return ErrorsTable(self.backend)

    @cached_property
    def summary(self) -> SummaryTable:
        return SummaryTable(self.backend)

    @cached_property
    def scales(self) -> ScalesTable:
        return ScalesTable(self.backend)

    def versions(self) -> dict[str, int | None]:
        """Each table the API serves at its current Delta version (None: not created
        yet), read from the transaction log alone: the probe a cache polls."""
        tables: dict[str, Table] = {
            "prices": self.prices().table,
            "predictions": self.predictions,
            "errors": self.errors,
            "summary": self.summary,
        }
        return {name: tables[name].probe_version() for name in READ_TABLES}

    def unscored(
        self,
        symbols: Iterable[str] | None,
        model_name: str,
        start: dt.date | None,
        end: dt.date,
    ) -> pd.DataFrame:
        """The stored forecasts of `model_name` whose target date is in [start, end] and
        that have no realised error yet, every column, in no particular order. Matched in
        Arrow: the lookback holds a row per symbol, horizon and day, and converting both
        sides to pandas to match them cost more than the rest of a day's monitoring."""
        wanted = [*matching(symbols, model_name), *date_range("target_date", start, end)]
        made = self.predictions.read_arrow(all_of(wanted))
        if made.num_rows == 0:
            return frame_of(made)
        keys = list(errors.KEY)
        known = self.errors.read_arrow(all_of(wanted), columns=keys)
        if known.num_rows:
            # Files written by merges hold text as string_view: matching needs one type.
            known = known.cast(pa.schema([made.schema.field(key) for key in keys]))
            made = made.filter(pa.array(~keys_in(made, known, keys)))
        return frame_of(made.select(self.predictions.schema.names))

    def compact(self, min_files: int = COMPACT_MIN_FILES) -> list[str]:
        """Compact every fragmented table the daily job appends to; names the ones done."""
        prices = self.prices()
        tables = [
            prices.table,
            prices.statistics_table,
            self.quarantine,
            self.predictions,
            self.errors,
            self.summary,
            self.scales,
        ]
        return [table.name for table in tables if table.compact(min_files)]
