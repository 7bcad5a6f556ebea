"""The lead's Delta feature group, exercised with real sample rows."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from market_predictor.config import MAX_FEATURE_GROUP_VERSION
from market_predictor.errors import InputError
from market_predictor.store import FeatureStore, PriceFeatureGroup
from tests.fixtures.data import price_rows


def _rows(symbol: str = "AAPL", days: int = 5, start: str = "2013-01-02") -> pd.DataFrame:
    rows = price_rows(symbol, days, start).drop(columns="adjusted")
    return rows.assign(source="sample", ingested_at=pd.Timestamp("2024-01-01", tz="UTC"))


@pytest.fixture
def prices(tmp_path) -> PriceFeatureGroup:  # type: ignore[no-untyped-def]
    return FeatureStore(str(tmp_path / "store")).prices()


def test_upsert_of_the_same_rows_is_idempotent(prices: PriceFeatureGroup) -> None:
    first = prices.upsert(_rows())
    second = prices.upsert(_rows())
    assert (first.inserted, second.inserted, second.updated) == (5, 0, 0)
    assert len(prices.read()) == 5


def test_upsert_with_only_a_new_ingestion_time_changes_nothing(prices: PriceFeatureGroup) -> None:
    prices.upsert(_rows())
    later = _rows().assign(ingested_at=pd.Timestamp("2025-01-01", tz="UTC"))
    result = prices.upsert(later)
    assert result.updated == 0
    assert prices.read()["ingested_at"].max() == pd.Timestamp("2024-01-01", tz="UTC")


def test_time_travel_reads_any_earlier_version(prices: PriceFeatureGroup) -> None:
    v0 = prices.upsert(_rows(days=3)).version
    v1 = prices.upsert(_rows("MSFT", days=3)).version
    restated = _rows(days=1).assign(close=lambda f: f["close"] * 1.01, high=lambda f: f["high"] * 2)
    v2 = prices.upsert(restated).version
    assert (v0, v1, v2) == (0, 1, 2)
    assert len(prices.read(table_version=v0)) == 3
    assert len(prices.read(table_version=v1)) == 6
    assert prices.read(["AAPL"], table_version=v1)["close"].iloc[0] == pytest.approx(
        _rows().iloc[0]["close"]
    )
    assert prices.read(["AAPL"])["close"].iloc[0] == pytest.approx(_rows().iloc[0]["close"] * 1.01)


def test_read_filters_symbols_and_an_inclusive_date_range(prices: PriceFeatureGroup) -> None:
    prices.upsert(pd.concat([_rows(days=5), _rows("IBM", days=5)]))
    prices.upsert(_rows("IBM", days=1, start="2013-01-09"))  # a merge: mixed file types
    frame = prices.read(["IBM"], dt.date(2013, 1, 3), dt.date(2013, 1, 7))
    assert set(frame["symbol"]) == {"IBM"}
    assert list(frame["date"].dt.day) == [3, 4, 7]
    assert prices.last_dates() == {"AAPL": dt.date(2013, 1, 8), "IBM": dt.date(2013, 1, 9)}
    assert prices.symbols() == ["AAPL", "IBM"]


def test_statistics_describe_each_feature_per_symbol(prices: PriceFeatureGroup) -> None:
    rows = _rows(days=10)
    prices.upsert(rows)
    stats = prices.statistics().set_index(["symbol", "feature"])
    close = stats.loc[("AAPL", "close")]
    assert close["count"] == 10
    assert close["min"] == pytest.approx(rows["close"].min())
    assert close["max"] == pytest.approx(rows["close"].max())
    assert close["missing_rate"] == 0.0
    assert "adjusted" in close["description"]
    assert set(stats.index.get_level_values("feature")) == {
        "open",
        "high",
        "low",
        "close",
        "volume",
    }


def test_statistics_count_missing_values(prices: PriceFeatureGroup) -> None:
    rows = _rows(days=4)
    rows.loc[0, "volume"] = float("nan")
    prices.upsert(rows)
    volume = prices.statistics().set_index(["symbol", "feature"]).loc[("AAPL", "volume")]
    assert volume["missing_rate"] == pytest.approx(0.25)
    assert volume["count"] == 3


# -- statistics heal after a writer died between its two commits -----------------------


def _statistics_versions(prices: PriceFeatureGroup) -> set[int]:
    return set(prices.statistics()["table_version"])


def test_missing_statistics_are_rebuilt_by_the_next_upsert_even_if_it_changes_nothing(
    prices: PriceFeatureGroup,
) -> None:
    prices.upsert(pd.concat([_rows("AAPL"), _rows("MSFT")]))
    expected = prices.statistics().drop(columns="updated_at")
    # The data commit landed, the statistics commit never did.
    shutil.rmtree(prices.statistics_table.uri)
    assert prices.statistics_stale()

    result = prices.upsert(_rows("AAPL"))
    assert (result.inserted, result.updated) == (0, 0)
    rebuilt = prices.statistics().drop(columns="updated_at")
    pd.testing.assert_frame_equal(
        rebuilt.drop(columns="table_version"), expected.drop(columns="table_version")
    )
    assert not prices.statistics_stale()


def test_statistics_older_than_the_data_are_rebuilt_for_every_symbol(
    prices: PriceFeatureGroup,
) -> None:
    prices.upsert(pd.concat([_rows("AAPL"), _rows("MSFT")]))
    # A restatement committed without its statistics (the writer was killed).
    restated = _rows("MSFT").assign(close=lambda f: f["close"] * 2)
    prices.table.upsert(restated, keys=["symbol", "date"], compare=["close"])
    assert prices.statistics_stale()

    prices.upsert(_rows("AAPL"))
    stats = prices.statistics().set_index(["symbol", "feature"])
    assert stats.loc[("MSFT", "close"), "max"] == pytest.approx(restated["close"].max())
    assert not prices.statistics_stale()


def test_statistics_are_fresh_after_a_normal_upsert_and_after_compaction(
    prices: PriceFeatureGroup,
) -> None:
    for day in range(3):
        prices.upsert(_rows("AAPL", days=1, start=f"2013-01-0{day + 2}"))
    assert not prices.statistics_stale()
    assert prices.table.compact(min_files=1)  # rewrites files, changes no row
    assert not prices.statistics_stale()
    versions_before = _statistics_versions(prices)
    prices.upsert(_rows("AAPL", days=1, start="2013-01-02"))  # nothing new
    assert _statistics_versions(prices) == versions_before


@pytest.mark.parametrize("version", [0, MAX_FEATURE_GROUP_VERSION + 1])
def test_feature_group_versions_outside_the_documented_range_are_refused(
    tmp_path,
    version: int,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(InputError, match=f"use 1 to {MAX_FEATURE_GROUP_VERSION}"):
        PriceFeatureGroup(FeatureStore(str(tmp_path / "store")).backend, version)


def test_the_highest_documented_feature_group_version_is_accepted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert FeatureStore(str(tmp_path / "s")).prices(MAX_FEATURE_GROUP_VERSION).version == 999


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "volume"])
def test_restating_any_single_value_column_updates_that_row_only(
    prices: PriceFeatureGroup, column: str
) -> None:
    prices.upsert(_rows(days=3))
    restated = _rows(days=3)
    restated.loc[1, column] = restated.loc[1, column] + 0.01
    result = prices.upsert(restated)
    assert (result.inserted, result.updated) == (0, 1)
    stored = prices.read()
    assert stored.loc[1, column] == pytest.approx(restated.loc[1, column], abs=0, rel=1e-12)
    untouched = [c for c in ("open", "high", "low", "close", "volume") if c != column]
    pd.testing.assert_frame_equal(stored[untouched], _rows(days=3)[untouched])


def test_a_value_that_becomes_missing_is_a_restatement(prices: PriceFeatureGroup) -> None:
    prices.upsert(_rows(days=2))
    restated = _rows(days=2)
    restated.loc[0, "volume"] = float("nan")
    assert prices.upsert(restated).updated == 1
    assert pd.isna(prices.read().loc[0, "volume"])


def test_a_restatement_refreshes_the_statistics(prices: PriceFeatureGroup) -> None:
    prices.upsert(_rows(days=3))
    restated = _rows(days=3)
    restated.loc[2, "high"] = 1000.0
    version = prices.upsert(restated).version
    stats = prices.statistics().set_index(["symbol", "feature"]).loc[("AAPL", "high")]
    assert stats["max"] == 1000.0
    assert stats["table_version"] == version


def test_new_and_restated_rows_in_one_upsert_are_counted_apart(prices: PriceFeatureGroup) -> None:
    prices.upsert(_rows(days=2))
    batch = _rows(days=4)
    batch.loc[0, "close"] = batch.loc[0, "close"] * 1.01
    result = prices.upsert(batch)
    assert (result.inserted, result.updated) == (2, 1)
    assert len(prices.read()) == 4


def test_an_upsert_hands_the_merge_only_new_and_restated_rows(prices: PriceFeatureGroup) -> None:
    # Stored rows re-sent unchanged (an ingest's overlap days) must not reach the Delta
    # merge: there they make delta-rs scan the whole table.
    prices.upsert(_rows(days=4))
    batch = _rows(days=6)
    batch.loc[1, "close"] = batch.loc[1, "close"] * 1.01
    result = prices.upsert(batch)
    merge = prices.table.history(limit=1)[0]
    assert merge["operation"] == "MERGE"
    assert merge["operationMetrics"]["num_source_rows"] == 3
    assert (result.inserted, result.updated) == (2, 1)
    pd.testing.assert_frame_equal(
        prices.read()[["date", "close"]], batch[["date", "close"]], check_dtype=False
    )


def test_a_stored_missing_value_sent_again_is_not_a_restatement(prices: PriceFeatureGroup) -> None:
    rows = _rows(days=3)
    rows.loc[2, "volume"] = float("nan")
    prices.upsert(rows)
    again = prices.upsert(rows)
    assert (again.inserted, again.updated) == (0, 0)
    assert len(prices.read()) == 3


def test_a_table_checkpoints_its_log_so_an_open_replays_few_commits(
    prices: PriceFeatureGroup,
) -> None:
    # A daily job commits to each table once a day and opens it dozens of times; an
    # open replays every commit since the last checkpoint.
    for days in range(1, 26):
        prices.upsert(_rows(days=days))
    log = Path(prices.table.uri) / "_delta_log"
    checkpointed = json.loads((log / "_last_checkpoint").read_text())["version"]
    assert prices.table.version() - checkpointed <= 10
    assert len(prices.read()) == 25
