"""The one shape every price source returns, and the helpers sources share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from market_predictor.errors import InputError

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
FRAME_COLUMNS = ("symbol", "date", *PRICE_COLUMNS, "adjusted")


class PriceSource(Protocol):
    name: str

    def fetch(self, symbols: list[str], start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
        """Daily bars for `symbols` in [start, end] (inclusive; None = unbounded).

        Columns: symbol, date (datetime64, tz-naive, exchange-local trading day), open,
        high, low, close, volume (float64), adjusted (bool: prices already split- and
        dividend-adjusted). Raises InputError naming any symbol that returned nothing.
        """
        ...


def empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in FRAME_COLUMNS})
    frame["symbol"] = frame["symbol"].astype("str")
    frame["date"] = frame["date"].astype("datetime64[ns]")
    frame["adjusted"] = frame["adjusted"].astype("bool")
    return frame


def adjust_to_close(frame: pd.DataFrame, adj_close: pd.Series) -> pd.DataFrame:
    """Adjust the way yfinance does: scale open/high/low by adj_close/close, close = adj_close.

    Rows without an adjusted close keep their raw prices.
    """
    adjusted = frame.copy()
    ratio = (adj_close / adjusted["close"]).where(adj_close.notna(), 1.0)
    for column in ("open", "high", "low"):
        adjusted[column] = adjusted[column] * ratio
    adjusted["close"] = adj_close.where(adj_close.notna(), adjusted["close"])
    return adjusted


def conform(frame: pd.DataFrame, adjusted: bool | pd.Series) -> pd.DataFrame:
    """Cast a source's frame to the shared shape (types and column order)."""
    out = pd.DataFrame(
        {
            "symbol": frame["symbol"].astype("str"),
            "date": pd.to_datetime(frame["date"]).astype("datetime64[ns]"),
        }
    )
    for column in PRICE_COLUMNS:
        out[column] = frame[column].astype("float64")
    out["adjusted"] = adjusted if isinstance(adjusted, pd.Series) else bool(adjusted)
    out["adjusted"] = out["adjusted"].astype("bool")
    return out.sort_values(["symbol", "date"], ignore_index=True)


def slice_dates(frame: pd.DataFrame, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    if start is not None:
        mask &= (frame["date"] >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        mask &= (frame["date"] <= pd.Timestamp(end)).to_numpy()
    return frame.loc[mask]


def require_symbols(frame: pd.DataFrame, symbols: Sequence[str], where: str) -> None:
    """InputError naming every requested symbol with no row in `frame`."""
    found = set(frame["symbol"].unique())
    missing = [s for s in symbols if s not in found]
    if missing:
        raise InputError(f"no prices for {', '.join(missing)} {where}")


def describe_range(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return "in any date range"
    return f"between {start or 'the beginning'} and {end or 'today'}"
