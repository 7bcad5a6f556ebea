"""A synthetic universe of daily bars built from real market moves.

Each synthetic symbol is a bootstrap of whole daily bars of the real sample prices
(AAPL, IBM, MSFT, GOOG 2000-2013 from bokeh-sampledata): a drawn bar contributes its
close-to-close return, its overnight gap, its high/low excursions and its volume, so
every row keeps a real bar's shape (high >= open, close >= low). Symbols differ by
starting price, volatility scale and volume scale. Dates are NYSE trading days.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_END = dt.date(2013, 3, 1)  # the sample's last day: reproducible by default
_POOL_SYMBOLS = ("AAPL", "IBM", "MSFT", "GOOG")


def trading_days(start: dt.date, end: dt.date, calendar: str = "XNYS") -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    exchange = xcals.get_calendar(calendar, start=pd.Timestamp(start) - pd.Timedelta(days=7))
    return pd.DatetimeIndex(exchange.sessions_in_range(start, end)).tz_localize(None)


def make_universe(
    n_symbols: int, years: int, seed: int = 0, end: dt.date | None = None
) -> pd.DataFrame:
    """Long-format daily bars: symbol, date, open, high, low, close, volume (float64),
    `years` years of NYSE trading days ending at `end` (default 2013-03-01)."""
    end = end or DEFAULT_END
    start = (pd.Timestamp(end) - pd.DateOffset(years=years) + pd.Timedelta(days=1)).date()
    days = trading_days(start, end)
    n_days = len(days)
    pool = _bar_pool()
    rng = np.random.default_rng(seed)

    draws = rng.integers(0, len(pool), size=(n_symbols, n_days))
    vol_scale = rng.uniform(0.6, 1.4, size=(n_symbols, 1))
    log_return = pool["log_return"].to_numpy()[draws] * vol_scale
    start_price = rng.uniform(10.0, 400.0, size=(n_symbols, 1))
    close = start_price * np.exp(np.cumsum(log_return, axis=1))
    previous = np.concatenate([start_price, close[:, :-1]], axis=1)
    gap = np.exp(pool["log_gap"].to_numpy()[draws] * vol_scale)
    opened = np.minimum(np.maximum(previous * gap, close * 0.5), close * 2.0)
    top = np.maximum(opened, close)
    bottom = np.minimum(opened, close)
    high = top * pool["high_excess"].to_numpy()[draws] ** vol_scale
    low = bottom * pool["low_excess"].to_numpy()[draws] ** vol_scale
    volume = np.round(pool["volume"].to_numpy()[draws] * rng.uniform(0.05, 2.0, (n_symbols, 1)))

    width = max(3, len(str(n_symbols - 1)))
    names = np.array([f"SYN{i:0{width}d}" for i in range(n_symbols)])
    return pd.DataFrame(
        {
            "symbol": np.repeat(names, n_days).astype("str"),
            "date": np.tile(days.to_numpy(), n_symbols),
            "open": opened.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel().astype("float64"),
        }
    )


def write_universe(
    path: str | Path, n_symbols: int, years: int, seed: int = 0, end: dt.date | None = None
) -> Path:
    """Write `make_universe(...)` to `path` (.parquet, or .csv by suffix)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = make_universe(n_symbols, years, seed, end)
    if target.suffix == ".csv":
        frame.to_csv(target, index=False, date_format="%Y-%m-%d")
    else:
        frame.to_parquet(target, index=False)
    return target


def _bar_pool() -> pd.DataFrame:
    """Real daily bars as scale-free moves: return, gap, high/low excursion, volume."""
    from market_predictor.sources.sample import load_sample_prices

    prices = load_sample_prices()
    prices = prices[prices["symbol"].isin(_POOL_SYMBOLS)]
    previous_close = prices.groupby("symbol")["close"].shift(1)
    top = np.maximum(prices["open"], prices["close"])
    bottom = np.minimum(prices["open"], prices["close"])
    pool = pd.DataFrame(
        {
            "log_return": np.log(prices["close"] / previous_close),
            "log_gap": np.log(prices["open"] / previous_close),
            "high_excess": np.maximum(prices["high"] / top, 1.0),
            "low_excess": np.minimum(prices["low"] / bottom, 1.0),
            "volume": prices["volume"],
        }
    )
    return pool.dropna().reset_index(drop=True)
