"""The same ingest, time travel and dataset code on s3:// (moto's S3 server on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import get_settings
from market_predictor.errors import InputError
from market_predictor.ingest import ingest_prices
from market_predictor.store import FeatureStore

pytestmark = pytest.mark.s3


def test_ingest_time_travel_and_datasets_work_on_s3(s3_store: str) -> None:
    settings = get_settings()
    assert settings.resolved_store_uri == s3_store
    first = ingest_prices(
        settings, symbols=["AAPL", "MSFT"], source="sample", as_of=dt.date(2013, 1, 15)
    )
    again = ingest_prices(
        settings, symbols=["AAPL", "MSFT"], source="sample", as_of=dt.date(2013, 1, 15)
    )
    later = ingest_prices(
        settings, symbols=["AAPL", "MSFT"], source="sample", as_of=dt.date(2013, 2, 1)
    )
    assert (again.inserted, again.updated) == (0, 0)
    assert later.inserted == 2 * 12

    store = FeatureStore.from_settings(settings)
    prices = store.prices()
    assert prices.uri.startswith(s3_store)
    assert len(prices.read(table_version=first.table_version)) == first.inserted
    assert len(prices.read()) == first.inserted + later.inserted
    assert prices.last_dates() == {"AAPL": dt.date(2013, 2, 1), "MSFT": dt.date(2013, 2, 1)}

    dataset = store.datasets.create(prices, dt.date(2012, 1, 1), dt.date(2012, 12, 31))
    ingest_prices(settings, symbols=["IBM"], source="sample", as_of=dt.date(2013, 2, 1))
    _, rows = store.datasets.read(dataset.version)
    assert len(rows) == dataset.row_count == 500
    assert dataset.uri.startswith(s3_store)
    assert set(prices.statistics()["symbol"]) == {"AAPL", "IBM", "MSFT"}


def test_cli_ingest_and_dataset_create_on_s3(s3_store: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--source", "sample", "--symbols", "GOOG", "--json"])
    assert result.exit_code == 0, result.output
    created = runner.invoke(
        app, ["dataset", "create", "--start", "2012-01-01", "--end", "2012-06-30", "--json"]
    )
    assert created.exit_code == 0, created.output
    stored = FeatureStore(s3_store).prices().read(["GOOG"])
    assert stored["date"].min() == pd.Timestamp("2004-08-19")


def test_missing_bucket_is_an_unwritable_store(s3_store: str) -> None:
    store = FeatureStore("s3://no-such-bucket-here/prefix")
    with pytest.raises(InputError, match="not writable"):
        store.ensure_writable()
