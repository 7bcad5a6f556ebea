"""Per-symbol statistics of the price features (count, min, max, mean, missing rate,
first and last date), kept current without re-reading the history.

A day's ingest only appends rows after each symbol's last date, so the statistics
merge: counts add, min and max compare, means combine weighted by count. When a write
restated stored rows (values can leave a min or max) or filled a gap, the touched
symbols are recomputed from their rows instead; when an earlier statistics write was
lost (a process killed between the two commits), every symbol is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from market_predictor.store import prices
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table
from market_predictor.store.rows import arrow_schema

FEATURES = prices.VALUES


class FeatureStatistic(BaseModel):
    symbol: str
    feature: str
    description: str
    count: int
    min: float
    max: float
    mean: float
    missing_rate: float
    first_date: dt.date
    last_date: dt.date
    table_version: int
    updated_at: dt.datetime


SCHEMA = arrow_schema(FeatureStatistic)
# Prices-table operations that never change a row, so statistics stay current across them.
_NO_ROW_CHANGES = {"OPTIMIZE", "VACUUM START", "VACUUM END"}


def compute(rows: pd.DataFrame, table_version: int, now: pd.Timestamp) -> pd.DataFrame:
    """Statistics rows (SCHEMA) of every symbol in `rows`."""
    if rows.empty:
        return pd.DataFrame(columns=SCHEMA.names)
    rows = rows.assign(date=pd.to_datetime(rows["date"]))
    by_symbol = rows.groupby("symbol", sort=True)
    size = by_symbol.size()
    dates = by_symbol["date"].agg(["min", "max"])
    parts = []
    for feature in FEATURES:
        values = by_symbol[feature].agg(["count", "min", "max", "mean"])
        parts.append(
            pd.DataFrame(
                {
                    "symbol": values.index,
                    "feature": feature,
                    "description": prices.DESCRIPTIONS[feature],
                    "count": values["count"].to_numpy(dtype="int64"),
                    "min": values["min"].to_numpy(dtype="float64"),
                    "max": values["max"].to_numpy(dtype="float64"),
                    "mean": values["mean"].to_numpy(dtype="float64"),
                    "missing_rate": (size.to_numpy() - values["count"].to_numpy())
                    / size.to_numpy(),
                    "first_date": dates["min"].to_numpy(),
                    "last_date": dates["max"].to_numpy(),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["table_version"] = table_version
    frame["updated_at"] = now
    return frame.sort_values(["symbol", "feature"], ignore_index=True)


def merge(
    stored: pd.DataFrame, added: pd.DataFrame, table_version: int, now: pd.Timestamp
) -> pd.DataFrame:
    """Statistics of stored rows plus rows dated after them (each side from `compute`).

    Symbols only in `added` are new and taken as they are."""
    old = stored.set_index(["symbol", "feature"])
    new = added.set_index(["symbol", "feature"])
    both = old.index.intersection(new.index)
    a, b = old.loc[both], new.loc[both]
    a_rows, b_rows = _row_count(a), _row_count(b)
    count = a["count"] + b["count"]
    total = a["count"] * a["mean"].fillna(0.0) + b["count"] * b["mean"].fillna(0.0)
    merged = pd.DataFrame(
        {
            "description": a["description"],
            "count": count,
            "min": np.fmin(a["min"], b["min"]),
            "max": np.fmax(a["max"], b["max"]),
            "mean": (total / count).where(count > 0),
            "missing_rate": (a_rows + b_rows - count) / (a_rows + b_rows),
            "first_date": np.minimum(a["first_date"], b["first_date"]),
            "last_date": np.maximum(a["last_date"], b["last_date"]),
        },
        index=both,
    )
    frame = pd.concat([merged, new.loc[new.index.difference(both)]]).reset_index()
    frame["table_version"] = table_version
    frame["updated_at"] = now
    return frame[list(SCHEMA.names)].sort_values(["symbol", "feature"], ignore_index=True)


def rows_after(stored: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows dated after their symbol's stored last date (all rows of a symbol the
    statistics do not know)."""
    if stored.empty:
        return rows
    last = pd.to_datetime(stored.groupby("symbol")["last_date"].max())
    bound = pd.to_datetime(rows["symbol"].map(last))
    return rows[bound.isna() | (pd.to_datetime(rows["date"]) > bound)]


def mergeable(stored: pd.DataFrame, symbols: Sequence[str]) -> bool:
    """Whether the stored statistics of `symbols` can absorb appended rows exactly:
    every feature present, and each row count recoverable from count and missing rate."""
    known = stored[stored["symbol"].isin(list(symbols))]
    complete = known.groupby("symbol")["feature"].nunique().eq(len(FEATURES)).all()
    return bool(complete) and bool((known["missing_rate"] < 1.0).all())


def current(stored: pd.DataFrame, history: list[dict[str, object]], table_version: int) -> bool:
    """Whether `stored` reflects every prices commit before `table_version`.

    Each statistics write records the prices version it describes; the newest one is
    current if no commit between it and `table_version` changed a row."""
    described = int(stored["table_version"].max()) if not stored.empty else -1
    for commit in history:
        version = int(commit.get("version", -1))  # type: ignore[call-overload]
        if described < version < table_version and _changes_rows(commit):
            return False
    return True


def _changes_rows(commit: dict[str, object]) -> bool:
    operation = str(commit.get("operation", ""))
    if operation in _NO_ROW_CHANGES:
        return False
    if operation == "MERGE":
        metrics = commit.get("operationMetrics") or {}
        assert isinstance(metrics, dict)
        changed = ("num_target_rows_inserted", "num_target_rows_updated", "num_target_rows_deleted")
        return any(int(metrics.get(name, 1)) for name in changed)
    return True


def _row_count(stats: pd.DataFrame) -> pd.Series:
    # missing_rate = (rows - count) / rows, so rows = count / (1 - missing_rate).
    return (stats["count"] / (1.0 - stats["missing_rate"])).round()


def table(backend: StorageBackend, feature_group_version: int) -> Table:
    """The statistics table of one version of the prices feature group."""
    return Table(
        backend,
        f"metadata/feature_groups/{prices.FEATURE_GROUP}/v{feature_group_version}/statistics",
        SCHEMA,
    )
