"""The registered retrain triggers, run together on each symbol, and the Bonferroni level
they share: a day's tests (symbols x tests) share a family-wise false-alarm probability
`alpha` (Settings.trigger_alpha), so on data with no change about `alpha` of days flag
anything at most, however many symbols there are.

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


def trigger_count(reference: DriftReference | None) -> int:
    """How many tests each symbol runs for a champion with `reference`: the family's."""
    return sum(trigger.count(reference) for trigger in FAMILY)


def per_test_level(alpha: float, symbols: int, tests: int) -> float:
    """Bonferroni: each test's level so that all of a day's tests share `alpha`."""
    return alpha / max(1, symbols * tests)


def run_all(
    evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
) -> list[TriggerTest]:
    """Every trigger's tests of `symbol` at `level`, in FAMILY order."""
    return [test for trigger in FAMILY for test in trigger.run(evidence, reference, symbol, level)]


def strongest(results: Iterable[TriggerTest]) -> TriggerTest | None:
    """The test to report on a row: the firing one with the smallest p-value, else the
    one closest to firing."""
    ordered = sorted(results, key=lambda r: (not r.fired, 1.0 if r.p_value is None else r.p_value))
    return ordered[0] if ordered else None
