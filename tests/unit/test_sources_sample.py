from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from market_predictor.errors import InputError
from market_predictor.sources import SOURCE_NAMES, get_source
from market_predictor.sources.base import FRAME_COLUMNS
from tests.fixtures.data import raw_sample_rows


def test_sample_prices_are_adjusted_like_yfinance() -> None:
    frame = get_source("sample").fetch(["AAPL"], dt.date(2013, 2, 28), dt.date(2013, 2, 28))
    raw = raw_sample_rows()
    row = raw[(raw["Ticker"] == "AAPL") & (raw["Date"] == "2013-02-28")].iloc[0]
    ratio = row["Adj Close"] / row["Close"]
    got = frame.iloc[0]
    assert got["close"] == pytest.approx(row["Adj Close"])
    for column in ("open", "high", "low"):
        assert got[column] == pytest.approx(row[column.title()] * ratio)
    assert got["volume"] == row["Volume"]


def test_sample_is_sliced_by_inclusive_date_range_and_has_the_shared_shape() -> None:
    frame = get_source("sample").fetch(["MSFT", "IBM"], dt.date(2013, 2, 25), dt.date(2013, 3, 1))
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert sorted(frame["symbol"].unique()) == ["IBM", "MSFT"]
    assert frame["date"].min() == np.datetime64("2013-02-25")
    assert frame["date"].max() == np.datetime64("2013-03-01")
    assert len(frame) == 10  # five trading days each, no weekend rows
    assert frame["date"].dt.dayofweek.max() <= 4
    assert frame["adjusted"].all()


def test_sample_without_dates_returns_full_history() -> None:
    frame = get_source("sample").fetch(["GOOG"], None, None)
    assert frame["date"].min() == np.datetime64("2004-08-19")
    assert len(frame) == 2148


def test_sample_unknown_symbol_is_an_input_error_naming_it() -> None:
    with pytest.raises(InputError, match="NOPE"):
        get_source("sample").fetch(["AAPL", "NOPE"], None, None)


def test_sample_range_without_rows_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no prices for AAPL"):
        get_source("sample").fetch(["AAPL"], dt.date(2020, 1, 1), dt.date(2020, 2, 1))


def test_unknown_source_name_is_an_input_error_listing_the_choices() -> None:
    with pytest.raises(InputError, match=r"unknown source 'bloomberg'.*yfinance"):
        get_source("bloomberg")
    assert SOURCE_NAMES == ("yfinance", "sample", "csv", "parquet")


def test_non_daily_interval_is_refused() -> None:
    with pytest.raises(InputError, match="daily"):
        get_source("sample", interval="1h")
