"""The `prices` feature group: one Delta table per group version, keyed by (symbol, date).

Statistics live in their own table, committed after the data; a writer killed between
the two commits leaves them missing or older than the data, and the next upsert
rebuilds them (it checks the data table's history since the statistics' version).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds

from market_predictor.config import MAX_FEATURE_GROUP_VERSION
from market_predictor.errors import InputError
from market_predictor.store import schemas
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.reads import all_of, date_range, matching

FEATURE_GROUP = "prices"
# Commits that change rows; a MERGE counts only when it inserted, updated or deleted.
_DATA_OPERATIONS = frozenset(
    {"WRITE", "CREATE TABLE", "CREATE OR REPLACE TABLE", "DELETE", "UPDATE"}
)
_MERGE_CHANGES = ("num_target_rows_inserted", "num_target_rows_updated", "num_target_rows_deleted")


class PriceFeatureGroup:
    def __init__(self, backend: StorageBackend, version: int = 1) -> None:
        if not 1 <= version <= MAX_FEATURE_GROUP_VERSION:
            raise InputError(
                f"feature group version {version} is out of range: "
                f"use 1 to {MAX_FEATURE_GROUP_VERSION}"
            )
        self.version = version
        self.table = Table(backend, f"feature_groups/{FEATURE_GROUP}/v{version}", schemas.PRICES)
        self.statistics_table = Table(
            backend,
            f"metadata/feature_groups/{FEATURE_GROUP}/v{version}/statistics",
            schemas.FEATURE_STATISTICS,
        )

    @property
    def uri(self) -> str:
        return self.table.uri

    def table_version(self) -> int | None:
        return self.table.version()

    def upsert(self, rows: pd.DataFrame, metadata: dict[str, str] | None = None) -> WriteResult:
        """Merge validated rows: new keys insert, restated values overwrite in place.
        Statistics follow: of the touched symbols, or of all if they were stale."""
        before = self.table.version()
        result = self.table.upsert(
            rows, keys=schemas.PRICE_KEY, compare=schemas.PRICE_VALUES, metadata=metadata
        )
        if before is not None and self.statistics_stale(before):
            self.refresh_statistics(self.symbols(), result.version)
        elif result.inserted or result.updated:
            self.refresh_statistics(sorted(set(rows["symbol"])), result.version)
        return result

    def statistics_stale(self, data_version: int | None = None) -> bool:
        """Whether the statistics are missing or older than the data at `data_version`
        (default: the latest): some commit after the one they describe changed rows."""
        data_version = self.table.version() if data_version is None else data_version
        if data_version is None:
            return False
        described = self.statistics_table.read_arrow(columns=["table_version"])["table_version"]
        if len(described) == 0:
            return True
        since = int(pc.max(described).as_py())
        if since >= data_version:
            return False
        current = self.table.version() or data_version
        for entry in self.table.history(limit=current - since):
            version = int(entry.get("version", -1))  # type: ignore[call-overload]
            if not since < version <= data_version:
                continue
            metrics = entry.get("operationMetrics")
            changes = (
                sum(int(metrics.get(k, 0)) for k in _MERGE_CHANGES)
                if isinstance(metrics, dict)
                else 0
            )
            operation = entry.get("operation")
            if operation in _DATA_OPERATIONS or (operation == "MERGE" and changes):
                return True
        return False

    def read(
        self,
        symbols: Iterable[str] | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        table_version: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Rows in [start, end] (inclusive) sorted by symbol and date. `end` is the as-of cut:
        nothing after it is read, which is what keeps replays and backtests honest."""
        frame = self.table.read(
            filter=_price_filter(symbols, start, end), columns=columns, version=table_version
        )
        sort = [c for c in ("symbol", "date") if c in frame.columns]
        return frame.sort_values(sort, ignore_index=True) if sort else frame

    def symbols(self) -> list[str]:
        symbols = self.table.read_arrow(columns=["symbol"])["symbol"]
        return sorted(pc.unique(symbols).to_pylist())

    def last_dates(self, symbols: Iterable[str] | None = None) -> dict[str, dt.date]:
        data = self.table.read_arrow(filter=_price_filter(symbols), columns=["symbol", "date"])
        if data.num_rows == 0:
            return {}
        grouped = data.group_by("symbol").aggregate([("date", "max")])
        return dict(
            zip(grouped["symbol"].to_pylist(), grouped["date_max"].to_pylist(), strict=True)
        )

    def statistics(self) -> pd.DataFrame:
        return self.statistics_table.read().sort_values(["symbol", "feature"], ignore_index=True)

    def refresh_statistics(self, symbols: Sequence[str], table_version: int) -> None:
        """Recompute count/min/max/mean/missing rate per feature for the touched symbols."""
        frame = self.read(symbols=symbols)
        now = pd.Timestamp.now(tz="UTC")
        rows = []
        for symbol, group in frame.groupby("symbol"):
            for feature in schemas.PRICE_VALUES:
                values = group[feature]
                rows.append(
                    {
                        "symbol": symbol,
                        "feature": feature,
                        "description": schemas.PRICE_DESCRIPTIONS[feature],
                        "count": int(values.notna().sum()),
                        "min": float(values.min()),
                        "max": float(values.max()),
                        "mean": float(values.mean()),
                        "missing_rate": float(values.isna().mean()),
                        "first_date": group["date"].min(),
                        "last_date": group["date"].max(),
                        "table_version": table_version,
                        "updated_at": now,
                    }
                )
        if rows:
            quoted = ", ".join(f"'{s}'" for s in symbols)
            self.statistics_table.replace_where(pd.DataFrame(rows), f"symbol IN ({quoted})")


def _price_filter(
    symbols: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ds.Expression | None:
    return all_of([*matching(symbols), *date_range("date", start, end)])
