"""Tiny deterministic series for the trigger tests: daily bars, GARCH and resampled
returns, and feature rows whose model inputs are given exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from market_predictor.triggers.drift import DRIFT_INPUTS

LEVEL = 0.001


def bars(
    returns: np.ndarray,
    symbol: str,
    gap: float | np.ndarray = 0.0,
    seed: int = 0,
    wick: float | np.ndarray = 0.004,
) -> pd.DataFrame:
    """Daily bars closing on `returns`; `wick` is the scale of the intraday excursions
    beyond the open and close."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(returns))
    previous = np.concatenate([[100.0], close[:-1]])
    opens = previous * np.exp(returns * 0.3 + gap)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": pd.bdate_range("2010-01-04", periods=returns.size),
            "open": opens,
            "high": np.maximum(opens, close)
            * np.exp(np.abs(rng.normal(0, 1, returns.size)) * wick),
            "low": np.minimum(opens, close)
            * np.exp(-np.abs(rng.normal(0, 1, returns.size)) * wick),
            "close": close,
            "volume": np.exp(rng.normal(14, 0.3, returns.size)),
        }
    )


def garch_returns(days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(6, days) * np.sqrt(4 / 6)
    out, variance = np.empty(days), 1e-4
    for t in range(days):
        out[t] = np.sqrt(variance) * shocks[t]
        variance = 2e-6 + 0.08 * out[t] ** 2 + 0.9 * variance
    return out


def stationary_bootstrap(source: np.ndarray, length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out, position = np.empty(length), rng.integers(source.size)
    for i in range(length):
        if rng.random() < 1 / 20:
            position = rng.integers(source.size)
        out[i] = source[position % source.size]
        position += 1
    return out


def iid_returns(days: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_t(5, days) * 0.01 * np.sqrt(3 / 5)


def model_features(symbol: str, **inputs: list[float] | np.ndarray) -> pd.DataFrame:
    """Feature rows whose model inputs (model_inputs) are `inputs` exactly: a 21-day
    volatility of 1 makes each normalised input its raw feature; a leading row, whose
    previous volatility is unknown, is dropped. Inputs not given are 0, 1, 2, ..."""
    days = len(next(iter(inputs.values())))
    default = np.arange(days, dtype="float64")
    column = {
        "return_z": "log_return",
        "gap_z": "overnight_gap",
        "range_z": "high_low_range",
        "volatility_ratio": "volatility_5",
        "volume_change": "volume_change",
    }
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": pd.bdate_range("2011-01-03", periods=days + 1),
            "volatility_21": 1.0,
            **{
                column[name]: np.concatenate([[1.0], inputs.get(name, default)])
                for name in DRIFT_INPUTS
            },
        }
    )
