"""What every retrain trigger shares: the record of one test's outcome, what a symbol's
tests read on a day, and the protocol each trigger implements.

Pydantic and the standard library only (numpy and pandas for type checking alone): the
typed results (market_predictor.results) and the API import the record, and must stay
cheap to import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, field_serializer

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

    from market_predictor.triggers.reference import DriftReference

PERFORMANCE_WINDOW = 60  # realised errors behind the coverage, skill and bias tests
MIN_REALISED_ERRORS = 20  # below this, coverage (+-9% s.e.), skill and bias are not tested


class TriggerTest(BaseModel):
    """One retrain-trigger test of one symbol on one day.

    The statistic is kept as computed (a sure difference is an infinite t); every JSON
    serialisation writes a non-finite statistic or p-value as null (JSON has neither),
    while the Python dump keeps it, as the summary table's text always has."""

    model_config = ConfigDict(frozen=True)

    # coverage | skill | bias | drift:<input> | scale:<input>; beyond the next day the
    # horizon's performance tests: coverage:h5 | skill:h5 | bias:h5
    test: str
    statistic: float | None = None
    threshold: str  # the rejection rule, e.g. "> 31.2" or "outside 0.63-0.93"
    window: int  # observations behind the statistic
    p_value: float | None = None
    fired: bool

    @field_serializer("statistic", "p_value", when_used="json")
    def _finite_or_null(self, value: float | None) -> float | None:
        return value if value is None or math.isfinite(value) else None

    def describe(self) -> str:
        statistic = "null" if self.statistic is None else f"{self.statistic:.4g}"
        return (
            f"{self.test}: {statistic} {self.threshold} "
            f"(n={self.window}{'' if self.p_value is None else f', p={self.p_value:.2g}'})"
        )


@dataclass(frozen=True)
class Evidence:
    """What one symbol's tests read on a day at one forecast horizon."""

    # Its last realised errors at the horizon in target-date order (PERFORMANCE_WINDOW
    # of them next day, overlap.horizon_window(h) at h): inside_interval, abs_error,
    # persistence_abs_error and scaled_error (monitoring.scaled_errors).
    errors: Mapping[str, ArrayLike]
    # Its last `reference.window` model inputs (drift.model_inputs) in date order; None
    # when they are not tested (the champion has no current reference).
    inputs: pd.DataFrame | Mapping[str, ArrayLike] | None
    nominal_coverage: float  # of the served interval (0.8 for 10%-90%)
    horizon: int = 1  # trading days ahead of the forecasts whose errors these are


class Trigger(Protocol):
    """One kind of retrain-trigger test; family.FAMILY lists those that run."""

    name: str
    # True: it tests each forecast horizon's realised errors; False: it tests the
    # symbol's inputs, once a day, with the next day's evidence.
    per_horizon: bool

    def count(self, reference: DriftReference | None) -> int:
        """How many tests it runs on a symbol (at each horizon, if per_horizon) for a
        champion with `reference` (None: none current) when the evidence is complete:
        its share of the day's Bonferroni family."""
        ...

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        """Its tests of `symbol` at `level`: at most count(reference), fewer when the
        evidence is too short to test."""
        ...


def present(test: TriggerTest | None) -> list[TriggerTest]:
    """A single test's outcome as a list: empty when it could not be tested."""
    return [] if test is None else [test]
