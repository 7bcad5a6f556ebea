"""Training datasets stay identical after later ingests restate or extend history."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.errors import InputError, MPPError, NotFoundError
from market_predictor.ingest import ingest_prices
from market_predictor.store import FeatureStore, prices
from market_predictor.store.datasets import content_hash
from market_predictor.store.delta import Table

START, END = dt.date(2012, 1, 1), dt.date(2012, 12, 31)


@pytest.fixture
def store(settings: Settings) -> FeatureStore:
    ingest_prices(
        settings,
        symbols=["AAPL", "MSFT"],
        source="sample",
        start=dt.date(2011, 6, 1),
        as_of=dt.date(2013, 1, 15),
    )
    return FeatureStore.from_settings(settings)


def test_dataset_reads_back_identical_rows_after_new_ingestion_and_restatement(
    store: FeatureStore, settings: Settings
) -> None:
    dataset = store.datasets.create(store.prices(), START, END)
    _, before = store.datasets.read(dataset.version)

    ingest_prices(settings, symbols=["IBM"], source="sample", as_of=dt.date(2013, 3, 1))
    restated = store.prices().read(["AAPL"], dt.date(2012, 6, 1), dt.date(2012, 6, 30))
    store.prices().upsert(restated.assign(close=restated["close"] * 0.5, low=restated["low"] * 0.5))

    again, after = store.datasets.read(dataset.version)
    pd.testing.assert_frame_equal(before, after)
    assert content_hash(after) == dataset.content_hash == again.content_hash
    assert len(after) == dataset.row_count == 2 * 250
    live = store.prices().read(start=START, end=END)
    assert content_hash(live) != dataset.content_hash


def test_dataset_records_its_lineage(store: FeatureStore) -> None:
    dataset = store.datasets.create(store.prices(), START, END, symbols=["MSFT"])
    lineage = dataset.lineage()
    assert lineage["feature_table_version"] == str(store.prices().table_version())
    assert lineage["dataset_rows"] == "250"
    assert lineage["dataset_symbols"] == "MSFT"
    assert lineage["dataset_start"] == "2012-01-01"


def test_dataset_versions_count_up_and_list_in_order(store: FeatureStore) -> None:
    versions = [store.datasets.create(store.prices(), START, END).version for _ in range(2)]
    assert versions == [1, 2]
    assert [d.version for d in store.datasets.list()] == [1, 2]
    assert store.datasets.get(2).row_count == 500


def test_missing_dataset_version_and_unknown_symbol_are_not_found(store: FeatureStore) -> None:
    with pytest.raises(NotFoundError):
        store.datasets.get(7)
    with pytest.raises(NotFoundError, match="IBM"):
        store.datasets.create(store.prices(), START, END, symbols=["IBM"])


def test_dataset_of_an_empty_store_is_an_input_error(settings: Settings) -> None:
    empty = FeatureStore.from_settings(settings)
    with pytest.raises(InputError, match="no prices yet"):
        empty.datasets.create(empty.prices(), START, END)


def test_the_catalog_stores_locations_relative_to_the_store_root(
    store: FeatureStore, tmp_path: Path
) -> None:
    created = store.datasets.create(store.prices(), START, END, ["AAPL"])
    catalog = store.datasets.catalog.read()
    assert catalog["uri"].tolist() == ["training_datasets/prices_daily/v1"]

    copy = FeatureStore(str(tmp_path / "copied-store"))
    shutil.copytree(store.uri, copy.uri)
    shutil.rmtree(store.uri)
    dataset, rows = copy.datasets.read(created.version)
    assert dataset.uri == f"{copy.uri}/training_datasets/prices_daily/v1"
    assert content_hash(rows) == created.content_hash


def test_reuse_returns_the_version_of_the_same_selection_instead_of_an_orphan_copy(
    store: FeatureStore, settings: Settings
) -> None:
    first = store.datasets.create(store.prices(), START, END, ["AAPL"])
    again = store.datasets.create(store.prices(), START, END, ["AAPL"], reuse=True)
    assert again.version == first.version
    shorter = dt.date(2012, 12, 28)
    other_end = store.datasets.create(store.prices(), START, shorter, ["AAPL"], reuse=True)
    assert other_end.version == 2
    # A later ingest moves the table version: the same dates are a new dataset.
    ingest_prices(
        settings,
        symbols=["AAPL"],
        source="sample",
        start=dt.date(2013, 1, 16),
        as_of=dt.date(2013, 1, 31),
    )
    moved = store.datasets.create(store.prices(), START, END, ["AAPL"], reuse=True)
    assert moved.version == 3
    assert [d.version for d in store.datasets.list()] == [1, 2, 3]


def test_reading_a_dataset_whose_rows_were_changed_is_refused(store: FeatureStore) -> None:
    dataset = store.datasets.create(store.prices(), START, END)
    table = Table(store.backend, f"training_datasets/{dataset.name}/v1", prices.SCHEMA)
    rows = table.read()
    table.replace_where(rows.iloc[1:], "true")  # one row fewer
    with pytest.raises(MPPError, match=r"prices_daily v1 does not match its recorded row count"):
        store.datasets.read(dataset.version)
    restated = rows.assign(volume=rows["volume"] + 1)
    table.replace_where(restated, "true")  # as many rows, other values
    with pytest.raises(MPPError, match="content hash"):
        store.datasets.read(dataset.version)
    table.replace_where(rows, "true")  # the original rows again
    _, back = store.datasets.read(dataset.version)
    assert content_hash(back) == dataset.content_hash


@pytest.mark.parametrize("batch_rows", [1, 400, 10_000])
def test_batches_are_the_datasets_rows_before_the_cut_in_whole_symbols(
    settings: Settings, batch_rows: int
) -> None:
    from tests.fixtures.ml import store_prices, synthetic_prices

    store_prices(settings, synthetic_prices(("CCC", "AAA", "BBB"), days=200))
    store = FeatureStore.from_settings(settings)
    dataset = store.datasets.create(store.prices(), dt.date(2015, 1, 1), dt.date(2016, 12, 31))
    cut = dt.date(2015, 6, 1)
    batches = list(store.datasets.read_batches(dataset.version, before=cut, batch_rows=batch_rows))
    _, rows = store.datasets.read(dataset.version)
    expected = rows.loc[rows["date"] < pd.Timestamp(cut), list(prices.BAR_COLUMNS)]
    pd.testing.assert_frame_equal(
        pd.concat(batches, ignore_index=True), expected.reset_index(drop=True)
    )
    symbols = [list(pd.unique(batch["symbol"])) for batch in batches]
    assert [s for group in symbols for s in group] == ["AAA", "BBB", "CCC"]
    per_batch = {1: 1, 400: 2, 10_000: 3}[batch_rows]  # the dataset holds 200 rows a symbol
    assert max(len(group) for group in symbols) == per_batch


def test_rows_come_back_in_key_order_whatever_order_they_were_in() -> None:
    from market_predictor.store.datasets import in_key_order

    dates = pd.to_datetime(["2024-01-02", "2024-01-03"])
    ordered = pd.DataFrame(
        {"symbol": ["A", "A", "B", "B"], "date": [*dates, *dates], "x": range(4)}
    )
    pd.testing.assert_frame_equal(in_key_order(ordered), ordered)
    for shuffled in (ordered.iloc[[1, 0, 2, 3]], ordered.iloc[[2, 3, 0, 1]]):
        pd.testing.assert_frame_equal(in_key_order(shuffled), ordered)
    assert in_key_order(ordered.iloc[:0]).empty
