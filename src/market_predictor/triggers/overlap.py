"""What the performance tests share beyond the next day. A forecast made every day for h
days ahead has errors whose h-day windows overlap: consecutive errors share h - 1 days,
so they are autocorrelated, and tests that assume independent days fire far too often
(docs/monitoring.md measures how often). Each test accounts for it in the way that
keeps its level in the far tail a Bonferroni level reaches, where approximations that
are fine at 5% break:

- **coverage and bias** test the window's non-overlapping errors only: every h-th error
  counted back from the newest, whose h-day windows share no day. The coverage test
  stays an exact binomial test (a hit is a 0/1 value, whose t statistic is far from t
  in the tail), the bias test a t-test. A signed error is (nearly) a sum of daily
  errors, and the non-overlapping errors cover every day of the window, so they hold
  (nearly) all its information about a bias: the simulation in the tests shows no loss
  of power.
- **skill** keeps every error: an absolute error is not a sum of days, so overlapping
  errors add information (twice the power of the non-overlapping ones in the same
  simulation). Its t statistic divides by a long-run variance: the equal-weighted
  cosine (EWC) estimator with B = n // (2h) cosines, compared with Student t with B
  degrees of freedom, as fixed-smoothing asymptotics give (Müller 2007; Lazarus, Lewis,
  Stock and Watson 2018; for Diebold-Mariano tests, Coroneo and Iacone 2020). With one
  cosine per non-overlapping error (n // h) the estimator still sees the h-day
  dependence as low-frequency variance it misses, and fires up to twice too often.
  The textbook h-step Diebold-Mariano test (h - 1 rectangular lags, the
  Harvey-Leybourne-Newbold correction, t(n - 1)) fires 5-70 times too often at 1e-4.

A window holding fewer than MIN_NON_OVERLAPPING non-overlapping errors is not tested.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from market_predictor.triggers.base import PERFORMANCE_WINDOW

# Below 5 non-overlapping errors no test can reject at a Bonferroni level: the
# binomial's most extreme outcome for an 80% interval, no hit in 4, has probability
# 0.2 ** 4 = 1.6e-3, and t with 3 degrees of freedom needs a statistic above 22 at 1e-4.
MIN_NON_OVERLAPPING = 5
# The most realised errors a test reads: the day's lookback (monitoring.LOOKBACK_WINDOWS
# performance windows of target dates) holds this many of a symbol forecast every day.
LONGEST_TEST_WINDOW = 3 * PERFORMANCE_WINDOW


def horizon_window(horizon: int) -> int:
    """Realised errors behind a horizon's coverage, skill and bias tests: as many
    non-overlapping errors as the next day's window holds (horizon x PERFORMANCE_WINDOW),
    at most LONGEST_TEST_WINDOW: 60 next-day errors, 120 two-day errors and 180 beyond
    (36 non-overlapping 5-day errors, 8 21-day ones)."""
    return min(horizon * PERFORMANCE_WINDOW, LONGEST_TEST_WINDOW)


def newest_non_overlapping(values: np.ndarray, horizon: int) -> np.ndarray:
    """Every h-th value counted back from the newest, n // h of them, in date order:
    errors whose h-day windows share no day."""
    count = values.size // horizon
    return values[::-1][::horizon][:count][::-1]


def non_overlapping_rule(horizon: int) -> str:
    """What a test's threshold adds when it reads the non-overlapping errors only."""
    return f" (1 in every {horizon} errors)"


def ewc_long_run_variance(values: np.ndarray, cosines: int) -> float:
    """The equal-weighted cosine estimate of the long-run variance of `values` (in date
    order): the mean over j = 1..cosines of the squared projection on
    sqrt(2 / n) cos(pi j (t - 1/2) / n), t = 1..n. The cosines sum to zero, so the mean is
    removed by construction; with n - 1 cosines it is the sample variance (ddof 1)."""
    projections = _cosines(values.size, cosines) @ values
    return float(np.mean(projections * projections))


@functools.lru_cache(maxsize=256)
def _cosines(n: int, count: int) -> np.ndarray:
    """The first `count` scaled cosines over n days: the same for every symbol of a day."""
    days = np.arange(n) + 0.5
    basis = np.cos(np.outer(np.arange(1, count + 1), days) * (math.pi / n)) * math.sqrt(2.0 / n)
    basis.flags.writeable = False
    return basis


class OverlapT(NamedTuple):
    statistic: float
    dof: int  # of the Student t it is compared with: the cosines
    constant: bool  # the same value every day: the statistic is a sure sign, not a t


def overlap_t(values: np.ndarray, horizon: int) -> OverlapT | None:
    """The t statistic of the mean of n overlapping h-day `values` (finite, in date
    order) over its EWC long-run standard error with B = n // (2h) cosines, and B, its
    degrees of freedom; None below MIN_NON_OVERLAPPING non-overlapping values. The same
    value every day is a sure sign: an infinite t, or 0 when the value is zero."""
    if values.size // horizon < MIN_NON_OVERLAPPING:
        return None
    cosines = values.size // (2 * horizon)
    mean = float(values.mean())
    if np.ptp(values) == 0.0:
        return OverlapT(0.0 if mean == 0 else math.copysign(math.inf, mean), cosines, True)
    variance = ewc_long_run_variance(values, cosines)
    return OverlapT(mean / math.sqrt(variance / values.size), cosines, False)


def horizon_name(test: str, horizon: int) -> str:
    """A test's name at a horizon: `skill` for the next day, `skill:h5` beyond."""
    return test if horizon == 1 else f"{test}:h{horizon}"
