"""The store's read API: every table by symbols, model and inclusive date ranges; empty
frames (with the table's columns) for unknown symbols or empty ranges; and the version
probe that caches poll."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.store import FeatureStore, errors, predictions

D = dt.date


def _predictions() -> pd.DataFrame:
    rows = []
    for symbol in ("AAPL", "MSFT"):
        for day in (D(2013, 1, 2), D(2013, 1, 3), D(2013, 1, 4)):
            rows.append(
                {
                    "symbol": symbol,
                    "as_of_date": day,
                    "target_date": day + dt.timedelta(days=1),
                    "model_name": "m",
                    "model_version": "1",
                    "last_close": 10.0,
                    "predicted_close": 10.0,
                    "lower": 9.0,
                    "upper": 11.0,
                    "predicted_return": 0.0,
                    "run_id": "r",
                    "created_at": pd.Timestamp("2013-01-05", tz="UTC"),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def store(tmp_path) -> FeatureStore:
    store = FeatureStore(str(tmp_path / "store"))
    store.predictions.write(_predictions())
    return store


def test_predictions_filter_by_symbol_model_and_inclusive_dates(store: FeatureStore) -> None:
    rows = store.predictions.read_rows(
        ["AAPL"], "m", as_of_start=D(2013, 1, 3), as_of_end=D(2013, 1, 4)
    )
    assert list(rows["symbol"]) == ["AAPL", "AAPL"]
    assert list(rows["as_of_date"].dt.date) == [D(2013, 1, 3), D(2013, 1, 4)]


def test_predictions_by_target_date_include_both_bounds_and_exclude_after(
    store: FeatureStore,
) -> None:
    rows = store.predictions.read_rows(target_start=D(2013, 1, 4), target_end=D(2013, 1, 5))
    assert sorted(set(rows["target_date"].dt.date)) == [D(2013, 1, 4), D(2013, 1, 5)]
    later = store.predictions.read_rows(target_after=D(2013, 1, 4))
    assert set(later["target_date"].dt.date) == {D(2013, 1, 5)}


def test_unknown_symbol_or_model_gives_an_empty_frame_with_the_columns(
    store: FeatureStore,
) -> None:
    for rows in (
        store.predictions.read_rows(["NOPE"]),
        store.predictions.read_rows(model_name="x"),
    ):
        assert rows.empty
        assert list(rows.columns) == predictions.SCHEMA.names


def test_tables_not_created_yet_read_as_empty(store: FeatureStore) -> None:
    assert store.errors.read_rows(["AAPL"]).empty
    assert store.summary.read_rows(start=D(2013, 1, 1)).empty
    assert store.prices().read(["AAPL"]).empty
    assert list(store.errors.read_rows().columns) == errors.SCHEMA.names


def test_selected_columns_only(store: FeatureStore) -> None:
    rows = store.predictions.read_rows(["MSFT"], columns=["symbol", "upper"])
    assert list(rows.columns) == ["symbol", "upper"]
    assert len(rows) == 3


def test_version_probe_moves_after_a_write_and_not_after_a_read(store: FeatureStore) -> None:
    before = store.versions()
    assert before["predictions"] == 0
    assert before["errors"] is None
    store.predictions.read_rows(["AAPL"])
    assert store.versions() == before
    changed = _predictions().assign(upper=12.0)
    store.predictions.write(changed)
    assert store.versions()["predictions"] == 1
