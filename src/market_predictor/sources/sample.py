"""Real daily prices shipped with `bokeh-sampledata`: offline, no account, no network.

AAPL, IBM, MSFT 2000-03-01..2013-03-01, GOOG from 2004-08-19, FB from 2012-05-18, as
raw OHLC plus an adjusted close. They are adjusted the way yfinance adjusts by default,
so a model trained on the sample sees prices of the same kind as one fed by Yahoo.
"""

from __future__ import annotations

import datetime as dt
import functools
from importlib import resources

import pandas as pd

from market_predictor.sources.base import (
    adjust_to_close,
    conform,
    describe_range,
    require_symbols,
    slice_dates,
)

SAMPLE_FILE = "_data/stocks.csv.gz"


class SampleSource:
    name = "sample"

    def fetch(self, symbols: list[str], start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
        prices = load_sample_prices()
        selected = slice_dates(prices[prices["symbol"].isin(symbols)], start, end)
        require_symbols(
            selected,
            symbols,
            f"in the sample data {describe_range(start, end)} "
            f"(it holds {', '.join(sample_symbols())})",
        )
        return selected.reset_index(drop=True)


def sample_symbols() -> list[str]:
    return sorted(load_sample_prices()["symbol"].unique())


@functools.cache
def load_sample_prices() -> pd.DataFrame:
    """Every sample row, adjusted, in the shared source shape (parsed once per process)."""
    path = resources.files("bokeh_sampledata").joinpath(SAMPLE_FILE)
    with resources.as_file(path) as file:
        raw = pd.read_csv(file)
    raw = raw.rename(
        columns={
            "Ticker": "symbol",
            "Date": "date",
            "Open": "open",
            "High": "high",
            "Low": "low",
            "Close": "close",
            "Volume": "volume",
        }
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y-%m-%d")
    adjusted = adjust_to_close(raw, raw["Adj Close"])
    return conform(adjusted, adjusted=True)
