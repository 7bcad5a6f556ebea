"""How often tests of overlapping h-day errors fire when nothing is wrong: simulated
windows of the errors monitoring tests at each horizon (the last horizon_window(h) of
forecasts made every day), each error the sum of h iid heavy-tailed daily errors
(Student t, 5 degrees of freedom), the served median and persistence equally accurate,
the interval exact. Rows: the tests monitoring runs (market_predictor.triggers), the
next day's tests run on the same errors as if they were independent, the textbook
h-step Diebold-Mariano test (h - 1 rectangular lags, Harvey-Leybourne-Newbold
corrected, t(n - 1)) and the EWC long-run variance with one cosine per non-overlapping
error (n // h) instead of monitoring's n // (2h).

Run through bench.monitoring (`--size-draws`), which adds the table to its report.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

if TYPE_CHECKING:
    from market_predictor.triggers.base import TriggerTest

LEVELS = (0.01, 0.001)
DAILY_DOF = 5
RIVAL_NOISE = 0.5  # each median's daily noise, in units of the daily move


def _sums(daily: np.ndarray, horizon: int) -> np.ndarray:
    padded = np.concatenate([np.zeros((daily.shape[0], 1)), np.cumsum(daily, axis=1)], axis=1)
    return padded[:, horizon:] - padded[:, :-horizon]


def null_windows(draws: int, n: int, horizon: int, seed: int) -> dict[str, np.ndarray]:
    """`draws` windows of n overlapping h-day errors with no skill difference, an exact
    10%-90% interval and no bias (arrays draws x n)."""
    rng = np.random.default_rng(seed)
    shape = (draws, n + horizon - 1)
    scale = math.sqrt((DAILY_DOF - 2) / DAILY_DOF)  # unit variance days
    move, median, rival = (
        _sums(rng.standard_t(DAILY_DOF, shape) * scale * noise, horizon)
        for noise in (1.0, RIVAL_NOISE, RIVAL_NOISE)
    )
    error = move - median
    # The 10%-90% interval's half-width: the 80% quantile of |error| over the draws.
    half_width = float(np.quantile(np.abs(error), 0.8))
    return {
        "inside_interval": np.abs(error) <= half_width,
        "abs_error": np.abs(error),
        "persistence_abs_error": np.abs(move - rival),
        "scaled_error": error / (2 * half_width),
    }


def textbook_dm_p_values(gaps: np.ndarray, horizon: int) -> np.ndarray:
    """One-sided p-values of the h-step Diebold-Mariano test: the long-run variance with
    h - 1 rectangular lags, the Harvey-Leybourne-Newbold factor, t(n - 1); a negative
    variance estimate is no rejection."""
    n = gaps.shape[1]
    centred = gaps - gaps.mean(axis=1, keepdims=True)
    variance = (centred * centred).sum(axis=1) / n
    for lag in range(1, horizon):
        variance += 2 * (centred[:, lag:] * centred[:, :-lag]).sum(axis=1) / n
    correction = math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    positive = variance > 0
    statistic = np.where(
        positive, gaps.mean(axis=1) / np.sqrt(np.where(positive, variance, 1.0) / n), 0.0
    )
    return np.where(positive, stats.t.sf(statistic * correction, n - 1), 1.0)


def _p_values(windows: dict[str, np.ndarray], horizon: int) -> dict[str, np.ndarray]:
    from market_predictor.triggers.bias import bias_test
    from market_predictor.triggers.coverage import coverage_test
    from market_predictor.triggers.overlap import ewc_long_run_variance
    from market_predictor.triggers.skill import skill_test

    draws, n = windows["abs_error"].shape
    gaps = windows["abs_error"] - windows["persistence_abs_error"]
    out: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        out.setdefault(name, []).append(value)

    one_cosine_each = n // horizon
    model, rival = windows["abs_error"], windows["persistence_abs_error"]
    for i in range(draws):
        inside, scaled = windows["inside_interval"][i], windows["scaled_error"][i]
        for shown, h in (("monitoring", horizon), ("next day's, ignoring the overlap", 1)):
            # The level only sets `fired`; the p-value is compared with each level below.
            record(f"coverage|{shown}", _p(coverage_test(inside, 0.8, 0.01, h)))
            record(f"skill|{shown}", _p(skill_test(model[i], rival[i], 0.01, h)))
            record(f"bias|{shown}", _p(bias_test(scaled, 0.01, h)))
        long_run = ewc_long_run_variance(gaps[i], one_cosine_each)
        statistic = gaps[i].mean() / math.sqrt(long_run / n)
        record("skill|EWC, n // h cosines", float(stats.t.sf(statistic, one_cosine_each)))
    values = {name: np.asarray(p) for name, p in out.items()}
    values["skill|textbook DM (h - 1 lags, HLN, t(n - 1))"] = textbook_dm_p_values(gaps, horizon)
    return values


def _p(test: TriggerTest | None) -> float:
    """A test's p-value; 1 when it did not run or has none."""
    return 1.0 if test is None or test.p_value is None else test.p_value


def size_table(draws: int, seed: int, horizons: tuple[int, ...]) -> list[str]:
    """The report's section: per test and method, the share of simulated no-change
    windows on which it fires, as a multiple of the level, at each longer horizon."""
    from market_predictor.triggers import horizon_window

    longer = [h for h in horizons if h > 1]
    if not longer:
        return []
    by_horizon = {
        h: _p_values(null_windows(draws, horizon_window(h), h, seed + h), h) for h in longer
    }
    columns = [f"{h}-day (n={horizon_window(h)}), at {level:g}" for h in longer for level in LEVELS]
    lines = [
        "",
        "### Why these tests: false alarms on overlapping errors with no change",
        "",
        f"{draws:,} simulated windows per horizon of the errors monitoring tests there "
        f"(bench/overlap_sizes.py): each error a sum of h iid Student-t({DAILY_DOF}) days, the "
        "median and persistence equally accurate, the interval exact. Each cell is the share "
        "of windows on which the test fires, as a multiple of its level (1.0x: exact).",
        "",
        f"| Test | Method | {' | '.join(columns)} |",
        "|---|---|" + "---:|" * len(columns),
    ]
    for name in by_horizon[longer[0]]:
        test, method = name.split("|")
        rates = [np.mean(by_horizon[h][name] < level) / level for h in longer for level in LEVELS]
        cells = [f"{rate:.1f}x" for rate in rates]
        lines.append(f"| {test} | {method} | {' | '.join(cells)} |")
    return lines
