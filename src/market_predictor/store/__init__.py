"""The feature store: every table the system reads or writes, on Delta Lake.

Entry points reach storage only through `FeatureStore`; the URI (a local folder or
s3://bucket/prefix) picks the backend, so scaling out is configuration alone.
"""

from __future__ import annotations

from functools import cached_property

from market_predictor.config import Settings
from market_predictor.store import schemas
from market_predictor.store.backends import StorageBackend, backend_for
from market_predictor.store.datasets import DatasetRegistry, TrainingDataset
from market_predictor.store.delta import Table, WriteResult, text_field
from market_predictor.store.feature_group import PriceFeatureGroup
from market_predictor.store.reads import (
    READ_TABLES,
    read_errors,
    read_predictions,
    read_prices,
    read_summary,
    versions,
)

# Files a table may hold before the daily job compacts it: few enough that a day's
# reads stay fast, many enough that compaction runs about monthly, not daily.
COMPACT_MIN_FILES = 32

__all__ = [
    "READ_TABLES",
    "DatasetRegistry",
    "FeatureStore",
    "PriceFeatureGroup",
    "Table",
    "TrainingDataset",
    "WriteResult",
    "read_errors",
    "read_predictions",
    "read_prices",
    "read_summary",
    "text_field",
    "versions",
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
    def quarantine(self) -> Table:
        return Table(self.backend, "quarantine/prices", schemas.QUARANTINE)

    @cached_property
    def predictions(self) -> Table:
        return Table(self.backend, "predictions", schemas.PREDICTIONS)

    @cached_property
    def errors(self) -> Table:
        return Table(self.backend, "monitoring/errors", schemas.ERRORS)

    @cached_property
    def summary(self) -> Table:
        # Version 2 (issue 9): rows name their trigger test, statistic, threshold and
        # window instead of a PSI. Homes with a version-1 table keep it untouched as the
        # old rule's history; new rows go here, so no table ever holds two schemas.
        return Table(self.backend, "monitoring/summary_v2", schemas.SUMMARY)

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
        ]
        return [table.name for table in tables if table.compact(min_files)]
