from __future__ import annotations

from pathlib import Path

import pandas as pd

from market_predictor.store import FeatureStore


def _day(symbol: str, day: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": [symbol],
            "date": [pd.Timestamp("2020-01-01") + pd.Timedelta(days=day)],
            "open": [10.0 + day],
            "high": [11.0 + day],
            "low": [9.0 + day],
            "close": [10.5 + day],
            "volume": [1000.0],
            "source": ["test"],
            "ingested_at": [pd.Timestamp("2020-06-01", tz="UTC")],
        }
    )


def test_compaction_merges_daily_files_and_keeps_rows_and_history(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    prices = store.prices()
    for day in range(6):
        prices.upsert(_day("AAPL", day))
    before = prices.read()
    files_before = prices.table.file_count()
    version_before = prices.table_version()

    compacted = store.compact(min_files=4)

    assert prices.table.name in compacted
    assert prices.table.file_count() < files_before
    pd.testing.assert_frame_equal(prices.read(), before)
    assert len(prices.read(table_version=version_before)) == len(before)


def test_a_table_with_few_files_is_left_alone(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    store.prices().upsert(_day("AAPL", 0))
    version = store.prices().table_version()
    assert store.compact(min_files=4) == []
    assert store.prices().table_version() == version
