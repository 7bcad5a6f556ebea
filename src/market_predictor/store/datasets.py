"""Training datasets: immutable, versioned materialisations of a feature view.

A feature view is a named selection (symbols, date range) over one feature group
version. Creating a training dataset copies the selected rows into their own Delta
table and records the source table version, row count and a content hash, so a model
trained on it can be traced to the exact rows even after later ingests restate history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from market_predictor.checks import check_range
from market_predictor.errors import InputError, NotFoundError
from market_predictor.store import schemas
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, text_field
from market_predictor.store.feature_group import FEATURE_GROUP, PriceFeatureGroup

DEFAULT_VIEW = "prices_daily"


@dataclass(frozen=True)
class TrainingDataset:
    name: str
    version: int
    feature_group: str
    feature_group_version: int
    table_version: int
    start: dt.date
    end: dt.date
    symbols: tuple[str, ...]
    row_count: int
    content_hash: str
    uri: str

    def lineage(self) -> dict[str, str]:
        """Flat string mapping, ready to log as MLflow params or tags."""
        return {
            "dataset_name": self.name,
            "dataset_version": str(self.version),
            "feature_group": self.feature_group,
            "feature_group_version": str(self.feature_group_version),
            "feature_table_version": str(self.table_version),
            "dataset_start": self.start.isoformat(),
            "dataset_end": self.end.isoformat(),
            "dataset_symbols": ",".join(self.symbols),
            "dataset_rows": str(self.row_count),
            "dataset_content_hash": self.content_hash,
        }

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["symbols"] = list(self.symbols)
        return data


def content_hash(rows: pd.DataFrame) -> str:
    """SHA-256 over the key and value columns, in key order: equal rows, equal hash."""
    columns = [*schemas.PRICE_KEY, *schemas.PRICE_VALUES]
    ordered = rows[columns].sort_values(list(schemas.PRICE_KEY), ignore_index=True)
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


class DatasetRegistry:
    def __init__(self, backend: StorageBackend) -> None:
        self.backend = backend
        self.catalog = Table(backend, "training_datasets/_catalog", schemas.DATASETS)

    def create(
        self,
        feature_group: PriceFeatureGroup,
        start: dt.date,
        end: dt.date,
        symbols: Sequence[str] | None = None,
        name: str = DEFAULT_VIEW,
    ) -> TrainingDataset:
        check_range(start, end)
        table_version = feature_group.table_version()
        if table_version is None:
            raise InputError("the feature store holds no prices yet: run `mpp ingest` first")
        rows = feature_group.read(symbols, start, end, table_version=table_version)
        if symbols is not None:
            missing = sorted(set(symbols) - set(rows["symbol"]))
            if missing:
                raise NotFoundError(f"no rows for {', '.join(missing)} between {start} and {end}")
        if rows.empty:
            raise InputError(f"no price rows between {start} and {end}")
        with self.catalog.write_lock():
            version = self._next_version(name)
            uri_name = f"training_datasets/{name}/v{version}"
            Table(self.backend, uri_name, schemas.PRICES).replace_where(rows, "true")
            dataset = TrainingDataset(
                name=name,
                version=version,
                feature_group=FEATURE_GROUP,
                feature_group_version=feature_group.version,
                table_version=table_version,
                start=start,
                end=end,
                symbols=tuple(sorted(set(rows["symbol"]))),
                row_count=len(rows),
                content_hash=content_hash(rows),
                uri=f"{self.backend.root}/{uri_name}",
            )
            record = {**dataset.to_dict(), "symbols": ",".join(dataset.symbols)}
            record["created_at"] = pd.Timestamp.now(tz="UTC")
            # Catalog rows are written after the data, so a listed version is always complete.
            self.catalog.append(pd.DataFrame([record]))
        return dataset

    def list(self, name: str | None = None) -> list[TrainingDataset]:
        name_filter = None if name is None else text_field("name") == name
        frame = self.catalog.read(filter=name_filter)
        frame = frame.sort_values(["name", "version"])
        return [_from_record(record) for record in frame.to_dict("records")]

    def get(self, version: int, name: str = DEFAULT_VIEW) -> TrainingDataset:
        for dataset in self.list(name):
            if dataset.version == version:
                return dataset
        raise NotFoundError(f"training dataset {name} v{version} does not exist")

    def read(self, version: int, name: str = DEFAULT_VIEW) -> tuple[TrainingDataset, pd.DataFrame]:
        dataset = self.get(version, name)
        table = Table(self.backend, f"training_datasets/{name}/v{version}", schemas.PRICES)
        rows = table.read().sort_values(list(schemas.PRICE_KEY), ignore_index=True)
        return dataset, rows

    def _next_version(self, name: str) -> int:
        existing = [d.version for d in self.list(name)]
        return max(existing, default=0) + 1


def _from_record(record: dict[str, object]) -> TrainingDataset:
    return TrainingDataset(
        name=str(record["name"]),
        version=int(record["version"]),  # type: ignore[call-overload]
        feature_group=str(record["feature_group"]),
        feature_group_version=int(record["feature_group_version"]),  # type: ignore[call-overload]
        table_version=int(record["table_version"]),  # type: ignore[call-overload]
        start=pd.Timestamp(record["start"]).date(),
        end=pd.Timestamp(record["end"]).date(),
        symbols=tuple(str(record["symbols"]).split(",")),
        row_count=int(record["row_count"]),  # type: ignore[call-overload]
        content_hash=str(record["content_hash"]),
        uri=str(record["uri"]),
    )
