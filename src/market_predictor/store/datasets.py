"""Training datasets: immutable, versioned materialisations of a feature view.

A feature view is a named selection (symbols, date range) over one feature group
version. Creating a training dataset copies the selected rows into their own Delta
table and records the source table version, row count and a content hash, so a model
trained on it can be traced to the exact rows even after later ingests restate history.

The catalog records each dataset's location relative to the store root, so a store
that is moved or copied (with its home) still finds its datasets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence

import pandas as pd
from pydantic import BaseModel, ConfigDict

from market_predictor.checks import check_range
from market_predictor.errors import InputError, MPPError, NotFoundError
from market_predictor.store import filters, prices
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table
from market_predictor.store.feature_group import PriceFeatureGroup
from market_predictor.store.filters import all_of, matching, text_field
from market_predictor.store.rows import arrow_schema

DEFAULT_VIEW = "prices_daily"


class TrainingDataset(BaseModel):
    model_config = ConfigDict(frozen=True)

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


class CatalogEntry(BaseModel):
    """A dataset as the catalog table stores it: symbols as one comma-separated text,
    the location relative to the store root."""

    name: str
    version: int
    feature_group: str
    feature_group_version: int
    table_version: int
    start: dt.date
    end: dt.date
    symbols: str
    row_count: int
    content_hash: str
    uri: str
    created_at: dt.datetime


CATALOG_SCHEMA = arrow_schema(CatalogEntry)


def check_view_name(name: str) -> str:
    """Feature view names become folder names: letters, digits, `_` and `-` only."""
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise InputError(f"invalid feature view name {name!r}: use letters, digits, _ and -")
    return name


def content_hash(rows: pd.DataFrame) -> str:
    """SHA-256 over the key and value columns, in key order: equal rows, equal hash."""
    ordered = in_key_order(rows[list(prices.BAR_COLUMNS)])
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def in_key_order(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` sorted by symbol and date. Rows already in that order (a dataset is written
    so, and `read` returns it so) come back as they are: at thousands of symbols a sorted
    copy is a GB that reading or hashing a dataset need not hold twice."""
    symbols = rows["symbol"].to_numpy()
    dates = rows["date"].to_numpy()
    later = (symbols[1:] > symbols[:-1]) | (
        (symbols[1:] == symbols[:-1]) & (dates[1:] > dates[:-1])
    )
    if bool(later.all()):
        return rows.reset_index(drop=True)
    return rows.sort_values(list(prices.KEY), ignore_index=True)


def matches(dataset: TrainingDataset, rows: pd.DataFrame) -> bool:
    """Whether `rows` are exactly the rows `dataset` recorded (count and content hash)."""
    return len(rows) == dataset.row_count and content_hash(rows) == dataset.content_hash


class DatasetRegistry:
    def __init__(self, backend: StorageBackend) -> None:
        self.backend = backend
        self.catalog = Table(backend, "training_datasets/_catalog", CATALOG_SCHEMA)

    def create(
        self,
        feature_group: PriceFeatureGroup,
        start: dt.date,
        end: dt.date,
        symbols: Sequence[str] | None = None,
        name: str = DEFAULT_VIEW,
        reuse: bool = False,
    ) -> TrainingDataset:
        """Materialise the rows of `symbols` (default: all) in [start, end] as the next
        version of the view `name`; every input is checked before anything is written.
        With `reuse`, an existing version of the same selection at the same table version
        (hence the same rows) is returned instead: a training run killed after
        materialising its dataset leaves no orphan behind its rerun."""
        check_range(start, end)
        check_view_name(name)
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
        self.backend.ensure_writable()
        selected = tuple(sorted(set(rows["symbol"])))
        digest = content_hash(rows)
        with self.catalog.write_lock():
            existing = self.list(name)
            if reuse:
                for dataset in existing:
                    same = (
                        dataset.feature_group_version,
                        dataset.table_version,
                        dataset.start,
                        dataset.end,
                        dataset.symbols,
                        dataset.content_hash,
                    ) == (feature_group.version, table_version, start, end, selected, digest)
                    if same:
                        return dataset
            version = max((d.version for d in existing), default=0) + 1
            location = _location(name, version)
            Table(self.backend, location, prices.SCHEMA).replace_where(rows, "true")
            dataset = TrainingDataset(
                name=name,
                version=version,
                feature_group=prices.FEATURE_GROUP,
                feature_group_version=feature_group.version,
                table_version=table_version,
                start=start,
                end=end,
                symbols=selected,
                row_count=len(rows),
                content_hash=digest,
                uri=f"{self.backend.root}/{location}",
            )
            entry = CatalogEntry.model_validate(
                {
                    **dataset.model_dump(),
                    "symbols": ",".join(dataset.symbols),
                    "uri": location,
                    "created_at": pd.Timestamp.now(tz="UTC"),
                }
            )
            # Catalog rows are written after the data, so a listed version is always complete.
            self.catalog.append(pd.DataFrame([entry.model_dump()]))
        return dataset

    def list(self, name: str | None = None) -> list[TrainingDataset]:
        name_filter = None if name is None else text_field("name") == name
        frame = self.catalog.read(filter=name_filter)
        frame = frame.sort_values(["name", "version"])
        return [_from_record(record, self.backend.root) for record in frame.to_dict("records")]

    def get(self, version: int, name: str = DEFAULT_VIEW) -> TrainingDataset:
        for dataset in self.list(name):
            if dataset.version == version:
                return dataset
        raise NotFoundError(f"training dataset {name} v{version} does not exist")

    def read(
        self,
        version: int,
        name: str = DEFAULT_VIEW,
        verify: bool = True,
        *,
        bars_only: bool = False,
    ) -> tuple[TrainingDataset, pd.DataFrame]:
        """The dataset and its rows (with `bars_only`, just the key and the bar: what a
        model reads, without the provenance columns). With `verify`, rows that no longer
        match the recorded row count and content hash are refused (MPPError): a model
        must never be trained on rows its lineage does not describe."""
        dataset = self.get(version, name)
        table = Table(self.backend, _location(name, version), prices.SCHEMA)
        rows = in_key_order(table.read(columns=prices.BAR_COLUMNS if bars_only else None))
        if verify and not matches(dataset, rows):
            raise MPPError(
                f"training dataset {name} v{version} does not match its recorded row count "
                "and content hash: its rows were changed after it was created; "
                "create a new dataset version"
            )
        return dataset, rows

    def read_symbols(
        self, version: int, symbols: Sequence[str], name: str = DEFAULT_VIEW
    ) -> pd.DataFrame:
        """The rows of `symbols` in a dataset version, unverified: its hash covers every
        symbol, so whoever reads the whole version (training) verifies it."""
        self.get(version, name)
        table = Table(self.backend, _location(name, version), prices.SCHEMA)
        rows = table.select(matching(symbols))
        return rows.sort_values(list(prices.KEY), ignore_index=True)

    def read_batches(
        self,
        version: int,
        name: str = DEFAULT_VIEW,
        *,
        batch_rows: int,
        before: dt.date | None = None,
    ) -> Iterator[pd.DataFrame]:
        """The dataset's bars (those dated before `before`) in batches of whole symbols,
        about `batch_rows` rows each, in symbol order, each sorted by symbol and date:
        what a training run streams so that no frame holds every row at once.

        Each batch is one Arrow read of a span of symbols. The rows are not checked
        against the content hash here (`read` or `verify` does that for the whole)."""
        dataset = self.get(version, name)
        table = Table(self.backend, _location(name, version), prices.SCHEMA)
        symbols = sorted(dataset.symbols)
        per_batch = max(1, int(batch_rows * len(symbols) / max(dataset.row_count, 1)))
        dated = [] if before is None else [filters.before("date", before)]
        for first in range(0, len(symbols), per_batch):
            span = symbols[first : first + per_batch]
            condition = all_of([filters.symbol_span(span[0], span[-1]), *dated])
            rows = table.read(filter=condition, columns=prices.BAR_COLUMNS)
            yield rows.sort_values(list(prices.KEY), ignore_index=True)

    def verify(self, version: int, name: str = DEFAULT_VIEW) -> tuple[TrainingDataset, bool]:
        """The dataset and whether its stored rows still match its row count and hash."""
        dataset, rows = self.read(version, name, verify=False)
        return dataset, matches(dataset, rows)


def _location(name: str, version: int) -> str:
    return f"training_datasets/{name}/v{version}"


def _from_record(record: dict[str, object], root: str) -> TrainingDataset:
    """A catalog row as a dataset located under `root`. Older catalogs stored absolute
    URIs; the location follows from name and version either way, so both resolve."""
    location = _location(str(record["name"]), int(record["version"]))  # type: ignore[call-overload]
    return TrainingDataset.model_validate(
        {
            **record,
            "symbols": tuple(str(record["symbols"]).split(",")),
            "uri": f"{root}/{location}",
        }
    )
