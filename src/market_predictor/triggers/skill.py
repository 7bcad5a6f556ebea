"""Skill: the served median's absolute error against persistence's over the last realised
errors, a Diebold-Mariano test with the Harvey-Leybourne-Newbold small-sample correction
(one-sided: the model is worse), critical value from t with n - 1 degrees of freedom."""

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


def skill_test(
    model_abs_error: ArrayLike, persistence_abs_error: ArrayLike, level: float
) -> TriggerTest | None:
    """Diebold-Mariano (HLN-corrected, one-step) test that the model's absolute error
    exceeds persistence's; None below MIN_REALISED_ERRORS."""
    gap = np.asarray(model_abs_error, dtype="float64") - np.asarray(
        persistence_abs_error, dtype="float64"
    )
    gap = gap[np.isfinite(gap)]
    n = gap.size
    if n < MIN_REALISED_ERRORS:
        return None
    critical = t_critical(level, n - 1)
    spread = float(gap.std(ddof=1))
    if spread == 0.0:
        # Identical gaps every day: zero when the served median is the last close (no
        # skill to lose), else a sure difference whose sign decides.
        mean = float(gap.mean())
        statistic = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p_value = 0.0 if mean > 0 else 1.0
    else:
        statistic = float(gap.mean() / (spread / math.sqrt(n)) * math.sqrt((n - 1) / n))
        p_value = float(special.stdtr(n - 1, -statistic))  # stats.t.sf, without its checks
    return TriggerTest(
        test="skill",
        statistic=statistic,
        threshold=f"> {critical:.3f}",
        window=n,
        p_value=p_value,
        fired=statistic > critical,
    )


class SkillTrigger:
    """One skill test per symbol, on its last realised errors."""

    name = "skill"

    def count(self, reference: DriftReference | None) -> int:
        return 1

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        errors = evidence.errors
        return present(skill_test(errors["abs_error"], errors["persistence_abs_error"], level))
