"""The `prices` feature group: one Delta table per group version, keyed by (symbol, date)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds

from market_predictor.store import schemas
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.reads import all_of, date_range, matching

FEATURE_GROUP = "prices"


class PriceFeatureGroup:
    def __init__(self, backend: StorageBackend, version: int = 1) -> None:
        if version < 1:
            raise ValueError("feature group versions start at 1")
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
        """Merge validated rows: new keys insert, restated values overwrite in place."""
        result = self.table.upsert(
            rows, keys=schemas.PRICE_KEY, compare=schemas.PRICE_VALUES, metadata=metadata
        )
        if result.inserted or result.updated:
            self.refresh_statistics(sorted(set(rows["symbol"])), result.version)
        return result

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
