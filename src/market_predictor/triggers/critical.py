"""Critical values of the trigger tests' null distributions, cached: they depend only on
the level and the degrees of freedom, the same for every symbol of a day, and scipy's
distribution objects cost ~0.3 ms a call in argument checks."""

from __future__ import annotations

import functools

from scipy import stats


@functools.lru_cache(maxsize=1024)
def t_critical(level: float, dof: int) -> float:
    """The upper `level` quantile of Student's t with `dof` degrees of freedom."""
    return float(stats.t.ppf(1.0 - level, dof))


@functools.lru_cache(maxsize=1024)
def chi2_critical(level: float, dof: float) -> float:
    """The upper `level` quantile of chi-square with `dof` degrees of freedom."""
    return float(stats.chi2.isf(level, dof))


@functools.lru_cache(maxsize=1024)
def normal_critical(level: float) -> float:
    """The upper `level` quantile of the standard normal."""
    return float(stats.norm.isf(level))
