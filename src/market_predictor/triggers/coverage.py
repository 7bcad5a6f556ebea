"""Coverage: the share of the last realised closes inside the served interval against its
nominal coverage, an exact binomial test with two equal tails."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence, TriggerTest, present

if TYPE_CHECKING:
    from market_predictor.triggers.reference import DriftReference


def coverage_test(inside: ArrayLike, nominal: float, level: float) -> TriggerTest | None:
    """Exact binomial test (equal tails) of the interval's hit rate against `nominal`."""
    hits = np.asarray(inside, dtype=bool)
    n = hits.size
    if n < MIN_REALISED_ERRORS:
        return None
    k = int(hits.sum())
    low, high = _binomial_acceptance(n, nominal, level)
    return TriggerTest(
        test="coverage",
        statistic=k / n,
        threshold=f"outside {low / n:.3f}-{high / n:.3f}",
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
    """One coverage test per symbol, on its last realised errors."""

    name = "coverage"

    def count(self, reference: DriftReference | None) -> int:
        return 1

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        inside = evidence.errors["inside_interval"]
        return present(coverage_test(inside, evidence.nominal_coverage, level))
