"""Retrain triggers as statistical tests, each with a threshold that accounts for its
sample size and for how many tests run on the same day (docs/monitoring.md).

Every symbol runs, every day, the tests of the registered family (family.py), one module
each:

- **coverage** (coverage.py): the share of the last realised closes inside the served
  10%-90% interval against its nominal 80%, an exact binomial test;
- **skill** (skill.py): the served median's absolute error against persistence's, a
  Diebold-Mariano test with the Harvey-Leybourne-Newbold correction;
- **bias** (bias.py): the served median's signed error over its interval's width, a
  two-sided t-test that its mean is zero;

these three at every forecast horizon, beyond the next day on tests that account for
the overlap of h-day errors (overlap.py: a long-run variance for skill, the
non-overlapping errors for coverage and bias); and, once a day,

- **drift** (drift.py): per model input, a chi-square statistic of the last days' counts
  in the quintile bins of the champion's training years, against a null measured on
  the reference's own windows (a scaled chi-square);
- **scale** (scale.py): the mean range of the last week against the reference's own
  weeks, one-sided.

The drift and scale tests compare with the champion's drift reference (reference.py).
The level of every test is Bonferroni-corrected over the family's count (family.py).

Names are imported on first use, so that importing the record (base.py) for the typed
results and the API loads neither numpy, pandas nor scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from market_predictor.triggers.base import (
        MIN_REALISED_ERRORS,
        PERFORMANCE_WINDOW,
        Evidence,
        Trigger,
        TriggerTest,
    )
    from market_predictor.triggers.bias import bias_test
    from market_predictor.triggers.coverage import coverage_test
    from market_predictor.triggers.drift import (
        BINS,
        DRIFT_INPUTS,
        DRIFT_WINDOW,
        Bins,
        chi_square,
        drift_tests,
        model_inputs,
    )
    from market_predictor.triggers.family import (
        FAMILY,
        per_test_level,
        run_all,
        strongest,
        trigger_count,
    )
    from market_predictor.triggers.overlap import (
        LONGEST_TEST_WINDOW,
        MIN_NON_OVERLAPPING,
        horizon_window,
        overlap_t,
    )
    from market_predictor.triggers.reference import (
        REFERENCE_DAYS,
        REFERENCE_VERSION,
        DriftReference,
        build_reference,
        drift_reference,
    )
    from market_predictor.triggers.scale import (
        SCALE_INPUT,
        SCALE_WINDOW,
        ScaleNull,
        ScaleReference,
        scale_test,
    )
    from market_predictor.triggers.skill import skill_test

_MODULES = {
    "base": (
        "MIN_REALISED_ERRORS",
        "PERFORMANCE_WINDOW",
        "Evidence",
        "Trigger",
        "TriggerTest",
    ),
    "bias": ("bias_test",),
    "coverage": ("coverage_test",),
    "drift": (
        "BINS",
        "DRIFT_INPUTS",
        "DRIFT_WINDOW",
        "Bins",
        "chi_square",
        "drift_tests",
        "model_inputs",
    ),
    "family": ("FAMILY", "per_test_level", "run_all", "strongest", "trigger_count"),
    "overlap": ("LONGEST_TEST_WINDOW", "MIN_NON_OVERLAPPING", "horizon_window", "overlap_t"),
    "reference": (
        "REFERENCE_DAYS",
        "REFERENCE_VERSION",
        "DriftReference",
        "build_reference",
        "drift_reference",
    ),
    "scale": ("SCALE_INPUT", "SCALE_WINDOW", "ScaleNull", "ScaleReference", "scale_test"),
    "skill": ("skill_test",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "BINS",
    "DRIFT_INPUTS",
    "DRIFT_WINDOW",
    "FAMILY",
    "LONGEST_TEST_WINDOW",
    "MIN_NON_OVERLAPPING",
    "MIN_REALISED_ERRORS",
    "PERFORMANCE_WINDOW",
    "REFERENCE_DAYS",
    "REFERENCE_VERSION",
    "SCALE_INPUT",
    "SCALE_WINDOW",
    "Bins",
    "DriftReference",
    "Evidence",
    "ScaleNull",
    "ScaleReference",
    "Trigger",
    "TriggerTest",
    "bias_test",
    "build_reference",
    "chi_square",
    "coverage_test",
    "drift_reference",
    "drift_tests",
    "horizon_window",
    "model_inputs",
    "overlap_t",
    "per_test_level",
    "run_all",
    "scale_test",
    "skill_test",
    "strongest",
    "trigger_count",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
