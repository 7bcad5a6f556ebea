"""Ingestion: fetch daily prices, check them against the row contract, upsert the
good rows into the `prices` feature group and quarantine the rest with their reason.

Incremental by default: without a start date each symbol resumes a few trading days
before its last stored row (to pick up restated history), and a symbol with nothing
stored gets its full history. Re-running any ingest changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from market_predictor.checks import check_range
from market_predictor.config import Settings
from market_predictor.day import resolve_symbols
from market_predictor.errors import InputError
from market_predictor.results import IngestResult
from market_predictor.sources import get_source
from market_predictor.store import FeatureStore, PriceFeatureGroup, prices, quarantine
from market_predictor.validation import validate_prices


def ingest_prices(
    settings: Settings,
    *,
    symbols: str | Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    source: str | None = None,
    path: Path | None = None,
    as_of: dt.date | None = None,
    feature_group_version: int | None = None,
    interval: str = "1d",
) -> IngestResult:
    """Ingest `symbols` (default: settings.symbols) from `source` (default: settings.source).

    `as_of` (default today) is the run's knowledge cut: rows dated after it are
    quarantined as "future date", and `end` defaults to it. Every input and the store
    URI are checked before anything is fetched or written.
    """
    wanted = resolve_symbols(settings, symbols) or []
    as_of = as_of or dt.date.today()
    end = end or as_of
    check_range(start, end)
    version = (
        settings.feature_group_version if feature_group_version is None else feature_group_version
    )
    if version < 1:
        raise InputError(f"feature group version must be 1 or more, not {version}")
    price_source = get_source(
        source or settings.source, path or settings.source_path, interval=interval
    )
    store = FeatureStore.from_settings(settings, version)
    store.ensure_writable()
    group = store.prices()

    plan = _fetch_plan(group, wanted, start, settings.ingest_overlap_days)
    fetched = pd.concat(
        [price_source.fetch(group, group_start, end) for group_start, group in plan.items()],
        ignore_index=True,
    )
    valid, rejected = validate_prices(fetched, as_of)

    run_id = uuid.uuid4().hex
    now = pd.Timestamp.now(tz="UTC")
    metadata = {
        "mpp_command": "ingest",
        "source": price_source.name,
        "run_id": run_id,
        "as_of": as_of.isoformat(),
    }
    summary = IngestResult(
        source=price_source.name,
        symbols=wanted,
        start=start,
        end=end,
        fetched=len(fetched),
        quarantined=len(rejected),
        feature_group_version=version,
        quarantine_reasons={k: int(v) for k, v in rejected["reason"].value_counts().items()},
    )
    if not rejected.empty:
        store.quarantine.write(
            quarantine.rows(rejected, price_source.name, run_id, now), metadata=metadata
        )
    if valid.empty:
        summary.table_version = group.table_version()
        return summary
    result = group.upsert(_price_rows(valid, price_source.name, now), metadata=metadata)
    summary.inserted = result.inserted
    summary.updated = result.updated
    summary.unchanged = len(valid) - result.inserted - result.updated
    summary.table_version = result.version
    return summary


def _fetch_plan(
    group: PriceFeatureGroup, symbols: list[str], start: dt.date | None, overlap: int
) -> dict[dt.date | None, list[str]]:
    """Symbols grouped by the date to fetch from, so each group is one source call."""
    if start is not None:
        return {start: symbols}
    resume = _resume_dates(group, symbols, overlap)
    plan: dict[dt.date | None, list[str]] = defaultdict(list)
    for symbol in symbols:
        plan[resume.get(symbol)].append(symbol)
    return dict(plan)


def _resume_dates(group: PriceFeatureGroup, symbols: list[str], overlap: int) -> dict[str, dt.date]:
    """Per stored symbol, the date `overlap` stored trading days before its last row.

    Counting stored rows rather than calendar days means holidays and the exchange
    calendar need no special case: the last `overlap` sessions are re-fetched. Only
    those last rows are read, not the history."""
    stored = group.tail(symbols, max(overlap, 0) + 1)
    cut = stored.groupby("symbol")["date"].min()
    return {symbol: pd.Timestamp(day).date() for symbol, day in cut.items()}


def _price_rows(valid: pd.DataFrame, source: str, now: pd.Timestamp) -> pd.DataFrame:
    rows = valid[list(prices.BAR_COLUMNS)].copy()
    rows["source"] = source
    rows["ingested_at"] = now
    return rows
