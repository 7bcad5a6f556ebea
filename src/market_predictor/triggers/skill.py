"""Skill: the served median's absolute error against persistence's over the last realised
errors, a Diebold-Mariano test with the Harvey-Leybourne-Newbold small-sample correction
(one-sided: the model is worse), critical value from t with n - 1 degrees of freedom.
Beyond the next day, every overlapping h-day error with a long-run variance (EWC) and t
with as many degrees of freedom as it has cosines, n // (2h) (overlap.py)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence, TriggerTest, present
from market_predictor.triggers.critical import t_critical
from market_predictor.triggers.overlap import horizon_name, overlap_t

if TYPE_CHECKING:
    from market_predictor.triggers.reference import DriftReference


def skill_test(
    model_abs_error: ArrayLike,
    persistence_abs_error: ArrayLike,
    level: float,
    horizon: int = 1,
) -> TriggerTest | None:
    """Diebold-Mariano test that the model's absolute error exceeds persistence's:
    HLN-corrected one-step next day (None below MIN_REALISED_ERRORS), with the long-run
    variance of overlapping errors at horizon h (None below MIN_NON_OVERLAPPING of
    them)."""
    gap = np.asarray(model_abs_error, dtype="float64") - np.asarray(
        persistence_abs_error, dtype="float64"
    )
    gap = gap[np.isfinite(gap)]
    n = gap.size
    if horizon > 1:
        return _overlapping_skill_test(gap, level, horizon)
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


def _overlapping_skill_test(gap: np.ndarray, level: float, horizon: int) -> TriggerTest | None:
    tested = overlap_t(gap, horizon)
    if tested is None:
        return None
    statistic, dof, constant = tested
    critical = t_critical(level, dof)
    # The same gap every day, as next day: no skill to lose at zero, else a sure sign.
    sure = 0.0 if statistic > 0 else 1.0
    p_value = sure if constant else float(special.stdtr(dof, -statistic))
    return TriggerTest(
        test=horizon_name("skill", horizon),
        statistic=statistic,
        threshold=f"> {critical:.3f} (t, {dof} df)",
        window=gap.size,
        p_value=p_value,
        fired=statistic > critical,
    )


class SkillTrigger:
    """One skill test per symbol and horizon, on its last realised errors."""

    name = "skill"
    per_horizon = True

    def count(self, reference: DriftReference | None) -> int:
        return 1

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        errors = evidence.errors
        model, persistence = errors["abs_error"], errors["persistence_abs_error"]
        return present(skill_test(model, persistence, level, evidence.horizon))
