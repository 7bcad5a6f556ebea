"""Feature engineering: one pure function shared by training, backtests and inference.

Every feature at day D is computed from rows dated D or earlier, so adding or
changing later rows never changes it (tests prove it). The only forward-looking
columns are the targets: `target`, tomorrow's log return, and `target_<h>`, the log
return from the close to the close h rows later; they exist only for fitting and
scoring.
All features are scale-free (returns, ratios), so one model serves every symbol,
including symbols it never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

FEATURE_COLUMNS = [
    "log_return",
    "volatility_5",
    "volatility_21",
    "high_low_range",
    "overnight_gap",
    "volume_change",
    "day_of_week",
]
TARGET = "target"
# Rows a symbol needs before its first complete feature row (the 21-day volatility).
WARMUP_ROWS = 22
# Rows whose features are built at once: a larger frame is built in batches of whole
# symbols (the same values), so its intermediate columns cost a few hundred MB, not GBs.
BATCH_ROWS = 500_000

_PRICE_COLUMNS = ("symbol", "date", "open", "high", "low", "close", "volume")


def target_column(horizon: int) -> str:
    """The column holding the log return from a row's close to the close `horizon`
    rows later."""
    return TARGET if horizon == 1 else f"{TARGET}_{horizon}"


def build_features(
    prices: pd.DataFrame, horizons: Sequence[int] = (1,), batch_rows: int = BATCH_ROWS
) -> pd.DataFrame:
    """Per-symbol causal features and the log-return target of each horizon.

    Returns one row per input row (sorted by symbol, date) with `symbol`, `date`,
    `close`, the FEATURE_COLUMNS and `target_column(h)` for every horizon (TARGET, the
    next day's, always). Warm-up rows carry NaN features; each symbol's last h rows
    carry a NaN h-day target. More than `batch_rows` rows are built in batches of whole
    symbols.
    """
    missing = [c for c in _PRICE_COLUMNS if c not in prices.columns]
    if missing:
        raise ValueError(f"price frame lacks columns {missing}")
    frame = prices.loc[:, list(_PRICE_COLUMNS)].sort_values(["symbol", "date"], ignore_index=True)
    if len(frame) <= batch_rows:
        return _features(frame, horizons)
    symbols = frame["symbol"].to_numpy()
    starts = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1]])
    ends = np.r_[starts[1:], len(frame)]
    batches = symbol_batches(ends - starts, batch_rows)
    # Every feature is per symbol, so batches of whole symbols give the same values; the
    # intermediate columns then exist for one batch at a time, not for every row.
    parts = [
        _features(frame.iloc[starts[batch.start] : ends[batch.stop - 1]], horizons)
        for batch in batches
    ]
    return pd.concat(parts, ignore_index=True)


def symbol_batches(counts: Sequence[int], batch_rows: int) -> list[range]:
    """Consecutive symbols, given their row counts in order, grouped into batches (ranges
    of their positions): each takes whole symbols until it holds `batch_rows` rows."""
    batches: list[range] = []
    first, size = 0, 0
    for index, count in enumerate(counts):
        if size >= batch_rows:
            batches.append(range(first, index))
            first, size = index, 0
        size += int(count)
    if len(counts) > first:
        batches.append(range(first, len(counts)))
    return batches


def _features(frame: pd.DataFrame, horizons: Sequence[int]) -> pd.DataFrame:
    by_symbol = frame.groupby("symbol", sort=False)
    previous_close = by_symbol["close"].shift(1)
    log_return = np.log(frame["close"] / previous_close)
    returns_by_symbol = log_return.groupby(frame["symbol"], sort=False)
    volume = frame["volume"].astype("float64")
    features = pd.DataFrame(
        {
            "symbol": frame["symbol"],
            "date": frame["date"],
            "close": frame["close"],
            "log_return": log_return,
            "volatility_5": _rolling_std(returns_by_symbol, 5),
            "volatility_21": _rolling_std(returns_by_symbol, 21),
            "high_low_range": np.log(frame["high"] / frame["low"]),
            "overnight_gap": np.log(frame["open"] / previous_close),
            # log1p keeps zero-volume days (halts, holidays in some feeds) finite.
            "volume_change": np.log1p(volume) - np.log1p(by_symbol["volume"].shift(1)),
            "day_of_week": pd.to_datetime(frame["date"]).dt.dayofweek / 4.0,
        }
    )
    features[TARGET] = returns_by_symbol.shift(-1)
    log_close = np.log(frame["close"])
    for horizon in sorted(set(horizons) - {1}):
        ahead = log_close.groupby(frame["symbol"], sort=False).shift(-horizon)
        features[target_column(horizon)] = ahead - log_close
    return features


def _rolling_std(grouped: Any, window: int) -> pd.Series:
    # One grouped rolling pass: a lambda per symbol costs milliseconds each, which at
    # thousands of symbols dominated the daily forecast. Same kernel, same values.
    return grouped.rolling(window).std().droplevel(0).sort_index()


def complete_rows(features: pd.DataFrame) -> pd.Series:
    """Rows whose every feature is present (warm-up over)."""
    return features[FEATURE_COLUMNS].notna().all(axis=1)
