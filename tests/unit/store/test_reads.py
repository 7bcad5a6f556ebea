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


def _later_forecast(symbol: str, day: dt.date, upper: float = 11.0) -> pd.DataFrame:
    return (
        _predictions()
        .iloc[:1]
        .assign(symbol=symbol, as_of_date=day, target_date=day + dt.timedelta(days=1), upper=upper)
    )


def test_an_added_read_returns_only_the_rows_written_after_the_files_it_was_given(
    store: FeatureStore,
) -> None:
    first = store.predictions.read_added(None)
    assert first.complete and len(first.rows) == 6
    store.predictions.write(_later_forecast("IBM", D(2013, 1, 7)))
    store.predictions.write(_later_forecast("GOOG", D(2013, 1, 8)))
    added = store.predictions.read_added(first.files, columns=["symbol", "as_of_date"])
    assert not added.complete
    assert sorted(added.rows["symbol"]) == ["GOOG", "IBM"]
    assert list(added.rows.columns) == ["symbol", "as_of_date"]
    # The rows read before and the added ones are the table's rows now.
    everything = store.predictions.read(columns=["symbol", "as_of_date"])
    assert len(first.rows) + len(added.rows) == len(everything)
    assert store.predictions.read_added(added.files).rows.empty


def test_an_added_read_after_a_compaction_or_an_update_reads_every_row(
    store: FeatureStore,
) -> None:
    before = store.predictions.read_added(None)
    store.predictions.write(_later_forecast("IBM", D(2013, 1, 7)))
    store.predictions.compact(min_files=1)
    compacted = store.predictions.read_added(before.files)
    assert compacted.complete and len(compacted.rows) == 7
    store.predictions.write(_later_forecast("IBM", D(2013, 1, 7), upper=12.0))  # restated
    updated = store.predictions.read_added(compacted.files)
    assert updated.complete and len(updated.rows) == 7
    assert updated.rows.loc[updated.rows["symbol"] == "IBM", "upper"].tolist() == [12.0]


def test_an_added_read_of_a_table_not_created_yet_is_complete_and_empty(
    store: FeatureStore,
) -> None:
    added = store.errors.read_added(None, columns=["symbol"])
    assert added.complete and added.rows.empty and not added.files


def _error_of(forecast: pd.Series, version: str = "1") -> dict[str, object]:
    return {
        **{key: forecast[key] for key in ("symbol", "target_date", "as_of_date", "model_name")},
        "horizon": 1,
        "model_version": version,
        "actual_close": 10.5,
        "predicted_close": 10.0,
        "lower": 9.0,
        "upper": 11.0,
        "last_close": 10.0,
        "abs_error": 0.5,
        "pct_error": 5.0,
        "persistence_abs_error": 0.5,
        "inside_interval": True,
        "direction_correct": None,
        "created_at": pd.Timestamp("2013-01-06", tz="UTC"),
    }


def test_unscored_forecasts_are_the_due_ones_without_an_error_of_their_version(
    store: FeatureStore,
) -> None:
    made = store.predictions.read_rows()
    scored = made[made["as_of_date"] == pd.Timestamp(D(2013, 1, 2))]
    store.errors.write(pd.DataFrame([_error_of(row) for _, row in scored.iterrows()]))
    # An error of another version of the same forecast does not score this one.
    other = made[made["as_of_date"] == pd.Timestamp(D(2013, 1, 3))].iloc[:1]
    store.errors.write(pd.DataFrame([_error_of(other.iloc[0], version="2")]))
    # Merged files hold text as string_view; matching must not depend on the file type.
    store.errors.write(pd.DataFrame([_error_of(other.iloc[0], version="2")]).assign(pct_error=6))

    pending = store.unscored(None, "m", D(2013, 1, 1), D(2013, 1, 4))
    due = pending.sort_values(["symbol", "target_date"], ignore_index=True)
    assert list(due.columns) == predictions.SCHEMA.names
    assert list(zip(due["symbol"], due["target_date"].dt.date, strict=True)) == [
        ("AAPL", D(2013, 1, 4)),
        ("MSFT", D(2013, 1, 4)),
    ]
    # The target range bounds both ends; no forecast of another model is unscored.
    assert store.unscored(None, "m", D(2013, 1, 5), D(2013, 1, 5))["symbol"].tolist() == [
        "AAPL",
        "MSFT",
    ]
    assert store.unscored(None, "x", None, D(2013, 1, 5)).empty
    assert store.unscored(["MSFT"], "m", None, D(2013, 1, 4))["symbol"].tolist() == ["MSFT"]


def test_recent_served_errors_are_the_newest_versions_last_rows_of_each_symbol_and_horizon(
    tmp_path,
) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    rows = []
    for symbol in ("MSFT", "AAPL"):
        for horizon in (5, 1):
            for day in range(1, 8):
                target = D(2013, 1, day)
                for version in ("9", "10") if day == 6 else ("9",):
                    rows.append(
                        _error_of(
                            pd.Series(
                                {
                                    "symbol": symbol,
                                    "as_of_date": D(2013, 1, 1),
                                    "target_date": target,
                                    "model_name": "m",
                                }
                            ),
                            version,
                        )
                        | {"horizon": horizon, "actual_close": 10.0 + day + int(version)}
                    )
    store.errors.write(pd.DataFrame(rows).sample(frac=1.0, random_state=4))

    recent = store.errors.recent_served(None, "m", D(2013, 1, 2), D(2013, 1, 6), window=3)
    every = errors.served(store.errors.read_rows(None, "m", D(2013, 1, 2), D(2013, 1, 6)))
    pd.testing.assert_frame_equal(
        recent,
        every.groupby(["symbol", "horizon"], sort=False).tail(3).reset_index(drop=True),
        check_exact=True,
    )
    aapl = recent[(recent["symbol"] == "AAPL") & (recent["horizon"] == 1)]
    assert aapl["target_date"].dt.day.tolist() == [4, 5, 6]
    # Two versions served 6 January: version 10 is the newer, though "10" < "9" as text.
    assert aapl["model_version"].tolist() == ["9", "9", "10"]
    assert list(recent[["symbol", "horizon"]].drop_duplicates().itertuples(index=False)) == [
        ("AAPL", 1),
        ("AAPL", 5),
        ("MSFT", 1),
        ("MSFT", 5),
    ]
    assert store.errors.recent_served(["IBM"], "m", None, D(2013, 1, 6), window=3).empty


def _unscored_by_hand(store: FeatureStore, start: dt.date, end: dt.date) -> list[tuple]:
    """Forecasts with a target in [start, end] and no error, from fresh reads."""
    from deltalake import DeltaTable

    made = DeltaTable(store.predictions.uri).to_pandas()
    known = DeltaTable(store.errors.uri).to_pandas() if store.errors.exists() else None
    keys = list(errors.KEY)
    if known is not None:
        marked = made.merge(known[keys], on=keys, how="left", indicator=True)
        made = marked[marked["_merge"] == "left_only"]
    targets = pd.to_datetime(made["target_date"])
    made = made[(targets >= pd.Timestamp(start)) & (targets <= pd.Timestamp(end))]
    return sorted(zip(made["symbol"], pd.to_datetime(made["as_of_date"]).dt.date, strict=True))


def test_unscored_forecasts_kept_across_days_equal_a_fresh_match_after_every_write(
    tmp_path,
) -> None:
    from market_predictor.reuse import across_days

    store = FeatureStore(str(tmp_path / "store"))

    def forecasts(day: dt.date, symbols: tuple[str, ...] = ("AAPL", "MSFT")) -> pd.DataFrame:
        one = _predictions().iloc[[0] * len(symbols)]
        return one.assign(
            symbol=list(symbols), as_of_date=day, target_date=day + dt.timedelta(days=1)
        )

    def scored(day: dt.date, symbol: str) -> pd.DataFrame:
        forecast = pd.Series(
            {
                "symbol": symbol,
                "as_of_date": day,
                "target_date": day + dt.timedelta(days=1),
                "model_name": "m",
            }
        )
        return pd.DataFrame([_error_of(forecast)])

    days = [D(2013, 2, day) for day in range(1, 8)]
    steps = [
        lambda: store.predictions.write(forecasts(days[0])),
        lambda: store.predictions.write(forecasts(days[1])),
        lambda: store.errors.write(scored(days[0], "AAPL")),
        lambda: store.predictions.write(forecasts(days[2])),
        lambda: store.errors.write(scored(days[1], "MSFT")),
        # A late close: an error of a forecast made days ago.
        lambda: store.errors.write(scored(days[0], "MSFT")),
        lambda: store.errors.compact(min_files=1),
        # A forecast of a new symbol made as of an earlier day (a re-run).
        lambda: store.predictions.write(forecasts(days[1], ("IBM",))),
        lambda: store.predictions.compact(min_files=1),
        lambda: store.predictions.write(forecasts(days[3])),
        # An error stored before its forecast (another writer's order): never unscored.
        lambda: store.errors.write(scored(days[4], "AAPL")),
        lambda: store.predictions.write(forecasts(days[4])),
    ]
    with across_days():
        for step in steps:
            step()
            kept = store.unscored(None, "m", days[0], days[6])
            found = sorted(zip(kept["symbol"], kept["as_of_date"].dt.date, strict=True))
            assert found == _unscored_by_hand(store, days[0], days[6])
    assert found == [
        ("AAPL", days[1]),
        ("AAPL", days[2]),
        ("AAPL", days[3]),
        ("IBM", days[1]),
        ("MSFT", days[2]),
        ("MSFT", days[3]),
        ("MSFT", days[4]),
    ]
