"""Within a replay (reuse.across_days) the store keeps open tables and the rows of data
files between reads; every read must still answer what a fresh scan of the table's
newest version answers, whatever other writers, compactions or schema changes did."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from market_predictor.reuse import across_days
from market_predictor.store import FeatureStore
from market_predictor.store.filters import all_of, date_range, matching
from tests.fixtures.data import forecast_row

D = dt.date


def _forecasts(symbol: str, day: dt.date, upper: float = 11.0) -> pd.DataFrame:
    return pd.DataFrame([{**forecast_row(symbol, day, upper), "horizon": 1}])


def _fresh(store: FeatureStore, condition: object) -> pd.DataFrame:
    """What a scan of the newest version returns, through deltalake alone."""
    table = DeltaTable(store.predictions.uri).to_pyarrow_dataset().to_table(filter=condition)
    return _ordered(table.to_pandas())


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(
        as_of_date=pd.to_datetime(frame["as_of_date"]),
        target_date=pd.to_datetime(frame["target_date"]),
    )
    return frame.sort_values(["symbol", "as_of_date"], ignore_index=True)


def test_kept_reads_see_other_writers_restatements_and_compactions(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    uri = store.predictions.uri
    condition = all_of([*matching(["AAPL", "MSFT"], "m"), *date_range("as_of_date", D(2013, 1, 2))])
    store.predictions.write(_forecasts("AAPL", D(2013, 1, 2)))

    def their_rows(symbol: str, day: dt.date) -> None:
        # Another process: deltalake alone, nothing this one keeps.
        write_deltalake(uri, store.predictions.to_arrow(_forecasts(symbol, day)), mode="append")

    with across_days():
        steps = [
            lambda: their_rows("MSFT", D(2013, 1, 3)),
            lambda: their_rows("IBM", D(2013, 1, 3)),
            lambda: DeltaTable(uri).update(
                new_values={"upper": "12.0"}, predicate="symbol = 'AAPL'"
            ),
            lambda: DeltaTable(uri).optimize.compact(),
            lambda: store.predictions.write(_forecasts("AAPL", D(2013, 1, 4))),
        ]
        seen = []
        for step in steps:
            store.predictions.read(filter=condition)  # what the next read may keep
            step()
            kept = _ordered(store.predictions.read(filter=condition))
            pd.testing.assert_frame_equal(
                kept, _fresh(store, condition), check_exact=True, check_dtype=False
            )
            seen.append(len(kept))
    assert seen == [2, 2, 2, 2, 3]
    restated = kept.loc[kept["as_of_date"] == pd.Timestamp("2013-01-02"), "upper"]
    assert restated.tolist() == [12.0]


def test_kept_file_rows_are_read_again_when_the_tables_schema_changes(tmp_path: Path) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    store.predictions.write(_forecasts("AAPL", D(2013, 1, 2)))
    with across_days():
        store.predictions.read()
        # A writer added a column without rewriting the older file (killed half way).
        from deltalake.schema import Field

        DeltaTable(store.predictions.uri).alter.add_columns(
            Field.from_arrow(pa.field("note", pa.string()))
        )
        newer = store.predictions.to_arrow(_forecasts("MSFT", D(2013, 1, 3)))
        write_deltalake(
            store.predictions.uri, newer.append_column("note", pa.array(["x"])), mode="append"
        )
        rows = store.predictions.read_arrow()
    by_symbol = rows.sort_by("symbol")
    assert by_symbol["symbol"].to_pylist() == ["AAPL", "MSFT"]
    assert by_symbol["note"].to_pylist() == [None, "x"]


def _bars(symbols: list[str], days: list[dt.date]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "symbol": symbol,
                "date": day,
                "open": 10.0 + n,
                "high": 11.0 + n,
                "low": 9.0 + n,
                "close": 10.5 + n,
                "volume": 1000.0,
                "source": "test",
                "ingested_at": pd.Timestamp("2013-02-01", tz="UTC"),
            }
            for n, day in enumerate(days)
            for symbol in symbols
        ]
    )


def test_kept_price_reads_by_date_equal_fresh_ones_whatever_order_files_hold(
    tmp_path: Path,
) -> None:
    store = FeatureStore(str(tmp_path / "store"))
    prices = store.prices()
    days = [D(2013, 1, day) for day in (2, 3, 4, 7, 8, 9, 10, 11)]
    prices.upsert(_bars(["AAPL", "MSFT", "IBM"], days[:4]))
    # Another writer's file holds its rows newest first: not in date order.
    newest_first = _bars(["AAPL", "MSFT"], days[4:]).iloc[::-1]
    write_deltalake(prices.uri, prices.table.to_arrow(newest_first), mode="append")
    prices.upsert(_bars(["AAPL"], [D(2013, 1, 14)]))
    spans = [
        (None, None),
        (D(2013, 1, 3), D(2013, 1, 8)),
        (D(2013, 1, 5), None),
        (None, D(2013, 1, 4)),
        (D(2013, 1, 12), D(2013, 1, 13)),
    ]
    fresh = [prices.read(["AAPL", "IBM"], start, end) for start, end in spans]
    with across_days():
        kept = [prices.read(["AAPL", "IBM"], start, end) for start, end in spans]
    for one, other in zip(fresh, kept, strict=True):
        pd.testing.assert_frame_equal(one, other, check_exact=True)
    assert [len(frame) for frame in kept] == [13, 7, 7, 6, 0]
