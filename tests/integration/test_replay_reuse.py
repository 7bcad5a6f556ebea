"""Replay reads a price file once for all its days; what it stores must be exactly what
the daily job stores when it runs day by day, reading the file afresh each day."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from market_predictor import calendar
from market_predictor.config import Settings, get_settings
from market_predictor.pipeline import replay, run_daily
from market_predictor.reuse import across_days
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


@pytest.mark.slow  # about a minute on 2 shared cores
def test_interval_scales_kept_across_days_equal_fresh_reads_after_late_errors_and_compaction(
    ops_home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A step this large hits the scale's clip, so the order errors are folded in shows.
    monkeypatch.setenv("MPP_ONLINE_CALIBRATION_ETA", "1.0")
    get_settings.cache_clear()
    kept = get_settings()
    fresh = kept.model_copy(update={"home": tmp_path / "fresh"})
    shutil.copytree(kept.resolved_home, fresh.resolved_home)
    days = calendar.trading_days(FIRST, dt.date(2012, 12, 11), kept.calendar)

    with across_days():
        _run_days(kept, days)
    _run_days(fresh, days)

    ours, theirs = _stored(kept), _stored(fresh)
    ours["scales"], theirs["scales"] = (
        FeatureStore.from_settings(s).scales.read().drop(columns="created_at")
        for s in (kept, fresh)
    )
    assert ours["scales"]["n_updates"].max() >= 5
    for table in ours:
        ordered = ours[table].sort_values(list(ours[table].columns[:3]), ignore_index=True)
        pd.testing.assert_frame_equal(
            ordered,
            theirs[table].sort_values(list(ordered.columns[:3]), ignore_index=True),
            check_exact=True,
            obj=table,
        )


def _run_days(settings: Settings, days: list[dt.date]) -> None:
    for number, day in enumerate(days):
        assert run_daily(settings, as_of=day, retrain=False).failed_step is None
        store = FeatureStore.from_settings(settings)
        if number == 2:
            # Another process stores misses dated before every error the kept state
            # holds: the state must fold every error again, in date order.
            store.errors.write(_late_misses(store))
        if number == 4:
            store.compact(min_files=1)  # every file the kept reads had seen goes


def _late_misses(store: FeatureStore) -> pd.DataFrame:
    """Realised errors of AAPL's champion version dated before the replay began: two
    closes far below their interval, then two far above it."""
    first = store.errors.read_rows(["AAPL"]).sort_values("target_date").iloc[[0, 0, 0, 0]]
    return first.assign(
        target_date=pd.to_datetime(["2012-11-26", "2012-11-27", "2012-11-28", "2012-11-29"]),
        as_of_date=pd.to_datetime(["2012-11-23", "2012-11-26", "2012-11-27", "2012-11-28"]),
        actual_close=[*(first["lower"].iloc[:2] / 2), *(first["upper"].iloc[2:] * 2)],
    )
