"""A column added to a table's schema after homes were created (`horizon`): older
tables read it as the value their rows mean, and their first write gives them the column
and their rows that value, so keys stay unique across the change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from market_predictor.store import FeatureStore, predictions, summary
from market_predictor.store.delta import Table
from tests.fixtures.data import forecast_row

D = dt.date


def _forecast(as_of: dt.date, upper: float = 11.0) -> dict[str, object]:
    return forecast_row("AAPL", as_of, upper)


def _old_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([field for field in schema if field.name != "horizon"])


def _old_predictions(store: FeatureStore) -> None:
    """A predictions table as homes before multi-horizon forecasts wrote it."""
    old = Table(store.backend, "predictions", _old_schema(predictions.SCHEMA))
    old.upsert(pd.DataFrame([_forecast(D(2013, 1, 2))]), keys=("symbol", "as_of_date"))


def test_an_old_table_reads_its_rows_at_the_added_columns_value(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    _old_predictions(store)
    rows = store.predictions.read_rows()
    assert list(rows["horizon"]) == [1]
    assert list(store.predictions.read_rows(columns=["symbol", "horizon"]).columns) == [
        "symbol",
        "horizon",
    ]
    assert "horizon" not in DeltaTable(store.predictions.uri).schema().to_arrow().names


def test_the_first_write_adds_the_column_and_gives_older_rows_its_value(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    _old_predictions(store)
    store.predictions.write(pd.DataFrame([_forecast(D(2013, 1, 3))]).assign(horizon=5))
    stored = DeltaTable(store.predictions.uri).to_pyarrow_table().to_pandas()
    assert sorted(stored["horizon"]) == [1, 5]  # no nulls left behind


def test_an_older_row_rewritten_after_the_change_is_updated_not_duplicated(
    tmp_path: Path,
) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    _old_predictions(store)
    result = store.predictions.write(pd.DataFrame([_forecast(D(2013, 1, 2), upper=12.0)]))
    assert (result.inserted, result.updated) == (0, 1)
    rows = store.predictions.read_rows()
    assert len(rows) == 1 and rows["upper"].iloc[0] == 12.0


def test_a_summary_day_rerun_after_the_change_keeps_one_row_per_key(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    row = dict.fromkeys(summary.SCHEMA.names) | {
        "date": D(2013, 1, 2),
        "symbol": "AAPL",
        "n": 3,
        "tests": "[]",
        "retrain_recommended": False,
        "reason": "",
    }
    old = Table(store.backend, summary.TABLE_NAME, _old_schema(summary.SCHEMA))
    old.upsert(pd.DataFrame([row]).drop(columns="horizon"), keys=("date", "symbol"))
    store.summary.write(pd.DataFrame([row | {"horizon": 1, "n": 4}]))
    rows = store.summary.read_rows()
    assert list(rows["n"]) == [4] and list(rows["horizon"]) == [1]


def test_a_table_created_with_the_column_needs_no_migration_commits(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    store.predictions.write(pd.DataFrame([_forecast(D(2013, 1, 2))]))
    store.predictions.write(pd.DataFrame([_forecast(D(2013, 1, 3))]))
    operations = [commit["operation"] for commit in store.predictions.history()]
    # Two writes (a new key appends), and no column added, backfilled or marked.
    assert operations == ["WRITE", "WRITE"]
