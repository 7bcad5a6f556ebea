"""Bias: the served median's signed error over the width of its interval, over the last
realised errors, a two-sided t-test that its mean is zero: a trend the median does not
follow, which the absolute-error tests miss when the model is persistence itself. Beyond
the next day, on the window's non-overlapping errors only (overlap.py)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence, TriggerTest, present
from market_predictor.triggers.critical import t_critical
from market_predictor.triggers.overlap import (
    MIN_NON_OVERLAPPING,
    horizon_name,
    newest_non_overlapping,
    non_overlapping_rule,
)

if TYPE_CHECKING:
    from market_predictor.triggers.reference import DriftReference


def bias_test(scaled_errors: ArrayLike, level: float, horizon: int = 1) -> TriggerTest | None:
    """Two-sided t-test that the mean of the served median's errors (actual minus
    median, over the interval's width, so calm and volatile days weigh alike) is zero;
    None below MIN_REALISED_ERRORS. At horizon h, on every h-th error counted back from
    the newest (None below MIN_NON_OVERLAPPING of them)."""
    errors = np.asarray(scaled_errors, dtype="float64")
    rule = ""
    if horizon > 1:
        errors = newest_non_overlapping(errors, horizon)
        rule = non_overlapping_rule(horizon)
    errors = errors[np.isfinite(errors)]
    n = errors.size
    if n < (MIN_REALISED_ERRORS if horizon == 1 else MIN_NON_OVERLAPPING):
        return None
    critical = t_critical(level / 2, n - 1)
    statistic = _t(errors)
    return TriggerTest(
        test=horizon_name("bias", horizon),
        statistic=statistic,
        threshold=f"|t| > {critical:.3f}{rule}",
        window=n,
        # The same error every day (an infinite t, or 0): a sure bias, or none.
        p_value=float(2.0 * special.stdtr(n - 1, -abs(statistic))),
        fired=abs(statistic) > critical,
    )


def _t(errors: np.ndarray) -> float:
    """The one-sample t statistic of independent errors; the same error every day is
    no bias when it is zero, else a sure one."""
    mean = float(errors.mean())
    spread = float(errors.std(ddof=1))
    if spread == 0.0:
        return 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return mean / (spread / math.sqrt(errors.size))


class BiasTrigger:
    """One bias test per symbol and horizon, on its last realised errors."""

    name = "bias"
    per_horizon = True

    def count(self, reference: DriftReference | None) -> int:
        return 1

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        return present(bias_test(evidence.errors["scaled_error"], level, evidence.horizon))
