"""Coverage: the share of the last realised closes inside the served interval against its
nominal coverage, an exact binomial test with two equal tails. Beyond the next day, on
the window's non-overlapping errors only (overlap.py): hits of overlapping h-day errors
are dependent, and a binomial test on them fires far too often."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence, TriggerTest, present
from market_predictor.triggers.overlap import (
    MIN_NON_OVERLAPPING,
    horizon_name,
    newest_non_overlapping,
    non_overlapping_rule,
)

if TYPE_CHECKING:
    from market_predictor.triggers.reference import DriftReference


def coverage_test(
    inside: ArrayLike, nominal: float, level: float, horizon: int = 1
) -> TriggerTest | None:
    """Exact binomial test (equal tails) of the interval's hit rate against `nominal`:
    over every hit next day (None below MIN_REALISED_ERRORS), over every h-th hit
    counted back from the newest at horizon h (None below MIN_NON_OVERLAPPING)."""
    hits = np.asarray(inside, dtype=bool)
    rule = ""
    if horizon > 1:
        hits = newest_non_overlapping(hits, horizon)
        rule = non_overlapping_rule(horizon)
    n = hits.size
    if n < (MIN_REALISED_ERRORS if horizon == 1 else MIN_NON_OVERLAPPING):
        return None
    k = int(hits.sum())
    low, high = _binomial_acceptance(n, nominal, level)
    return TriggerTest(
        test=horizon_name("coverage", horizon),
        statistic=k / n,
        threshold=f"outside {low / n:.3f}-{high / n:.3f}{rule}",
        window=n,
        p_value=_binomial_p_value(k, n, nominal),
        fired=not low <= k <= high,
    )


@functools.lru_cache(maxsize=4096)
def _binomial_p_value(k: int, n: int, p: float) -> float:
    return float(min(1.0, 2.0 * min(stats.binom.cdf(k, n, p), stats.binom.sf(k - 1, n, p))))


@functools.lru_cache(maxsize=1024)
def _binomial_acceptance(n: int, p: float, level: float) -> tuple[int, int]:
    """The hit counts k whose two-sided (equal-tail) p-value is at least `level`: each
    tail beyond them holds at most level / 2 of the probability."""
    counts = np.arange(n + 1)
    lower_tail = stats.binom.cdf(counts, n, p)
    upper_tail = stats.binom.sf(counts - 1, n, p)
    accepted = counts[(lower_tail > level / 2) & (upper_tail > level / 2)]
    return int(accepted.min()), int(accepted.max())


class CoverageTrigger:
    """One coverage test per symbol and horizon, on its last realised errors."""

    name = "coverage"
    per_horizon = True

    def count(self, reference: DriftReference | None) -> int:
        return 1

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        inside = evidence.errors["inside_interval"]
        return present(coverage_test(inside, evidence.nominal_coverage, level, evidence.horizon))
