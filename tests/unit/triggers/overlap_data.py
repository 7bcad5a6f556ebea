"""Simulated realised h-day errors: each error made on a day is the sum of the next h iid
daily errors, so consecutive errors share h - 1 days, as the errors of forecasts made
every day for h days ahead do."""

from __future__ import annotations

import numpy as np

Z80 = 1.2815515655446004  # the 90% normal quantile: a 10%-90% interval's half-width
RIVAL_NOISE = 0.5  # the rival median's daily noise, in units of the daily move


def overlapping_sums(daily: np.ndarray, horizon: int) -> np.ndarray:
    """The sum of every h consecutive values along the last axis."""
    sums = np.cumsum(daily, axis=-1)
    padded = np.concatenate([np.zeros((*daily.shape[:-1], 1)), sums], axis=-1)
    return padded[..., horizon:] - padded[..., :-horizon]


def h_day_errors(
    seed: int,
    windows: int,
    n: int,
    horizon: int,
    *,
    worse: float = 1.0,
    width: float = 1.0,
    drift: float = 0.0,
) -> dict[str, np.ndarray]:
    """`windows` windows of n consecutive realised h-day errors (arrays windows x n),
    under the null by default: the close moves by a sum of h standard normal days; the
    served median and its rival ("persistence") are sums of h independent daily noises
    of the same size, so neither is more accurate; the served 10%-90% interval around
    the median is exact, so it covers 80%. `worse` scales the median's noise (a skill
    loss), `width` the interval (a coverage break), `drift` adds a daily trend the
    median does not follow (a bias)."""
    rng = np.random.default_rng(seed)
    shape = (windows, n + horizon - 1)
    move = overlapping_sums(rng.normal(drift, 1.0, shape), horizon)
    median = overlapping_sums(rng.normal(0.0, RIVAL_NOISE * worse, shape), horizon)
    rival = overlapping_sums(rng.normal(0.0, RIVAL_NOISE, shape), horizon)
    error = move - median
    half_width = Z80 * np.sqrt(horizon * (1 + RIVAL_NOISE**2)) * width
    return {
        "inside_interval": np.abs(error) <= half_width,
        "abs_error": np.abs(error),
        "persistence_abs_error": np.abs(move - rival),
        "scaled_error": error / (2 * half_width),
    }
