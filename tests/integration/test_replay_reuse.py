"""Replay reads a price file once for all its days; what it stores must be exactly what
the daily job stores when it runs day by day, reading the file afresh each day."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from market_predictor import calendar
from market_predictor.config import Settings
from market_predictor.pipeline import replay, run_daily
from market_predictor.sources.sample import load_sample_prices
from market_predictor.store import FeatureStore
from tests.fixtures.ops import HISTORY_START, OPS_SYMBOLS

FIRST, LAST = dt.date(2012, 12, 3), dt.date(2012, 12, 6)


def _stored(settings: Settings) -> dict[str, pd.DataFrame]:
    """Every row the days wrote, without write timestamps and run ids."""
    store = FeatureStore.from_settings(settings)
    tables = {
        "prices": store.prices().read().drop(columns="ingested_at"),
        "predictions": store.predictions.read().drop(columns=["created_at", "run_id"]),
        "errors": store.errors.read().drop(columns="created_at"),
        "summary": store.summary.read().drop(columns="created_at"),
    }
    return {
        name: frame.sort_values(list(frame.columns[:3]), ignore_index=True)
        for name, frame in tables.items()
    }


@pytest.mark.slow  # about a minute on 2 shared cores
def test_replay_stores_what_the_day_by_day_runs_store(ops_template: Path, tmp_path: Path) -> None:
    prices = load_sample_prices()
    prices = prices[prices["symbol"].isin(OPS_SYMBOLS) & (prices["date"] >= str(HISTORY_START))]
    path = tmp_path / "prices.parquet"
    prices.drop(columns="adjusted", errors="ignore").to_parquet(path, index=False)
    homes = []
    for name in ("replayed", "day-by-day"):
        shutil.copytree(ops_template, tmp_path / name)
        homes.append(
            Settings(
                home=tmp_path / name,
                source="parquet",
                source_path=path,
                symbols=list(OPS_SYMBOLS),
            )
        )
    replayed, daily = homes

    report = replay(replayed, start=FIRST, end=LAST, retrain=False)
    assert report.completed_days == 4 and report.failed_step is None
    for day in calendar.trading_days(FIRST, LAST, daily.calendar):
        assert run_daily(daily, as_of=day, retrain=False).failed_step is None

    ours, theirs = _stored(replayed), _stored(daily)
    assert len(ours["predictions"]) == 2 * 4
    for table in ours:
        pd.testing.assert_frame_equal(ours[table], theirs[table], check_exact=True)
