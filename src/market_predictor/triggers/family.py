"""The registered retrain triggers, run together on each symbol, and the Bonferroni level
they share: a day's tests (symbols x tests) share a family-wise false-alarm probability
`alpha` (Settings.trigger_alpha), so on data with no change about `alpha` of days flag
anything at most, however many symbols and forecast horizons there are: the performance
tests run at every horizon (per_horizon) and count once per horizon, the input tests
once a day.

A new trigger is one module implementing base.Trigger and one line in FAMILY: the count
behind the level is the family's own, so a test cannot run without being counted.
"""

from __future__ import annotations

from collections.abc import Iterable

from market_predictor.triggers.base import Evidence, Trigger, TriggerTest
from market_predictor.triggers.bias import BiasTrigger
from market_predictor.triggers.coverage import CoverageTrigger
from market_predictor.triggers.drift import DriftTrigger
from market_predictor.triggers.reference import DriftReference
from market_predictor.triggers.scale import ScaleTrigger
from market_predictor.triggers.skill import SkillTrigger

# In the order a symbol's tests are reported (and stored).
FAMILY: tuple[Trigger, ...] = (
    CoverageTrigger(),
    SkillTrigger(),
    BiasTrigger(),
    DriftTrigger(),
    ScaleTrigger(),
)


def trigger_count(reference: DriftReference | None, horizons: int = 1) -> int:
    """How many tests each symbol runs for a champion with `reference` when its errors
    are tested at `horizons` forecast horizons: the family's."""
    return sum(
        trigger.count(reference) * (horizons if trigger.per_horizon else 1) for trigger in FAMILY
    )


def per_test_level(alpha: float, symbols: int, tests: int) -> float:
    """Bonferroni: each test's level so that all of a day's tests share `alpha`."""
    return alpha / max(1, symbols * tests)


def run_all(
    evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
) -> list[TriggerTest]:
    """Every trigger's tests of `symbol` at `level` on the evidence of one horizon, in
    FAMILY order: the input tests with the next day's evidence only."""
    return [
        test
        for trigger in FAMILY
        if trigger.per_horizon or evidence.horizon == 1
        for test in trigger.run(evidence, reference, symbol, level)
    ]


def strongest(results: Iterable[TriggerTest]) -> TriggerTest | None:
    """The test to report on a row: the firing one with the smallest p-value, else the
    one closest to firing."""
    ordered = sorted(results, key=lambda r: (not r.fired, 1.0 if r.p_value is None else r.p_value))
    return ordered[0] if ordered else None
