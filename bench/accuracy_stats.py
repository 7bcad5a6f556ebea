"""The statistics behind the accuracy benchmark's verdicts (no fitting, no IO).

Forecast rows are a backtest's: forecaster, symbol, horizon, as_of_date, last_close,
predicted_close, lower, upper, actual_close (and lower_static, upper_static: the
interval before the online scale). Everything is on log returns from the as-of close,
so symbols at different price levels weigh the same.

Overlapping h-day errors are dependent by construction (the forecasts made on t and t+1
share h-1 days of their outcome), so every uncertainty here respects it:

- bootstrap intervals resample blocks of `block_length(h)` consecutive forecast days;
- the median's comparison with no-change is a Diebold-Mariano test with a Newey-West
  variance of lag h-1 and the Harvey-Leybourne-Newbold small-sample correction;
- the VaR-style tests (Kupiec, Christoffersen) see every h-th forecast only;
- `perfect_coverage_spread` says how far a forecaster that knows the true quantiles
  strays from 80% over the same number of overlapping days.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from market_predictor.evaluation import DEFAULT_QUANTILES
from market_predictor.interval_tests import IntervalBacktest, forecasts_backtest

BOOTSTRAP_DRAWS = 2000
MIN_BLOCK = 20  # trading days: losses cluster with volatility for weeks


def block_length(horizon: int) -> int:
    """Bootstrap block: at least a month, and twice the horizon so that a block holds
    whole runs of overlapping errors."""
    return max(MIN_BLOCK, 2 * horizon)


def log_quantiles(rows: pd.DataFrame, static: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(outcome log returns, n x 3 log-return quantiles lower/median/upper)."""
    last = rows["last_close"].to_numpy(dtype="float64")
    lower, upper = ("lower_static", "upper_static") if static else ("lower", "upper")
    prices = rows[[lower, "predicted_close", upper]].to_numpy(dtype="float64")
    outcome = np.log(rows["actual_close"].to_numpy(dtype="float64") / last)
    return outcome, np.log(prices / last[:, None])


def row_pinball(rows: pd.DataFrame, static: bool = False) -> np.ndarray:
    """Each forecast's pinball loss, the mean over its 10%, 50% and 90% levels (as
    evaluation.forecast_metrics averages it)."""
    outcome, quantiles = log_quantiles(rows, static)
    levels = np.array([[min(DEFAULT_QUANTILES), 0.5, max(DEFAULT_QUANTILES)]])
    diff = outcome[:, None] - quantiles
    return np.maximum(levels * diff, (levels - 1) * diff).mean(axis=1)


def row_inside(rows: pd.DataFrame, static: bool = False) -> np.ndarray:
    """1 where the close fell inside the interval (bounds included), else 0."""
    lower, upper = ("lower_static", "upper_static") if static else ("lower", "upper")
    actual = rows["actual_close"].to_numpy(dtype="float64")
    inside = (actual >= rows[lower].to_numpy(dtype="float64")) & (
        actual <= rows[upper].to_numpy(dtype="float64")
    )
    return inside.astype("float64")


def row_interval_score(rows: pd.DataFrame) -> np.ndarray:
    """Gneiting-Raftery score of the 80% interval per forecast, in percent of the as-of
    close (log-return units x 100)."""
    outcome, quantiles = log_quantiles(rows)
    low, high = quantiles[:, 0], quantiles[:, 2]
    alpha = 2 * min(DEFAULT_QUANTILES)
    penalty = (2 / alpha) * (np.maximum(low - outcome, 0) + np.maximum(outcome - high, 0))
    return 100 * ((high - low) + penalty)


def _block_indices(n: int, block: int, seed: int) -> np.ndarray:
    """BOOTSTRAP_DRAWS x n indices of a moving-block bootstrap."""
    rng = np.random.default_rng(seed)
    block = min(block, n)
    blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(BOOTSTRAP_DRAWS, blocks))
    return (starts[:, :, None] + np.arange(block)).reshape(BOOTSTRAP_DRAWS, -1)[:, :n]


def bootstrap_interval(
    statistic: Callable[[np.ndarray], np.ndarray], n: int, block: int, seed: int
) -> tuple[float, float]:
    """95% moving-block bootstrap interval of `statistic`, which maps a (draws x n) index
    array to one value per draw."""
    values = statistic(_block_indices(n, block, seed))
    low, high = np.nanquantile(values, [0.025, 0.975])
    return float(low), float(high)


def ratio_interval(
    model: np.ndarray, rival: np.ndarray, block: int, seed: int
) -> tuple[float, float]:
    """95% interval of mean(model) / mean(rival) over the same days (aligned arrays)."""
    return bootstrap_interval(
        lambda index: model[index].mean(axis=1) / rival[index].mean(axis=1),
        model.size,
        block,
        seed,
    )


def mean_interval(values: np.ndarray, block: int, seed: int) -> tuple[float, float]:
    return bootstrap_interval(lambda index: values[index].mean(axis=1), values.size, block, seed)


def diebold_mariano(loss: np.ndarray, rival_loss: np.ndarray, horizon: int) -> tuple[float, float]:
    """(mean loss differential, two-sided p-value) of H0: equal expected loss, with a
    Newey-West long-run variance of lag h-1 and the Harvey-Leybourne-Newbold (1997)
    correction, t with n-1 degrees of freedom. NaN p-value when the losses are equal on
    every day (a median identical to no-change)."""
    from scipy import stats

    from market_predictor.evaluation import long_run_variance

    d = np.asarray(loss, dtype="float64") - np.asarray(rival_loss, dtype="float64")
    n = d.size
    variance = long_run_variance(d, horizon) if n else 0.0
    if n < 3 or variance <= 0:
        return float(d.mean()) if n else float("nan"), float("nan")
    correction = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = correction * d.mean() / np.sqrt(variance / n)
    return float(d.mean()), float(2 * stats.t.sf(abs(statistic), n - 1))


def every_hth(rows: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Every h-th forecast of each symbol from its first (as-of order): non-overlapping
    h-day outcomes, whose hits a correct interval makes independent."""
    rows = rows.sort_values(["symbol", "as_of_date"], kind="stable")
    position = rows.groupby("symbol", sort=False).cumcount().to_numpy()
    return rows.loc[position % horizon == 0]


def var_tests(rows: pd.DataFrame, horizon: int) -> IntervalBacktest:
    """Kupiec and Christoffersen tests of one symbol's interval on every h-th forecast."""
    return forecasts_backtest(every_hth(rows, horizon), DEFAULT_QUANTILES)


def half_year(dates: pd.Series) -> pd.Series:
    """'2011H2'-style calendar half-year of each date."""
    stamps = pd.to_datetime(dates)
    return stamps.dt.year.astype(str) + np.where(stamps.dt.month <= 6, "H1", "H2")


def perfect_coverage_spread(
    days: int,
    horizon: int,
    *,
    band: tuple[float, float],
    half_days: int = 126,
    half_band: tuple[float, float] = (0.76, 0.84),
    draws: int = 4000,
    seed: int = 0,
) -> dict[str, float]:
    """How an 80% interval that knows the true h-day quantiles scores over `days`
    overlapping forecasts: the 95% range of its coverage, the chance it lands inside
    `band`, and the chance every consecutive `half_days` block lands inside `half_band`.

    Daily returns are i.i.d. unit Student t(5) (fat-tailed, as daily returns are);
    volatility clustering is left out, which a perfect conditional forecaster would
    standardise away at h=1 and which only widens the spread at h > 1."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(3 / 5)  # t(5) has variance 5/3
    reference = rng.standard_t(5, size=(200_000, horizon)).sum(axis=1) * scale
    low, high = np.quantile(reference, [0.1, 0.9])
    daily = rng.standard_t(5, size=(draws, days + horizon - 1)) * scale
    cumulative = np.concatenate([np.zeros((draws, 1)), np.cumsum(daily, axis=1)], axis=1)
    sums = cumulative[:, horizon:] - cumulative[:, :-horizon]
    inside = (sums >= low) & (sums <= high)
    coverage = inside.mean(axis=1)
    halves = days // half_days
    by_half = inside[:, : halves * half_days].reshape(draws, halves, half_days).mean(axis=2)
    every_half = ((by_half >= half_band[0]) & (by_half <= half_band[1])).all(axis=1)
    lo, hi = np.quantile(coverage, [0.025, 0.975])
    return {
        "low": float(lo),
        "high": float(hi),
        "inside": float(np.mean((coverage >= band[0]) & (coverage <= band[1]))),
        "halves": float(halves),
        "every_half_inside": float(every_half.mean()),
    }
