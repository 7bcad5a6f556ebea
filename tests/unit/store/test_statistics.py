"""Feature statistics kept incrementally, and the bounded `tail` read they index: both
must give exactly what a full pass over the table gives."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.store import FeatureStore, PriceFeatureGroup, statistics
from tests.fixtures.data import price_rows

EXACT = ["count", "min", "max", "missing_rate", "first_date", "last_date"]


def _rows(symbol: str, days: int, start: str = "2013-01-02") -> pd.DataFrame:
    rows = price_rows(symbol, days, start).drop(columns="adjusted")
    return rows.assign(source="sample", ingested_at=pd.Timestamp("2024-01-01", tz="UTC"))


def _full_pass(prices: PriceFeatureGroup) -> pd.DataFrame:
    return statistics.compute(prices.read(), 0, pd.Timestamp.now(tz="UTC"))


def _assert_same(kept: pd.DataFrame, full: pd.DataFrame) -> None:
    kept = kept.sort_values(["symbol", "feature"], ignore_index=True)
    full = full.sort_values(["symbol", "feature"], ignore_index=True)
    assert list(kept["symbol"]) == list(full["symbol"])
    assert list(kept["feature"]) == list(full["feature"])
    for column in EXACT:
        assert kept[column].tolist() == full[column].tolist(), column
    assert kept["mean"].to_numpy() == pytest.approx(full["mean"].to_numpy(), rel=1e-12)


@pytest.fixture
def prices(tmp_path) -> PriceFeatureGroup:  # type: ignore[no-untyped-def]
    return FeatureStore(str(tmp_path / "store")).prices()


def test_appended_days_update_statistics_as_a_full_pass_would(prices: PriceFeatureGroup) -> None:
    history = pd.concat([_rows("AAPL", 30), _rows("IBM", 30)], ignore_index=True)
    history.loc[3, "volume"] = float("nan")
    prices.upsert(history.iloc[:50])
    # A day's ingest: the overlap re-fetched unchanged plus rows after the last date.
    result = prices.upsert(history.iloc[40:])
    assert (result.inserted, result.updated) == (10, 0)
    _assert_same(prices.statistics(), _full_pass(prices))


def test_a_new_symbol_gets_statistics_beside_the_merged_ones(prices: PriceFeatureGroup) -> None:
    prices.upsert(_rows("AAPL", 10))
    prices.upsert(pd.concat([_rows("AAPL", 12), _rows("MSFT", 4)], ignore_index=True))
    _assert_same(prices.statistics(), _full_pass(prices))


def test_a_restated_extreme_moves_the_max_down(prices: PriceFeatureGroup) -> None:
    rows = _rows("AAPL", 10)
    prices.upsert(rows)
    top = rows["high"].idxmax()
    restated = rows.loc[[top]].assign(high=rows["high"].min())
    restated = pd.concat([restated, _rows("AAPL", 11).iloc[[10]]], ignore_index=True)
    prices.upsert(restated)
    high = prices.statistics().set_index(["symbol", "feature"]).loc[("AAPL", "high")]
    assert high["max"] == rows["high"].drop(index=top).max()
    _assert_same(prices.statistics(), _full_pass(prices))


def test_a_filled_gap_counts_once_and_keeps_the_last_date(prices: PriceFeatureGroup) -> None:
    rows = _rows("AAPL", 6)
    prices.upsert(rows.drop(index=2))
    prices.upsert(rows.iloc[[2]])
    close = prices.statistics().set_index(["symbol", "feature"]).loc[("AAPL", "close")]
    assert close["count"] == 6
    _assert_same(prices.statistics(), _full_pass(prices))


def test_a_lost_statistics_write_is_repaired_by_the_next_upsert(
    prices: PriceFeatureGroup,
) -> None:
    prices.upsert(_rows("AAPL", 10))
    # A process killed between the prices commit and its statistics commit.
    prices.table.upsert(_rows("IBM", 8), keys=["symbol", "date"])
    prices.upsert(_rows("AAPL", 12))
    _assert_same(prices.statistics(), _full_pass(prices))


def test_tail_equals_a_full_read_when_statistics_lag_the_table(
    prices: PriceFeatureGroup,
) -> None:
    prices.upsert(pd.concat([_rows("AAPL", 40), _rows("IBM", 40), _rows("GOOG", 2)]))
    # Rows the statistics never saw: later days, and a symbol they do not know.
    prices.table.upsert(
        pd.concat([_rows("AAPL", 45).iloc[40:], _rows("MSFT", 9)]), keys=["symbol", "date"]
    )
    symbols = ["AAPL", "GOOG", "IBM", "MSFT", "NONE"]
    full = prices.read(symbols=symbols, columns=["symbol", "date"])
    for rows in (1, 3, 6):
        expected = full.groupby("symbol").tail(rows).reset_index(drop=True)
        pd.testing.assert_frame_equal(prices.tail(symbols, rows), expected)
    assert prices.last_dates(symbols) == {
        "AAPL": _rows("AAPL", 45)["date"].iloc[-1].date(),
        "GOOG": dt.date(2013, 1, 3),
        "IBM": _rows("IBM", 40)["date"].iloc[-1].date(),
        "MSFT": _rows("MSFT", 9)["date"].iloc[-1].date(),
    }


def test_a_long_stale_symbol_does_not_hide_the_fresh_ones_tails(
    prices: PriceFeatureGroup,
) -> None:
    delisted = _rows("IBM", 5, "2010-01-04").assign(symbol="OLD")
    prices.upsert(pd.concat([delisted, _rows("AAPL", 30, "2013-01-02")]))
    tail = prices.tail(["AAPL", "OLD"], 2)
    assert tail.groupby("symbol")["date"].max().dt.date.to_dict() == {
        "AAPL": _rows("AAPL", 30)["date"].iloc[-1].date(),
        "OLD": delisted["date"].iloc[-1].date(),
    }
    assert tail.groupby("symbol").size().to_dict() == {"AAPL": 2, "OLD": 2}
