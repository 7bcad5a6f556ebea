"""Bias: the served median's signed error over the width of its interval, over the last
realised errors, a two-sided t-test that its mean is zero: a trend the median does not
follow, which the absolute-error tests miss when the model is persistence itself."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence, TriggerTest, present
from market_predictor.triggers.critical import t_critical

if TYPE_CHECKING:
    from market_predictor.triggers.reference import DriftReference


def bias_test(scaled_errors: ArrayLike, level: float) -> TriggerTest | None:
    """Two-sided t-test that the mean of the served median's errors (actual minus
    median, over the interval's width, so calm and volatile days weigh alike) is zero;
    None below MIN_REALISED_ERRORS."""
    errors = np.asarray(scaled_errors, dtype="float64")
    errors = errors[np.isfinite(errors)]
    n = errors.size
    if n < MIN_REALISED_ERRORS:
        return None
    critical = t_critical(level / 2, n - 1)
    mean = float(errors.mean())
    spread = float(errors.std(ddof=1))
    if spread == 0.0:
        # The same error every day: no bias when it is zero, else a sure one.
        statistic = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p_value = 1.0 if mean == 0 else 0.0
    else:
        statistic = mean / (spread / math.sqrt(n))
        p_value = float(2.0 * special.stdtr(n - 1, -abs(statistic)))
    return TriggerTest(
        test="bias",
        statistic=statistic,
        threshold=f"|t| > {critical:.3f}",
        window=n,
        p_value=p_value,
        fired=abs(statistic) > critical,
    )


class BiasTrigger:
    """One bias test per symbol, on its last realised errors."""

    name = "bias"

    def count(self, reference: DriftReference | None) -> int:
        return 1

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        return present(bias_test(evidence.errors["scaled_error"], level))
