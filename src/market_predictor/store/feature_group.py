"""The `prices` feature group: its prices table (`store/prices.py`) and the statistics
table beside it (`store/statistics.py`), kept current together.

The daily path reads the last rows of each symbol, its feature window and the
monitoring window, never the whole history: the prices table is written in date order,
and the statistics table doubles as the index of each symbol's last date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow.compute as pc

from market_predictor.config import MAX_FEATURE_GROUP_VERSION
from market_predictor.errors import InputError
from market_predictor.store import prices, statistics
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import WriteResult

# Symbols whose last date is this much older than the newest are read separately, so
# one long-delisted symbol does not widen every other symbol's bounded read.
_FRESH_SPAN = dt.timedelta(days=31)


class PriceFeatureGroup:
    def __init__(self, backend: StorageBackend, version: int = 1) -> None:
        if not 1 <= version <= MAX_FEATURE_GROUP_VERSION:
            raise InputError(
                f"feature group version {version} is out of range: "
                f"use 1 to {MAX_FEATURE_GROUP_VERSION}"
            )
        self.version = version
        self.table = prices.PricesTable(backend, version)
        self.statistics_table = statistics.table(backend, version)

    @property
    def uri(self) -> str:
        return self.table.uri

    def table_version(self) -> int | None:
        return self.table.version()

    def upsert(self, rows: pd.DataFrame, metadata: dict[str, str] | None = None) -> WriteResult:
        """Merge validated rows: new keys insert, restated values overwrite in place."""
        stored = self.statistics_table.read()
        result = self.table.upsert(rows, keys=prices.KEY, compare=prices.VALUES, metadata=metadata)
        if result.inserted or result.updated:
            self._update_statistics(rows, stored, result)
        elif not self._statistics_current(stored, result.version + 1):
            # A writer killed between its prices and statistics commits: heal on rerun.
            self.refresh_statistics(self.symbols(), result.version)
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
        return self.table.read_rows(symbols, start, end, table_version, columns)

    def symbols(self) -> list[str]:
        symbols = self.table.read_arrow(columns=["symbol"])["symbol"]
        return sorted(pc.unique(symbols).to_pylist())

    def last_dates(self, symbols: Iterable[str] | None = None) -> dict[str, dt.date]:
        if symbols is not None:
            last = self.tail(list(symbols), 1)
            return {s: d.date() for s, d in zip(last["symbol"], last["date"], strict=True)}
        data = self.table.read_arrow(columns=["symbol", "date"])
        if data.num_rows == 0:
            return {}
        grouped = data.group_by("symbol").aggregate([("date", "max")])
        return dict(
            zip(grouped["symbol"].to_pylist(), grouped["date_max"].to_pylist(), strict=True)
        )

    def tail(self, symbols: Sequence[str], rows: int) -> pd.DataFrame:
        """`symbol` and `date` of the last `rows` stored rows of each symbol.

        The statistics give each symbol's last date L, so rows dated from a little before
        L are read. The answer equals a full read's even when the statistics lag the
        table (rows are never deleted, so the true last date is at least L); a symbol
        with fewer than `rows` rows in that window, or unknown to the statistics, is
        read in full."""
        if not symbols or self.table_version() is None:
            return pd.DataFrame({"symbol": pd.Series(dtype=str), "date": pd.Series(dtype="M8[ns]")})
        hints = self._last_date_hints()
        known = [s for s in symbols if s in hints]
        full = [s for s in symbols if s not in hints]
        parts = []
        span = dt.timedelta(days=rows * 7 // 5 + 10)  # `rows` sessions plus holidays
        for group in _by_freshness(known, hints):
            bound = min(hints[s] for s in group) - span
            part = self.read(symbols=group, start=bound, columns=["symbol", "date"])
            counts = part["symbol"].value_counts()
            short = [s for s in group if counts.get(s, 0) < rows]
            full += short
            parts.append(part[~part["symbol"].isin(short)])
        if full:
            parts.append(self.read(symbols=full, columns=["symbol", "date"]))
        frame = pd.concat(parts, ignore_index=True).sort_values(["symbol", "date"])
        return frame.groupby("symbol", sort=False).tail(rows).reset_index(drop=True)

    def statistics(self) -> pd.DataFrame:
        return self.statistics_table.read().sort_values(["symbol", "feature"], ignore_index=True)

    def refresh_statistics(self, symbols: Sequence[str], table_version: int) -> None:
        """Recompute every statistic of `symbols` from all their rows."""
        fresh = statistics.compute(
            self.read(symbols=symbols), table_version, pd.Timestamp.now(tz="UTC")
        )
        self._write_statistics(fresh, symbols)

    def _update_statistics(
        self, rows: pd.DataFrame, stored: pd.DataFrame, result: WriteResult
    ) -> None:
        symbols = sorted(rows["symbol"].unique())
        if not self._statistics_current(stored, result.version):
            # A statistics write was lost after its prices commit: rebuild them all.
            self.refresh_statistics(self.symbols(), result.version)
            return
        appended = statistics.rows_after(stored, rows)
        if (
            result.updated == 0
            and len(appended) == result.inserted
            and statistics.mergeable(stored, sorted(set(stored["symbol"].unique()) & set(symbols)))
        ):
            now = pd.Timestamp.now(tz="UTC")
            known = stored[stored["symbol"].isin(symbols)]
            added = statistics.compute(appended, result.version, now)
            self._write_statistics(statistics.merge(known, added, result.version, now), symbols)
        else:
            # Restated values or filled gaps: min and max may have moved either way.
            self.refresh_statistics(symbols, result.version)

    def statistics_stale(self) -> bool:
        """Whether the statistics are missing or older than the data: some prices commit
        after the one they describe changed rows (a writer killed between the two)."""
        version = self.table.version()
        if version is None:
            return False
        return not self._statistics_current(self.statistics_table.read(), version + 1)

    def _statistics_current(self, stored: pd.DataFrame, version: int) -> bool:
        """Whether `stored` statistics describe every prices commit before `version`."""
        gap = version - (int(stored["table_version"].max()) if not stored.empty else -1)
        history = self.table.history(limit=gap + 1) if gap > 1 else []
        return statistics.current(stored, history, version)

    def _write_statistics(self, frame: pd.DataFrame, symbols: Sequence[str]) -> None:
        if frame.empty:
            return
        quoted = ", ".join(f"'{s}'" for s in symbols)
        self.statistics_table.replace_where(frame, f"symbol IN ({quoted})")

    def _last_date_hints(self) -> dict[str, dt.date]:
        stored = self.statistics_table.read_arrow(columns=["symbol", "last_date"])
        if stored.num_rows == 0:
            return {}
        grouped = stored.group_by("symbol").aggregate([("last_date", "max")])
        return dict(
            zip(grouped["symbol"].to_pylist(), grouped["last_date_max"].to_pylist(), strict=True)
        )


def _by_freshness(symbols: list[str], hints: dict[str, dt.date]) -> list[list[str]]:
    """Symbols split into those near the newest last date and the rest."""
    if not symbols:
        return []
    newest = max(hints[s] for s in symbols)
    fresh = [s for s in symbols if hints[s] >= newest - _FRESH_SPAN]
    stale = [s for s in symbols if hints[s] < newest - _FRESH_SPAN]
    return [group for group in (fresh, stale) if group]
