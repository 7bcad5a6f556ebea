"""The feature store: every table the system reads or writes, on Delta Lake.

Entry points reach storage only through `FeatureStore`; the URI (a local folder or
s3://bucket/prefix) picks the backend, so scaling out is configuration alone. Each
table is one module of this package holding its row model, key, schema, reads and
writes: `prices` (with `statistics`, as the `feature_group`), `quarantine`,
`datasets`, `predictions`, `errors`, `summary`, `scales` and `rival_fits`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from market_predictor import reuse
from market_predictor.config import Settings
from market_predictor.store import errors
from market_predictor.store.backends import StorageBackend, backend_for
from market_predictor.store.datasets import DatasetRegistry, TrainingDataset
from market_predictor.store.delta import Table, WriteResult, frame_of
from market_predictor.store.errors import ErrorsTable
from market_predictor.store.feature_group import PriceFeatureGroup
from market_predictor.store.filters import all_of, date_range, matching
from market_predictor.store.kept import DateSpan
from market_predictor.store.keys import keys_in
from market_predictor.store.predictions import PredictionsTable
from market_predictor.store.quarantine import QuarantineTable
from market_predictor.store.rival_fits import RivalFitsTable
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

    @cached_property
    def rival_fits(self) -> RivalFitsTable:
        return RivalFitsTable(self.backend)

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
        that have no realised error yet, every column, in no particular order.

        Within a replay (reuse.across_days) the forecasts without an error are kept
        from one day to the next and moved on by the files each table gained since
        (Table.read_added): the day's new forecasts join them unless an error of theirs
        is stored, and the day's new errors take theirs out. Both tables only gain
        rows, so that is exactly what matching every forecast against every error
        gives, which a monitoring lookback's quarter of a million rows made cost a
        tenth of a second a day; if either table lost a file, everything is matched
        again."""
        conditions = all_of(matching(symbols, model_name))
        keys = list(errors.KEY)
        carried = reuse.kept("unscored forecasts")
        place = (self.uri, None if symbols is None else tuple(symbols), model_name)
        held: _Unscored | None = carried.get(place) if carried is not None else None
        made = self.predictions.read_added(held.forecasts if held else None, conditions)
        known = self.errors.read_added(held.errors if held else None, conditions, keys)
        if held is not None and not made.complete and not known.complete:
            open_ = _without_keys(held.open, known.table, keys)
            if made.table.num_rows:
                # Errors of the new forecasts can only be dated on their target dates.
                low, high = pc.min_max(made.table["target_date"]).values()
                span = DateSpan("target_date", low.as_py(), high.as_py())
                targets = date_range("target_date", span.start, span.end)
                theirs = self.errors.read_arrow(
                    all_of([*matching(symbols, model_name), *targets]), keys, span=span
                )
                open_ = pa.concat_tables([open_, _without_keys(made.table, theirs, keys)])
        else:
            if not made.complete:
                made = self.predictions.read_added(None, conditions)
            if not known.complete:
                known = self.errors.read_added(None, conditions, keys)
            open_ = _without_keys(made.table, known.table, keys)
        if carried is not None:
            carried[place] = _Unscored(made.files, known.files, open_)
        due = open_.filter(all_of(date_range("target_date", start, end)))
        return frame_of(due.select(self.predictions.schema.names))

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


@dataclass(frozen=True)
class _Unscored:
    """The forecasts without a realised error, and the files of each table behind it."""

    forecasts: frozenset[str]
    errors: frozenset[str]
    open: pa.Table


def _without_keys(rows: pa.Table, other: pa.Table, keys: list[str]) -> pa.Table:
    """`rows` whose key is not among `other`'s."""
    if rows.num_rows == 0 or other.num_rows == 0:
        return rows
    # Files written by merges hold text as string_view: matching needs one type.
    other = other.select(keys).cast(pa.schema([rows.schema.field(key) for key in keys]))
    return rows.filter(pa.array(~keys_in(rows, other, keys)))
