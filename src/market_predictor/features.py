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

_PRICE_COLUMNS = ("symbol", "date", "open", "high", "low", "close", "volume")


def target_column(horizon: int) -> str:
    """The column holding the log return from a row's close to the close `horizon`
    rows later."""
    return TARGET if horizon == 1 else f"{TARGET}_{horizon}"


def build_features(prices: pd.DataFrame, horizons: Sequence[int] = (1,)) -> pd.DataFrame:
    """Per-symbol causal features and the log-return target of each horizon.

    Returns one row per input row (sorted by symbol, date) with `symbol`, `date`,
    `close`, the FEATURE_COLUMNS and `target_column(h)` for every horizon (TARGET, the
    next day's, always). Warm-up rows carry NaN features; each symbol's last h rows
    carry a NaN h-day target.
    """
    missing = [c for c in _PRICE_COLUMNS if c not in prices.columns]
    if missing:
        raise ValueError(f"price frame lacks columns {missing}")
    frame = prices.loc[:, list(_PRICE_COLUMNS)].sort_values(["symbol", "date"], ignore_index=True)
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
